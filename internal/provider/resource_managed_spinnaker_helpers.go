package provider

import (
	"context"
	"fmt"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

// Shared by spinops_managed_spinnaker and spinops_zone.

var (
	spinVersionRegexp  = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+([-+.][0-9A-Za-z.-]+)?$`)
	spinDNSLabelRegexp = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
)

// spinYAMLMappingValidator checks that a string, or every value of a map, is a
// YAML mapping.
type spinYAMLMappingValidator struct{}

func (spinYAMLMappingValidator) Description(context.Context) string {
	return "must be a YAML mapping"
}

func (v spinYAMLMappingValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (spinYAMLMappingValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := spinnaker.ValidateYAMLObject(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid YAML", err.Error())
	}
}

func (spinYAMLMappingValidator) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for k, e := range req.ConfigValue.Elements() {
		s, ok := e.(interface {
			IsNull() bool
			IsUnknown() bool
			ValueString() string
		})
		if !ok || s.IsNull() || s.IsUnknown() {
			continue
		}
		if err := spinnaker.ValidateYAMLObject(s.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(k), "Invalid YAML", fmt.Sprintf("%s: %s", k, err))
		}
	}
}
