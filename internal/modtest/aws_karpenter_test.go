//go:build modules

package modtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestMotoKarpenter: modules/aws/karpenter applied for real: the
// controller's IRSA role trusting exactly kube-system's karpenter service
// account, its policies passing only the node role and terminating only
// this cluster's node pools' instances, the node role with the four node
// policies, the interruption queue (5 minutes' retention, only EventBridge
// and SQS may send, TLS only) and the five EventBridge rules, each with
// Karpenter's event pattern and the queue as its one target. moto has no
// EKS access entries: the nodes' EC2_LINUX entry is plan-only.
func TestMotoKarpenter(t *testing.T) {
	t.Parallel()
	moto := testenv.SharedMoto(t)
	cluster := testenv.UniqueName("spin-k", 5)
	prefix := cluster + "-karpenter"
	const oidc = "oidc.eks." + testenv.MotoRegion + ".amazonaws.com/id/CAFEF00DCAFEF00D"
	oidcARN := "arn:aws:iam::" + testenv.MotoAccountID + ":oidc-provider/" + oidc
	a := applyTolerating(t, moto, "aws/karpenter", `
  cluster_name       = "`+cluster+`"
  oidc_provider_arn  = "`+oidcARN+`"
  availability_zones = ["`+testenv.MotoRegion+`a", "`+testenv.MotoRegion+`b"]
`, karpenterGaps())
	ctx := t.Context()
	cfg := awsConfig()
	ic := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
	qc := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
	ec := eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })

	// The node role: EC2 assumes it; the four node policies.
	node, err := ic.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(prefix + "-node")})
	if err != nil {
		t.Fatalf("node role: %v", err)
	}
	nodeARN := aws.ToString(node.Role.Arn)
	nt := decodePolicy(t, aws.ToString(node.Role.AssumeRolePolicyDocument))
	if len(nt.Statement) != 1 || !slices.Equal(strs(nt.Statement[0].Principal["Service"]), []string{"ec2.amazonaws.com"}) ||
		!slices.Equal(strs(nt.Statement[0].Action), []string{"sts:AssumeRole"}) {
		t.Errorf("node role trust %+v, want only ec2.amazonaws.com to assume it", nt.Statement)
	}
	if got, want := attachedPolicies(t, ic, prefix+"-node"), []string{
		"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
		"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
		"arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
		"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
	}; !slices.Equal(got, want) {
		t.Errorf("node role policies %v, want %v", got, want)
	}

	// The controller's role: a web identity from the cluster's OIDC
	// provider, for kube-system/karpenter only.
	ctl, err := ic.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(prefix + "-controller")})
	if err != nil {
		t.Fatalf("controller role: %v", err)
	}
	trust := decodePolicy(t, aws.ToString(ctl.Role.AssumeRolePolicyDocument))
	if len(trust.Statement) != 1 {
		t.Fatalf("controller trust has %d statements, want 1", len(trust.Statement))
	}
	st := trust.Statement[0]
	if st.Effect != "Allow" || !slices.Equal(strs(st.Action), []string{"sts:AssumeRoleWithWebIdentity"}) ||
		!slices.Equal(strs(st.Principal["Federated"]), []string{oidcARN}) || len(st.Principal) != 1 {
		t.Errorf("controller trust %+v: want only %s to assume it with a web identity", st, oidcARN)
	}
	if len(st.Condition) != 1 || len(st.Condition["StringEquals"]) != 2 ||
		!slices.Equal(strs(st.Condition["StringEquals"][oidc+":sub"]), []string{"system:serviceaccount:kube-system:karpenter"}) ||
		!slices.Equal(strs(st.Condition["StringEquals"][oidc+":aud"]), []string{"sts.amazonaws.com"}) {
		t.Errorf("controller trust conditions %v, want exactly %s:sub = system:serviceaccount:kube-system:karpenter and :aud = sts.amazonaws.com", st.Condition, oidc)
	}

	// Its policies, as IAM keeps them.
	attached := attachedPolicies(t, ic, prefix+"-controller")
	wantPolicies := []string{}
	for _, c := range []string{"discovery", "instance-profiles", "interruption", "node-lifecycle"} {
		wantPolicies = append(wantPolicies, "arn:aws:iam::"+testenv.MotoAccountID+":policy/"+prefix+"-"+c)
	}
	if !slices.Equal(attached, wantPolicies) {
		t.Fatalf("controller policies %v, want %v", attached, wantPolicies)
	}
	var statements []policyStatement
	for _, arn := range attached {
		p, err := ic.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		v, err := ic.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: p.Policy.DefaultVersionId})
		if err != nil {
			t.Fatal(err)
		}
		statements = append(statements, decodeStatements(t, aws.ToString(v.PolicyVersion.Document))...)
	}
	queueARN := "arn:aws:sqs:" + testenv.MotoRegion + ":" + testenv.MotoAccountID + ":" + prefix
	owned := "aws:ResourceTag/kubernetes.io/cluster/" + cluster
	var passes, terminates, consumes int
	for _, s := range statements {
		actions := strs(s.Action)
		if s.Effect != "Allow" || slices.Contains(actions, "*") || slices.ContainsFunc(actions, func(a string) bool { return strings.HasSuffix(a, ":*") }) {
			t.Errorf("statement %s: effect %s actions %v: want Allow of named actions only", s.Sid, s.Effect, actions)
		}
		if slices.Contains(actions, "iam:PassRole") {
			passes++
			if !slices.Equal(actions, []string{"iam:PassRole"}) || !slices.Equal(strs(s.Resource), []string{nodeARN}) ||
				!slices.Equal(strs(s.Condition["StringEquals"]["iam:PassedToService"]), []string{"ec2.amazonaws.com"}) {
				t.Errorf("statement %s passes %v to %v, want only the node role %s to EC2", s.Sid, strs(s.Resource), s.Condition, nodeARN)
			}
		}
		if slices.Contains(actions, "ec2:TerminateInstances") {
			terminates++
			if !slices.Equal(strs(s.Condition["StringEquals"][owned]), []string{"owned"}) ||
				!slices.Equal(strs(s.Condition["StringLike"]["aws:ResourceTag/karpenter.sh/nodepool"]), []string{"*"}) {
				t.Errorf("statement %s terminates instances under %v, want only those tagged %s = owned and karpenter.sh/nodepool", s.Sid, s.Condition, owned)
			}
		}
		if slices.ContainsFunc(actions, func(a string) bool { return strings.HasPrefix(a, "sqs:") }) {
			consumes++
			if !slices.Equal(actions, []string{"sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"}) || !slices.Equal(strs(s.Resource), []string{queueARN}) {
				t.Errorf("statement %s: %v on %v, want receive/delete on %s only", s.Sid, actions, strs(s.Resource), queueARN)
			}
		}
	}
	if passes != 1 || terminates != 1 || consumes != 1 {
		t.Errorf("%d statements pass a role, %d terminate instances, %d use SQS: want one each", passes, terminates, consumes)
	}

	// The interruption queue.
	qurl, err := qc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(prefix)})
	if err != nil {
		t.Fatalf("interruption queue %s: %v", prefix, err)
	}
	qa, err := qc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: qurl.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	if got := qa.Attributes["QueueArn"]; got != queueARN {
		t.Errorf("queue ARN %s, want %s", got, queueARN)
	}
	if got := qa.Attributes["MessageRetentionPeriod"]; got != "300" {
		t.Errorf("queue keeps messages %s s, want 300", got)
	}
	// SSE: sseGap.
	if v, _ := a.attr(t, "module.m.aws_sqs_queue.interruption", "sqs_managed_sse_enabled").(bool); !v || qa.Attributes["SqsManagedSseEnabled"] != "true" {
		t.Errorf("queue SSE: %v in the state, %q from SQS; want SQS-managed encryption", v, qa.Attributes["SqsManagedSseEnabled"])
	}
	qp := decodeStatements(t, qa.Attributes["Policy"])
	var allows, denies int
	for _, s := range qp {
		switch s.Effect {
		case "Allow":
			allows++
			p, _ := s.Principal.(map[string]any)
			if len(p) != 1 || !slices.Equal(strs(p["Service"]), []string{"events.amazonaws.com", "sqs.amazonaws.com"}) ||
				!slices.Equal(strs(s.Action), []string{"sqs:SendMessage"}) || !slices.Equal(strs(s.Resource), []string{queueARN}) || len(s.Condition) != 0 {
				t.Errorf("queue policy allows %v to %v on %v, want only events.amazonaws.com and sqs.amazonaws.com to send to %s", s.Principal, strs(s.Action), strs(s.Resource), queueARN)
			}
		case "Deny":
			denies++
			if s.Principal != "*" || fmt.Sprint(s.Condition["Bool"]["aws:SecureTransport"]) != "false" {
				t.Errorf("queue policy denies %v under %v, want everyone without TLS", s.Principal, s.Condition)
			}
		}
	}
	if allows != 1 || denies != 1 {
		t.Errorf("queue policy has %d Allow and %d Deny statements, want one each", allows, denies)
	}

	// The rules: Karpenter's event patterns, each with the queue as target.
	want := map[string][2]string{
		"spot-interruption":    {"aws.ec2", "EC2 Spot Instance Interruption Warning"},
		"rebalance":            {"aws.ec2", "EC2 Instance Rebalance Recommendation"},
		"state-change":         {"aws.ec2", "EC2 Instance State-change Notification"},
		"scheduled-change":     {"aws.health", "AWS Health Event"},
		"capacity-reservation": {"aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"},
	}
	rules, err := ec.ListRules(ctx, &eventbridge.ListRulesInput{NamePrefix: aws.String(prefix + "-")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rules.Rules {
		names = append(names, aws.ToString(r.Name))
	}
	slices.Sort(names)
	var wantNames []string
	for k := range maps.Keys(want) {
		wantNames = append(wantNames, prefix+"-"+k)
	}
	slices.Sort(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Errorf("rules %v, want %v", names, wantNames)
	}
	for k, w := range want {
		name := prefix + "-" + k
		r, err := ec.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(name)})
		if err != nil {
			t.Errorf("rule %s: %v", name, err)
			continue
		}
		var pattern map[string][]string
		if err := json.Unmarshal([]byte(aws.ToString(r.EventPattern)), &pattern); err != nil {
			t.Errorf("rule %s pattern %q: %v", name, aws.ToString(r.EventPattern), err)
		}
		if len(pattern) != 2 || !slices.Equal(pattern["source"], []string{w[0]}) || !slices.Equal(pattern["detail-type"], []string{w[1]}) {
			t.Errorf("rule %s matches %v, want source %s and detail-type %q only", name, pattern, w[0], w[1])
		}
		if r.State != "ENABLED" {
			t.Errorf("rule %s is %s, want ENABLED", name, r.State)
		}
		tg, err := ec.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(name)})
		if err != nil {
			t.Errorf("targets of %s: %v", name, err)
			continue
		}
		if len(tg.Targets) != 1 || aws.ToString(tg.Targets[0].Arn) != queueARN {
			var arns []string
			for _, x := range tg.Targets {
				arns = append(arns, aws.ToString(x.Arn))
			}
			t.Errorf("rule %s targets %v, want exactly the queue %s", name, arns, queueARN)
		}
	}
}

// policyStatement is a statement of a policy whose principal may be "*".
type policyStatement struct {
	Sid       string
	Effect    string
	Action    any
	Resource  any
	Principal any
	Condition map[string]map[string]any
}

// decodeStatements reads a policy document's statements (URL-encoded, as
// IAM returns them, or plain JSON, as SQS does).
func decodeStatements(t *testing.T, doc string) []policyStatement {
	t.Helper()
	if s, err := url.QueryUnescape(doc); err == nil {
		doc = s
	}
	var p struct{ Statement []policyStatement }
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("policy document %q: %v", doc, err)
	}
	return p.Statement
}

// attachedPolicies lists the ARNs of a role's managed policies, sorted.
func attachedPolicies(t *testing.T, ic *iam.Client, role string) []string {
	t.Helper()
	out, err := ic.ListAttachedRolePolicies(t.Context(), &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		t.Fatalf("policies of %s: %v", role, err)
	}
	var arns []string
	for _, p := range out.AttachedPolicies {
		arns = append(arns, aws.ToString(p.PolicyArn))
	}
	slices.Sort(arns)
	return arns
}
