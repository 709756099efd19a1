package aws

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const (
	testOIDCProvider  = "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	testOIDCProvider2 = "arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/SECONDCLUSTER"
	testNodeRole      = "arn:aws:iam::111111111111:role/eks-node"
)

func TestSourceRoleTrustPolicy(t *testing.T) {
	got, err := SourceRoleTrustPolicy(SourceRoleTrust{
		EKSOIDC:       []EKSOIDCTrust{{ProviderARN: testOIDCProvider, ServiceAccounts: []string{"spinnaker:rosco", "spinnaker:clouddriver"}}},
		PrincipalARNs: []string{testNodeRole},
	})
	if err != nil {
		t.Fatal(err)
	}
	issuer := "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	want := `{"Statement":[` +
		`{"Action":["sts:AssumeRole"],"Effect":"Allow","Principal":{"AWS":["` + testNodeRole + `"]},"Sid":"TrustedPrincipals"},` +
		`{"Action":["sts:AssumeRoleWithWebIdentity"],"Condition":{"StringEquals":{"` + issuer + `:aud":["sts.amazonaws.com"],"` +
		issuer + `:sub":["system:serviceaccount:spinnaker:clouddriver","system:serviceaccount:spinnaker:rosco"]}},` +
		`"Effect":"Allow","Principal":{"Federated":["` + testOIDCProvider + `"]},"Sid":"EKSServiceAccounts1"}],"Version":"2012-10-17"}`
	if got != want {
		t.Errorf("trust policy:\n got %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Error("not JSON")
	}
}

// The same configuration in any order gives the same bytes.
func TestSourceRoleTrustPolicyIsStable(t *testing.T) {
	a, err := SourceRoleTrustPolicy(SourceRoleTrust{
		EKSOIDC: []EKSOIDCTrust{
			{ProviderARN: testOIDCProvider2, ServiceAccounts: []string{"spinnaker:rosco", "spinnaker:clouddriver"}},
			{ProviderARN: testOIDCProvider, ServiceAccounts: []string{"spinnaker:clouddriver"}},
		},
		PrincipalARNs: []string{testNodeRole, "arn:aws:iam::111111111111:role/a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := SourceRoleTrustPolicy(SourceRoleTrust{
		EKSOIDC: []EKSOIDCTrust{
			{ProviderARN: testOIDCProvider, ServiceAccounts: []string{"spinnaker:clouddriver"}},
			{ProviderARN: testOIDCProvider2, ServiceAccounts: []string{"spinnaker:clouddriver", "spinnaker:rosco"}},
		},
		PrincipalARNs: []string{"arn:aws:iam::111111111111:role/a", testNodeRole},
	})
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("order changed the document:\n%s\n%s", a, b)
	}
}

func TestSourceRoleTrustPolicyErrors(t *testing.T) {
	for _, tt := range []struct {
		trust SourceRoleTrust
		want  string
	}{
		{SourceRoleTrust{}, "nobody may assume"},
		{SourceRoleTrust{EKSOIDC: []EKSOIDCTrust{{ProviderARN: "arn:aws:iam::1:role/x", ServiceAccounts: []string{"a:b"}}}}, "not an IAM OIDC provider ARN"},
		{SourceRoleTrust{EKSOIDC: []EKSOIDCTrust{{ProviderARN: testOIDCProvider, ServiceAccounts: []string{"clouddriver"}}}}, "namespace:name"},
		{SourceRoleTrust{EKSOIDC: []EKSOIDCTrust{{ProviderARN: testOIDCProvider}}}, "no service accounts"},
		{SourceRoleTrust{EKSOIDC: []EKSOIDCTrust{
			{ProviderARN: testOIDCProvider, ServiceAccounts: []string{"a:b"}},
			{ProviderARN: testOIDCProvider, ServiceAccounts: []string{"a:c"}},
		}}, "listed twice"},
	} {
		if _, err := SourceRoleTrustPolicy(tt.trust); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.trust, err, tt.want)
		}
	}
}

func TestSourceRolePolicy(t *testing.T) {
	got := SourceRolePolicy([]string{"arn:aws:iam::222222222222:role/spinnakerManaged", "arn:aws:iam::111111111111:role/spinnakerManaged"}, false)
	want := `{"Statement":[` +
		`{"Action":["ec2:DescribeAvailabilityZones","ec2:DescribeRegions"],"Effect":"Allow","Resource":["*"],"Sid":"SpinnakerDiscovery"},` +
		`{"Action":["sts:AssumeRole"],"Effect":"Allow","Resource":["arn:aws:iam::111111111111:role/spinnakerManaged","arn:aws:iam::222222222222:role/spinnakerManaged"],"Sid":"AssumeManagedRoles"}],` +
		`"Version":"2012-10-17"}`
	if got != want {
		t.Errorf("policy:\n got %s\nwant %s", got, want)
	}
	// Without managed roles there is no sts:AssumeRole at all (not on "*").
	if got := SourceRolePolicy(nil, false); strings.Contains(got, "sts:") {
		t.Errorf("no managed roles, but: %s", got)
	}
	baked := SourceRolePolicy(nil, true)
	for _, a := range []string{"ec2:CreateImage", "ec2:RegisterImage", "ec2:RunInstances", `"Sid":"BakeImages"`} {
		if !strings.Contains(baked, a) {
			t.Errorf("bake policy lacks %s: %s", a, baked)
		}
	}
}

