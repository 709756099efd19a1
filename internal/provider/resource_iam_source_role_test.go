package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

const iamSourceRoleAddr = "spinops_iam_source_role.test"

// iamAcc is the AWS side of an IAM acceptance test: moto, the provider
// block pointing at it through aws.endpoints, and an SDK client of its
// own to arrange and inspect IAM independently of the provider.
type iamAcc struct {
	t        *testing.T
	moto     *testenv.Moto
	iam      *iam.Client
	account  string
	provider string
	// Credentials handed to the provider through the environment; they must
	// never reach state.
	accessKeyID, secretAccessKey, sessionToken string
}

func newIAMAcc(t *testing.T) *iamAcc {
	t.Helper()
	m := testenv.SharedMoto(t)
	a := &iamAcc{
		t: t, moto: m, account: testenv.MotoAccountID,
		accessKeyID:     "AKIASPINOPS" + strings.ToUpper(acctest.RandString(9)),
		secretAccessKey: "tfacc-secret-" + acctest.RandString(24),
		sessionToken:    "tfacc-session-" + acctest.RandString(24),
	}
	// The provider gets credentials from the environment and the endpoint
	// only from its aws.endpoints block: no AWS_ENDPOINT_URL, no shared
	// config, no instance metadata.
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": a.accessKeyID, "AWS_SECRET_ACCESS_KEY": a.secretAccessKey, "AWS_SESSION_TOKEN": a.sessionToken,
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_IAM": "", "AWS_ENDPOINT_URL_STS": "", "AWS_PROFILE": "",
		"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": dir + "/config", "AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials",
		envAWSAssumeRoleARN: "",
	} {
		t.Setenv(k, v)
	}
	a.iam = iam.NewFromConfig(awssdk.Config{
		Region:      testenv.MotoRegion,
		Credentials: credentials.NewStaticCredentialsProvider(testenv.MotoAccessKeyID, testenv.MotoSecretAccessKey, ""),
	}, func(o *iam.Options) { o.BaseEndpoint = awssdk.String(m.Endpoint) })
	a.provider = fmt.Sprintf(`
provider "spinops" {
  aws {
    region = %q
    endpoints {
      iam = %q
      sts = %q
    }
  }
}
`, testenv.MotoRegion, m.Endpoint, m.Endpoint)
	return a
}

func (a *iamAcc) roleARN(name string) string {
	return "arn:aws:iam::" + a.account + ":role/" + name
}

// createRole creates a role with the SDK (a managed role, a node role).
func (a *iamAcc) createRole(name, trust string) string {
	a.t.Helper()
	out, err := a.iam.CreateRole(a.t.Context(), &iam.CreateRoleInput{RoleName: awssdk.String(name), AssumeRolePolicyDocument: awssdk.String(trust)})
	if err != nil {
		a.t.Fatalf("creating role %s: %v", name, err)
	}
	a.t.Cleanup(func() { a.deleteRole(name) })
	return awssdk.ToString(out.Role.Arn)
}

// deleteRole deletes a role and its inline policies with the SDK, ignoring
// what is gone.
func (a *iamAcc) deleteRole(name string) {
	ctx := context.Background()
	if out, err := a.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: awssdk.String(name)}); err == nil {
		for _, p := range out.PolicyNames {
			_, _ = a.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: awssdk.String(name), PolicyName: awssdk.String(p)})
		}
	}
	if out, err := a.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: awssdk.String(name)}); err == nil {
		for _, p := range out.AttachedPolicies {
			_, _ = a.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: awssdk.String(name), PolicyArn: p.PolicyArn})
		}
	}
	_, _ = a.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: awssdk.String(name)})
}

// iamTrustingPolicy is a trust policy as a landing zone writes it by hand.
func iamTrustingPolicy(principalARN string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principalARN + `"},"Action":"sts:AssumeRole"}]}`
}

const iamEC2TrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// rolePolicy reads an inline policy with the SDK, decoded.
func (a *iamAcc) rolePolicy(role, policy string) (string, error) {
	out, err := a.iam.GetRolePolicy(a.t.Context(), &iam.GetRolePolicyInput{RoleName: awssdk.String(role), PolicyName: awssdk.String(policy)})
	if err != nil {
		return "", err
	}
	return iamDecodeDoc(awssdk.ToString(out.PolicyDocument))
}

