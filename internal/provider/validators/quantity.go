package validators

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
)

// Quantities checks that every value of a map is a Kubernetes quantity
// ("100m", "128Mi").
func Quantities() validator.Map { return quantitiesValidator{} }

type quantitiesValidator struct{}

func (quantitiesValidator) Description(context.Context) string {
	return "every value must be a Kubernetes quantity such as 100m or 128Mi"
}

func (v quantitiesValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (quantitiesValidator) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for k, v := range req.ConfigValue.Elements() {
		s, ok := v.(types.String)
		if !ok || s.IsUnknown() || s.IsNull() {
			continue
		}
		if _, err := k8sresource.ParseQuantity(s.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(k), "Invalid quantity",
				fmt.Sprintf("%q is not a Kubernetes quantity (like 100m, 0.5, 128Mi or 1Gi): %v", s.ValueString(), err))
		}
	}
}
