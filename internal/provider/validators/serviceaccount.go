package validators

import (
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// serviceAccountRegexp is namespace (DNS label) ":" name (DNS subdomain).
var serviceAccountRegexp = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?:[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// ServiceAccount checks a Kubernetes service account as namespace:name.
func ServiceAccount() validator.String {
	return stringvalidator.RegexMatches(serviceAccountRegexp, "must be namespace:name, e.g. spinnaker:clouddriver (lowercase DNS names)")
}