func (a *iamAcc) trustPolicy(role string) (string, error) {
	out, err := a.iam.GetRole(a.t.Context(), &iam.GetRoleInput{RoleName: awssdk.String(role)})
	if err != nil {
		return "", err
	}
	return iamDecodeDoc(awssdk.ToString(out.Role.AssumeRolePolicyDocument))
}

func iamDecodeDoc(doc string) (string, error) {
	if strings.HasPrefix(doc, "{") {
		return doc, nil
	}
	return url.QueryUnescape(doc)
}

// iamGrants decodes a policy document independently of the provider's own
// policy code and returns action → sorted resources of its Allow
// statements.
func iamGrants(doc string) (map[string][]string, error) {
	var d struct {
		Statement []struct {
			Effect   string
			Action   json.RawMessage
			Resource json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, err
	}
	list := func(raw json.RawMessage) []string {
		var one string
		if json.Unmarshal(raw, &one) == nil {
			return []string{one}
		}
		var many []string
		_ = json.Unmarshal(raw, &many)
		return many
	}
	out := map[string][]string{}
	for _, s := range d.Statement {
		if s.Effect != "Allow" {
			continue
		}
		for _, act := range list(s.Action) {
			out[act] = append(out[act], list(s.Resource)...)
		}
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out, nil
}

// checkRoleGrants verifies with the SDK that the role's inline policy
// grants exactly discovery plus sts:AssumeRole on exactly managed.
func (a *iamAcc) checkRoleGrants(name string, managed ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		doc, err := a.rolePolicy(name, "spinops-source-role")
		if err != nil {
			return fmt.Errorf("reading the inline policy with the SDK: %w", err)
		}
		got, err := iamGrants(doc)
		if err != nil {
			return err
		}
		want := map[string][]string{"ec2:DescribeAvailabilityZones": {"*"}, "ec2:DescribeRegions": {"*"}}
		if len(managed) > 0 {
			want["sts:AssumeRole"] = slices.Sorted(slices.Values(managed))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("role %s grants %v, want exactly %v\n%s", name, got, want, doc)
		}
		return nil
	}
}

// checkDestroyed: after destroy, IAM has no role of that name.
func (a *iamAcc) checkDestroyed(names ...*string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, n := range names {
			_, err := a.iam.GetRole(context.Background(), &iam.GetRoleInput{RoleName: n})
			var nse *iamtypes.NoSuchEntityException
			if err == nil {
				return fmt.Errorf("role %s still exists after destroy", *n)
			}
			if !errors.As(err, &nse) {
				return fmt.Errorf("GetRole %s: %v", *n, err)
			}
		}
		return nil
	}
}

// iamNoSecretsInState fails when any of the given strings appears anywhere in
// the state (every resource and data source, every attribute).
type iamNoSecretsInState []string

func (s iamNoSecretsInState) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	b, err := json.Marshal(req.State)
	if err != nil {
		resp.Error = err
		return
	}
	if !strings.Contains(string(b), `"spinops_iam_source_role"`) {
		resp.Error = fmt.Errorf("state does not hold the resource; the check would prove nothing")
		return
	}
	for _, secret := range s {
		if strings.Contains(string(b), secret) {
			resp.Error = fmt.Errorf("a provider credential (%.8s...) is in the state", secret)
			return
		}
	}
}

func (a *iamAcc) noSecrets() statecheck.StateCheck {
	return iamNoSecretsInState{a.accessKeyID, a.secretAccessKey, a.sessionToken}
}

func iamKnownString(addr, attr string, v string) statecheck.StateCheck {
	return statecheck.ExpectKnownValue(addr, tfjsonpath.New(attr), knownvalue.StringExact(v))
}

