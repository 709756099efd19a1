//go:build modules

package modtest

import (
	"encoding/json"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// policyDoc is the part of an IAM policy document the tests read.
type policyDoc struct {
	Statement []struct {
		Sid       string
		Effect    string
		Action    any
		Resource  any
		Principal map[string]any
		Condition map[string]map[string]any
	}
}

// decodePolicy reads a policy document as IAM returns it (URL-encoded
// JSON, as the API documents; moto does the same).
func decodePolicy(t *testing.T, doc string) policyDoc {
	t.Helper()
	if s, err := url.QueryUnescape(doc); err == nil {
		doc = s
	}
	var p policyDoc
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("policy document %q: %v", doc, err)
	}
	return p
}

// strs flattens a policy field that is a string or a list of strings.
func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		sort.Strings(out)
		return out
	}
	return nil
}

// TestMotoIAM: modules/aws/iam applied for real: one IRSA role per
// Spinnaker component, each trusting exactly its service accounts in every
// zone's namespace through the cluster's OIDC provider, Front50's policy
// scoped to its bucket, an additional role's managed policy attached.
func TestMotoIAM(t *testing.T) {
	t.Parallel()
	moto := testenv.SharedMoto(t)
	prefix := testenv.UniqueName("spin", 6)
	const oidc = "oidc.eks." + testenv.MotoRegion + ".amazonaws.com/id/5C0FFEE5C0FFEE"
	oidcARN := "arn:aws:iam::" + testenv.MotoAccountID + ":oidc-provider/" + oidc
	a := applyTolerating(t, moto, "aws/iam", `
  name_prefix        = "`+prefix+`"
  oidc_provider_arn  = "`+oidcARN+`"
  oidc_provider      = "`+oidc+`"
  namespaces         = ["spinnaker-red", "spinnaker-green"]
  front50_bucket_arn = "arn:aws:s3:::front50-store"
  backup_bucket_arn  = "arn:aws:s3:::spinops-backups"
  additional_roles = {
    rosco = {
      service_accounts = ["rosco"]
      policy_arns      = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    }
  }
`, motoGaps{})
	var arns map[string]string
	a.output(t, "role_arns", &arns)
	if got := slices.Sorted(func(yield func(string) bool) {
		for k := range arns {
			if !yield(k) {
				return
			}
		}
	}); !slices.Equal(got, []string{"backup", "front50", "rosco"}) {
		t.Fatalf("roles %v, want backup, front50, rosco", got)
	}

	ctx := t.Context()
	ic := iam.NewFromConfig(awsConfig(), func(o *iam.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
	want := map[string][]string{
		"front50": {"system:serviceaccount:spinnaker-green:front50", "system:serviceaccount:spinnaker-red:front50"},
		"backup":  {"system:serviceaccount:spinnaker-green:spinops-backup", "system:serviceaccount:spinnaker-red:spinops-backup"},
		"rosco":   {"system:serviceaccount:spinnaker-green:rosco", "system:serviceaccount:spinnaker-red:rosco"},
	}
	for short, subs := range want {
		name := prefix + "-" + short
		r, err := ic.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		if err != nil {
			t.Fatalf("role %s: %v", name, err)
		}
		if aws.ToString(r.Role.Arn) != arns[short] {
			t.Errorf("role %s ARN %s, output says %s", name, aws.ToString(r.Role.Arn), arns[short])
		}
		trust := decodePolicy(t, aws.ToString(r.Role.AssumeRolePolicyDocument))
		if len(trust.Statement) != 1 {
			t.Fatalf("role %s trust has %d statements, want 1", name, len(trust.Statement))
		}
		st := trust.Statement[0]
		if st.Effect != "Allow" || !slices.Equal(strs(st.Action), []string{"sts:AssumeRoleWithWebIdentity"}) ||
			!slices.Equal(strs(st.Principal["Federated"]), []string{oidcARN}) {
			t.Errorf("role %s trust %+v: want only %s to assume it with a web identity", name, st, oidcARN)
		}
		eq := st.Condition["StringEquals"]
		if got := strs(eq[oidc+":sub"]); !slices.Equal(got, subs) {
			t.Errorf("role %s trusts subjects %v, want exactly %v", name, got, subs)
		}
		if got := strs(eq[oidc+":aud"]); !slices.Equal(got, []string{"sts.amazonaws.com"}) {
			t.Errorf("role %s audience %v, want sts.amazonaws.com", name, got)
		}
	}

	// Front50 reaches its bucket and nothing else.
	pol, err := ic.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(prefix + "-front50"), PolicyName: aws.String("spinnaker")})
	if err != nil {
		t.Fatal(err)
	}
	var resources []string
	for _, st := range decodePolicy(t, aws.ToString(pol.PolicyDocument)).Statement {
		resources = append(resources, strs(st.Resource)...)
	}
	sort.Strings(resources)
	if !slices.Equal(resources, []string{"arn:aws:s3:::front50-store", "arn:aws:s3:::front50-store/*"}) {
		t.Errorf("front50 policy reaches %v, want only its bucket and its objects", resources)
	}
	// The backup role writes only to the backup bucket.
	pol, err = ic.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(prefix + "-backup"), PolicyName: aws.String("spinnaker")})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range decodePolicy(t, aws.ToString(pol.PolicyDocument)).Statement {
		if slices.Contains(strs(st.Action), "s3:PutObject") && !slices.Equal(strs(st.Resource), []string{"arn:aws:s3:::spinops-backups/*"}) {
			t.Errorf("backup role may write to %v, want only arn:aws:s3:::spinops-backups/*", strs(st.Resource))
		}
	}
	att, err := ic.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(prefix + "-rosco")})
	if err != nil {
		t.Fatal(err)
	}
	if len(att.AttachedPolicies) != 1 || aws.ToString(att.AttachedPolicies[0].PolicyArn) != "arn:aws:iam::aws:policy/ReadOnlyAccess" {
		t.Errorf("rosco's attached policies %+v, want ReadOnlyAccess only", att.AttachedPolicies)
	}
}

