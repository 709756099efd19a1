package provider

import (
	"maps"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// TestZoneKeepsCluster: which planned updates of a zone change nothing a
// cluster holds. The values are as Terraform and the framework hand them
// to ModifyPlan: every computed value the configuration leaves out is
// unknown once anything changes.
func TestZoneKeepsCluster(t *testing.T) {
	var sr resource.SchemaResponse
	(&zoneResource{}).Schema(t.Context(), resource.SchemaRequest{}, &sr)
	typ := sr.Schema.Type().TerraformType(t.Context()).(tftypes.Object)
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	unknown := tftypes.NewValue(tftypes.String, tftypes.UnknownValue)
	timeouts := func(update string) tftypes.Value {
		tt := typ.AttributeTypes["timeouts"].(tftypes.Object)
		return tftypes.NewValue(tt, map[string]tftypes.Value{"create": tftypes.NewValue(tftypes.String, nil),
			"update": str(update), "delete": tftypes.NewValue(tftypes.String, nil)})
	}
	// value is the zone with attrs set and everything else null.
	value := func(attrs map[string]tftypes.Value) tftypes.Value {
		vals := map[string]tftypes.Value{}
		for name, at := range typ.AttributeTypes {
			if v, ok := attrs[name]; ok {
				vals[name] = v
			} else {
				vals[name] = tftypes.NewValue(at, nil)
			}
		}
		return tftypes.NewValue(typ, vals)
	}
	with := func(base, more map[string]tftypes.Value) map[string]tftypes.Value {
		out := maps.Clone(base)
		maps.Copy(out, more)
		return out
	}
	args := map[string]tftypes.Value{"name": str("red"), "namespace": str("spin-red"), "tier": str("sandbox"),
		"managed_spinnaker_id": str("spinnaker-operator"), "config_overrides": str("a: 1")}
	state := value(with(args, map[string]tftypes.Value{"status": str("OK"), "verified_at": str("2026-03-01T09:00:00Z"),
		"spinnaker_version": str("1.35.3"), "spec_sha256": str("abc")}))
	computedUnknown := map[string]tftypes.Value{"status": unknown, "verified_at": unknown, "spinnaker_version": unknown, "spec_sha256": unknown}

	for _, tc := range []struct {
		name         string
		config, plan map[string]tftypes.Value
		kept         bool
	}{
		{"timeouts only", with(args, map[string]tftypes.Value{"timeouts": timeouts("1h")}),
			with(with(args, computedUnknown), map[string]tftypes.Value{"timeouts": timeouts("1h")}), true},
		{"wait and deletion protection", with(args, map[string]tftypes.Value{"wait": tftypes.NewValue(tftypes.Bool, false),
			"deletion_protection": tftypes.NewValue(tftypes.Bool, true)}),
			with(with(args, computedUnknown), map[string]tftypes.Value{"wait": tftypes.NewValue(tftypes.Bool, false),
				"deletion_protection": tftypes.NewValue(tftypes.Bool, true)}), true},
		{"what the SpinnakerService renders", with(args, map[string]tftypes.Value{"config_overrides": str("a: 2")}),
			with(with(args, computedUnknown), map[string]tftypes.Value{"config_overrides": str("a: 2")}), false},
		{"the version, from the configuration", with(args, map[string]tftypes.Value{"spinnaker_version": str("1.36.0"), "timeouts": timeouts("1h")}),
			with(with(args, computedUnknown), map[string]tftypes.Value{"spinnaker_version": str("1.36.0"), "timeouts": timeouts("1h")}), false},
		{"a value another resource gives, unknown until the apply", with(args, map[string]tftypes.Value{"config_overrides": unknown}),
			with(with(args, computedUnknown), map[string]tftypes.Value{"config_overrides": unknown}), false},
		{"a version another resource gives", with(args, map[string]tftypes.Value{"spinnaker_version": unknown, "timeouts": timeouts("1h")}),
			with(with(args, computedUnknown), map[string]tftypes.Value{"timeouts": timeouts("1h")}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kept, err := zoneKeepsCluster(value(tc.plan), value(tc.config), state)
			if err != nil {
				t.Fatal(err)
			}
			if kept.IsNull() == tc.kept {
				t.Fatalf("kept = %v, want %v", !kept.IsNull(), tc.kept)
			}
			if !tc.kept {
				return
			}
			// What the zone reads back is the state's, not unknown.
			var got, want map[string]tftypes.Value
			if err := kept.As(&got); err != nil {
				t.Fatal(err)
			}
			if err := state.As(&want); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"status", "verified_at", "spinnaker_version", "spec_sha256"} {
				if !got[name].Equal(want[name]) {
					t.Errorf("%s = %v, want the state's %v", name, got[name], want[name])
				}
			}
		})
	}
}