// Create, import, update the trust, add managed roles, destroy.
func TestAccIAMSourceRole_basic(t *testing.T) {
	a := newIAMAcc(t)
	name := acctest.RandomWithPrefix("tf-acc-test")
	arn := a.roleARN(name)
	nodeRole := a.createRole(name+"-node", iamEC2TrustPolicy)
	trusting := a.createRole(name+"-managed", iamTrustingPolicy(arn))
	notTrusting := a.createRole(name+"-other", iamEC2TrustPolicy)
	elsewhere := "arn:aws:iam::210987654321:role/spinnakerManaged"
	oidc := "arn:aws:iam::" + a.account + ":oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	issuer := "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"

	config := func(extraTrust, managed string) string {
		return a.provider + fmt.Sprintf(`
resource "spinops_iam_source_role" "test" {
  name = %q
  trust {
    principal_arns = [%q]
%s
  }
  managed_role_arns = [%s]
  tags = {
    team = "platform"
  }
}
`, name, nodeRole, extraTrust, managed)
	}
	irsa := fmt.Sprintf(`
    eks_oidc {
      provider_arn     = %q
      service_accounts = ["spinnaker:rosco", "spinnaker:clouddriver"]
    }`, oidc)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             a.checkDestroyed(&name),
		Steps: append([]resource.TestStep{
			{
				Config: config("", fmt.Sprintf("%q", trusting)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(iamSourceRoleAddr, plancheck.ResourceActionCreate),
					// The documents are known at plan time, for review.
					plancheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("policy_json"), knownvalue.StringRegexp(regexp.MustCompile(`sts:AssumeRole`))),
					plancheck.ExpectUnknownValue(iamSourceRoleAddr, tfjsonpath.New("arn")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					iamKnownString(iamSourceRoleAddr, "id", name),
					iamKnownString(iamSourceRoleAddr, "arn", arn),
					iamKnownString(iamSourceRoleAddr, "path", "/"),
					statecheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("unique_id"), knownvalue.StringRegexp(regexp.MustCompile(`^AROA`))),
					statecheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("max_session_duration"), knownvalue.Int64Exact(3600)),
					iamKnownString(iamSourceRoleAddr, "policy_json", `{"Statement":[`+
						`{"Action":["ec2:DescribeAvailabilityZones","ec2:DescribeRegions"],"Effect":"Allow","Resource":["*"],"Sid":"SpinnakerDiscovery"},`+
						`{"Action":["sts:AssumeRole"],"Effect":"Allow","Resource":["`+trusting+`"],"Sid":"AssumeManagedRoles"}],"Version":"2012-10-17"}`),
					iamKnownString(iamSourceRoleAddr, "trust_policy_json", `{"Statement":[`+
						`{"Action":["sts:AssumeRole"],"Effect":"Allow","Principal":{"AWS":["`+nodeRole+`"]},"Sid":"TrustedPrincipals"}],"Version":"2012-10-17"}`),
					statecheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("managed_roles"), knownvalue.MapExact(map[string]knownvalue.Check{
						trusting: knownvalue.ObjectExact(map[string]knownvalue.Check{
							"readable":   knownvalue.Bool(true),
							"trusted":    knownvalue.Bool(true),
							"conditions": knownvalue.ListSizeExact(0),
							"detail":     knownvalue.StringRegexp(regexp.MustCompile(`trusted by statement 1 \(the role's ARN\)`)),
						}),
					})),
					statecheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("tags"), knownvalue.MapExact(map[string]knownvalue.Check{"team": knownvalue.StringExact("platform")})),
					a.noSecrets(),
				},
				Check: a.checkRoleGrants(name, trusting),
			},
			{
				ResourceName:      iamSourceRoleAddr,
				ImportState:       true,
				ImportStateId:     name,
				ImportStateVerify: true,
			},
			{
				Config: config(irsa, fmt.Sprintf("%q", trusting)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(iamSourceRoleAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					iamKnownString(iamSourceRoleAddr, "arn", arn),
					iamKnownString(iamSourceRoleAddr, "trust_policy_json", `{"Statement":[`+
						`{"Action":["sts:AssumeRole"],"Effect":"Allow","Principal":{"AWS":["`+nodeRole+`"]},"Sid":"TrustedPrincipals"},`+
						`{"Action":["sts:AssumeRoleWithWebIdentity"],"Condition":{"StringEquals":{"`+issuer+`:aud":["sts.amazonaws.com"],"`+issuer+
						`:sub":["system:serviceaccount:spinnaker:clouddriver","system:serviceaccount:spinnaker:rosco"]}},"Effect":"Allow",`+
						`"Principal":{"Federated":["`+oidc+`"]},"Sid":"EKSServiceAccounts1"}],"Version":"2012-10-17"}`),
				},
				Check: func(*terraform.State) error {
					doc, err := a.trustPolicy(name)
					if err != nil {
						return err
					}
					for _, want := range []string{issuer + ":sub", issuer + ":aud", "system:serviceaccount:spinnaker:rosco", oidc} {
						if !strings.Contains(doc, want) {
							return fmt.Errorf("IAM's trust policy lacks %s: %s", want, doc)
						}
					}
					return nil
				},
			},
			// Import recovers eks_oidc too.
			{
				ResourceName:      iamSourceRoleAddr,
				ImportState:       true,
				ImportStateId:     name,
				ImportStateVerify: true,
			},
			{
				Config: config(irsa, fmt.Sprintf("%q, %q, %q", trusting, notTrusting, elsewhere)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(iamSourceRoleAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("managed_roles"), knownvalue.MapExact(map[string]knownvalue.Check{
						trusting: knownvalue.ObjectPartial(map[string]knownvalue.Check{"readable": knownvalue.Bool(true), "trusted": knownvalue.Bool(true)}),
						notTrusting: knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"readable": knownvalue.Bool(true), "trusted": knownvalue.Bool(false),
							"detail": knownvalue.StringRegexp(regexp.MustCompile(`no statement allows`)),
						}),
						elsewhere: knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"readable": knownvalue.Bool(false), "trusted": knownvalue.Bool(false),
							"detail": knownvalue.StringRegexp(regexp.MustCompile(`in account 210987654321`)),
						}),
					})),
					a.noSecrets(),
				},
				Check: a.checkRoleGrants(name, trusting, notTrusting, elsewhere),
			},
		}, importSteps(iamSourceRoleAddr, name, nil, nil)...),
	})
}

