//go:build modules

package modtest

import (
	"context"
	"slices"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestMotoEKS: modules/aws/eks applied for real: the control plane in the
// given subnets with a private endpoint only, its IRSA OIDC provider, a
// managed node group spread over every subnet with the asked-for scaling
// bounds, nodes on an IMDSv2-only launch template with encrypted disks.
// moto has no EKS access entries or add-ons: those are plan-only. Applied
// in eksRegion, apart from TestMotoAWSComplete's cluster (eksIssuerGap).
func TestMotoEKS(t *testing.T) {
	t.Parallel()
	moto := testenv.SharedMoto(t)
	name := testenv.UniqueName("spin-eks-", 5)
	const admin = "arn:aws:iam::" + testenv.MotoAccountID + ":role/platform-admin"
	gaps := withRoot(eksGaps([]string{"admin"}, []string{"coredns"}), vpcHCL("eks", "10.60.0.0/16", eksRegion, 3))
	gaps.Region, gaps.RegionWhy = eksRegion, eksIssuerGap
	a := applyTolerating(t, moto, "aws/eks", `
  name       = "`+name+`"
  subnet_ids = aws_subnet.eks[*].id
  access_entries = {
    admin = { principal_arn = "`+admin+`" }
  }
  addons = { coredns = {} }
  node_groups = {
    default = { instance_types = ["m5.xlarge"], min_size = 2, desired_size = 2, max_size = 5, labels = { role = "spinnaker" } }
  }
`, gaps)
	ctx := t.Context()
	cfg := awsConfig()
	cfg.Region = eksRegion
	ec := eks.NewFromConfig(cfg, func(o *eks.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
	ic := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })

	cl, err := ec.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	c := cl.Cluster
	if aws.ToString(c.Version) != "1.33" {
		t.Errorf("cluster version %s, want 1.33", aws.ToString(c.Version))
	}
	vpc := c.ResourcesVpcConfig
	var subnets []string
	for i := range 3 {
		subnets = append(subnets, a.attr(t, "aws_subnet.eks["+string(rune('0'+i))+"]", "id").(string))
	}
	sort.Strings(subnets)
	got := append([]string(nil), vpc.SubnetIds...)
	sort.Strings(got)
	if !slices.Equal(got, subnets) {
		t.Errorf("control plane in subnets %v, want %v", got, subnets)
	}
	if vpc.EndpointPublicAccess || !vpc.EndpointPrivateAccess {
		t.Errorf("endpoint public %v private %v: want private only", vpc.EndpointPublicAccess, vpc.EndpointPrivateAccess)
	}
	if arn, _ := a.attr(t, "module.m.aws_iam_role.cluster", "arn").(string); aws.ToString(c.RoleArn) != arn {
		t.Errorf("cluster role %s, want the module's %s", aws.ToString(c.RoleArn), arn)
	}

	// IRSA: the cluster's issuer is an IAM OIDC provider for STS.
	issuer := aws.ToString(c.Identity.Oidc.Issuer)
	oidcARN := a.attr(t, "module.m.aws_iam_openid_connect_provider.this", "arn").(string)
	op, err := ic.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(oidcARN)})
	if err != nil {
		t.Fatal(err)
	}
	if "https://"+aws.ToString(op.Url) != issuer && aws.ToString(op.Url) != issuer || !slices.Equal(op.ClientIDList, []string{"sts.amazonaws.com"}) {
		t.Errorf("OIDC provider %s for %v, want the cluster's issuer %s for sts.amazonaws.com", aws.ToString(op.Url), op.ClientIDList, issuer)
	}

	ng, err := ec.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(name), NodegroupName: aws.String(name + "-default")})
	if err != nil {
		t.Fatal(err)
	}
	g := ng.Nodegroup
	if s := g.ScalingConfig; aws.ToInt32(s.MinSize) != 2 || aws.ToInt32(s.DesiredSize) != 2 || aws.ToInt32(s.MaxSize) != 5 {
		t.Errorf("node group scaling %d/%d/%d, want min 2 desired 2 max 5", aws.ToInt32(s.MinSize), aws.ToInt32(s.DesiredSize), aws.ToInt32(s.MaxSize))
	}
	gs := append([]string(nil), g.Subnets...)
	sort.Strings(gs)
	if !slices.Equal(gs, subnets) {
		t.Errorf("nodes in subnets %v, want every AZ's %v", gs, subnets)
	}
	if g.Labels["role"] != "spinnaker" || !slices.Equal(g.InstanceTypes, []string{"m5.xlarge"}) {
		t.Errorf("node group labels %v instance types %v", g.Labels, g.InstanceTypes)
	}
	if g.LaunchTemplate == nil || aws.ToString(g.LaunchTemplate.Id) != a.attr(t, `module.m.aws_launch_template.node["default"]`, "id").(string) {
		t.Errorf("node group launch template %+v, want the module's", g.LaunchTemplate)
	}
	// The launch template: IMDSv2 only, one hop (pods get credentials
	// through IRSA, never the node's role), encrypted gp3 disks.
	lt := a.resources[`module.m.aws_launch_template.node["default"]`]
	md, _ := lt["metadata_options"].([]any)
	if len(md) != 1 || md[0].(map[string]any)["http_tokens"] != "required" || md[0].(map[string]any)["http_put_response_hop_limit"] != float64(1) {
		t.Errorf("launch template metadata options %v, want IMDSv2 only with one hop", md)
	}
}

