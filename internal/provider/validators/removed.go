package validators

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// OneOfOrRemoved checks a string against its allowed values, like
// stringvalidator.OneOf, and explains each removed value with its own
// message (what it did and what to write instead) rather than only listing
// what is allowed.
func OneOfOrRemoved(allowed []string, removed map[string]string) validator.String {
	return oneOfOrRemoved{allowed: allowed, removed: removed}
}

type oneOfOrRemoved struct {
	allowed []string
	removed map[string]string
}

func (v oneOfOrRemoved) quoted() string {
	q := make([]string, len(v.allowed))
	for i, a := range v.allowed {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, ", ")
}

func (v oneOfOrRemoved) Description(context.Context) string {
	return "value must be one of: " + v.quoted()
}

func (v oneOfOrRemoved) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v oneOfOrRemoved) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	s := req.ConfigValue.ValueString()
	for _, a := range v.allowed {
		if s == a {
			return
		}
	}
	if why, ok := v.removed[s]; ok {
		resp.Diagnostics.AddAttributeError(req.Path, "Removed value",
			fmt.Sprintf("%q is no longer accepted: %s Allowed values: %s.", s, why, v.quoted()))
		return
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Invalid value",
		fmt.Sprintf("%q is not allowed; write one of: %s.", s, v.quoted()))
}
