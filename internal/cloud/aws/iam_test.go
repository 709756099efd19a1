package aws

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// motoIAM starts a private moto server and returns a client for it, built
// the way the provider builds it (Settings.Endpoints), plus a raw SDK
// client to arrange and inspect state independently of the code under
// test.
func motoIAM(t *testing.T) (*IAMClient, *iam.Client) {
	t.Helper()
	m := testenv.StartMoto(t)
	cfg := awssdk.Config{
		Region:      testenv.MotoRegion,
		Credentials: credentials.NewStaticCredentialsProvider(testenv.MotoAccessKeyID, testenv.MotoSecretAccessKey, ""),
	}
	e := Endpoints{IAM: m.Endpoint}
	c := NewIAMClient(cfg, e)
	c.retryDelay = 50 * time.Millisecond
	return c, iam.NewFromConfig(cfg, e.IAMOptions)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

const motoAccount = testenv.MotoAccountID

func TestIAMSourceRoleLifecycle(t *testing.T) {
	c, raw := motoIAM(t)
	ctx := testContext(t)

	managed := "arn:aws:iam::" + motoAccount + ":role/spinnakerManaged"
	trust, err := SourceRoleTrustPolicy(SourceRoleTrust{
		EKSOIDC:       []EKSOIDCTrust{{ProviderARN: "arn:aws:iam::" + motoAccount + ":oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC", ServiceAccounts: []string{"spinnaker:clouddriver"}}},
		PrincipalARNs: []string{"arn:aws:iam::" + motoAccount + ":role/eks-node"},
	})
	if err != nil {
		t.Fatal(err)
	}
	additional := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::spinnaker-config/*"}}`
	spec := SourceRoleSpec{
		Name:                "spinnaker-managing",
		Path:                "/spinnaker/",
		Description:         "Spinnaker's managing role",
		TrustPolicy:         trust,
		Policy:              SourceRolePolicy([]string{managed}, false),
		AdditionalPolicy:    additional,
		PermissionsBoundary: "arn:aws:iam::aws:policy/PowerUserAccess",
		MaxSessionDuration:  7200,
		Tags:                map[string]string{"team": "platform", "app": "spinnaker"},
	}

	role, err := c.CreateSourceRole(ctx, spec)
	if err != nil {
		t.Fatalf("CreateSourceRole: %v", err)
	}
	if role.ARN != "arn:aws:iam::"+motoAccount+":role/spinnaker/spinnaker-managing" || role.UniqueID == "" || role.Path != "/spinnaker/" {
		t.Errorf("created role: %+v", role)
	}
	if !PoliciesEquivalent(role.TrustPolicy, trust) || !PoliciesEquivalent(role.Policy, spec.Policy) || !PoliciesEquivalent(role.AdditionalPolicy, additional) {
		t.Errorf("documents read back differ:\ntrust %s\npolicy %s\nadditional %s", role.TrustPolicy, role.Policy, role.AdditionalPolicy)
	}
	if role.PermissionsBoundary != spec.PermissionsBoundary || role.MaxSessionDuration != 7200 || role.Description != spec.Description {
		t.Errorf("attributes read back: %+v", role)
	}
	if len(role.Tags) != 2 || role.Tags["team"] != "platform" {
		t.Errorf("tags read back: %v", role.Tags)
	}
	// Independently: the role has exactly our two inline policies.
	pols, err := raw.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: awssdk.String(spec.Name)})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Sort(pols.PolicyNames); strings.Join(pols.PolicyNames, ",") != AdditionalPolicyName+","+SourceRolePolicyName {
		t.Errorf("inline policies: %q", pols.PolicyNames)
	}

	// Update: new trust, no additional policy, no boundary, other tags.
	spec.TrustPolicy, _ = SourceRoleTrustPolicy(SourceRoleTrust{PrincipalARNs: []string{"arn:aws:iam::" + motoAccount + ":role/eks-node"}})
	spec.AdditionalPolicy = ""
	spec.PermissionsBoundary = ""
	spec.Description = ""
	spec.MaxSessionDuration = 3600
	spec.Tags = map[string]string{"team": "sre"}
	spec.Policy = SourceRolePolicy([]string{managed, "arn:aws:iam::222222222222:role/spinnakerManaged"}, true)
	role, err = c.UpdateSourceRole(ctx, spec)
	if err != nil {
		t.Fatalf("UpdateSourceRole: %v", err)
	}
	if !PoliciesEquivalent(role.TrustPolicy, spec.TrustPolicy) || !PoliciesEquivalent(role.Policy, spec.Policy) || role.AdditionalPolicy != "" {
		t.Errorf("documents after update:\ntrust %s\npolicy %s\nadditional %s", role.TrustPolicy, role.Policy, role.AdditionalPolicy)
	}
	if role.PermissionsBoundary != "" || role.MaxSessionDuration != 3600 || role.Description != "" {
		t.Errorf("attributes after update: %+v", role)
	}
	if len(role.Tags) != 1 || role.Tags["team"] != "sre" {
		t.Errorf("tags after update: %v", role.Tags)
	}
	// Nothing to change: no error, same role.
	if _, err := c.UpdateSourceRole(ctx, spec); err != nil {
		t.Fatalf("UpdateSourceRole (no change): %v", err)
	}

	// Out-of-band attachments do not stop a delete.
	if _, err := raw.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: awssdk.String(spec.Name), PolicyName: awssdk.String("added-by-hand"),
		PolicyDocument: awssdk.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: awssdk.String(spec.Name), PolicyArn: awssdk.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: awssdk.String("spinnaker")}); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: awssdk.String("spinnaker"), RoleName: awssdk.String(spec.Name)}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteRole(ctx, spec.Name); err != nil {
		t.Fatalf("DeleteRole: %v", err)
	}
	if _, err := c.FindSourceRole(ctx, spec.Name); !IsNotFound(err) {
		t.Errorf("FindSourceRole after delete: %v, want not found", err)
	}
	if err := c.DeleteRole(ctx, spec.Name); err != nil {
		t.Errorf("DeleteRole of a deleted role: %v, want success", err)
	}
	if _, err := c.UpdateSourceRole(ctx, spec); !IsNotFound(err) {
		t.Errorf("UpdateSourceRole of a deleted role: %v, want not found", err)
	}
}

// A step after CreateRole that fails leaves no role behind.
func TestIAMCreateSourceRoleCleansUpOnFailure(t *testing.T) {
	c, raw := motoIAM(t)
	ctx := testContext(t)
	trust, _ := SourceRoleTrustPolicy(SourceRoleTrust{PrincipalARNs: []string{"arn:aws:iam::" + motoAccount + ":role/eks-node"}})
	_, err := c.CreateSourceRole(ctx, SourceRoleSpec{
		Name:        "half-made",
		TrustPolicy: trust,
		Policy:      `this is not a policy`,
	})
	if err == nil {
		t.Fatal("CreateSourceRole with a malformed inline policy succeeded")
	}
	if !strings.Contains(err.Error(), "PutRolePolicy "+SourceRolePolicyName) {
		t.Errorf("error does not say which step failed: %v", err)
	}
	if _, err := raw.GetRole(ctx, &iam.GetRoleInput{RoleName: awssdk.String("half-made")}); !IsNotFound(err) {
		t.Errorf("GetRole after the failed create: %v, want NoSuchEntity", err)
	}
}

func TestIAMCheckManagedRoles(t *testing.T) {
	c, raw := motoIAM(t)
	ctx := testContext(t)
	trust, _ := SourceRoleTrustPolicy(SourceRoleTrust{PrincipalARNs: []string{"arn:aws:iam::" + motoAccount + ":role/eks-node"}})
	source, err := c.CreateSourceRole(ctx, SourceRoleSpec{Name: "spinnaker-managing", TrustPolicy: trust, Policy: SourceRolePolicy(nil, false)})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := ManagedRolePolicies([]string{source.ARN}, "", BaselinePowerUser, nil)
	if err != nil {
		t.Fatal(err)
	}
	create := func(name, path, trust string) string {
		in := &iam.CreateRoleInput{RoleName: awssdk.String(name), AssumeRolePolicyDocument: awssdk.String(trust)}
		if path != "" {
			in.Path = awssdk.String(path)
		}
		out, err := raw.CreateRole(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return awssdk.ToString(out.Role.Arn)
	}
	trusting := create("managed-trusting", "", docs.TrustPolicy)
	ec2Only := create("managed-ec2", "", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	create("managed-pathed", "/deploy/", docs.TrustPolicy)
	arns := []string{
		trusting,
		ec2Only,
		"arn:aws:iam::" + motoAccount + ":role/managed-pathed", // exists, but under /deploy/
		"arn:aws:iam::" + motoAccount + ":role/does-not-exist",
		"arn:aws:iam::222222222222:role/spinnakerManaged",
	}
	got := c.CheckManagedRoles(ctx, source.Identity(), arns)
	want := []struct {
		readable, trusted bool
		detail            string
	}{
		{true, true, "the role's ARN"},
		{true, false, "no statement allows"},
		{true, false, "another path"},
		{false, false, "does not exist"},
		{false, false, "in account 222222222222"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d statuses, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.ARN != arns[i] || g.Readable != w.readable || g.Trust.Trusted != w.trusted || !strings.Contains(g.Detail, w.detail) {
			t.Errorf("%s: %+v, want readable=%v trusted=%v detail~%q", arns[i], g, w.readable, w.trusted, w.detail)
		}
	}
}