// Import recovers the arguments from the documents spinops wrote.
func TestParseSourceRoleDocumentsRoundTrip(t *testing.T) {
	trust := SourceRoleTrust{
		EKSOIDC: []EKSOIDCTrust{
			{ProviderARN: testOIDCProvider2, ServiceAccounts: []string{"spinnaker:clouddriver", "spinnaker:rosco"}},
			{ProviderARN: testOIDCProvider, ServiceAccounts: []string{"spinnaker:clouddriver"}},
		},
		PrincipalARNs: []string{"arn:aws:iam::111111111111:role/a", testNodeRole},
	}
	doc, err := SourceRoleTrustPolicy(trust)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := ParseSourceRoleTrust(doc)
	if !ok {
		t.Fatal("nothing recognised")
	}
	want := SourceRoleTrust{
		EKSOIDC: []EKSOIDCTrust{
			{ProviderARN: testOIDCProvider2, ServiceAccounts: []string{"spinnaker:clouddriver", "spinnaker:rosco"}},
			{ProviderARN: testOIDCProvider, ServiceAccounts: []string{"spinnaker:clouddriver"}},
		},
		PrincipalARNs: []string{"arn:aws:iam::111111111111:role/a", testNodeRole},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseSourceRoleTrust = %+v, want %+v", got, want)
	}
	if _, ok := ParseSourceRoleTrust(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`); ok {
		t.Error("an EC2 service trust was recognised as a source-role trust")
	}

	arns := []string{"arn:aws:iam::222222222222:role/m", "arn:aws:iam::111111111111:role/m"}
	gotARNs, bake := ParseSourceRolePolicy(SourceRolePolicy(arns, true))
	if !reflect.DeepEqual(gotARNs, []string{"arn:aws:iam::111111111111:role/m", "arn:aws:iam::222222222222:role/m"}) || !bake {
		t.Errorf("ParseSourceRolePolicy = %q, %v", gotARNs, bake)
	}
	gotARNs, bake = ParseSourceRolePolicy(SourceRolePolicy(nil, false))
	if gotARNs != nil || bake {
		t.Errorf("ParseSourceRolePolicy(no roles, no bake) = %q, %v", gotARNs, bake)
	}
}

func TestManagedRolePolicies(t *testing.T) {
	src := []string{"arn:aws:iam::111111111111:role/spinnaker-managing"}
	docs, err := ManagedRolePolicies(src, "ext-1", BaselinePowerUser, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantTrust := `{"Statement":[{"Action":["sts:AssumeRole"],"Condition":{"StringEquals":{"sts:ExternalId":["ext-1"]}},"Effect":"Allow",` +
		`"Principal":{"AWS":["arn:aws:iam::111111111111:role/spinnaker-managing"]},"Sid":"TrustSpinnakerSourceRoles"}],"Version":"2012-10-17"}`
	if docs.TrustPolicy != wantTrust {
		t.Errorf("trust:\n got %s\nwant %s", docs.TrustPolicy, wantTrust)
	}
	wantPolicy := `{"Statement":[{"Action":["iam:PassRole"],"Effect":"Allow","Resource":["*"],"Sid":"PassRoleToInstances"},` +
		`{"Action":["iam:ListServerCertificates"],"Effect":"Allow","Resource":["*"],"Sid":"ListServerCertificates"}],"Version":"2012-10-17"}`
	if docs.Policy != wantPolicy {
		t.Errorf("policy:\n got %s\nwant %s", docs.Policy, wantPolicy)
	}
	if !reflect.DeepEqual(docs.ManagedPolicyARNs, []string{"arn:aws:iam::aws:policy/PowerUserAccess"}) {
		t.Errorf("managed policies = %q", docs.ManagedPolicyARNs)
	}

	docs, err = ManagedRolePolicies([]string{"arn:aws-us-gov:iam::111111111111:role/s"}, "", BaselineEC2Deploy, []string{"arn:aws-us-gov:iam::222222222222:role/app-*"})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs.ManagedPolicyARNs) != 0 || !strings.Contains(docs.Policy, `"autoscaling:*"`) || !strings.Contains(docs.Policy, `"Resource":["arn:aws-us-gov:iam::222222222222:role/app-*"]`) {
		t.Errorf("ec2_deploy: %+v", docs)
	}
	if strings.Contains(docs.TrustPolicy, "Condition") {
		t.Errorf("no external id, but a condition: %s", docs.TrustPolicy)
	}
	docs, _ = ManagedRolePolicies([]string{"arn:aws-us-gov:iam::111111111111:role/s"}, "", BaselinePowerUser, nil)
	if docs.ManagedPolicyARNs[0] != "arn:aws-us-gov:iam::aws:policy/PowerUserAccess" {
		t.Errorf("partition not followed: %q", docs.ManagedPolicyARNs)
	}
	if _, err := ManagedRolePolicies(src, "", "admin", nil); err == nil {
		t.Error("unknown baseline accepted")
	}
	if _, err := ManagedRolePolicies(nil, "", BaselineNone, nil); err == nil {
		t.Error("no source roles accepted")
	}
}
