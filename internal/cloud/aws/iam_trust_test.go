package aws

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// The source role the managed roles below are judged for.
var spinnakerSource = RoleIdentity{
	ARN:      "arn:aws:iam::111111111111:role/spinnaker/spinnaker-managing",
	UniqueID: "AROAEXAMPLESOURCE0001",
}

// Real trust policies, as landing zones and the Spinnaker / AWS guides
// write them.
func TestTrustsRole(t *testing.T) {
	tests := []struct {
		name       string
		policy     string
		trusted    bool
		conditions []string
		detail     string // substring
	}{
		{
			name: "Spinnaker AWS setup guide: managing role by ARN",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
				"Principal":{"AWS":"arn:aws:iam::111111111111:role/spinnaker/spinnaker-managing"},"Action":"sts:AssumeRole"}]}`,
			trusted: true, detail: "the role's ARN",
		},
		{
			name: "role listed among several, array form, with a Sid",
			policy: `{"Version":"2012-10-17","Statement":[{"Sid":"Spinnaker","Effect":"Allow",
				"Principal":{"AWS":["arn:aws:iam::222222222222:role/ci","arn:aws:iam::111111111111:role/spinnaker/spinnaker-managing"]},
				"Action":["sts:AssumeRole","sts:TagSession"]}]}`,
			trusted: true, detail: `statement "Spinnaker"`,
		},
		{
			name: "same role name, other path: not us",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
				"Principal":{"AWS":"arn:aws:iam::111111111111:role/spinnaker-managing"},"Action":"sts:AssumeRole"}]}`,
			trusted: false, detail: "no statement allows",
		},
		{
			name: "the console's 'another AWS account' trust: account root",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
				"Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole","Condition":{}}]}`,
			trusted: true, detail: "account 111111111111",
		},
		{
			name:    "bare account id",
			policy:  `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"}}`,
			trusted: true, detail: "account 111111111111",
		},
		{
			name: "another account's root",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
				"Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"sts:AssumeRole"}]}`,
			trusted: false,
		},
		{
			name: "role recreated: IAM shows the old role's unique id",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
				"Principal":{"AWS":"AROAEXAMPLEOLDROLE0002"},"Action":"sts:AssumeRole"}]}`,
			trusted: false,
		},
		{
			name: "our unique id",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
				"Principal":{"AWS":"AROAEXAMPLESOURCE0001"},"Action":"sts:AssumeRole"}]}`,
			trusted: true, detail: "unique id",
		},
		{
			name: "EC2 instance role (service principal only)",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
				"Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
			trusted: false,
		},
		{
			name: "IRSA role (federated principal, web identity only)",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
				"Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"},
				"Action":"sts:AssumeRoleWithWebIdentity",
				"Condition":{"StringEquals":{"oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE:sub":"system:serviceaccount:spinnaker:clouddriver"}}}]}`,
			trusted: false,
		},
		{
			name: "external id required (Spinnaker account with externalId)",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
				"Principal":{"AWS":"arn:aws:iam::111111111111:role/spinnaker/spinnaker-managing"},"Action":"sts:AssumeRole",
				"Condition":{"StringEquals":{"sts:ExternalId":"spinnaker-prod"}}}]}`,
			trusted: true, conditions: []string{"StringEquals sts:ExternalId"}, detail: "when StringEquals sts:ExternalId hold",
		},
		{
			name: "anyone in the organisation whose ARN looks like spinnaker: matches",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole",
				"Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/spinnaker/*"},"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}]}`,
			trusted: true, conditions: []string{"StringEquals aws:PrincipalOrgID"},
		},
		{
			name: "principal ARN pattern that excludes us",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole",
				"Condition":{"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::*:role/deploy-*","arn:aws:iam::*:role/ci/?"]}}}]}`,
			trusted: false,
		},
		{
			name: "account root, restricted to our account by aws:PrincipalAccount",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole",
				"Condition":{"StringEquals":{"aws:PrincipalAccount":"111111111111"},"StringLikeIfExists":{"aws:PrincipalArn":"arn:aws:iam::111111111111:role/spinnaker/*"}}}]}`,
			trusted: true,
		},
		{
			name: "aws:PrincipalAccount of another account",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole",
				"Condition":{"StringEquals":{"aws:PrincipalAccount":"222222222222"}}}]}`,
			trusted: false,
		},
		{
			name: "wildcard actions and case",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
				"Principal":{"AWS":"arn:aws:iam::111111111111:role/spinnaker/spinnaker-managing"},"Action":"STS:Assume*"}]}`,
			trusted: true,
		},
		{
			name: "NotAction that leaves sts:AssumeRole allowed",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
				"Principal":{"AWS":"arn:aws:iam::111111111111:root"},"NotAction":["sts:AssumeRoleWithSAML","sts:AssumeRoleWithWebIdentity"]}]}`,
			trusted: true,
		},
		{
			name: "only web identity allowed for our ARN",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
				"Principal":{"AWS":"arn:aws:iam::111111111111:role/spinnaker/spinnaker-managing"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`,
			trusted: false,
		},
		{
			name: "account trusted, our role explicitly denied",
			policy: `{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"},
				{"Sid":"NoSpinnaker","Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:*",
				 "Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111111111111:role/spinnaker/spinnaker-managing"}}}]}`,
			trusted: false, detail: `statement "NoSpinnaker" denies`,
		},
		{
			name: "deny outside the organisation: cannot tell from here",
			policy: `{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/spinnaker/spinnaker-managing"},"Action":"sts:AssumeRole"},
				{"Sid":"OrgOnly","Effect":"Deny","Principal":"*","Action":"sts:AssumeRole",
				 "Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-abc123"}}}]}`,
			trusted: true, conditions: []string{"Deny StringNotEquals aws:PrincipalOrgID"}, detail: `"OrgOnly" denies it when`,
		},
		{
			name: "deny that does not apply to us",
			policy: `{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"},
				{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111111111111:role/intern"},"Action":"*"}]}`,
			trusted: true,
		},
		{
			name: "prefer an unconditional allow over a conditional one",
			policy: `{"Version":"2012-10-17","Statement":[
				{"Sid":"WithMFA","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}},
				{"Sid":"Spinnaker","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/spinnaker/spinnaker-managing"},"Action":"sts:AssumeRole"}]}`,
			trusted: true, detail: `"Spinnaker"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := TrustsRole(tt.policy, spinnakerSource)
			if err != nil {
				t.Fatal(err)
			}
			if got.Trusted != tt.trusted {
				t.Errorf("Trusted = %v, want %v (detail: %s)", got.Trusted, tt.trusted, got.Detail)
			}
			if !reflect.DeepEqual(got.Conditions, tt.conditions) {
				t.Errorf("Conditions = %q, want %q", got.Conditions, tt.conditions)
			}
			if !strings.Contains(got.Detail, tt.detail) {
				t.Errorf("Detail = %q, want it to contain %q", got.Detail, tt.detail)
			}
		})
	}
}

// IAM's GetRole returns the trust policy URL-encoded.
func TestTrustsRoleURLEncoded(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/spinnaker/spinnaker-managing"},"Action":"sts:AssumeRole"}]}`
	got, err := TrustsRole(url.QueryEscape(doc), spinnakerSource)
	if err != nil || !got.Trusted {
		t.Fatalf("TrustsRole(encoded) = %+v, %v; want trusted", got, err)
	}
}

