//go:build modules

package modtest

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// platformGap: why module.platform (the spinops layer) is planned but not
// applied in TestMotoAWSComplete.
const platformGap = "the spinops layer installs Spinnaker into the EKS cluster and waits for it to run (the operator's and Spinnaker's pods, " +
	"the bridge's pods registered in the NLB's target group by the AWS Load Balancer Controller, the control cluster's agent): " +
	"moto's EKS has no API server, and the local one this test points the spinops provider at runs no pods; " +
	"the layer is planned against that local cluster (its preflight data source is read from it), its resources are applied on a real " +
	"API server by the provider's acceptance tests (with the operator and kubelet stand-ins) and by make demo, and the module itself " +
	"is tested at plan level (modules/spinops/platform/tests)"

// bucketTagsGap: why the buckets' tags are updated by a second plan.
const bucketTagsGap = "the aws provider tags a bucket when it creates it, in CreateBucket's CreateBucketConfiguration.Tags " +
	"(internal/service/s3/bucket.go, resourceBucketCreate); moto 5.2.1 reads only the LocationConstraint of that body " +
	"(moto/s3/responses.py:947) and drops the tags, so the example's default_tags read back empty and the second plan puts them"

// awsCompleteOverride is the override file of the scratch copy of
// examples/aws-complete (Terraform merges *_override.tf into the
// configuration: https://developer.hashicorp.com/terraform/language/files/override):
// the aws provider reaches moto (AWS_ENDPOINT_URL, test credentials), the
// spinops provider the local API server instead of the EKS endpoint moto
// makes up, and what a test's destroy needs (no deletion protection, no
// final snapshot, buckets emptied), and one moto gap (the cluster security
// group moto does not make). Nothing else of the example changes.
const awsCompleteOverride = `# Applied against moto by internal/modtest (TestMotoAWSComplete).
provider "aws" {
  access_key                  = %[1]q
  secret_key                  = %[2]q
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true
}

provider "spinops" {
  kubernetes {
    config_path = %[3]q
  }
}

provider "spinops" {
  alias = "fleet"

  kubernetes {
    config_path = %[3]q
  }
}

module "mysql" {
  skip_final_snapshot = true
  deletion_protection = false
}

module "edge" {
  deletion_protection = false
}

module "front50_bucket" {
  force_destroy = true
}

module "backup_bucket" {
  force_destroy = true
}

# moto 5.2.1 makes no cluster security group (moto/eks/models.py keeps
# resourcesVpcConfig as sent, with no clusterSecurityGroupId), so the eks
# module's cluster_security_group_id is "" and the karpenter module refuses
# it (sg-... only). compact drops it; on AWS, where the ID is always set,
# this is the example's own list.
module "karpenter" {
  security_group_ids = compact([module.eks.cluster_security_group_id, module.network.internal_security_group_id])
}
`

