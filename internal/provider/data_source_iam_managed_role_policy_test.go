package provider

import (
	"fmt"
	"regexp"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

const iamManagedRolePolicyAddr = "data.spinops_iam_managed_role_policy.test"

// A landing zone builds the managed role from the data source's documents
// (here with the SDK, standing in for its own AWS provider); the source
// role then reports that the managed role trusts it.
func TestAccIAMManagedRolePolicyDataSource_landingZone(t *testing.T) {
	a := newIAMAcc(t)
	name := acctest.RandomWithPrefix("tf-acc-test")
	managedName := name + "-managed"
	managed := a.roleARN(managedName)
	var trust, policy string

	sourceRole := func(managedRoles string) string {
		return fmt.Sprintf(`
resource "spinops_iam_source_role" "test" {
  name = %q
  trust {
    principal_arns = [%q]
  }
  managed_role_arns = [%s]
}
`, name, a.roleARN(name+"-node"), managedRoles)
	}
	dataSource := `
data "spinops_iam_managed_role_policy" "test" {
  source_role_arns = [spinops_iam_source_role.test.arn]
  external_id      = "spinnaker-prod"
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             a.checkDestroyed(&name),
		Steps: []resource.TestStep{
			{
				Config: a.provider + sourceRole(fmt.Sprintf("%q", managed)) + dataSource,
				ConfigStateChecks: []statecheck.StateCheck{
					iamKnownString(iamManagedRolePolicyAddr, "trust_policy_json", `{"Statement":[{"Action":["sts:AssumeRole"],`+
						`"Condition":{"StringEquals":{"sts:ExternalId":["spinnaker-prod"]}},"Effect":"Allow",`+
						`"Principal":{"AWS":["`+a.roleARN(name)+`"]},"Sid":"TrustSpinnakerSourceRoles"}],"Version":"2012-10-17"}`),
					iamKnownString(iamManagedRolePolicyAddr, "policy_json", `{"Statement":[`+
						`{"Action":["iam:PassRole"],"Effect":"Allow","Resource":["*"],"Sid":"PassRoleToInstances"},`+
						`{"Action":["iam:ListServerCertificates"],"Effect":"Allow","Resource":["*"],"Sid":"ListServerCertificates"}],"Version":"2012-10-17"}`),
					statecheck.ExpectKnownValue(iamManagedRolePolicyAddr, tfjsonpath.New("managed_policy_arns"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("arn:aws:iam::aws:policy/PowerUserAccess")})),
					iamKnownString(iamManagedRolePolicyAddr, "baseline", "power_user"),
					// The managed role does not exist yet.
					statecheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("managed_roles").AtMapKey(managed), knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"readable": knownvalue.Bool(false), "detail": knownvalue.StringExact("role does not exist"),
					})),
				},
				Check: func(s *terraform.State) error {
					attrs := s.RootModule().Resources[iamManagedRolePolicyAddr].Primary.Attributes
					trust, policy = attrs["trust_policy_json"], attrs["policy_json"]
					return nil
				},
			},
			{
				PreConfig: func() {
					ctx := t.Context()
					if _, err := a.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: awssdk.String(managedName), AssumeRolePolicyDocument: awssdk.String(trust)}); err != nil {
						t.Fatalf("landing zone: CreateRole: %v", err)
					}
					t.Cleanup(func() { a.deleteRole(managedName) })
					if _, err := a.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: awssdk.String(managedName), PolicyName: awssdk.String("spinnaker"), PolicyDocument: awssdk.String(policy)}); err != nil {
						t.Fatalf("landing zone: PutRolePolicy: %v", err)
					}
					if _, err := a.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: awssdk.String(managedName), PolicyArn: awssdk.String("arn:aws:iam::aws:policy/PowerUserAccess")}); err != nil {
						t.Fatalf("landing zone: AttachRolePolicy: %v", err)
					}
				},
				Config: a.provider + sourceRole(fmt.Sprintf("%q", managed)) + dataSource,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(iamSourceRoleAddr, tfjsonpath.New("managed_roles").AtMapKey(managed), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"readable":   knownvalue.Bool(true),
						"trusted":    knownvalue.Bool(true),
						"conditions": knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("StringEquals sts:ExternalId")}),
						"detail":     knownvalue.StringRegexp(regexp.MustCompile(`TrustSpinnakerSourceRoles.*when StringEquals sts:ExternalId hold`)),
					})),
				},
			},
		},
	})
}

// The narrower baseline and restricted PassRole, without any AWS access.
func TestAccIAMManagedRolePolicyDataSource_ec2Deploy(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
data "spinops_iam_managed_role_policy" "test" {
  source_role_arns = ["arn:aws:iam::111111111111:role/spinnaker-sandbox", "arn:aws:iam::111111111111:role/spinnaker-production"]
  baseline         = "ec2_deploy"
  pass_role_arns   = ["arn:aws:iam::222222222222:role/app-*"]
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(iamManagedRolePolicyAddr, tfjsonpath.New("managed_policy_arns"), knownvalue.ListSizeExact(0)),
				statecheck.ExpectKnownValue(iamManagedRolePolicyAddr, tfjsonpath.New("policy_json"), knownvalue.StringRegexp(regexp.MustCompile(
					`"Action":\["iam:PassRole"\],"Effect":"Allow","Resource":\["arn:aws:iam::222222222222:role/app-\*"\].*"autoscaling:\*".*"Sid":"DeployEC2"`))),
				statecheck.ExpectKnownValue(iamManagedRolePolicyAddr, tfjsonpath.New("trust_policy_json"), knownvalue.StringExact(`{"Statement":[{"Action":["sts:AssumeRole"],"Effect":"Allow",`+
					`"Principal":{"AWS":["arn:aws:iam::111111111111:role/spinnaker-production","arn:aws:iam::111111111111:role/spinnaker-sandbox"]},`+
					`"Sid":"TrustSpinnakerSourceRoles"}],"Version":"2012-10-17"}`)),
				statecheck.ExpectKnownValue(iamManagedRolePolicyAddr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{16}$`))),
			},
		}},
	})
}

func TestAccIAMManagedRolePolicyDataSource_validation(t *testing.T) {
	for name, c := range map[string]struct{ body, want string }{
		"source role not a role ARN": {`source_role_arns = ["arn:aws:iam::111111111111:user/x"]`, `source_role_arns.*must\s+be\s+an\s+IAM\s+role\s+ARN`},
		"unknown baseline":           {`source_role_arns = ["arn:aws:iam::111111111111:role/x"]` + "\n" + `baseline = "admin"`, `baseline.*value\s+must\s+be\s+one\s+of`},
		"external id with spaces":    {`source_role_arns = ["arn:aws:iam::111111111111:role/x"]` + "\n" + `external_id = "a b"`, `external_id.*may\s+contain\s+only`},
	} {
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      "data \"spinops_iam_managed_role_policy\" \"test\" {\n" + c.body + "\n}\n",
					ExpectError: regexp.MustCompile(`(?s)` + c.want),
				}},
			})
		})
	}
}