// TestMotoEKSIssuerPerRegion pins the moto gap TestMotoEKS works around
// (eksIssuerGap): two clusters in one region get the same OIDC issuer, so
// two EKS applies at once there would ask IAM for the same OIDC provider;
// a cluster in eksRegion gets another. When moto gives each cluster its own
// issuer, this fails, and TestMotoEKS can go back to testenv.MotoRegion.
func TestMotoEKSIssuerPerRegion(t *testing.T) {
	t.Parallel()
	moto := testenv.SharedMoto(t)
	ctx := t.Context()
	issuer := func(region string) string {
		t.Helper()
		cfg := awsConfig()
		cfg.Region = region
		ec := eks.NewFromConfig(cfg, func(o *eks.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
		name := testenv.UniqueName("spin-issuer-", 5)
		out, err := ec.CreateCluster(ctx, &eks.CreateClusterInput{
			Name:               aws.String(name),
			RoleArn:            aws.String("arn:aws:iam::" + testenv.MotoAccountID + ":role/eks-issuer-probe"),
			ResourcesVpcConfig: &ekstypes.VpcConfigRequest{},
		})
		if err != nil {
			t.Fatalf("creating an EKS cluster in %s: %v", region, err)
		}
		t.Cleanup(func() {
			if _, err := ec.DeleteCluster(context.WithoutCancel(ctx), &eks.DeleteClusterInput{Name: aws.String(name)}); err != nil {
				t.Errorf("deleting EKS cluster %s: %v", name, err)
			}
		})
		if out.Cluster == nil || out.Cluster.Identity == nil || out.Cluster.Identity.Oidc == nil {
			t.Fatalf("EKS cluster %s in %s has no OIDC issuer", name, region)
		}
		return aws.ToString(out.Cluster.Identity.Oidc.Issuer)
	}
	a, b := issuer(testenv.MotoRegion), issuer(testenv.MotoRegion)
	if a != b {
		t.Errorf("two EKS clusters in %s have the issuers %s and %s: moto now gives each cluster its own, so TestMotoEKS can apply in %s again (drop eksRegion and eksIssuerGap)", testenv.MotoRegion, a, b, testenv.MotoRegion)
	}
	if c := issuer(eksRegion); c == a {
		t.Errorf("the EKS clusters in %s and %s share the issuer %s: TestMotoEKS and TestMotoAWSComplete would collide on the IAM OIDC provider", eksRegion, testenv.MotoRegion, c)
	}
}
