package validators

import (
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// hostPortRegexp is host:port (an IPv6 host in brackets).
var hostPortRegexp = regexp.MustCompile(`^[^\s:]+:[0-9]{1,5}$|^\[[0-9a-fA-F:.]+\]:[0-9]{1,5}$`)

// HostPort checks host:port.
func HostPort() validator.String {
	return stringvalidator.RegexMatches(hostPortRegexp, "must be host:port")
}