// TestMotoAWSComplete: examples/aws-complete applied as one stack against
// moto with the real hashicorp/aws provider and the spinops provider built
// by make test: every AWS module wired as the example wires them, and
// spinops_iam_source_role made in moto's IAM. The spinops layer
// (module.platform) is planned against a real local API server, not
// applied (platformGap), and ElastiCache is plan-only (redisGap). Checked
// with aws-sdk-go-v2: what only the composition decides — the cluster in
// the network's private subnets, Aurora in its database subnets behind the
// database group, the load balancers in the public subnets, every IRSA
// role trusting this cluster's OIDC provider, the managing role trusting
// Clouddriver and Rosco in both zones and allowed to assume exactly the
// managed roles, the DNS names pointing at the load balancers. A second
// plan changes nothing but the known moto gaps, and destroy removes it all.
func TestMotoAWSComplete(t *testing.T) {
	t.Parallel()
	moto := testenv.SharedMoto(t)
	cluster := testenv.StartCluster(t)
	terraform, mirror := terraformAndMirror(t, "aws")
	if _, err := os.Stat(filepath.Join(mirror, "registry.terraform.io", "spinops", "spinops")); err != nil {
		t.Fatalf("no spinops provider in the mirror %s (scripts/test-modules.sh builds it): %v", mirror, err)
	}
	ctx := t.Context()
	cfg := awsConfig()
	r53 := route53.NewFromConfig(cfg, func(o *route53.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })

	name := testenv.UniqueName("spx", 5)
	zone := name + ".example.com"
	domain := "spinnaker." + zone
	azs := []string{testenv.MotoRegion + "a", testenv.MotoRegion + "b", testenv.MotoRegion + "c"}
	managed := []string{"arn:aws:iam::222222222222:role/spinnakerManaged", "arn:aws:iam::333333333333:role/spinnakerManaged"}

	// The hosted zone the example takes (zone_id): it exists before the
	// stack, as a team's zone would. Removed after the destroy (cleanups
	// run last-registered first).
	hz, err := r53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String(zone), CallerReference: aws.String(name)})
	if err != nil {
		t.Fatalf("creating the hosted zone %s: %v", zone, err)
	}
	zoneID := strings.TrimPrefix(aws.ToString(hz.HostedZone.Id), "/hostedzone/")
	t.Cleanup(func() {
		// t.Context() is done by now.
		if _, err := r53.DeleteHostedZone(context.Background(), &route53.DeleteHostedZoneInput{Id: hz.HostedZone.Id}); err != nil {
			t.Errorf("deleting the hosted zone %s after the destroy (a record left behind?): %v", zone, err)
		}
	})

	// The scratch tree keeps the repository's layout, so the example's
	// module sources (../../modules/...) resolve to the copies; each
	// module is copied with its own moto gaps (copyModule).
	dir := t.TempDir()
	eksAddons := []string{"coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni"}
	// With the example's default_tags the launch template carries tags
	// of its own, which moto 5.2.1 also copies into the template's data
	// (moto/ec2/responses/launch_templates.py, create_launch_template,
	// lines 20-34, extends LaunchTemplateData.TagSpecifications with the
	// request's): the provider reads a "launch-template" tag
	// specification the module never wrote (EC2 keeps the template's tags
	// apart from its data).
	eksIgnore := maps.Clone(eksGaps(nil, nil).Ignore)
	eksIgnore["aws_launch_template.node"] = maps.Clone(eksIgnore["aws_launch_template.node"])
	eksIgnore["aws_launch_template.node"]["tag_specifications"] = "moto 5.2.1 copies the launch template's own tags into its data's tag specifications " +
		"(moto/ec2/responses/launch_templates.py:20-34), so a template with tags (the example's default_tags) reads back with a " +
		"\"launch-template\" specification the module never wrote"
	ignore := map[string]motoGaps{"aws/eks": {Ignore: eksIgnore}, "aws/mysql": mysqlGaps()}
	mods, err := filepath.Glob(filepath.Join(repo(t), "modules", "*", "*"))
	if err != nil || len(mods) == 0 {
		t.Fatalf("no modules under %s: %v", filepath.Join(repo(t), "modules"), err)
	}
	for _, m := range mods {
		if fi, err := os.Stat(m); err != nil || !fi.IsDir() {
			continue
		}
		rel, _ := filepath.Rel(filepath.Join(repo(t), "modules"), m)
		copyModule(t, m, filepath.Join(dir, "modules", rel), ignore[filepath.ToSlash(rel)].Ignore)
	}
	root := copyModule(t, filepath.Join(repo(t), "examples", "aws-complete"), filepath.Join(dir, "examples", "aws-complete"), nil)
	writeFile(t, filepath.Join(root, "moto_override.tf"), fmt.Sprintf(awsCompleteOverride, testenv.MotoAccessKeyID, testenv.MotoSecretAccessKey, cluster.Kubeconfig))
	writeFile(t, filepath.Join(root, "moto.auto.tfvars"), fmt.Sprintf(`region              = %q
azs                 = [%q, %q, %q]
name                = %q
zone_id             = %q
domain              = %q
front50_bucket      = %q
backup_bucket       = %q
admin_principal_arn = "arn:aws:iam::%s:role/spinops-terraform"
managed_role_arns   = [%q, %q]
bridge_admin_token  = "moto-test-admin-token-0123456789"
`, testenv.MotoRegion, azs[0], azs[1], azs[2], name, zoneID, domain, name+"-front50", name+"-backups", testenv.MotoAccountID, managed[0], managed[1]))

	gaps := mergeGaps(
		networkGaps().under("module.network"),
		bucketGaps().under("module.front50_bucket"),
		bucketGaps().under("module.backup_bucket"),
		eksGaps([]string{"terraform"}, eksAddons).under("module.eks"),
		karpenterGaps().under("module.karpenter[0]"),
		edgeGaps().under("module.edge"),
		motoGaps{
			PlanOnlyUnder: map[string]string{"module.redis[0]": redisGap, "module.platform": platformGap},
			Drift: map[string]string{
				"module.front50_bucket.aws_s3_bucket.this": bucketTagsGap,
				"module.backup_bucket.aws_s3_bucket.this":  bucketTagsGap,
			},
		},
	)
	env := motoEnv(terraformEnv(t, dir, mirror), moto)
	a := applyRoot(t, terraform, root, env, "examples/aws-complete", gaps)

	str := func(address, attr string) string {
		t.Helper()
		s, _ := a.attr(t, address, attr).(string)
		return s
	}
	ids := func(tier string) []string {
		var out []string
		for i := range azs {
			out = append(out, str(fmt.Sprintf("module.network.aws_subnet.%s[%d]", tier, i), "id"))
		}
		sort.Strings(out)
		return out
	}
	private, public, database := ids("private"), ids("public"), ids("database")
	internalSG := str("module.network.aws_security_group.internal", "id")
	userSG := str("module.network.aws_security_group.user_facing", "id")
	dbSG := str("module.network.aws_security_group.database", "id")

	// EKS in the private subnets, with the internal group.
	ec := eks.NewFromConfig(cfg, func(o *eks.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
	cl, err := ec.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("EKS cluster %s: %v", name, err)
	}
	if got := sortCopy(cl.Cluster.ResourcesVpcConfig.SubnetIds); !slices.Equal(got, private) {
		t.Errorf("the EKS control plane is in subnets %v, want the network's private subnets %v", got, private)
	}
	if !slices.Contains(cl.Cluster.ResourcesVpcConfig.SecurityGroupIds, internalSG) {
		t.Errorf("the EKS cluster's security groups %v lack the network's internal group %s", cl.Cluster.ResourcesVpcConfig.SecurityGroupIds, internalSG)
	}
	issuer := strings.TrimPrefix(aws.ToString(cl.Cluster.Identity.Oidc.Issuer), "https://")
	oidcARN := str("module.eks.aws_iam_openid_connect_provider.this", "arn")
	if oidcARN != "arn:aws:iam::"+testenv.MotoAccountID+":oidc-provider/"+issuer {
		t.Fatalf("the IRSA OIDC provider %s is not the cluster's issuer %s", oidcARN, issuer)
	}

	// Aurora in the database subnets, behind the database group only.
	rc := rds.NewFromConfig(cfg, func(o *rds.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
	dbc, err := rc.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(str("module.mysql.aws_rds_cluster.this", "id"))})
	if err != nil || len(dbc.DBClusters) != 1 {
		t.Fatalf("Aurora cluster: %+v, %v", dbc, err)
	}
	var dbSGs []string
	for _, g := range dbc.DBClusters[0].VpcSecurityGroups {
		dbSGs = append(dbSGs, aws.ToString(g.VpcSecurityGroupId))
	}
	if !slices.Equal(dbSGs, []string{dbSG}) {
		t.Errorf("Aurora's security groups %v, want only the network's database group %s", dbSGs, dbSG)
	}
	sg, err := rc.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: dbc.DBClusters[0].DBSubnetGroup})
	if err != nil || len(sg.DBSubnetGroups) != 1 {
		t.Fatalf("Aurora's subnet group %s: %+v, %v", aws.ToString(dbc.DBClusters[0].DBSubnetGroup), sg, err)
	}
	var dbSubnets []string
	for _, s := range sg.DBSubnetGroups[0].Subnets {
		dbSubnets = append(dbSubnets, aws.ToString(s.SubnetIdentifier))
	}
	if sort.Strings(dbSubnets); !slices.Equal(dbSubnets, database) {
		t.Errorf("Aurora's subnets %v, want the network's database subnets %v", dbSubnets, database)
	}

	// The load balancers in the public subnets; the ALB behind the
	// user-facing and internal groups.
	lc := elb.NewFromConfig(cfg, func(o *elb.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
	dns := map[string]string{}
	for _, lb := range []string{"module.edge.aws_lb.this", "module.edge.aws_lb.x509", `module.edge.aws_lb.bridge["this"]`} {
		arn := str(lb, "arn")
		out, err := lc.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
		if err != nil || len(out.LoadBalancers) != 1 {
			t.Fatalf("%s (%s): %+v, %v", lb, arn, out, err)
		}
		l := out.LoadBalancers[0]
		var subnets []string
		for _, az := range l.AvailabilityZones {
			subnets = append(subnets, aws.ToString(az.SubnetId))
		}
		if sort.Strings(subnets); !slices.Equal(subnets, public) {
			t.Errorf("%s is in subnets %v, want the network's public subnets %v", lb, subnets, public)
		}
		if aws.ToString(l.VpcId) != str("module.network.aws_vpc.this", "id") {
			t.Errorf("%s is in VPC %s, not the network's", lb, aws.ToString(l.VpcId))
		}
		dns[lb] = strings.ToLower(strings.TrimSuffix(aws.ToString(l.DNSName), "."))
		if lb == "module.edge.aws_lb.this" {
			if got := sortCopy(l.SecurityGroups); !slices.Equal(got, sortCopy([]string{userSG, internalSG})) {
				t.Errorf("the ALB's security groups %v, want the user-facing %s and internal %s groups", got, userSG, internalSG)
			}
		}
	}

	// The names users, Spinnaker's x509 clients and agents dial.
	recs, err := r53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID)})
	if err != nil {
		t.Fatal(err)
	}
	alias := map[string]string{}
	for _, r := range recs.ResourceRecordSets {
		if r.AliasTarget != nil && r.Type == "A" {
			alias[strings.TrimSuffix(aws.ToString(r.Name), ".")] = strings.ToLower(strings.TrimSuffix(aws.ToString(r.AliasTarget.DNSName), "."))
		}
	}
	for host, lb := range map[string]string{
		domain:             "module.edge.aws_lb.this",
		"api." + domain:    "module.edge.aws_lb.this",
		"x509." + domain:   "module.edge.aws_lb.x509",
		"bridge." + domain: `module.edge.aws_lb.bridge["this"]`,
	} {
		if alias[host] != dns[lb] {
			t.Errorf("%s is an alias of %q, want %s (%s); the zone's aliases: %v", host, alias[host], lb, dns[lb], alias)
		}
	}

	// Every IRSA role of the stack trusts this cluster's OIDC provider,
	// and only it.
	ic := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
	irsa := 0
	for addr, r := range a.resources {
		if !strings.Contains(addr, "aws_iam_role.") {
			continue
		}
		doc, _ := r["assume_role_policy"].(string)
		if !strings.Contains(doc, "Federated") {
			continue
		}
		irsa++
		for _, st := range decodePolicy(t, doc).Statement {
			if !slices.Equal(strs(st.Principal["Federated"]), []string{oidcARN}) {
				t.Errorf("%s trusts %v, want only this cluster's OIDC provider %s", addr, st.Principal, oidcARN)
			}
		}
	}
	// front50 and backup (module.iam), Karpenter's controller, the Load
	// Balancer Controller.
	if irsa < 4 {
		t.Errorf("%d IRSA roles in the state, want at least 4 (front50, backup, karpenter, lb-controller)", irsa)
	}

	// The managing role (spinops_iam_source_role, made by the spinops
	// provider in moto's IAM): Clouddriver and Rosco of both zones
	// through this cluster's OIDC provider; it may assume exactly the
	// managed roles.
	role := name + "-managing"
	r, err := ic.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
	if err != nil {
		t.Fatalf("the managing role %s: %v", role, err)
	}
	var subs []string
	for _, st := range decodePolicy(t, aws.ToString(r.Role.AssumeRolePolicyDocument)).Statement {
		if !slices.Equal(strs(st.Principal["Federated"]), []string{oidcARN}) {
			t.Errorf("the managing role trusts %v, want this cluster's OIDC provider %s", st.Principal, oidcARN)
		}
		subs = append(subs, strs(st.Condition["StringEquals"][issuer+":sub"])...)
	}
	sort.Strings(subs)
	want := []string{
		"system:serviceaccount:spinnaker-green:clouddriver", "system:serviceaccount:spinnaker-green:rosco",
		"system:serviceaccount:spinnaker-red:clouddriver", "system:serviceaccount:spinnaker-red:rosco",
	}
	if !slices.Equal(subs, want) {
		t.Errorf("the managing role trusts the service accounts %v, want %v", subs, want)
	}
	pols, err := ic.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		t.Fatal(err)
	}
	var assumable []string
	for _, p := range pols.PolicyNames {
		doc, err := ic.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(p)})
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range decodePolicy(t, aws.ToString(doc.PolicyDocument)).Statement {
			if st.Effect == "Allow" && slices.Contains(strs(st.Action), "sts:AssumeRole") {
				assumable = append(assumable, strs(st.Resource)...)
			}
		}
	}
	if sort.Strings(assumable); !slices.Equal(assumable, managed) {
		t.Errorf("the managing role may assume %v, want exactly the managed roles %v", assumable, managed)
	}

	// The VPC the Load Balancer Controller may change groups in is the
	// network's.
	ec2c := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
	vpcs, err := ec2c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{str("module.network.aws_vpc.this", "id")}})
	if err != nil || len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].CidrBlock) != "10.40.0.0/16" {
		t.Errorf("the network's VPC: %+v, %v; want 10.40.0.0/16 (the example's cidr)", vpcs, err)
	}
	vpcARN := "arn:aws:ec2:" + testenv.MotoRegion + ":" + testenv.MotoAccountID + ":vpc/" + str("module.network.aws_vpc.this", "id")
	found := false
	for addr, r := range a.resources {
		if strings.HasPrefix(addr, "module.lb_controller[0].aws_iam_policy.this") {
			if doc, _ := r["policy"].(string); strings.Contains(doc, vpcARN) {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no policy of the Load Balancer Controller names the network's VPC %s", vpcARN)
	}
}
