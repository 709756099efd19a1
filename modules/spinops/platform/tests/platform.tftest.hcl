# Plan and (mocked) apply tests: nothing is created. The two spinops mock
# providers give computed attributes different made-up values, so a test can
# tell which provider configuration a resource was planned with: an agent
# account whose agent_id comes from the fleet mock used spinops.fleet.
#
# The database password is the write-only sql_password here: with
# password_secret instead, sql_password (ephemeral, default null) would be
# unset, and terraform test's apply refuses an unset optional ephemeral
# variable (hashicorp/terraform#38974, fixed by #39011 for 1.17). Runs that
# use the Secret are plans.

mock_provider "spinops" {
  mock_resource "spinops_managed_spinnaker" {
    defaults = {
      id              = "spinops-system"
      config_revision = "rev-1"
    }
  }

  mock_resource "spinops_agent_account" {
    defaults = {
      agent_id = "from-the-control-connection"
      status   = "connected"
    }
  }

  mock_resource "spinops_backup_policy" {
    defaults = {
      id = "mock-backup-policy-id"
    }
  }
}

mock_provider "spinops" {
  alias = "fleet"

  mock_resource "spinops_agent_account" {
    defaults = {
      agent_id = "from-the-fleet-connection"
      status   = "connected"
    }
  }
}

variables {
  spinnaker_version  = "1.35.3"
  bridge_admin_token = "test-admin-token-0123456789abcdef"
  persistence        = { s3 = { bucket = "front50", region = "eu-west-1" } }
  sql = {
    endpoint        = "writer.example.internal"
    reader_endpoint = "reader.example.internal"
    user            = "spinnaker"
  }
  sql_password = "a-database-password"
  backup       = { destination = { s3 = { bucket = "backups", region = "eu-west-1" } } }
  target_clusters = {
    staging = {
      host                   = "https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com"
      cluster_ca_certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
      eks                    = { cluster_name = "staging" }
    }
  }
}

run "zones_belong_to_the_installation" {
  command = apply

  assert {
    condition     = spinops_zone.red.managed_spinnaker_id == "spinops-system" && spinops_zone.green.managed_spinnaker_id == "spinops-system"
    error_message = "Both zones belong to the module's installation."
  }

  assert {
    condition     = spinops_zone.red.config_revision == "rev-1" && spinops_zone.green.config_revision == "rev-1"
    error_message = "Both zones follow the installation's config_revision (shared-config changes reach them in the same apply)."
  }

  assert {
    condition     = output.zones.red.managed_spinnaker_id == output.managed_spinnaker.id && output.zones.green.managed_spinnaker_id == output.managed_spinnaker.id
    error_message = "The zones output names the installation's id for both zones."
  }
}

run "green_is_production_red_the_sandbox" {
  command = plan

  assert {
    condition     = spinops_zone.green.name == "green" && spinops_zone.green.tier == "production" && spinops_zone.green.deletion_protection == true
    error_message = "green is the production zone, deletion-protected by default."
  }

  assert {
    condition     = spinops_zone.red.name == "red" && spinops_zone.red.tier == "sandbox" && spinops_zone.red.deletion_protection == false
    error_message = "red is the sandbox, not deletion-protected by default."
  }

  assert {
    condition     = spinops_zone.green.ha.replicas == 3 && spinops_zone.red.ha == null
    error_message = "green runs 3 replicas by default, red without HA."
  }

  assert {
    condition     = spinops_zone.red.namespace == "spinnaker-red" && spinops_zone.green.namespace == "spinnaker-green"
    error_message = "The zones' default namespaces."
  }

  assert {
    condition     = spinops_zone.green.backup_before_upgrade == null
    error_message = "No backup before upgrade unless asked for."
  }

  assert {
    condition     = spinops_zone.green.promotion_override == null
    error_message = "Green is gated by promotion unless an override is given."
  }

  assert {
    condition     = spinops_managed_spinnaker.this.sql.reader_endpoint == "reader.example.internal" && spinops_managed_spinnaker.this.sql.password_secret == null && spinops_managed_spinnaker.this.sql.password_wo_version == 1
    error_message = "The installation reads from the given reader endpoint, with the write-only password (version 1)."
  }
}

