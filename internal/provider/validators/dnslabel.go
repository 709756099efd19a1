package validators

import (
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// dnsLabelRegexp is a DNS-1123 label.
var dnsLabelRegexp = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// IsDNSLabel reports whether s is a DNS-1123 label (an import id, say).
func IsDNSLabel(s string) bool { return dnsLabelRegexp.MatchString(s) }

// DNSLabel checks a name that must be a DNS-1123 label: lowercase
// letters, digits and '-', at most 63 characters.
func DNSLabel() validator.String {
	return stringvalidator.RegexMatches(dnsLabelRegexp, "must be a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters")
}

// NamespaceName checks a Kubernetes namespace name.
func NamespaceName() validator.String {
	return stringvalidator.RegexMatches(dnsLabelRegexp, "must be a namespace name (a DNS-1123 label)")
}

// AccountName checks an account name at the bridge.
func AccountName() validator.String {
	return stringvalidator.RegexMatches(dnsLabelRegexp, "must be an account name (a DNS-1123 label)")
}

// namespacedNameRegexp is <namespace>/<name>, both DNS-1123 labels.
var namespacedNameRegexp = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// NamespacedName checks a `<namespace>/<name>` id (another resource's id).
func NamespacedName() validator.String {
	return stringvalidator.RegexMatches(namespacedNameRegexp, "must be <namespace>/<name> (the id of the resource it names)")
}
