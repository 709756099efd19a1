package validators

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

// YAMLMapping checks that a string is a YAML mapping (a Spinnaker
// config_overrides document), with the parser the renderer uses
// (spinnaker.ValidateYAMLObject), so what passes the plan renders.
func YAMLMapping() validator.String { return yamlMappingValidator{} }

// YAMLMappings checks that every value of a map of strings is a YAML
// mapping (profiles, service_settings: one document per service).
func YAMLMappings() validator.Map { return yamlMappingValidator{} }

type yamlMappingValidator struct{}

func (yamlMappingValidator) Description(context.Context) string {
	return "must be a YAML mapping"
}

func (v yamlMappingValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (yamlMappingValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := spinnaker.ValidateYAMLObject(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid YAML", err.Error())
	}
}

func (yamlMappingValidator) ValidateMap(ctx context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for k, e := range req.ConfigValue.Elements() {
		s, ok := e.(basetypes.StringValuable)
		if !ok {
			continue
		}
		sv, d := s.ToStringValue(ctx)
		if d.HasError() || sv.IsNull() || sv.IsUnknown() {
			continue
		}
		if err := spinnaker.ValidateYAMLObject(sv.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(k), "Invalid YAML", fmt.Sprintf("%s: %s", k, err))
		}
	}
}
