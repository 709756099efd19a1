package validators_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

func TestHostPort(t *testing.T) {
	t.Parallel()
	testString(t, validators.HostPort(), map[string]stringCase{
		"name":      {val: types.StringValue("bridge.example.com:9091")},
		"ipv4":      {val: types.StringValue("10.0.0.1:443")},
		"ipv6":      {val: types.StringValue("[::1]:9091")},
		"no port":   {val: types.StringValue("bridge.example.com"), wantError: "must be host:port"},
		"url":       {val: types.StringValue("https://bridge:9091"), wantError: "must be host:port"},
		"space":     {val: types.StringValue("bridge example:9091"), wantError: "must be host:port"},
		"long port": {val: types.StringValue("bridge:123456"), wantError: "must be host:port"},
		"bare ipv6": {val: types.StringValue("::1:9091"), wantError: "must be host:port"},
	})
}