// Out-of-band edits of the inline policy, the trust policy and the
// additional policy show in the plan and are put back.
func TestAccIAMSourceRole_drift(t *testing.T) {
	a := newIAMAcc(t)
	name := acctest.RandomWithPrefix("tf-acc-test")
	managed := a.roleARN(name + "-managed")
	config := a.provider + fmt.Sprintf(`
resource "spinops_iam_source_role" "test" {
  name = %q
  trust {
    principal_arns = [%q]
  }
  managed_role_arns = [%q]
  additional_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = "s3:GetObject"
      Resource = "arn:aws:s3:::spinnaker-front50/*"
    }]
  })
}
`, name, a.roleARN(name+"-node"), managed)
	escalated := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeRegions","ec2:DescribeAvailabilityZones","iam:*"],"Resource":"*"},` +
		`{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`
	openTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`

	putPolicy := func(doc string) func() {
		return func() {
			if _, err := a.iam.PutRolePolicy(t.Context(), &iam.PutRolePolicyInput{
				RoleName: awssdk.String(name), PolicyName: awssdk.String("spinops-source-role"), PolicyDocument: awssdk.String(doc),
			}); err != nil {
				t.Fatalf("editing the policy out of band: %v", err)
			}
		}
	}
	updateTrust := func() {
		if _, err := a.iam.UpdateAssumeRolePolicy(t.Context(), &iam.UpdateAssumeRolePolicyInput{
			RoleName: awssdk.String(name), PolicyDocument: awssdk.String(openTrust),
		}); err != nil {
			t.Fatalf("editing the trust out of band: %v", err)
		}
	}
	deleteAdditional := func() {
		if _, err := a.iam.DeleteRolePolicy(t.Context(), &iam.DeleteRolePolicyInput{
			RoleName: awssdk.String(name), PolicyName: awssdk.String("spinops-additional"),
		}); err != nil {
			t.Fatalf("deleting the additional policy out of band: %v", err)
		}
	}
	// The same document, reordered and reformatted: not drift.
	reformat := func() {
		doc, err := a.rolePolicy(name, "spinops-source-role")
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Version   string
			Statement []map[string]any
		}
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatal(err)
		}
		slices.Reverse(v.Statement)
		for _, s := range v.Statement {
			if acts, ok := s["Action"].([]any); ok && len(acts) == 1 {
				s["Action"] = acts[0]
			}
		}
		b, _ := json.MarshalIndent(v, "", "    ")
		putPolicy(string(b))()
	}
	updatePlan := []plancheck.PlanCheck{plancheck.ExpectResourceAction(iamSourceRoleAddr, plancheck.ResourceActionUpdate)}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             a.checkDestroyed(&name),
		Steps: []resource.TestStep{
			{Config: config, Check: a.checkRoleGrants(name, managed)},
			// The edited policy shows in a plan...
			{PreConfig: putPolicy(escalated), Config: config, PlanOnly: true, ExpectNonEmptyPlan: true},
			// ...as an update of policy_json back to the configured document,
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: append(updatePlan,
					plancheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("policy_json"), knownvalue.StringRegexp(regexp.MustCompile(`^\{"Statement":\[\{"Action":\["ec2:DescribeAvailabilityZones","ec2:DescribeRegions"\]`))),
				)},
				// ...which the apply puts back.
				Check: a.checkRoleGrants(name, managed),
			},
			{
				PreConfig:        updateTrust,
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: updatePlan},
				Check: func(*terraform.State) error {
					doc, err := a.trustPolicy(name)
					if err != nil {
						return err
					}
					if strings.Contains(doc, `"*"`) || !strings.Contains(doc, a.roleARN(name+"-node")) {
						return fmt.Errorf("trust not put back: %s", doc)
					}
					return nil
				},
			},
			{
				PreConfig:        deleteAdditional,
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: updatePlan},
				Check: func(*terraform.State) error {
					doc, err := a.rolePolicy(name, "spinops-additional")
					if err != nil {
						return fmt.Errorf("additional policy not put back: %w", err)
					}
					if !strings.Contains(doc, "arn:aws:s3:::spinnaker-front50/*") {
						return fmt.Errorf("additional policy: %s", doc)
					}
					return nil
				},
			},
			// A semantically equal document is no drift.
			{
				PreConfig:        reformat,
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// A role deleted outside Terraform is planned for creation again.
func TestAccIAMSourceRole_disappears(t *testing.T) {
	a := newIAMAcc(t)
	name := acctest.RandomWithPrefix("tf-acc-test")
	config := a.provider + fmt.Sprintf(`
resource "spinops_iam_source_role" "test" {
  name = %q
  trust {
    principal_arns = [%q]
  }
  bake {
    enabled = true
  }
}
`, name, a.roleARN(name+"-node"))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             a.checkDestroyed(&name),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() { a.deleteRole(name) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(iamSourceRoleAddr, plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

// Every argument, updated in place, then a path change that replaces.
func TestAccIAMSourceRole_full(t *testing.T) {
	a := newIAMAcc(t)
	prefix := acctest.RandomWithPrefix("tf-acc")
	var created string
	config := func(path, body string) string {
		return a.provider + fmt.Sprintf(`
resource "spinops_iam_source_role" "test" {
  name_prefix = %q
  path        = %q
  trust {
    principal_arns = [%q]
  }
%s
}
`, prefix, path, a.roleARN(prefix+"-node"), body)
	}
	first := `
  description          = "Spinnaker managing role"
  managed_role_arns    = ["arn:aws:iam::210987654321:role/spinnakerManaged"]
  permissions_boundary = "arn:aws:iam::aws:policy/PowerUserAccess"
  max_session_duration = 7200
  bake {
    enabled = true
  }
  additional_policy_json = <<-EOT
    {
      "Version": "2012-10-17",
      "Statement": {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"}
    }
  EOT
  tags = {
    team = "platform"
    app  = "spinnaker"
  }
  timeouts {
    create = "2m"
    delete = "2m"
  }
`
	second := `
  managed_role_arns = ["arn:aws:iam::210987654321:role/spinnakerManaged"]
  tags = {
    team = "sre"
  }
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(s *terraform.State) error {
			return a.checkDestroyed(&created)(s)
		},
		Steps: []resource.TestStep{
			{
				Config: config("/spinnaker/", first),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("name"), knownvalue.StringRegexp(regexp.MustCompile("^"+prefix+`\d{14}[0-9a-f]{12}$`))),
					statecheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("arn"), knownvalue.StringRegexp(regexp.MustCompile(`:role/spinnaker/`+prefix))),
					iamKnownString(iamSourceRoleAddr, "permissions_boundary", "arn:aws:iam::aws:policy/PowerUserAccess"),
					iamKnownString(iamSourceRoleAddr, "description", "Spinnaker managing role"),
					statecheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("max_session_duration"), knownvalue.Int64Exact(7200)),
					statecheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("policy_json"), knownvalue.StringRegexp(regexp.MustCompile(`"ec2:CreateImage".*"Sid":"BakeImages"`))),
					a.noSecrets(),
				},
				Check: func(s *terraform.State) error {
					created = s.RootModule().Resources[iamSourceRoleAddr].Primary.ID
					out, err := a.iam.GetRole(t.Context(), &iam.GetRoleInput{RoleName: &created})
					if err != nil {
						return err
					}
					if awssdk.ToInt32(out.Role.MaxSessionDuration) != 7200 || out.Role.PermissionsBoundary == nil {
						return fmt.Errorf("role in IAM: %+v", out.Role)
					}
					doc, err := a.rolePolicy(created, "spinops-additional")
					if err != nil || !strings.Contains(doc, "ecr:GetAuthorizationToken") {
						return fmt.Errorf("additional policy in IAM: %q, %v", doc, err)
					}
					return nil
				},
			},
			{
				ResourceName:      iamSourceRoleAddr,
				ImportState:       true,
				ImportStateVerify: true,
				// name_prefix and timeouts are not recorded in IAM; the
				// additional policy is stored as IAM has it (semantically
				// equal, other text).
				ImportStateVerifyIgnore: []string{"name_prefix", "additional_policy_json", "timeouts"},
			},
			{
				Config: config("/spinnaker/", second),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(iamSourceRoleAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("permissions_boundary"), knownvalue.Null()),
					statecheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("additional_policy_json"), knownvalue.Null()),
					statecheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("max_session_duration"), knownvalue.Int64Exact(3600)),
					statecheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("tags"), knownvalue.MapExact(map[string]knownvalue.Check{"team": knownvalue.StringExact("sre")})),
					// Bake disabled: discovery and the managed role only.
					iamKnownString(iamSourceRoleAddr, "policy_json", `{"Statement":[`+
						`{"Action":["ec2:DescribeAvailabilityZones","ec2:DescribeRegions"],"Effect":"Allow","Resource":["*"],"Sid":"SpinnakerDiscovery"},`+
						`{"Action":["sts:AssumeRole"],"Effect":"Allow","Resource":["arn:aws:iam::210987654321:role/spinnakerManaged"],"Sid":"AssumeManagedRoles"}],"Version":"2012-10-17"}`),
				},
				Check: func(*terraform.State) error {
					out, err := a.iam.GetRole(t.Context(), &iam.GetRoleInput{RoleName: &created})
					if err != nil {
						return err
					}
					if out.Role.PermissionsBoundary != nil || awssdk.ToString(out.Role.Description) != "" {
						return fmt.Errorf("boundary/description not removed: %+v", out.Role)
					}
					if _, err := a.rolePolicy(created, "spinops-additional"); err == nil {
						return fmt.Errorf("additional policy not removed")
					}
					return nil
				},
			},
			{
				Config: config("/deploy/", second),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(iamSourceRoleAddr, plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("arn"), knownvalue.StringRegexp(regexp.MustCompile(`:role/deploy/`+prefix))),
				},
				Check: func(s *terraform.State) error {
					old := created
					created = s.RootModule().Resources[iamSourceRoleAddr].Primary.ID
					return a.checkDestroyed(&old)(s)
				},
			},
		},
	})
}

