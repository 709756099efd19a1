//go:build modules

package modtest

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestMotoLBController: modules/aws/lb-controller applied for real: the
// AWS Load Balancer Controller's IRSA role trusting exactly
// kube-system/aws-load-balancer-controller through the cluster's OIDC
// provider, and its four policies as IAM keeps them (rendered by the real
// provider's aws_iam_policy_document): load balancers, target groups and
// security groups created only with elbv2.k8s.aws/cluster = the cluster's
// name and changed or deleted only when they carry it, security groups only
// in the cluster's VPC, the one service-linked role Elastic Load
// Balancing's; and the chart values naming the role.
func TestMotoLBController(t *testing.T) {
	t.Parallel()
	moto := testenv.SharedMoto(t)
	cluster := testenv.UniqueName("spin-l", 5)
	role := cluster + "-lb-controller"
	oidc := "oidc.eks." + testenv.MotoRegion + ".amazonaws.com/id/" + strings.ToUpper(strings.ReplaceAll(cluster, "-", ""))
	oidcARN := "arn:aws:iam::" + testenv.MotoAccountID + ":oidc-provider/" + oidc
	a := applyTolerating(t, moto, "aws/lb-controller", `
  cluster_name      = "`+cluster+`"
  oidc_provider_arn = aws_iam_openid_connect_provider.eks.arn
  vpc_id            = aws_vpc.eks.id
`, motoGaps{Root: `
resource "aws_iam_openid_connect_provider" "eks" {
  url             = "https://` + oidc + `"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]
}
resource "aws_vpc" "eks" {
  cidr_block = "10.60.0.0/16"
}
`})
	ctx := t.Context()
	ic := iam.NewFromConfig(awsConfig(), func(o *iam.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
	vpcID := a.attr(t, "aws_vpc.eks", "id").(string)
	vpcARN := "arn:aws:ec2:" + testenv.MotoRegion + ":" + testenv.MotoAccountID + ":vpc/" + vpcID
	if got := a.attr(t, "aws_iam_openid_connect_provider.eks", "arn").(string); got != oidcARN {
		t.Fatalf("OIDC provider %s, want %s", got, oidcARN)
	}

	// The role: a web identity from the cluster's OIDC provider, for
	// kube-system/aws-load-balancer-controller only.
	r, err := ic.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
	if err != nil {
		t.Fatalf("controller role %s: %v", role, err)
	}
	roleARN := aws.ToString(r.Role.Arn)
	trust := decodePolicy(t, aws.ToString(r.Role.AssumeRolePolicyDocument))
	if len(trust.Statement) != 1 {
		t.Fatalf("trust has %d statements, want 1", len(trust.Statement))
	}
	st := trust.Statement[0]
	if st.Effect != "Allow" || !slices.Equal(strs(st.Action), []string{"sts:AssumeRoleWithWebIdentity"}) ||
		!slices.Equal(strs(st.Principal["Federated"]), []string{oidcARN}) || len(st.Principal) != 1 {
		t.Errorf("trust %+v: want only %s to assume it with a web identity", st, oidcARN)
	}
	if len(st.Condition) != 1 || len(st.Condition["StringEquals"]) != 2 ||
		!slices.Equal(strs(st.Condition["StringEquals"][oidc+":sub"]), []string{"system:serviceaccount:kube-system:aws-load-balancer-controller"}) ||
		!slices.Equal(strs(st.Condition["StringEquals"][oidc+":aud"]), []string{"sts.amazonaws.com"}) {
		t.Errorf("trust conditions %v, want exactly %s:sub = system:serviceaccount:kube-system:aws-load-balancer-controller and :aud = sts.amazonaws.com", st.Condition, oidc)
	}

	// The policies, as IAM keeps them.
	attached := attachedPolicies(t, ic, role)
	var want []string
	for _, c := range []string{"discovery", "integrations", "load-balancers", "security-groups"} {
		want = append(want, "arn:aws:iam::"+testenv.MotoAccountID+":policy/"+role+"-"+c)
	}
	if !slices.Equal(attached, want) {
		t.Fatalf("controller policies %v, want %v", attached, want)
	}
	var statements []policyStatement
	for _, arn := range attached {
		p, err := ic.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("policy %s: %v", arn, err)
		}
		v, err := ic.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: p.Policy.DefaultVersionId})
		if err != nil {
			t.Fatalf("policy %s version %s: %v", arn, aws.ToString(p.Policy.DefaultVersionId), err)
		}
		statements = append(statements, decodeStatements(t, aws.ToString(v.PolicyVersion.Document))...)
	}

	// conditions flattens a statement's conditions to "OPERATOR KEY = V1,V2".
	conditions := func(s policyStatement) []string {
		var out []string
		for op, kv := range s.Condition {
			for k, v := range kv {
				out = append(out, op+" "+k+" = "+strings.Join(strs(v), ","))
			}
		}
		slices.Sort(out)
		return out
	}
	// allowing lists the statements that allow action.
	allowing := func(action string) []policyStatement {
		var out []policyStatement
		for _, s := range statements {
			if slices.Contains(strs(s.Action), action) {
				out = append(out, s)
			}
		}
		return out
	}
	resourceTag := "StringEquals aws:ResourceTag/elbv2.k8s.aws/cluster = " + cluster
	requestTag := "StringEquals aws:RequestTag/elbv2.k8s.aws/cluster = " + cluster

	for _, s := range statements {
		actions := strs(s.Action)
		if s.Effect != "Allow" || s.Principal != nil || slices.ContainsFunc(actions, func(a string) bool { return strings.Contains(a, "*") }) {
			t.Errorf("statement %s: effect %s actions %v: want Allow of named actions only", s.Sid, s.Effect, actions)
		}
	}
	// Changing and deleting load balancers, target groups and security
	// groups: only this cluster's, in one statement each.
	for _, action := range []string{"elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetSecurityGroups", "ec2:DeleteSecurityGroup"} {
		got := allowing(action)
		if len(got) != 1 || !slices.Equal(conditions(got[0]), []string{resourceTag}) {
			var conds [][]string
			for _, s := range got {
				conds = append(conds, conditions(s))
			}
			t.Errorf("%s is allowed by %d statements with conditions %v, want one, under exactly %q", action, len(got), conds, resourceTag)
		}
	}
	// Creating them: only with this cluster's tag in the request.
	for _, action := range []string{"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"} {
		got := allowing(action)
		if len(got) != 1 || !slices.Equal(conditions(got[0]), []string{requestTag}) {
			t.Errorf("%s is allowed by %v, want one statement under exactly %q", action, got, requestTag)
		}
	}
	// Security groups: made in the cluster's VPC; ingress rules changed
	// only on groups of that VPC or of this cluster.
	if got := allowing("ec2:CreateSecurityGroup"); len(got) != 1 ||
		!slices.Equal(strs(got[0].Resource), []string{"arn:aws:ec2:" + testenv.MotoRegion + ":" + testenv.MotoAccountID + ":security-group/*", vpcARN}) {
		t.Errorf("CreateSecurityGroup is allowed by %+v, want one statement on %s and its groups only", got, vpcARN)
	}
	for _, s := range allowing("ec2:AuthorizeSecurityGroupIngress") {
		if c := conditions(s); !slices.Equal(c, []string{"StringEquals ec2:Vpc = " + vpcARN}) && !slices.Equal(c, []string{resourceTag}) {
			t.Errorf("statement %s changes ingress rules under %v, want in %s or on this cluster's groups only", s.Sid, c, vpcARN)
		}
	}
	// The one service-linked role: Elastic Load Balancing's.
	slr := allowing("iam:CreateServiceLinkedRole")
	if len(slr) != 1 || !slices.Equal(strs(slr[0].Resource), []string{"arn:aws:iam::" + testenv.MotoAccountID + ":role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing"}) ||
		!slices.Equal(conditions(slr[0]), []string{"StringEquals iam:AWSServiceName = elasticloadbalancing.amazonaws.com"}) {
		t.Errorf("CreateServiceLinkedRole is allowed by %+v, want Elastic Load Balancing's role only", slr)
	}

	// The chart's values name the role, the cluster and the VPC.
	var values map[string]any
	a.output(t, "helm_values", &values)
	wantValues := map[string]any{
		"clusterName":  cluster,
		"region":       testenv.MotoRegion,
		"vpcId":        vpcID,
		"replicaCount": float64(2),
		"serviceAccount": map[string]any{
			"create":      true,
			"name":        "aws-load-balancer-controller",
			"annotations": map[string]any{"eks.amazonaws.com/role-arn": roleARN},
		},
		"podDisruptionBudget": map[string]any{"maxUnavailable": float64(1)},
	}
	if !reflect.DeepEqual(values, wantValues) {
		t.Errorf("helm_values %v, want %v", values, wantValues)
	}
}
