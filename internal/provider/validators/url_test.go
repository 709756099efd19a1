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

func TestClouddriverURL(t *testing.T) {
	t.Parallel()
	const want = "must be Clouddriver's base URL (http://HOST:PORT), without credentials, query or fragment"
	testString(t, validators.ClouddriverURL(), map[string]stringCase{
		"service":     {val: types.StringValue("http://spin-clouddriver.spinnaker:7002")},
		"https path":  {val: types.StringValue("https://clouddriver.example.com/base")},
		"empty (off)": {val: types.StringValue("")},
		"credentials": {val: types.StringValue("http://user:pass@clouddriver:7002"), wantError: want},
		"query":       {val: types.StringValue("http://clouddriver:7002/?token=x"), wantError: want},
		"fragment":    {val: types.StringValue("http://clouddriver:7002/#x"), wantError: want},
		"no scheme":   {val: types.StringValue("clouddriver:7002"), wantError: want},
		"space":       {val: types.StringValue("http://cloud driver:7002"), wantError: want},
	})
}

func TestBaseURL(t *testing.T) {
	t.Parallel()
	testString(t, validators.BaseURL(), map[string]stringCase{
		"https":    {val: types.StringValue("https://gate.example.com")},
		"port":     {val: types.StringValue("http://spin-gate.spinnaker:8084/api")},
		"userinfo": {val: types.StringValue("https://u:p@gate.example.com"), wantError: "must be a base URL"},
		"query":    {val: types.StringValue("https://gate.example.com?token=x"), wantError: "must be a base URL"},
		"empty":    {val: types.StringValue(""), wantError: "must be a base URL"},
	})
}