// Bad input fails at plan time, naming the attribute.
func TestAccIAMSourceRole_validation(t *testing.T) {
	const trust = `trust {
    principal_arns = ["arn:aws:iam::123456789012:role/node"]
  }`
	cases := []struct {
		name, body string
		want       string
	}{
		{"malformed managed role ARN", `name = "x"
  ` + trust + `
  managed_role_arns = ["arn:aws:iam::123456789012:user/bob"]`, `(?s)managed_role_arns.*must be an IAM role ARN`},
		{"service account not namespace:name", `name = "x"
  trust {
    eks_oidc {
      provider_arn     = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
      service_accounts = ["clouddriver"]
    }
  }`, `(?s)service_accounts.*must be namespace:name`},
		{"OIDC provider ARN that is a role", `name = "x"
  trust {
    eks_oidc {
      provider_arn     = "arn:aws:iam::123456789012:role/oidc"
      service_accounts = ["spinnaker:clouddriver"]
    }
  }`, `(?s)provider_arn.*must be an IAM OIDC provider ARN`},
		{"OIDC provider listed twice", `name = "x"
  trust {
    eks_oidc {
      provider_arn     = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
      service_accounts = ["spinnaker:clouddriver"]
    }
    eks_oidc {
      provider_arn     = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
      service_accounts = ["spinnaker:rosco"]
    }
  }`, `(?s)OIDC provider listed twice`},
		{"principal as a bare account id", `name = "x"
  trust {
    principal_arns = ["123456789012"]
  }`, `(?s)principal_arns.*must be an IAM role, user or account-root ARN`},
		{"additional policy not a policy", `name = "x"
  ` + trust + `
  additional_policy_json = jsonencode({ Statement = [] })`, `(?s)additional_policy_json.*Not a valid IAM policy document: "Version" is missing`},
		{"additional policy with a principal", `name = "x"
  ` + trust + `
  additional_policy_json = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Principal = "*", Action = "s3:*", Resource = "*" }] })`, `(?s)additional_policy_json.*"Principal" is not allowed`},
		{"additional policy not JSON", `name = "x"
  ` + trust + `
  additional_policy_json = "s3:*"`, `(?s)additional_policy_json.*not a JSON object`},
		{"no trust", `name = "x"`, `(?s)Block trust must have a configuration value`},
		{"empty trust", `name = "x"
  trust {}`, `(?s)Nobody may assume the role`},
		{"name and name_prefix", `name = "x"
  name_prefix = "y"
  ` + trust, `(?s)name.*name_prefix`},
		{"neither name nor name_prefix", trust, `(?s)name.*name_prefix`},
		{"bad path", `name = "x"
  path = "spinnaker"
  ` + trust, `(?s)path.*must be / or begin and end with /`},
		{"malformed permissions boundary", `name = "x"
  permissions_boundary = "PowerUserAccess"
  ` + trust, `(?s)permissions_boundary.*must be an IAM policy ARN`},
		{"session too long", `name = "x"
  max_session_duration = 86400
  ` + trust, `(?s)max_session_duration.*between 3600 and 43200`},
		{"role name with a space", `name = "spinnaker managing"
  ` + trust, `(?s)name.*may contain only`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:   "resource \"spinops_iam_source_role\" \"test\" {\n  " + c.body + "\n}\n",
					PlanOnly: true,
					// Terraform wraps long messages: any space may be a line break.
					ExpectError: regexp.MustCompile(strings.ReplaceAll(c.want, " ", `\s+`)),
				}},
			})
		})
	}
}

