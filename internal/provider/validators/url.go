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
