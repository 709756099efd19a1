package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// TestNeedWriteOnly: a write-only value is needed exactly when it is
// written (create, a version change, a version the cluster never recorded).
func TestNeedWriteOnly(t *testing.T) {
	v := types.Int64Value
	null, unknown := types.Int64Null(), types.Int64Unknown()
	given, absent := types.StringValue("a-token-of-enough-length-0123"), types.StringNull()
	for _, tc := range []struct {
		name        string
		value       types.String
		plan, state types.Int64
		exists      bool
		want        string // "" when nothing is refused
	}{
		{"create with the value", given, v(1), null, false, ""},
		{"create without it", absent, v(1), null, false, "Creating this resource writes"},
		{"same version without it (an import, a generated configuration)", absent, v(1), v(1), true, ""},
		{"new version without it", absent, v(2), v(1), true, "changes from 1 to 2"},
		{"new version with it", given, v(2), v(1), true, ""},
		{"version the cluster never recorded", absent, v(1), null, true, "does not record which admin_token_wo_version"},
		{"version unknown at plan time", absent, unknown, v(1), true, ""},
		{"value unknown at plan time", types.StringUnknown(), v(2), v(1), true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := needWriteOnly(tc.value, tc.plan, tc.state, tc.exists, path.Root("admin_token_wo"), "admin_token_wo", "admin_token_wo_version", "the admin token Secret")
			switch {
			case tc.want == "" && d.HasError():
				t.Fatalf("refused: %v", d)
			case tc.want != "" && (!d.HasError() || !strings.Contains(d.Errors()[0].Detail(), tc.want)):
				t.Fatalf("want a refusal saying %q, got %v", tc.want, d)
			}
		})
	}
}
