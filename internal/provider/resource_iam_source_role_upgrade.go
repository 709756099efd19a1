package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// iamSourceRoleSchemaV0 is the schema of version 0, where timeouts was an
// attribute (`timeouts = { create = "5m" }`). Everything else is as now.
func iamSourceRoleSchemaV0(ctx context.Context) schema.Schema {
	s := iamSourceRoleSchema(ctx)
	s.Version = 0
	blocks := make(map[string]schema.Block, len(s.Blocks))
	for k, b := range s.Blocks {
		if k != "timeouts" {
			blocks[k] = b
		}
	}
	attrs := make(map[string]schema.Attribute, len(s.Attributes)+1)
	for k, a := range s.Attributes {
		attrs[k] = a
	}
	attrs["timeouts"] = timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true})
	s.Blocks, s.Attributes = blocks, attrs
	return s
}

// UpgradeState moves state of version 0 to version 1: the timeouts
// attribute became a block holding the same object, so every value is
// carried over as it is.
func (r *iamSourceRoleResource) UpgradeState(ctx context.Context) map[int64]resource.StateUpgrader {
	v0 := iamSourceRoleSchemaV0(ctx)
	return map[int64]resource.StateUpgrader{
		0: {
			PriorSchema: &v0,
			StateUpgrader: func(ctx context.Context, req resource.UpgradeStateRequest, resp *resource.UpgradeStateResponse) {
				var m iamSourceRoleModel
				resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
				if resp.Diagnostics.HasError() {
					return
				}
				resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
			},
		},
	}
}
