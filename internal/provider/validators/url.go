package validators

import (
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// urlRegexp is an absolute http(s) URL.
var urlRegexp = regexp.MustCompile(`^https?://[^\s/]+`)

// URL checks an absolute http:// or https:// URL.
func URL() validator.String {
	return stringvalidator.RegexMatches(urlRegexp, "must be an http:// or https:// URL")
}

// clouddriverURLRegexp is a base URL: scheme and host[:port], an optional
// path, no userinfo, query or fragment; "" (pushes off) passes.
var clouddriverURLRegexp = regexp.MustCompile(`^$|^https?://[^\s/@?#]+(/[^\s?#]*)?$`)

// ClouddriverURL checks Clouddriver's base URL, or "" for none.
func ClouddriverURL() validator.String {
	return stringvalidator.RegexMatches(clouddriverURLRegexp, "must be Clouddriver's base URL (http://HOST:PORT), without credentials, query or fragment")
}

// baseURLRegexp is a base URL as clouddriverURLRegexp, but never empty.
var baseURLRegexp = regexp.MustCompile(`^https?://[^\s/@?#]+(/[^\s?#]*)?$`)

// BaseURL checks a plain base URL (scheme, host, optional path): no
// credentials, query or fragment, which would end up in logs.
func BaseURL() validator.String {
	return stringvalidator.RegexMatches(baseURLRegexp, "must be a base URL (https://HOST[:PORT][/PATH]) without credentials, query or fragment")
}

// redisEndpointRegexp is host:port, or a redis:// or rediss:// URL of a
// host with an optional port and database path: no userinfo (a password
// there would be stored in state and in the SpinnakerService's spec), query
// or fragment.
var redisEndpointRegexp = regexp.MustCompile(`^((redis|rediss)://[^\s/@?#:]+(:[0-9]{1,5})?(/[0-9]{1,2})?|[^\s/@?#:]+:[0-9]{1,5})$`)

// RedisEndpoint checks an external Redis endpoint for Spinnaker.
func RedisEndpoint() validator.String {
	return stringvalidator.RegexMatches(redisEndpointRegexp,
		"must be HOST:PORT, redis://HOST[:PORT] or rediss://HOST[:PORT] (TLS), without a user or password: "+
			"give the Redis access by network (security group, authorized network) instead, as credentials here would be stored in Terraform state and in the SpinnakerService")
}
