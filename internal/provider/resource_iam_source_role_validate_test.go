package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// iamSourceRoleConfig builds a configuration of spinops_iam_source_role:
// every attribute null except those in set (top-level attribute → value
// builder).
func iamSourceRoleConfig(t *testing.T, set map[string]func(tftypes.Type) tftypes.Value) tfsdk.Config {
	t.Helper()
	ctx := context.Background()
	s := iamSourceRoleSchema(ctx)
	typ, ok := s.Type().TerraformType(ctx).(tftypes.Object)
	if !ok {
		t.Fatal("schema type is not an object")
	}
	vals := map[string]tftypes.Value{}
	for k, at := range typ.AttributeTypes {
		vals[k] = tftypes.NewValue(at, nil)
		if f, ok := set[k]; ok {
			vals[k] = f(at)
		}
	}
	return tfsdk.Config{Schema: s, Raw: tftypes.NewValue(typ, vals)}
}

func iamStr(v string) func(tftypes.Type) tftypes.Value {
	return func(t tftypes.Type) tftypes.Value { return tftypes.NewValue(t, v) }
}

func iamStrSet(vs ...string) func(tftypes.Type) tftypes.Value {
	return func(t tftypes.Type) tftypes.Value {
		elems := make([]tftypes.Value, len(vs))
		for i, v := range vs {
			elems[i] = tftypes.NewValue(tftypes.String, v)
		}
		return tftypes.NewValue(t, elems)
	}
}

func iamNodeTrust(t tftypes.Type) tftypes.Value {
	o := t.(tftypes.Object)
	return tftypes.NewValue(t, map[string]tftypes.Value{
		"principal_arns": iamStrSet("arn:aws:iam::123456789012:role/node")(o.AttributeTypes["principal_arns"]),
		"eks_oidc":       tftypes.NewValue(o.AttributeTypes["eks_oidc"], []tftypes.Value{}),
	})
}

func iamBake(enabled any) func(tftypes.Type) tftypes.Value {
	return func(t tftypes.Type) tftypes.Value {
		return tftypes.NewValue(t, map[string]tftypes.Value{"enabled": tftypes.NewValue(tftypes.Bool, enabled)})
	}
}

func validateIAMSourceRole(t *testing.T, cfg tfsdk.Config) diag.Diagnostics {
	t.Helper()
	var resp resource.ValidateConfigResponse
	(&iamSourceRoleResource{}).ValidateConfig(context.Background(), resource.ValidateConfigRequest{Config: cfg}, &resp)
	return resp.Diagnostics
}

// A role with no managed roles and no iamBake can do nothing: a warning, not
// an error (the managed roles may be added later).
func TestIAMSourceRoleValidateConfig_warnsWhenRoleCanDoNothing(t *testing.T) {
	for name, c := range map[string]struct {
		set  map[string]func(tftypes.Type) tftypes.Value
		warn bool
	}{
		"no managed roles, no bake":   {map[string]func(tftypes.Type) tftypes.Value{"name": iamStr("x"), "trust": iamNodeTrust}, true},
		"empty managed roles":         {map[string]func(tftypes.Type) tftypes.Value{"name": iamStr("x"), "trust": iamNodeTrust, "managed_role_arns": iamStrSet()}, true},
		"bake disabled":               {map[string]func(tftypes.Type) tftypes.Value{"name": iamStr("x"), "trust": iamNodeTrust, "bake": iamBake(false)}, true},
		"bake enabled":                {map[string]func(tftypes.Type) tftypes.Value{"name": iamStr("x"), "trust": iamNodeTrust, "bake": iamBake(true)}, false},
		"managed role":                {map[string]func(tftypes.Type) tftypes.Value{"name": iamStr("x"), "trust": iamNodeTrust, "managed_role_arns": iamStrSet("arn:aws:iam::1:role/m")}, false},
		"managed roles not known yet": {map[string]func(tftypes.Type) tftypes.Value{"name": iamStr("x"), "trust": iamNodeTrust, "managed_role_arns": func(t tftypes.Type) tftypes.Value { return tftypes.NewValue(t, tftypes.UnknownValue) }}, false},
	} {
		t.Run(name, func(t *testing.T) {
			diags := validateIAMSourceRole(t, iamSourceRoleConfig(t, c.set))
			if diags.HasError() {
				t.Fatalf("errors: %v", diags.Errors())
			}
			warnings := diags.Warnings()
			if !c.warn {
				if len(warnings) != 0 {
					t.Fatalf("unexpected warnings: %v", warnings)
				}
				return
			}
			if len(warnings) != 1 {
				t.Fatalf("warnings = %v, want exactly one", warnings)
			}
			w, ok := warnings[0].(diag.DiagnosticWithPath)
			if !ok || !w.Path().Equal(path.Root("managed_role_arns")) || w.Summary() != "The source role can do nothing" {
				t.Errorf("warning = %#v, want one on managed_role_arns", warnings[0])
			}
		})
	}
}

func TestIAMSourceRoleValidateConfig_bakeNeedsEnabled(t *testing.T) {
	diags := validateIAMSourceRole(t, iamSourceRoleConfig(t, map[string]func(tftypes.Type) tftypes.Value{
		"name": iamStr("x"), "trust": iamNodeTrust, "bake": iamBake(nil), "managed_role_arns": iamStrSet("arn:aws:iam::1:role/m"),
	}))
	if len(diags.Errors()) != 1 {
		t.Fatalf("diagnostics = %v, want one error", diags)
	}
	if w, ok := diags.Errors()[0].(diag.DiagnosticWithPath); !ok || !w.Path().Equal(path.Root("bake").AtName("enabled")) {
		t.Errorf("error = %#v, want it on bake.enabled", diags.Errors()[0])
	}
}

func TestIAMSourceRoleSchemaIsValid(t *testing.T) {
	s := iamSourceRoleSchema(context.Background())
	if diags := s.ValidateImplementation(context.Background()); diags.HasError() {
		t.Fatal(diags)
	}
}
