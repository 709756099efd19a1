package validators

import (
	"context"
	"fmt"
	"net"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
)

// dnsSubdomainRegexp is a DNS-1123 subdomain (the names of most Kubernetes
// objects, Secrets among them), at most 253 characters.
var dnsSubdomainRegexp = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// DNSSubdomain checks an object name that must be a DNS-1123 subdomain.
func DNSSubdomain() validator.String {
	return stringvalidator.All(stringvalidator.LengthAtMost(253),
		stringvalidator.RegexMatches(dnsSubdomainRegexp, "must be a Kubernetes object name (a DNS-1123 subdomain: lowercase letters, digits, '-' and '.')"))
}

// CIDR checks an IPv4 or IPv6 CIDR block.
func CIDR() validator.String { return cidrValidator{} }

type cidrValidator struct{}

func (cidrValidator) Description(context.Context) string {
	return "must be a CIDR block such as 10.0.0.0/8 or 2001:db8::/32"
}

func (v cidrValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (cidrValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	s := req.ConfigValue.ValueString()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid CIDR block",
			fmt.Sprintf("%q is not a CIDR block: write an address and a prefix length, such as 10.0.0.0/8 (or 0.0.0.0/0 for anywhere)", s))
		return
	}
	if n.String() != s {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid CIDR block",
			fmt.Sprintf("%q has host bits set: the block it means is %s; write that", s, n.String()))
	}
}

// Quantity checks one Kubernetes quantity ("1Gi").
func Quantity() validator.String { return quantityValidator{} }

type quantityValidator struct{}

func (quantityValidator) Description(context.Context) string {
	return "must be a Kubernetes quantity such as 1Gi or 500Mi"
}

func (v quantityValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (quantityValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := k8sresource.ParseQuantity(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid quantity",
			fmt.Sprintf("%q is not a Kubernetes quantity (like 500Mi or 1Gi): %v", req.ConfigValue.ValueString(), err))
	}
}
