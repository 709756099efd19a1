package validators

import (
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// spinnakerVersionRegexp is a Spinnaker release version: MAJOR.MINOR.PATCH
// with an optional suffix (1.35.3, 1.36.0-rc1).
var spinnakerVersionRegexp = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+([-+.][0-9A-Za-z.-]+)?$`)

// SpinnakerVersion checks a Spinnaker version (spinnaker_version).
func SpinnakerVersion() validator.String {
	return stringvalidator.RegexMatches(spinnakerVersionRegexp, "must be a Spinnaker version such as 1.35.3")
}