run "service_annotations_become_halyard_service_settings" {
  command = plan

  variables {
    zones = {
      green = {
        service_annotations = {
          deck = { "cloud.google.com/neg" = "{\"exposed_ports\":{\"9000\":{\"name\":\"spinnaker-deck\"}}}" }
          gate = { "cloud.google.com/neg" = "{\"exposed_ports\":{\"8084\":{\"name\":\"spinnaker-gate\"}}}" }
        }
      }
    }
  }

  assert {
    condition = (
      yamldecode(spinops_zone.green.service_settings["deck"]) == { kubernetes = { serviceAnnotations = { "cloud.google.com/neg" = "{\"exposed_ports\":{\"9000\":{\"name\":\"spinnaker-deck\"}}}" } } } &&
      yamldecode(spinops_zone.green.service_settings["gate"]) == { kubernetes = { serviceAnnotations = { "cloud.google.com/neg" = "{\"exposed_ports\":{\"8084\":{\"name\":\"spinnaker-gate\"}}}" } } }
    )
    error_message = "Each service's annotations are Halyard's kubernetes.serviceAnnotations in that service's service settings."
  }

  assert {
    condition     = spinops_zone.red.service_settings == null && length(spinops_zone.green.service_settings) == 2
    error_message = "Only the services given get settings; red none."
  }
}

run "bridge_and_accounts_follow_green" {
  command = apply

  variables {
    zones = {
      red   = { namespace = "sandbox" }
      green = { namespace = "prod", backup_before_upgrade = true }
    }
  }

  assert {
    condition     = spinops_bridge.this.spinnaker_namespace == "prod" && output.bridge.spinnaker_namespace == spinops_zone.green.namespace
    error_message = "The bridge withdraws accounts in green's namespace."
  }

  assert {
    condition     = spinops_agent_account.control[0].spinnaker.namespace == "prod" && spinops_agent_account.target["staging"].spinnaker.namespace == "prod"
    error_message = "Every agent account is a Spinnaker account of green."
  }

  assert {
    condition     = alltrue([for ns in ["kube-system", "spinops-agent", "spinops-system", "sandbox", "prod"] : contains(spinops_agent_account.control[0].omit_namespaces, ns)])
    error_message = "The control cluster's account leaves out kube-*, the agent's and Spinnaker's namespaces (the operator's and both zones')."
  }

  assert {
    condition     = spinops_backup_policy.this.namespace == "prod" && spinops_zone.green.backup_before_upgrade.policy_id == "prod/spinnaker"
    error_message = "The backup policy lives in green's namespace, and green's backup_before_upgrade names it (namespace/name)."
  }

  assert {
    condition     = output.backup_policy.namespace == "prod" && output.zones.green.backup_before_upgrade.policy_id == "${output.backup_policy.namespace}/${output.backup_policy.name}"
    error_message = "The outputs carry the same policy id."
  }
}

run "agent_accounts_use_the_fleet_provider" {
  command = apply

  assert {
    condition     = spinops_agent_account.control[0].agent_id == "from-the-fleet-connection"
    error_message = "The control cluster's account is planned with spinops.fleet (the connection with the bridge)."
  }

  assert {
    condition     = spinops_agent_account.target["staging"].agent_id == "from-the-fleet-connection"
    error_message = "A target cluster's account is planned with spinops.fleet."
  }

  assert {
    condition     = output.control_agent_account[0].agent_id == "from-the-fleet-connection" && output.target_agent_accounts["staging"].agent_id == "from-the-fleet-connection"
    error_message = "The outputs show the fleet provider's accounts."
  }

  assert {
    condition     = output.agent_accounts["control"].status == "connected" && output.agent_accounts["staging"].status == "connected"
    error_message = "agent_accounts lists both accounts by name."
  }

  assert {
    condition     = endswith(spinops_agent_account.control[0].install_agent.bridge_address, "spinops-bridge.spinops.svc:9091") && spinops_agent_account.control[0].install_agent.kubernetes == null
    error_message = "The control cluster's agent dials the bridge's Service (port 9091 without a grpc_service) and is installed through the provider's own connection."
  }

  assert {
    condition     = output.target_agent_accounts["staging"].install_agent.kubernetes.eks.cluster_name == "staging" && output.target_agent_accounts["staging"].install_agent.kubernetes.host == "https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com"
    error_message = "A target cluster is installed through its own connection (host and EKS token)."
  }
}

run "no_control_account" {
  command = plan

  variables {
    control_cluster_account = null
    target_clusters         = {}
  }

  assert {
    condition     = length(spinops_agent_account.control) == 0 && length(output.control_agent_account) == 0 && length(output.target_agent_accounts) == 0
    error_message = "control_cluster_account = null attaches no cluster."
  }
}

