package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// needWriteOnly refuses, at plan time, a plan that writes a write-only value
// the configuration does not give. A write-only value is written when the
// resource is created and whenever its version changes, and only then: an
// imported resource whose cluster records the configured version (and the
// configuration terraform plan -generate-config-out writes, which holds
// the version but can hold no write-only value) plans without it.
func needWriteOnly(value types.String, planVersion, stateVersion types.Int64, exists bool, at path.Path, attr, versionAttr, what string) diag.Diagnostics {
	var diags diag.Diagnostics
	if !value.IsNull() || planVersion.IsUnknown() {
		return diags
	}
	switch {
	case !exists:
		diags.AddAttributeError(at, "Missing "+attr,
			fmt.Sprintf("Creating this resource writes %s, which comes only from %s (write-only): set it.", what, attr))
	case stateVersion.IsNull() && !planVersion.IsNull():
		diags.AddAttributeError(at, "Missing "+attr,
			fmt.Sprintf("The cluster does not record which %s its %s holds (written by hand or by an older spinops), so the apply "+
				"writes it with %s = %d: set %s (write-only) to the value it should hold.", versionAttr, what, versionAttr, planVersion.ValueInt64(), attr))
	case !planVersion.Equal(stateVersion) && !planVersion.IsNull():
		diags.AddAttributeError(at, "Missing "+attr,
			fmt.Sprintf("%s changes from %d to %d, which writes %s again, but %s is not set: set it (write-only), or keep %s at %d.",
				versionAttr, stateVersion.ValueInt64(), planVersion.ValueInt64(), what, attr, versionAttr, stateVersion.ValueInt64()))
	}
	return diags
}
