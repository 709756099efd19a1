package validators_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

func TestYAMLMapping(t *testing.T) {
	t.Parallel()
	testString(t, validators.YAMLMapping(), map[string]stringCase{
		"mapping":      {val: types.StringValue("spec:\n  expose:\n    type: service\n")},
		"flow mapping": {val: types.StringValue("{a: 1}")},
		"empty":        {val: types.StringValue("")},
		"blank":        {val: types.StringValue("  \n")},
		"list":         {val: types.StringValue("- a\n- b\n"), wantError: "must be a YAML mapping"},
		"scalar":       {val: types.StringValue("hello"), wantError: "must be a YAML mapping"},
		"broken":       {val: types.StringValue("a: [1, 2\n"), wantError: "Invalid YAML"},
		"tab indent":   {val: types.StringValue("a:\n\tb: 1\n"), wantError: "invalid YAML"},
	})
}

func TestYAMLMappings(t *testing.T) {
	t.Parallel()
	testMap(t, validators.YAMLMappings(), map[string]mapCase{
		"all mappings":  {val: stringMap(map[string]attr.Value{"gate": types.StringValue("server:\n  port: 8084\n"), "deck": types.StringValue("")})},
		"null value":    {val: stringMap(map[string]attr.Value{"gate": types.StringNull()})},
		"unknown value": {val: stringMap(map[string]attr.Value{"gate": types.StringUnknown()})},
		"empty map":     {val: stringMap(map[string]attr.Value{})},
		"one list":      {val: stringMap(map[string]attr.Value{"gate": types.StringValue("a: 1"), "orca": types.StringValue("- x")}), wantError: "orca: must be a YAML mapping"},
		"one scalar":    {val: stringMap(map[string]attr.Value{"clouddriver": types.StringValue("42")}), wantError: "clouddriver: must be a YAML mapping"},
	})
}
