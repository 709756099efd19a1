//go:build modules

package modtest

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/wafv2"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestMotoEdge: modules/aws/edge applied for real: a certificate for the
// three names validated through Route 53, the ALB answering HTTP with a
// redirect and HTTPS with host rules to Deck's and Gate's target groups
// (anything else 404), the NLB passing TLS through to Gate's x509 port,
// an alias record for each name pointing at its load balancer, and the
// WAF web ACL on the ALB (managed rule groups, rate rule, logs without
// credentials).
func TestMotoEdge(t *testing.T) {
	t.Parallel()
	moto := testenv.SharedMoto(t)
	name := testenv.UniqueName("spe", 5)
	zone := name + ".example.com"
	deck, gate, x509 := "spinnaker."+zone, "api.spinnaker."+zone, "x509.spinnaker."+zone
	a := applyTolerating(t, moto, "aws/edge", `
  name                = "`+name+`"
  vpc_id              = aws_vpc.edge.id
  subnet_ids          = aws_subnet.edge[*].id
  security_group_ids  = [aws_security_group.users.id]
  zone_id             = aws_route53_zone.this.zone_id
  deck_domain         = "`+deck+`"
  gate_domain         = "`+gate+`"
  gate_x509_domain    = "`+x509+`"
  deletion_protection = false
  waf                 = { logging = { destination_arn = aws_cloudwatch_log_group.waf.arn } }
`, withRoot(edgeGaps(), vpcHCL("edge", "10.50.0.0/16", testenv.MotoRegion, 2)+`
resource "aws_security_group" "users" {
  name   = "users"
  vpc_id = aws_vpc.edge.id
}
resource "aws_route53_zone" "this" {
  name          = "`+zone+`"
  force_destroy = true
}
resource "aws_cloudwatch_log_group" "waf" {
  name = "aws-waf-logs-`+name+`"
}
`))
	ctx := t.Context()
	cfg := awsConfig()
	lb := elb.NewFromConfig(cfg, func(o *elb.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
	r53 := route53.NewFromConfig(cfg, func(o *route53.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
	ac := acm.NewFromConfig(cfg, func(o *acm.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })

	var albARN, nlbARN, certARN string
	var tgs map[string]string
	a.output(t, "alb_arn", &albARN)
	a.output(t, "nlb_arn", &nlbARN)
	a.output(t, "certificate_arn", &certARN)
	a.output(t, "target_group_arns", &tgs)

	cert, err := ac.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(certARN)})
	if err != nil {
		t.Fatal(err)
	}
	names := append([]string(nil), cert.Certificate.SubjectAlternativeNames...)
	sort.Strings(names)
	if want := []string{gate, deck, x509}; aws.ToString(cert.Certificate.DomainName) != deck || !slices.Equal(names, sortCopy(want)) {
		t.Errorf("certificate for %s with names %v, want %s with %v", aws.ToString(cert.Certificate.DomainName), names, deck, sortCopy(want))
	}
	if cert.Certificate.Status != "ISSUED" {
		t.Errorf("certificate status %s, want ISSUED", cert.Certificate.Status)
	}

	lbs, err := lb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{albARN, nlbARN}})
	if err != nil || len(lbs.LoadBalancers) != 2 {
		t.Fatalf("load balancers: %+v, %v", lbs, err)
	}
	dnsOf := map[string]string{}
	for _, l := range lbs.LoadBalancers {
		dnsOf[aws.ToString(l.LoadBalancerArn)] = aws.ToString(l.DNSName)
		if want := map[string]string{albARN: "application", nlbARN: "network"}[aws.ToString(l.LoadBalancerArn)]; string(l.Type) != want {
			t.Errorf("%s is a %s load balancer, want %s", aws.ToString(l.LoadBalancerName), l.Type, want)
		}
		// Internet-facing: the provider asks for it by sending no Scheme,
		// which AWS takes as internet-facing and moto keeps as empty
		// (schemeGap); an internal load balancer reads back "internal"
		// from both, and as internal = true in the state.
		addr := map[string]string{albARN: "module.m.aws_lb.this", nlbARN: "module.m.aws_lb.x509"}[aws.ToString(l.LoadBalancerArn)]
		if internal, _ := a.attr(t, addr, "internal").(bool); internal || (l.Scheme != "internet-facing" && l.Scheme != "") {
			t.Errorf("%s scheme %q (internal = %v in the state), want internet-facing", aws.ToString(l.LoadBalancerName), l.Scheme, internal)
		}
	}

	// The ALB: 80 redirects to 443; 443 serves the certificate, routes
	// Deck's and Gate's names and answers 404 to anything else.
	ls, err := lb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(albARN)})
	if err != nil {
		t.Fatal(err)
	}
	var httpsARN string
	ports := []int32{}
	for _, l := range ls.Listeners {
		ports = append(ports, aws.ToInt32(l.Port))
		switch aws.ToInt32(l.Port) {
		case 80:
			if len(l.DefaultActions) != 1 || l.DefaultActions[0].RedirectConfig == nil ||
				aws.ToString(l.DefaultActions[0].RedirectConfig.Protocol) != "HTTPS" || aws.ToString(l.DefaultActions[0].RedirectConfig.Port) != "443" {
				t.Errorf("HTTP listener does not redirect to HTTPS 443: %+v", l.DefaultActions)
			}
		case 443:
			httpsARN = aws.ToString(l.ListenerArn)
			if l.Protocol != "HTTPS" || len(l.Certificates) != 1 || aws.ToString(l.Certificates[0].CertificateArn) != certARN {
				t.Errorf("HTTPS listener protocol %s certificates %+v, want HTTPS with %s", l.Protocol, l.Certificates, certARN)
			}
			if len(l.DefaultActions) != 1 || l.DefaultActions[0].FixedResponseConfig == nil || aws.ToString(l.DefaultActions[0].FixedResponseConfig.StatusCode) != "404" {
				t.Errorf("HTTPS listener's default is not a 404: %+v", l.DefaultActions)
			}
		}
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i] < ports[j] })
	if !slices.Equal(ports, []int32{80, 443}) {
		t.Errorf("ALB listens on %v, want exactly 80 and 443", ports)
	}
	rules, err := lb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(httpsARN)})
	if err != nil {
		t.Fatal(err)
	}
	route := map[string]string{}
	for _, r := range rules.Rules {
		if aws.ToBool(r.IsDefault) {
			continue
		}
		var hosts []string
		for _, c := range r.Conditions {
			if c.HostHeaderConfig != nil {
				hosts = append(hosts, c.HostHeaderConfig.Values...)
			}
		}
		if len(hosts) != 1 || len(r.Actions) != 1 || r.Actions[0].Type != "forward" {
			t.Errorf("rule %s: hosts %v actions %+v, want one host forwarded", aws.ToString(r.RuleArn), hosts, r.Actions)
			continue
		}
		route[hosts[0]] = aws.ToString(r.Actions[0].TargetGroupArn)
	}
	if len(route) != 2 || route[deck] != tgs["deck"] || route[gate] != tgs["gate"] {
		t.Errorf("host rules %v, want %s → %s and %s → %s", route, deck, tgs["deck"], gate, tgs["gate"])
	}

	// The NLB passes TCP (TLS) through to Gate's x509 port on 8084.
	nls, err := lb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(nlbARN)})
	if err != nil {
		t.Fatal(err)
	}
	if len(nls.Listeners) != 1 || aws.ToInt32(nls.Listeners[0].Port) != 8084 || nls.Listeners[0].Protocol != "TCP" ||
		aws.ToString(nls.Listeners[0].DefaultActions[0].TargetGroupArn) != tgs["gate_x509"] {
		t.Errorf("NLB listeners %+v, want one TCP 8084 forwarding to %s", nls.Listeners, tgs["gate_x509"])
	}
	tg, err := lb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{tgs["deck"], tgs["gate"], tgs["gate_x509"]}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range tg.TargetGroups {
		if g.TargetType != "ip" {
			t.Errorf("target group %s targets %s, want ip (pods registered by TargetGroupBinding)", aws.ToString(g.TargetGroupName), g.TargetType)
		}
		if want := map[string]int32{tgs["deck"]: 9000, tgs["gate"]: 8084, tgs["gate_x509"]: 8085}[aws.ToString(g.TargetGroupArn)]; aws.ToInt32(g.Port) != want {
			t.Errorf("target group %s port %d, want %d", aws.ToString(g.TargetGroupName), aws.ToInt32(g.Port), want)
		}
	}

	// WAF: the web ACL the ALB is associated with, as AWS reports it.
	waf := wafv2.NewFromConfig(cfg, func(o *wafv2.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
	var aclARN string
	a.output(t, "web_acl_arn", &aclARN)
	acl, err := waf.GetWebACLForResource(ctx, &wafv2.GetWebACLForResourceInput{ResourceArn: aws.String(albARN)})
	if err != nil {
		t.Fatalf("GetWebACLForResource(ALB): %v", err)
	}
	if acl.WebACL == nil || aws.ToString(acl.WebACL.ARN) != aclARN {
		t.Fatalf("the ALB's web ACL is %+v, want %s", acl.WebACL, aclARN)
	}
	if acl.WebACL.DefaultAction == nil || acl.WebACL.DefaultAction.Allow == nil {
		t.Errorf("default action %+v, want allow", acl.WebACL.DefaultAction)
	}
	got := map[int32]string{}
	for _, r := range acl.WebACL.Rules {
		got[r.Priority] = aws.ToString(r.Name)
		switch st := r.Statement; {
		case st.RateBasedStatement != nil:
			if aws.ToInt64(st.RateBasedStatement.Limit) != 2000 || st.RateBasedStatement.AggregateKeyType != "IP" || r.Action == nil || r.Action.Block == nil {
				t.Errorf("rate rule %+v (action %+v), want block over 2000 per IP", st.RateBasedStatement, r.Action)
			}
		case st.ManagedRuleGroupStatement != nil:
			var counted []string
			for _, o := range st.ManagedRuleGroupStatement.RuleActionOverrides {
				if o.ActionToUse != nil && o.ActionToUse.Count != nil {
					counted = append(counted, aws.ToString(o.Name))
				}
			}
			want := map[string][]string{"AWSManagedRulesCommonRuleSet": {"SizeRestrictions_BODY"}}[aws.ToString(r.Name)]
			if aws.ToString(st.ManagedRuleGroupStatement.VendorName) != "AWS" || !slices.Equal(counted, want) {
				t.Errorf("rule group %s: vendor %s, counted %v, want AWS counting %v", aws.ToString(r.Name), aws.ToString(st.ManagedRuleGroupStatement.VendorName), counted, want)
			}
		default:
			t.Errorf("unexpected rule %s", aws.ToString(r.Name))
		}
	}
	if want := map[int32]string{1: "rate-limit-per-ip", 10: "AWSManagedRulesCommonRuleSet", 11: "AWSManagedRulesKnownBadInputsRuleSet", 12: "AWSManagedRulesAmazonIpReputationList"}; !maps.Equal(got, want) {
		t.Errorf("web ACL rules by priority %v, want %v", got, want)
	}
	logCfg, err := waf.GetLoggingConfiguration(ctx, &wafv2.GetLoggingConfigurationInput{ResourceArn: aws.String(aclARN)})
	if err != nil {
		t.Fatalf("GetLoggingConfiguration: %v", err)
	}
	var redacted []string
	for _, f := range logCfg.LoggingConfiguration.RedactedFields {
		if f.SingleHeader != nil {
			redacted = append(redacted, strings.ToLower(aws.ToString(f.SingleHeader.Name)))
		}
	}
	sort.Strings(redacted)
	if !slices.Equal(redacted, []string{"authorization", "cookie"}) || len(logCfg.LoggingConfiguration.LogDestinationConfigs) != 1 ||
		!strings.Contains(logCfg.LoggingConfiguration.LogDestinationConfigs[0], ":log-group:aws-waf-logs-"+name) {
		t.Errorf("WAF logging %v redacting %v, want the aws-waf-logs-%s group redacting authorization and cookie", logCfg.LoggingConfiguration.LogDestinationConfigs, redacted, name)
	}

	// DNS: each name an alias of its load balancer.
	var zoneID string
	if v, ok := a.attr(t, "aws_route53_zone.this", "zone_id").(string); ok {
		zoneID = v
	}
	rrs, err := r53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID)})
	if err != nil {
		t.Fatal(err)
	}
	alias := map[string]string{}
	for _, r := range rrs.ResourceRecordSets {
		if r.Type == "A" && r.AliasTarget != nil {
			alias[strings.TrimSuffix(aws.ToString(r.Name), ".")] = strings.TrimSuffix(strings.ToLower(aws.ToString(r.AliasTarget.DNSName)), ".")
		}
	}
	for n, arn := range map[string]string{deck: albARN, gate: albARN, x509: nlbARN} {
		if got, want := alias[n], strings.ToLower(dnsOf[arn]); got != want {
			t.Errorf("%s is an alias of %q, want %q", n, got, want)
		}
	}
}

func sortCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}
