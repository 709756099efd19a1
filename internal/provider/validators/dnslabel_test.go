package validators_test

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

func TestDNSLabel(t *testing.T) {
	t.Parallel()
	cases := map[string]stringCase{
		"simple":          {val: types.StringValue("prod")},
		"digits and dash": {val: types.StringValue("eu-1-prod")},
		"63 characters":   {val: types.StringValue(strings.Repeat("a", 63))},
		"64 characters":   {val: types.StringValue(strings.Repeat("a", 64)), wantError: "must be a DNS-1123 label"},
		"uppercase":       {val: types.StringValue("Prod"), wantError: "must be a DNS-1123 label"},
		"leading dash":    {val: types.StringValue("-prod"), wantError: "must be a DNS-1123 label"},
		"trailing dash":   {val: types.StringValue("prod-"), wantError: "must be a DNS-1123 label"},
		"dot":             {val: types.StringValue("a.b"), wantError: "must be a DNS-1123 label"},
		"empty":           {val: types.StringValue(""), wantError: "must be a DNS-1123 label"},
	}
	testString(t, validators.DNSLabel(), cases)
	if !validators.IsDNSLabel("prod") || validators.IsDNSLabel("Prod") {
		t.Fatal("IsDNSLabel disagrees with DNSLabel")
	}
}

func TestNamespaceName(t *testing.T) {
	t.Parallel()
	testString(t, validators.NamespaceName(), map[string]stringCase{
		"valid":      {val: types.StringValue("spinnaker")},
		"underscore": {val: types.StringValue("spin_naker"), wantError: "must be a namespace name (a DNS-1123 label)"},
	})
}

func TestAccountName(t *testing.T) {
	t.Parallel()
	testString(t, validators.AccountName(), map[string]stringCase{
		"valid": {val: types.StringValue("prod-eu")},
		"space": {val: types.StringValue("prod eu"), wantError: "must be an account name (a DNS-1123 label)"},
	})
}

func TestNamespacedName(t *testing.T) {
	t.Parallel()
	testString(t, validators.NamespacedName(), map[string]stringCase{
		"valid":     {val: types.StringValue("spinnaker-green/spinnaker")},
		"name only": {val: types.StringValue("spinnaker"), wantError: "must be <namespace>/<name>"},
		"three":     {val: types.StringValue("a/b/c"), wantError: "must be <namespace>/<name>"},
		"uppercase": {val: types.StringValue("Green/x"), wantError: "must be <namespace>/<name>"},
	})
}