// TestMotoManagedRole: modules/aws/managed-role applied for real: the role
// Spinnaker assumes in a target account, with the trust and inline policy
// it was given and the session length asked for.
func TestMotoManagedRole(t *testing.T) {
	t.Parallel()
	moto := testenv.SharedMoto(t)
	name := testenv.UniqueName("spinnakerManaged", 6)
	source := "arn:aws:iam::" + testenv.MotoAccountID + ":role/spinnaker-source"
	a := applyTolerating(t, moto, "aws/managed-role", `
  name                 = "`+name+`"
  path                 = "/spinnaker/"
  max_session_duration = 7200
  trust_policy_json    = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { AWS = "`+source+`" }, Action = "sts:AssumeRole" }]
  })
  policy_json = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["iam:PassRole"], Resource = "*" }]
  })
  managed_policy_arns = ["arn:aws:iam::aws:policy/PowerUserAccess"]
`, motoGaps{})
	var arn string
	a.output(t, "role_arn", &arn)
	ctx := t.Context()
	ic := iam.NewFromConfig(awsConfig(), func(o *iam.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
	r, err := ic.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(r.Role.Arn) != arn || aws.ToString(r.Role.Path) != "/spinnaker/" || aws.ToInt32(r.Role.MaxSessionDuration) != 7200 {
		t.Errorf("role %s path %s session %d, want %s, /spinnaker/, 7200",
			aws.ToString(r.Role.Arn), aws.ToString(r.Role.Path), aws.ToInt32(r.Role.MaxSessionDuration), arn)
	}
	trust := decodePolicy(t, aws.ToString(r.Role.AssumeRolePolicyDocument))
	if len(trust.Statement) != 1 || !slices.Equal(strs(trust.Statement[0].Principal["AWS"]), []string{source}) {
		t.Errorf("trust %+v: want only %s", trust, source)
	}
	att, err := ic.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil || len(att.AttachedPolicies) != 1 || aws.ToString(att.AttachedPolicies[0].PolicyArn) != "arn:aws:iam::aws:policy/PowerUserAccess" {
		t.Errorf("attached policies %+v, %v; want PowerUserAccess", att, err)
	}
}

// TestMotoMySQL: modules/aws/mysql applied for real: an Aurora MySQL 3
// cluster with its writer and two readers each in another AZ, encrypted,
// IAM auth on, the password kept by RDS (never in state), the cluster
// parameter group setting what Spinnaker and point-in-time recovery need.
func TestMotoMySQL(t *testing.T) {
	t.Parallel()
	moto := testenv.SharedMoto(t)
	name := testenv.UniqueName("spin-sql-", 6)
	azs := []string{testenv.MotoRegion + "a", testenv.MotoRegion + "b", testenv.MotoRegion + "c"}
	a := applyTolerating(t, moto, "aws/mysql", `
  name                = "`+name+`"
  subnet_ids          = aws_subnet.db[*].id
  availability_zones  = ["`+strings.Join(azs, `", "`)+`"]
  security_group_ids  = [aws_security_group.db.id]
  reader_count        = 2
  database_name       = "spinnaker"
  skip_final_snapshot = true
  deletion_protection = false
`, withRoot(mysqlGaps(), vpcHCL("db", "10.40.0.0/16", testenv.MotoRegion, 3)+`
resource "aws_security_group" "db" {
  name   = "db"
  vpc_id = aws_vpc.db.id
}
`))
	ctx := t.Context()
	rc := rds.NewFromConfig(awsConfig(), func(o *rds.Options) { o.BaseEndpoint = aws.String(moto.Endpoint) })
	cl, err := rc.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(name)})
	if err != nil || len(cl.DBClusters) != 1 {
		t.Fatalf("cluster %s: %+v, %v", name, cl, err)
	}
	c := cl.DBClusters[0]
	if aws.ToString(c.Engine) != "aurora-mysql" || !aws.ToBool(c.StorageEncrypted) || !aws.ToBool(c.IAMDatabaseAuthenticationEnabled) ||
		aws.ToString(c.DatabaseName) != "spinnaker" || aws.ToInt32(c.BackupRetentionPeriod) != 14 {
		t.Errorf("cluster engine %s encrypted %v iam-auth %v database %s retention %d: want aurora-mysql, encrypted, IAM auth, spinnaker, 14 days",
			aws.ToString(c.Engine), aws.ToBool(c.StorageEncrypted), aws.ToBool(c.IAMDatabaseAuthenticationEnabled), aws.ToString(c.DatabaseName), aws.ToInt32(c.BackupRetentionPeriod))
	}
	if c.MasterUserSecret == nil || aws.ToString(c.MasterUserSecret.SecretArn) == "" {
		t.Errorf("the master password is not kept by RDS in Secrets Manager: %+v", c.MasterUserSecret)
	}
	// The password is nowhere in the state.
	st := a.attr(t, "module.m.aws_rds_cluster.this", "master_password")
	if s, _ := st.(string); s != "" {
		t.Errorf("master_password is in the state")
	}

	writerAZ := ""
	var readerAZs []string
	members := map[string]bool{}
	for _, m := range c.DBClusterMembers {
		members[aws.ToString(m.DBInstanceIdentifier)] = aws.ToBool(m.IsClusterWriter)
	}
	for i := 1; i <= 3; i++ {
		id := name + "-" + string(rune('0'+i))
		in, err := rc.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
		if err != nil || len(in.DBInstances) != 1 {
			t.Fatalf("instance %s: %+v, %v", id, in, err)
		}
		az := aws.ToString(in.DBInstances[0].AvailabilityZone)
		if i == 1 {
			writerAZ = az
			if w, ok := members[id]; !ok || !w {
				t.Errorf("instance %s is not the cluster's writer (members %v)", id, members)
			}
		} else {
			readerAZs = append(readerAZs, az)
			if w, ok := members[id]; !ok || w {
				t.Errorf("instance %s is not a reader of the cluster (members %v)", id, members)
			}
		}
		if aws.ToBool(in.DBInstances[0].PubliclyAccessible) {
			t.Errorf("instance %s is publicly accessible", id)
		}
	}
	if writerAZ != azs[0] || !slices.Equal(readerAZs, azs[1:]) {
		t.Errorf("writer in %s, readers in %v: want the writer in %s and each reader in another AZ %v", writerAZ, readerAZs, azs[0], azs[1:])
	}

	// The instances' parameter group: the slow query log, to a file.
	ipg := a.attr(t, "module.m.aws_db_parameter_group.this", "name").(string)
	in, err := rc.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(name + "-1")})
	if err != nil || len(in.DBInstances) != 1 {
		t.Fatalf("instance %s-1: %+v, %v", name, in, err)
	}
	var groups []string
	for _, g := range in.DBInstances[0].DBParameterGroups {
		groups = append(groups, aws.ToString(g.DBParameterGroupName))
	}
	if !slices.Equal(groups, []string{ipg}) {
		t.Errorf("the writer's parameter groups %v, want the module's %s", groups, ipg)
	}
	iparams := map[string]string{}
	dp, err := rc.DescribeDBParameters(ctx, &rds.DescribeDBParametersInput{DBParameterGroupName: aws.String(ipg)})
	if err != nil {
		t.Fatalf("parameters of %s: %v", ipg, err)
	}
	for _, x := range dp.Parameters {
		iparams[aws.ToString(x.ParameterName)] = aws.ToString(x.ParameterValue)
	}
	for k, v := range map[string]string{"slow_query_log": "1", "long_query_time": "2", "log_output": "FILE"} {
		if iparams[k] != v {
			t.Errorf("instance parameter %s = %q, want %q", k, iparams[k], v)
		}
	}

	pg := aws.ToString(c.DBClusterParameterGroup)
	params := map[string]string{}
	var marker *string
	for {
		p, err := rc.DescribeDBClusterParameters(ctx, &rds.DescribeDBClusterParametersInput{DBClusterParameterGroupName: aws.String(pg), Marker: marker})
		if err != nil {
			t.Fatalf("parameters of %s: %v", pg, err)
		}
		for _, x := range p.Parameters {
			params[aws.ToString(x.ParameterName)] = aws.ToString(x.ParameterValue)
		}
		if marker = p.Marker; marker == nil {
			break
		}
	}
	for k, v := range map[string]string{"binlog_format": "ROW", "transaction_isolation": "READ-COMMITTED", "character_set_server": "utf8mb4", "require_secure_transport": "ON"} {
		if params[k] != v {
			t.Errorf("cluster parameter %s = %q, want %q", k, params[k], v)
		}
	}
}
