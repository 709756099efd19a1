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
