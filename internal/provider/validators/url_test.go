package validators_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

func TestURL(t *testing.T) {
	t.Parallel()
	testString(t, validators.URL(), map[string]stringCase{
		"https":     {val: types.StringValue("https://sts.eu-west-1.amazonaws.com")},
		"http port": {val: types.StringValue("http://127.0.0.1:5000/")},
		"no scheme": {val: types.StringValue("sts.amazonaws.com"), wantError: "must be an http:// or https:// URL"},
		"other":     {val: types.StringValue("ftp://example.com"), wantError: "must be an http:// or https:// URL"},
		"no host":   {val: types.StringValue("https:///path"), wantError: "must be an http:// or https:// URL"},
	})
}
