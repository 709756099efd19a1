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

func TestRedisEndpoint(t *testing.T) {
	t.Parallel()
	const want = "must be HOST:PORT, redis://HOST[:PORT] or rediss://HOST[:PORT]"
	testString(t, validators.RedisEndpoint(), map[string]stringCase{
		"host port":     {val: types.StringValue("spinnaker.abc.cache.amazonaws.com:6379")},
		"redis url":     {val: types.StringValue("redis://10.0.0.5:6379")},
		"tls url":       {val: types.StringValue("rediss://master.spin.abc.euw1.cache.amazonaws.com:6379")},
		"database":      {val: types.StringValue("redis://redis:6379/2")},
		"no port":       {val: types.StringValue("redis://redis")},
		"password":      {val: types.StringValue("redis://:s3cret@redis:6379"), wantError: want},
		"user password": {val: types.StringValue("rediss://default:s3cret@redis:6379"), wantError: want},
		"bare host":     {val: types.StringValue("redis"), wantError: want},
		"other scheme":  {val: types.StringValue("http://redis:6379"), wantError: want},
		"query":         {val: types.StringValue("redis://redis:6379?password=x"), wantError: want},
		"space":         {val: types.StringValue("redis://red is:6379"), wantError: want},
	})
}
