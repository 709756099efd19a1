package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// TestManagedSpinnaker_refusesAtPlanTimeWhatTheOperatorRefuses is issue 12
// points 6 and 7 at plan time: what Halyard (and so the operator's
// admission webhook) would refuse, and what the chosen operator release
// cannot deploy, is refused before anything is applied. No cluster is
// reached: the refusals come from ValidateConfig.
func TestManagedSpinnaker_refusesAtPlanTimeWhatTheOperatorRefuses(t *testing.T) {
	factories := map[string]func() (tfprotov6.ProviderServer, error){"spinops": providerserver.NewProtocol6WithError(New("test")())}
	cfg := func(body string) string {
		return `
provider "spinops" {
  kubernetes {
    host  = "https://127.0.0.1:1"
    token = "unused"
  }
}

resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = "1.35.3"
` + body + `
}
`
	}
	step := func(body, want string) tfresource.TestStep {
		return tfresource.TestStep{Config: cfg(body), PlanOnly: true, ExpectError: wrappedRe(want)}
	}
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []tfresource.TestStep{
			step(`features = { artifacts = true }`, `(?s)Unknown Halyard feature flag.*artifacts.*pipelineTemplates`),
			step(`persistence {
  s3 {
    bucket          = "b"
    assume_role_arn = "arn:aws:iam::123456789012:role/front50"
  }
}`, `(?s)Not supported by the operator's Halyard.*persistentStorage\.s3\.assumeRole`),
			step(`auth {
  saml {
    metadata_url = "https://idp/metadata.xml"
    issuer_id    = "spinnaker"
  }
}`, `(?s)Missing SAML keystore.*keystore_secret`),
			step(`operator {
  version = "9.9.9"
}`, `(?s)Unknown operator version.*halyard_image`),
			// Orca's Redis-to-SQL move needs Orca's database.
			step(`sql {
  endpoint                   = "db"
  user                       = "spinnaker"
  password_secret {
    name = "spinnaker-mysql"
    key  = "password"
  }
  databases                  = { clouddriver = "clouddriver" }
  orca_executions_from_redis = true
}`, `(?s)No orca database.*add orca = "<schema>" to databases`),
		},
	})
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []tfresource.TestStep{{
			Config: `
provider "spinops" {
  kubernetes {
    host  = "https://127.0.0.1:1"
    token = "unused"
  }
}

resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = "1.16.0"
}
`, PlanOnly: true, ExpectError: wrappedRe(`(?s)spinnaker_version 1\.16\.0 is older than what the Spinnaker Operator 1\.3\.1`)}},
	})
}
