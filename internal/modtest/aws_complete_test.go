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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker/operatortest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
	"github.com/spinops/terraform-provider-spinops/internal/testenv/podstandin"
)

// What a cluster runs for module.platform, stood in (the local API server
// runs no pods): the Spinnaker Operator (operatortest's stand-in, which
// follows the real operator's documented and coded behaviour:
// docs/operator.md), a kubelet that marks pods Ready (the bridge's only
// once the bridge it runs answers its readiness probe), the bridge's and
// the control cluster's agent's pods (the real spinops binary, run from
// what the resources installed: podstandin), and the cluster's DNS for the
// bridge's in-cluster Service. What the AWS side does for the bridge — the
// edge NLB forwarding bridge.DOMAIN:443 to the pods registered by the AWS
// Load Balancer Controller from the TargetGroupBinding — is stood in by the
// fleet provider dialling the bridge pod's loopback port and verifying the
// certificate for bridge.DOMAIN (awsCompleteOverride): moto's NLB carries
// no traffic.
const (
	platformBridgeNamespace = "spinops"        // module.platform's bridge.namespace default
	platformBridgeName      = "spinops-bridge" // and its bridge.name
	platformAgentNamespace  = "spinops-agent"  // spinops_agent_account's install_agent namespace default
	platformControlAccount  = "control"        // the example's control_cluster_account.name default
	platformAdminToken      = "moto-test-admin-token-0123456789"
	platformSQLPassword     = "moto-test-sql-password-9876543210"
)

// startPlatformStandIns runs those stand-ins against c, and makes what the
// example's README has its user make before the first apply (the
// database password's Secret); it returns the
// loopback address the bridge's pod serves gRPC on.
func startPlatformStandIns(t *testing.T, c *testenv.Cluster) string {
	t.Helper()
	c.InstallTargetGroupBindingCRD(t) // the AWS Load Balancer Controller's CRD: the bridge and green's expose need it served
	backends := operatortest.StartBackends(t)
	op := operatortest.StartOperator(t, c.RESTConfig(), operatortest.OperatorOptions{Backend: backends.Backend, Host: backends.Host})
	t.Cleanup(func() {
		if err := op.LastError(); err != nil {
			t.Logf("operator stand-in, last error: %v", err)
		}
	})
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	bridge := podstandin.StartBridgePod(t, c, platformBridgeNamespace, platformBridgeName, port)
	operatortest.StartKubeletWith(t, c.RESTConfig(), operatortest.KubeletOptions{PodIP: backends.IP, Hold: func(p *corev1.Pod) bool {
		return p.Namespace == platformBridgeNamespace && p.Labels["app.kubernetes.io/name"] == platformBridgeName && !bridge.Serving()
	}})
	// The database password, which the example's users sync from the RDS
	// master secret (External Secrets) into the installation's namespace.
	cs := c.Clientset()
	if _, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatortest.DefaultNamespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the installation's namespace: %v", err)
	}
	if _, err := cs.CoreV1().Secrets(operatortest.DefaultNamespace).Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "spinnaker-mysql"}, StringData: map[string]string{"password": platformSQLPassword},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the database password's Secret: %v", err)
	}
	// The control cluster's agent dials the bridge's Service (the
	// module's default bridge_address): the cluster's DNS, stood in.
	podstandin.StartAgentPodWith(t, c, platformAgentNamespace, platformControlAccount, podstandin.AgentOptions{
		Services: map[string]string{fmt.Sprintf("%s.%s.svc:9091", platformBridgeName, platformBridgeNamespace): addr},
	})
	return addr
}

// bucketTagsGap: why the buckets' tags are updated by a second plan.
const bucketTagsGap = "the aws provider tags a bucket when it creates it, in CreateBucket's CreateBucketConfiguration.Tags " +
	"(internal/service/s3/bucket.go, resourceBucketCreate); moto 5.2.1 reads only the LocationConstraint of that body " +
	"(moto/s3/responses.py:947) and drops the tags, so the example's default_tags read back empty and the second plan puts them"

// awsCompleteOverride is the override file of the scratch copy of
// examples/aws-complete (Terraform merges *_override.tf into the
// configuration: https://developer.hashicorp.com/terraform/language/files/override):
// the aws provider reaches moto (AWS_ENDPOINT_URL, test credentials), the
// spinops provider the local API server instead of the EKS endpoint moto
// makes up and the bridge's pod instead of the edge NLB (the
// platform stand-ins above), the operator's Redis instead of ElastiCache
// (plan-only), and what a test's destroy needs (no deletion protection, no
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