run "backup_policy_points_at_the_given_bucket" {
  command = plan

  variables {
    sql = {
      endpoint        = "writer.example.internal"
      user            = "spinnaker"
      password_secret = { name = "spinnaker-mysql" }
    }
    sql_password = null
  }

  assert {
    condition     = spinops_backup_policy.this.destination.s3.bucket == "backups" && spinops_backup_policy.this.destination.s3.region == "eu-west-1" && spinops_backup_policy.this.destination.s3.prefix == "spinnaker" && spinops_backup_policy.this.destination.gcs == null
    error_message = "The backups go to the given S3 bucket under the default prefix."
  }

  assert {
    condition     = spinops_backup_policy.this.sources.bucket.s3.bucket == "front50" && spinops_backup_policy.this.sources.bucket.s3.prefix == "front50"
    error_message = "Front50's bucket is copied under its root folder."
  }

  assert {
    condition     = spinops_backup_policy.this.sources.mysql.host == "writer.example.internal" && spinops_backup_policy.this.sources.mysql.databases == tolist(["clouddriver", "orca", "front50"])
    error_message = "The backups read the primary, every service's database."
  }

  assert {
    condition     = spinops_backup_policy.this.sources.mysql.password_secret.name == "spinnaker-mysql" && spinops_managed_spinnaker.this.sql.password_secret.name == "spinnaker-mysql" && spinops_managed_spinnaker.this.sql.password_secret.key == "password"
    error_message = "The installation and the backup job read the password from the same Secret."
  }

  assert {
    condition     = spinops_backup_policy.this.sources.mysql.password_wo_version == null && spinops_managed_spinnaker.this.sql.password_wo_version == null
    error_message = "No write-only password version with a Secret."
  }

  assert {
    condition     = spinops_backup_policy.this.point_in_time.enabled
    error_message = "Binary logs are archived by default."
  }

  assert {
    condition     = spinops_backup_policy.this.signing_key_secret == null
    error_message = "No signing key unless given."
  }

  assert {
    condition     = spinops_backup_policy.this.service_account_name == "spinops-backup" && spinops_backup_policy.this.service_account_annotations == null
    error_message = "The pods run as spinops-backup, which the policy does not make unless given its annotations."
  }

  assert {
    condition     = output.backup_policy.destination.s3.bucket == "backups"
    error_message = "The output shows the destination."
  }
}

run "google_cloud_buckets_and_write_only_password" {
  command = plan

  variables {
    persistence = { gcs = { bucket = "front50-gcs", project = "my-project" } }
    sql = {
      endpoint  = "10.0.0.3"
      user      = "spinnaker"
      databases = { clouddriver = "cd", orca = "orca" }
    }
    sql_password         = "a-database-password"
    sql_password_version = 4
    backup = {
      destination                 = { gcs = { bucket = "backups-gcs" } }
      signing_key_secret          = { name = "spinops-backup-signing" }
      service_account_annotations = { "iam.gke.io/gcp-service-account" = "spinops-backup@my-project.iam.gserviceaccount.com" }
    }
    bridge = {
      grpc_service = { type = "LoadBalancer", port = 443 }
    }
  }

  assert {
    condition     = spinops_managed_spinnaker.this.persistence.gcs.bucket == "front50-gcs" && spinops_managed_spinnaker.this.persistence.s3 == null
    error_message = "Front50 in the given GCS bucket."
  }

  assert {
    condition     = spinops_managed_spinnaker.this.sql.reader_endpoint == null && spinops_managed_spinnaker.this.sql.password_secret == null && spinops_managed_spinnaker.this.sql.password_wo_version == 4
    error_message = "Without a reader endpoint and with the write-only password (its version passed)."
  }

  assert {
    condition     = spinops_backup_policy.this.destination.gcs.bucket == "backups-gcs" && spinops_backup_policy.this.destination.s3 == null && spinops_backup_policy.this.sources.bucket.gcs.bucket == "front50-gcs"
    error_message = "The backups go to the given GCS bucket and copy Front50's."
  }

  assert {
    condition     = spinops_backup_policy.this.sources.mysql.databases == tolist(["cd", "orca"]) && spinops_backup_policy.this.sources.mysql.password_wo_version == 4
    error_message = "The backups take sql.databases' schemas and the same write-only password."
  }

  assert {
    condition     = spinops_backup_policy.this.signing_key_secret.name == "spinops-backup-signing" && spinops_backup_policy.this.signing_key_secret.key == "signing-key"
    error_message = "The manifests are signed with the key in the given Secret."
  }

  assert {
    condition     = spinops_backup_policy.this.service_account_annotations["iam.gke.io/gcp-service-account"] == "spinops-backup@my-project.iam.gserviceaccount.com" && output.backup_policy.service_account_annotations != null
    error_message = "The policy makes its ServiceAccount with the given Workload Identity annotation."
  }

  assert {
    condition     = endswith(spinops_agent_account.control[0].install_agent.bridge_address, ".spinops.svc:443")
    error_message = "The control cluster's agent dials the grpc_service's port."
  }
}

# Bad input is refused with the variable's message.

run "refuses_two_front50_buckets" {
  command = plan

  variables {
    persistence = { s3 = { bucket = "a" }, gcs = { bucket = "b" } }
  }

  expect_failures = [var.persistence]
}

run "refuses_two_passwords" {
  command = plan

  variables {
    sql = {
      endpoint        = "writer.example.internal"
      user            = "spinnaker"
      password_secret = { name = "spinnaker-mysql" }
    }
  }

  expect_failures = [var.sql_password]
}