// The provider assumes a role (through moto's STS) before managing IAM:
// neither its settings nor any credential end up in state.
func TestAccIAMSourceRole_providerAssumeRole(t *testing.T) {
	a := newIAMAcc(t)
	name := acctest.RandomWithPrefix("tf-acc-test")
	deployer := a.createRole(name+"-deployer", iamTrustingPolicy("arn:aws:iam::"+a.account+":root"))
	externalID := "tfacc-external-" + acctest.RandString(16)
	provider := strings.Replace(a.provider, "    endpoints {", fmt.Sprintf(`    assume_role {
      role_arn     = %q
      external_id  = %q
      session_name = "tf-acc-spinops"
    }
    endpoints {`, deployer, externalID), 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             a.checkDestroyed(&name),
		Steps: []resource.TestStep{{
			Config: provider + fmt.Sprintf(`
resource "spinops_iam_source_role" "test" {
  name = %q
  trust {
    principal_arns = [%q]
  }
  managed_role_arns = [%q]
}
`, name, a.roleARN(name+"-node"), a.roleARN(name+"-managed")),
			ConfigStateChecks: []statecheck.StateCheck{
				iamKnownString(iamSourceRoleAddr, "arn", a.roleARN(name)),
				iamNoSecretsInState{a.accessKeyID, a.secretAccessKey, a.sessionToken, externalID, "tf-acc-spinops", deployer},
			},
		}},
	})
}
