package validators_test

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

func TestDNSSubdomain(t *testing.T) {
	t.Parallel()
	testString(t, validators.DNSSubdomain(), map[string]stringCase{
		"label":       {val: types.StringValue("bridge-tls")},
		"dotted":      {val: types.StringValue("bridge.tls.v1")},
		"uppercase":   {val: types.StringValue("Bridge"), wantError: "must be a Kubernetes object name"},
		"underscore":  {val: types.StringValue("bridge_tls"), wantError: "must be a Kubernetes object name"},
		"empty label": {val: types.StringValue("a..b"), wantError: "must be a Kubernetes object name"},
		"too long":    {val: types.StringValue(strings.Repeat("a", 254)), wantError: "at most 253"},
	})
}

func TestCIDR(t *testing.T) {
	t.Parallel()
	testString(t, validators.CIDR(), map[string]stringCase{
		"ipv4":      {val: types.StringValue("10.0.0.0/8")},
		"anywhere":  {val: types.StringValue("0.0.0.0/0")},
		"ipv6":      {val: types.StringValue("2001:db8::/32")},
		"no prefix": {val: types.StringValue("10.0.0.1"), wantError: "is not a CIDR block"},
		"bad":       {val: types.StringValue("10.0.0.0/33"), wantError: "is not a CIDR block"},
		"host bits": {val: types.StringValue("10.1.2.3/8"), wantError: "the block it means is 10.0.0.0/8"},
	})
}

func TestQuantity(t *testing.T) {
	t.Parallel()
	testString(t, validators.Quantity(), map[string]stringCase{
		"Gi":    {val: types.StringValue("1Gi")},
		"milli": {val: types.StringValue("500m")},
		"words": {val: types.StringValue("one gig"), wantError: "is not a Kubernetes quantity"},
	})
}

func TestTargetGroupARN(t *testing.T) {
	t.Parallel()
	testString(t, validators.TargetGroupARN(), map[string]stringCase{
		"valid":     {val: types.StringValue("arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spinops-bridge/73e2d6bc24d8a067")},
		"gov":       {val: types.StringValue("arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:targetgroup/b/73e2d6bc24d8a067")},
		"lb arn":    {val: types.StringValue("arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/b/73e2d6bc24d8a067"), wantError: "must be a target group ARN"},
		"name only": {val: types.StringValue("spinops-bridge"), wantError: "must be a target group ARN"},
	})
}