run "refuses_no_password" {
  command = plan

  variables {
    sql_password = null
  }

  expect_failures = [var.sql_password]
}

run "refuses_one_namespace_for_both_zones" {
  command = plan

  variables {
    zones = { red = { namespace = "spinnaker" }, green = { namespace = "spinnaker" } }
  }

  expect_failures = [var.zones]
}

run "aws_target_groups_reach_the_zone" {
  command = plan

  variables {
    zones = {
      green = {
        expose = {
          type      = "aws-target-groups"
          deck_host = "spinnaker.example.com"
          gate_host = "api.spinnaker.example.com"
          target_groups = {
            deck = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-deck/0123456789abcdef"
            gate = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-gate/1123456789abcdef"
          }
        }
      }
    }
  }

  assert {
    condition = (
      spinops_zone.green.expose.type == "aws-target-groups" &&
      spinops_zone.green.expose.target_groups.deck == "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-deck/0123456789abcdef" &&
      spinops_zone.green.expose.target_groups.gate == "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-gate/1123456789abcdef" &&
      spinops_zone.green.expose.target_groups.gate_x509 == null
    )
    error_message = "The green zone's expose keeps the target groups it is given (the zone binds its pods to them)."
  }

  assert {
    condition     = spinops_zone.red.expose == null
    error_message = "Red is not exposed unless asked."
  }
}

run "refuses_a_bad_expose_type" {
  command = plan

  variables {
    zones = { green = { expose = { type = "nodeport" } } }
  }

  expect_failures = [var.zones]
}

run "first_install_overrides_the_gate_for_green" {
  command = plan

  variables {
    zones = { green = { promotion_override = "first install of this installation" } }
  }

  assert {
    condition     = spinops_zone.green.promotion_override.reason == "first install of this installation"
    error_message = "zones.green.promotion_override becomes green's promotion_override reason."
  }
}

run "refuses_a_short_promotion_override" {
  command = plan

  variables {
    zones = { green = { promotion_override = "first" } }
  }

  expect_failures = [var.zones]
}

run "refuses_a_bad_soak" {
  command = plan

  variables {
    promotion = { soak = "one day" }
  }

  expect_failures = [var.promotion]
}

run "refuses_two_ways_into_the_bridge" {
  command = plan

  variables {
    bridge = {
      aws_target_group_arn = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/bridge/0123456789abcdef"
      grpc_service         = { type = "LoadBalancer" }
    }
  }

  expect_failures = [var.bridge]
}

run "refuses_a_short_admin_token" {
  command = plan

  variables {
    bridge_admin_token = "short"
  }

  expect_failures = [var.bridge_admin_token]
}

run "refuses_a_target_without_a_token_source" {
  command = plan

  variables {
    target_clusters = {
      staging = { host = "https://34.1.2.3", cluster_ca_certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" }
    }
  }

  expect_failures = [var.target_clusters]
}

run "refuses_a_target_named_like_the_control_account" {
  command = plan

  variables {
    target_clusters = { control = { config_path = "~/.kube/other" } }
  }

  expect_failures = [var.target_clusters]
}

run "refuses_no_backup_bucket" {
  command = plan

  variables {
    backup = { destination = {} }
  }

  expect_failures = [var.backup]
}

run "without_redis_endpoint_the_operator_runs_redis" {
  command = plan

  assert {
    condition     = spinops_managed_spinnaker.this.redis == null && spinops_managed_spinnaker.this.profiles == null
    error_message = "Without redis_endpoint there is no redis block and no Gate profile: the operator's in-cluster Redis is used."
  }
}

run "redis_endpoint_flows_into_the_installation" {
  command = plan

  variables {
    redis_endpoint = "rediss://master.spin.abc123.euw1.cache.amazonaws.com:6379"
  }

  assert {
    condition     = spinops_managed_spinnaker.this.redis.endpoint == "rediss://master.spin.abc123.euw1.cache.amazonaws.com:6379"
    error_message = "redis_endpoint becomes spinops_managed_spinnaker's redis.endpoint."
  }

  assert {
    condition     = yamldecode(spinops_managed_spinnaker.this.profiles["gate"]).redis.configuration.secure == true
    error_message = "With an external Redis, Gate must not run CONFIG (redis.configuration.secure: managed Redis refuses it)."
  }

  assert {
    condition     = output.managed_spinnaker.redis_endpoint == "rediss://master.spin.abc123.euw1.cache.amazonaws.com:6379"
    error_message = "The installation output shows the Redis endpoint."
  }
}

run "refuses_a_password_in_the_redis_url" {
  command = plan

  variables {
    redis_endpoint = "rediss://default:hunter2hunter2@redis.example.internal:6379"
  }

  expect_failures = [var.redis_endpoint]
}