func TestTrustsRoleRejectsNonJSON(t *testing.T) {
	if _, err := TrustsRole(`Statement: [Allow]`, spinnakerSource); err == nil {
		t.Fatal("want an error for a document that is not JSON")
	}
}

// What spinops_iam_managed_role_policy hands landing zones must be what the
// source role recognises as trusting it.
func TestManagedRolePoliciesTrustTheSourceRole(t *testing.T) {
	docs, err := ManagedRolePolicies([]string{spinnakerSource.ARN, "arn:aws:iam::111111111111:role/spinnaker-sandbox"}, "", BaselinePowerUser, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := TrustsRole(docs.TrustPolicy, spinnakerSource); !v.Trusted || len(v.Conditions) != 0 {
		t.Errorf("without external id: %+v, want trusted without conditions", v)
	}
	other := RoleIdentity{ARN: "arn:aws:iam::111111111111:role/other"}
	if v, _ := TrustsRole(docs.TrustPolicy, other); v.Trusted {
		t.Errorf("another role of the same account is trusted: %+v", v)
	}

	docs, err = ManagedRolePolicies([]string{spinnakerSource.ARN}, "ext-123", BaselineNone, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := TrustsRole(docs.TrustPolicy, spinnakerSource)
	if !v.Trusted || !reflect.DeepEqual(v.Conditions, []string{"StringEquals sts:ExternalId"}) {
		t.Errorf("with external id: %+v, want trusted when sts:ExternalId holds", v)
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tt := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true},
		{"sts:*", "sts:AssumeRole", true},
		{"sts:Assume?ole", "sts:AssumeRole", true},
		{"sts:Assume", "sts:AssumeRole", false},
		{"arn:aws:iam::*:role/spin*/*", "arn:aws:iam::1:role/spinnaker/x", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
	} {
		if got := globMatch(tt.p, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.p, tt.s, got, tt.want)
		}
	}
}
