package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestAccDynamicBlocksNotKnownYet: blocks that exclude each other (Front50's
// s3 or gcs, the SQL password's password_wo or password_secret, a backup
// destination's s3 or gcs) written as `dynamic` blocks whose for_each is
// not known yet — a module's inputs under `terraform validate`, a value
// known only after apply (timestamp() here) — reach the provider as blocks
// of unknowns. They may or may not exist, so the plan must not be refused
// as a conflict: a module composing these resources for AWS and GCP from
// one input (examples/*-complete) has to validate.
func TestAccDynamicBlocksNotKnownYet(t *testing.T) {
	c := testenv.SharedCluster(t)
	opNS := c.Namespace(t)
	config := fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %[1]q
  }
}

locals {
  # Not known until apply.
  on_gcp = timestamp() == ""
}

resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = "1.35.3"
  operator {
    namespace = %[2]q
    install   = false
  }
  persistence {
    dynamic "s3" {
      for_each = local.on_gcp ? [] : [1]
      content {
        bucket = "front50"
        region = "eu-west-1"
      }
    }
    dynamic "gcs" {
      for_each = local.on_gcp ? [1] : []
      content {
        bucket = "front50"
      }
    }
  }
  sql {
    endpoint            = "db.internal"
    databases           = { clouddriver = "clouddriver" }
    user                = "spinnaker"
    password_wo         = local.on_gcp ? null : "tf-acc-sql-password"
    password_wo_version = 1
    dynamic "password_secret" {
      for_each = local.on_gcp ? [1] : []
      content {
        name = "db"
        key  = "password"
      }
    }
  }
}

resource "spinops_backup_policy" "this" {
  name      = "nightly"
  namespace = %[2]q
  schedule  = "0 3 * * *"
  destination {
    dynamic "s3" {
      for_each = local.on_gcp ? [] : [1]
      content {
        bucket = "backups"
      }
    }
    dynamic "gcs" {
      for_each = local.on_gcp ? [1] : []
      content {
        bucket = "backups"
      }
    }
  }
  sources {
    mysql {
      host                = "db.internal"
      user                = "backup"
      databases           = ["clouddriver"]
      password_wo         = local.on_gcp ? null : "tf-acc-backup-password"
      password_wo_version = 1
      dynamic "password_secret" {
        for_each = local.on_gcp ? [1] : []
        content {
          name = "db"
          key  = "password"
        }
      }
    }
  }
}
`, c.Kubeconfig, opNS)
	// Once known, both blocks are a conflict again.
	known := strings.ReplaceAll(config, `timestamp() == ""`, `true`)
	known = strings.Replace(known, `for_each = local.on_gcp ? [] : [1]`, `for_each = [1]`, 1)
	bothPasswords := strings.ReplaceAll(config, `timestamp() == ""`, `true`)
	bothPasswords = strings.Replace(bothPasswords, `password_wo         = local.on_gcp ? null : "tf-acc-sql-password"`, `password_wo         = "tf-acc-sql-password"`, 1)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{{
			Config:             config,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		}, {
			Config:      known,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`persistence.s3 and persistence.gcs cannot both be set`),
		}, {
			Config:      bothPasswords,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`Conflicting SQL password`),
		}},
	})
}
