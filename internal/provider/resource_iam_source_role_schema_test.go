package provider

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// State written by version 0 (timeouts an attribute) is upgraded through
// the provider's real protocol server: every value is carried over, and
// the timeouts are what they were.
func TestIAMSourceRoleUpgradeStateV0(t *testing.T) {
	ctx := context.Background()
	server, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{}); err != nil {
		t.Fatal(err)
	}
	v0 := map[string]any{
		"id": "spinnaker-managing", "name": "spinnaker-managing", "name_prefix": nil, "path": "/spinnaker/",
		"arn": "arn:aws:iam::123456789012:role/spinnaker/spinnaker-managing", "unique_id": "AROAEXAMPLE",
		"managed_role_arns": []string{"arn:aws:iam::210987654321:role/spinnakerManaged"},
		"tags":              map[string]string{"team": "platform"},
		"timeouts":          map[string]any{"create": "7m", "update": nil, "delete": "3m"},
	}
	raw, err := json.Marshal(v0)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.UpgradeResourceState(ctx, &tfprotov6.UpgradeResourceStateRequest{
		TypeName: "spinops_iam_source_role", Version: 0, RawState: &tfprotov6.RawState{JSON: raw},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Errorf("%s: %s: %s", d.Severity, d.Summary, d.Detail)
	}
	if t.Failed() {
		t.FailNow()
	}
	s := iamSourceRoleSchema(ctx)
	if s.Version != 1 {
		t.Fatalf("schema version %d, want 1", s.Version)
	}
	typ := s.Type().TerraformType(ctx)
	val, err := resp.UpgradedState.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]tftypes.Value
	if err := val.As(&got); err != nil {
		t.Fatal(err)
	}
	var to map[string]tftypes.Value
	if err := got["timeouts"].As(&to); err != nil {
		t.Fatal(err)
	}
	var create, del string
	_ = to["create"].As(&create)
	_ = to["delete"].As(&del)
	if create != "7m" || del != "3m" || !to["update"].IsNull() {
		t.Fatalf("timeouts after the upgrade: %v", got["timeouts"])
	}
	for k, want := range map[string]string{"name": "spinnaker-managing", "path": "/spinnaker/", "unique_id": "AROAEXAMPLE",
		"arn": "arn:aws:iam::123456789012:role/spinnaker/spinnaker-managing"} {
		var v string
		if err := got[k].As(&v); err != nil || v != want {
			t.Errorf("%s = %q after the upgrade, want %q (%v)", k, v, want, err)
		}
	}
	if !strings.Contains(got["managed_role_arns"].String(), "spinnakerManaged") || !strings.Contains(got["tags"].String(), "platform") {
		t.Errorf("collections lost: %v %v", got["managed_role_arns"], got["tags"])
	}

	// Without the upgrader, version 0 state with timeouts would be
	// refused; the current schema keeps it in a block (same object).
	if _, ok := s.Blocks["timeouts"]; !ok {
		t.Fatal("timeouts is not a block")
	}
	if _, ok := s.Attributes["timeouts"]; ok {
		t.Fatal("timeouts is still an attribute")
	}
}