# The bridge as the edge NLB would reach it: bridge.DOMAIN:443 forwards to
# the bridge's pod, here its stand-in's loopback port; the certificate is
# still verified for bridge.DOMAIN.
provider "spinops" {
  alias = "fleet"

  kubernetes {
    config_path = %[3]q
  }

  bridge {
    address = %[4]q
    token   = var.bridge_admin_token

    tls {
      ca_certificate = module.platform.bridge.ca_certificate
      server_name    = split(":", module.platform.bridge.address)[0]
    }
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

# moto 5.2.1 implements no EKS access entries, access policies or add-ons
# (eksNoAPI), and module.platform depends on all of module.eks (depends_on:
# the preflight needs Terraform's access entry on EKS), so a targeted apply
# of the platform would create them too: they are left out of this stack.
# TestMotoEKS plans them.
module "eks" {
  access_entries = {}
  addons         = {}
}

# ElastiCache is plan-only here (redisGap): the platform takes the
# operator's in-cluster Redis, as it does without ha.
module "platform" {
  redis_endpoint = null
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
// spinops_iam_source_role made in moto's IAM; the spinops layer
// (module.platform) applied on a local API server with the platform
// stand-ins, the way the example's README says a first apply goes (the
// Secret made beforehand, green_promotion_override
// set). ElastiCache is plan-only (redisGap). Checked with aws-sdk-go-v2
// and client-go: what only the composition decides — the cluster in the
// network's private subnets, Aurora in its database subnets behind the
// database group, the load balancers in the public subnets, every IRSA
// role trusting this cluster's OIDC provider, the backups' ServiceAccount
// made by the backup policy with module.iam's backup role, the managing role trusting
// Clouddriver and Rosco in both zones and allowed to assume exactly the
// managed roles, the DNS names pointing at the load balancers, and
// checkPlatform's. A second plan changes nothing but the known moto gaps,
// and destroy removes it all.
func TestMotoAWSComplete(t *testing.T) {
	// The cluster starts before the package's tests go parallel, so that
	// its start does not compete with their terraform runs (on a loaded
	// 2-core CI machine kube-apiserver once missed k8s-testenv's 90 s).
	cluster := testenv.StartCluster(t, testenv.WithControllerManager())
	t.Parallel()
	moto := testenv.SharedMoto(t)
	bridgeAddr := startPlatformStandIns(t, cluster)
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
	writeFile(t, filepath.Join(root, "moto_override.tf"), fmt.Sprintf(awsCompleteOverride, testenv.MotoAccessKeyID, testenv.MotoSecretAccessKey, cluster.Kubeconfig, bridgeAddr))
	writeFile(t, filepath.Join(root, "moto.auto.tfvars"), fmt.Sprintf(`region              = %q
azs                 = [%q, %q, %q]
name                = %q
zone_id             = %q
domain              = %q
front50_bucket      = %q
backup_bucket       = %q
admin_principal_arn = "arn:aws:iam::%s:role/spinops-terraform"
managed_role_arns   = [%q, %q]
bridge_admin_token  = %q
# The first apply of a new installation (examples/aws-complete/README.md).
green_promotion_override  = "first install of this installation (TestMotoAWSComplete)"
green_deletion_protection = false # so that the test can destroy it
`, testenv.MotoRegion, azs[0], azs[1], azs[2], name, zoneID, domain, name+"-front50", name+"-backups", testenv.MotoAccountID, managed[0], managed[1], platformAdminToken))

	gaps := mergeGaps(
		networkGaps().under("module.network"),
		bucketGaps().under("module.front50_bucket"),
		bucketGaps().under("module.backup_bucket"),
		eksGaps(nil, nil).under("module.eks"),
		karpenterGaps().under("module.karpenter[0]"),
		edgeGaps().under("module.edge"),
		motoGaps{
			PlanOnlyUnder: map[string]string{"module.redis[0]": redisGap},
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

	// The backups' ServiceAccount: made by the backup policy (nothing
	// made by hand before the first apply) with the backup role module.iam
	// made, as the pods' IRSA identity (IRSA itself is not exercised here).
	backupRole, _ := a.attr(t, `module.iam.aws_iam_role.this["backup"]`, "arn").(string)
	if sa, err := cluster.Clientset().CoreV1().ServiceAccounts("spinnaker-green").Get(ctx, "spinops-backup", metav1.GetOptions{}); err != nil {
		t.Errorf("the backups' ServiceAccount spinnaker-green/spinops-backup: %v", err)
	} else if got := sa.Annotations["eks.amazonaws.com/role-arn"]; backupRole == "" || got != backupRole {
		t.Errorf("the backups' ServiceAccount runs as role %q, want module.iam's backup role %q", got, backupRole)
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

	checkPlatform(t, cluster, lc, root, str, str("module.network.aws_vpc.this", "id"))
}

// checkPlatform checks what only the composition decides of the applied
// spinops layer: every TargetGroupBinding (green's Deck and Gate, the
// bridge's) names one of the edge's target groups, with that group's
// target type, in the network's VPC, and a port of a Service that exists
// beside it; the control cluster is attached through the bridge; and
// neither the bridge's admin token nor the agent's credential is in the
// state.
func checkPlatform(t *testing.T, cluster *testenv.Cluster, lc *elb.Client, root string, str func(address, attr string) string, vpcID string) {
	t.Helper()
	ctx := t.Context()
	edge := map[string]string{ // target group ARN → what it is
		str("module.edge.aws_lb_target_group.deck", "arn"):           "deck",
		str("module.edge.aws_lb_target_group.gate", "arn"):           "gate",
		str(`module.edge.aws_lb_target_group.bridge["this"]`, "arn"): "bridge",
	}
	dyn := dynamic.NewForConfigOrDie(cluster.RESTConfig())
	tgbs, err := dyn.Resource(kube.TargetGroupBindingGVK.GroupVersion().WithResource("targetgroupbindings")).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing the TargetGroupBindings: %v", err)
	}
	bound := map[string]string{} // what → namespace
	for _, b := range tgbs.Items {
		arn, _, _ := unstructured.NestedString(b.Object, "spec", "targetGroupARN")
		targetType, _, _ := unstructured.NestedString(b.Object, "spec", "targetType")
		svcName, _, _ := unstructured.NestedString(b.Object, "spec", "serviceRef", "name")
		port, _, _ := unstructured.NestedFieldNoCopy(b.Object, "spec", "serviceRef", "port")
		id := b.GetNamespace() + "/" + b.GetName()
		what, ok := edge[arn]
		if !ok {
			t.Errorf("TargetGroupBinding %s names target group %s, which is none of the edge's %v", id, arn, edge)
			continue
		}
		bound[what] = b.GetNamespace()
		out, err := lc.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}})
		if err != nil || len(out.TargetGroups) != 1 {
			t.Fatalf("the %s target group %s: %+v, %v", what, arn, out, err)
		}
		// The controller refuses a binding whose targetType differs from
		// the group's, and a group outside its cluster's VPC.
		if tg := out.TargetGroups[0]; string(tg.TargetType) != targetType || aws.ToString(tg.VpcId) != vpcID {
			t.Errorf("TargetGroupBinding %s: targetType %q for a %q target group in VPC %s; want the same type, in the network's VPC %s",
				id, targetType, tg.TargetType, aws.ToString(tg.VpcId), vpcID)
		}
		svc, err := cluster.Clientset().CoreV1().Services(b.GetNamespace()).Get(ctx, svcName, metav1.GetOptions{})
		if err != nil {
			t.Errorf("TargetGroupBinding %s: its Service %s: %v", id, svcName, err)
			continue
		}
		found := false
		for _, p := range svc.Spec.Ports {
			found = found || fmt.Sprint(p.Port) == fmt.Sprint(port)
		}
		if !found {
			t.Errorf("TargetGroupBinding %s names port %v of Service %s, which has %+v", id, port, svcName, svc.Spec.Ports)
		}
	}
	for what, ns := range map[string]string{"deck": "spinnaker-green", "gate": "spinnaker-green", "bridge": platformBridgeNamespace} {
		if bound[what] != ns {
			t.Errorf("the edge's %s target group is bound in namespace %q, want %s (bindings: %v)", what, bound[what], ns, bound)
		}
	}

	// The control cluster, attached through the bridge: its agent (the
	// real binary, run from what the resource installed) connected.
	control := "module.platform.spinops_agent_account.control[0]"
	if got := str(control, "status"); got != "connected" {
		t.Errorf("%s status %q, want connected", control, got)
	}

	// No secret in the state: the bridge's admin token (a write-only
	// argument) and the agent's credential (kept in the cluster's Secret).
	state, err := os.ReadFile(filepath.Join(root, "terraform.tfstate"))
	if err != nil {
		t.Fatalf("reading the state: %v", err)
	}
	sec, err := cluster.Clientset().CoreV1().Secrets(platformAgentNamespace).Get(ctx, "spinops-agent-"+platformControlAccount, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the control agent's Secret: %v", err)
	}
	cred := string(sec.Data[attach.SecretCredentialKey])
	if len(cred) < 16 {
		t.Fatalf("the control agent's Secret holds a credential of %d bytes", len(cred))
	}
	for what, secret := range map[string]string{"the bridge's admin token": platformAdminToken, "the control agent's credential": cred, "the database password": platformSQLPassword} {
		if strings.Contains(string(state), secret) {
			t.Errorf("%s is in the state", what)
		}
	}
}
