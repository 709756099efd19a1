# The red (sandbox) zone proves every upgrade and configuration change first;
# the green (production) zone only takes a version red verified at least
# `promotion.soak` ago.
resource "spinops_zone" "red" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  config_revision      = spinops_managed_spinnaker.this.config_revision # shared-config changes reach this zone in the same apply
  name                 = "red"
  tier                 = "sandbox"
  namespace            = "spinnaker-red"
  spinnaker_version    = "1.35.3"
  rollback_on_failure  = true # the default for sandboxes is false
}

resource "spinops_zone" "green" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  config_revision      = spinops_managed_spinnaker.this.config_revision # shared-config changes reach this zone in the same apply
  name                 = "green"
  tier                 = "production" # deletion-protected and rolled back on failure by default
  namespace            = "spinnaker-green"
  spinnaker_version    = "1.35.3"

  ha {
    replicas = 3 # Clouddriver split, polling services at exactly one replica
  }

  expose {
    type       = "ingress"
    deck_host  = "spinnaker.example.com"
    gate_host  = "api.spinnaker.example.com"
    tls_secret = "spinnaker-tls"
  }
  # On AWS behind modules/aws/edge's ALB instead: the zone keeps the AWS Load
  # Balancer Controller's TargetGroupBindings for Deck and Gate.
  # expose {
  #   type          = "aws-target-groups"
  #   deck_host     = "spinnaker.example.com"
  #   gate_host     = "api.spinnaker.example.com"
  #   target_groups = { deck = module.edge.target_group_arns.deck, gate = module.edge.target_group_arns.gate }
  # }

  profiles = {
    gate = yamlencode({ server = { tomcat = { protocolHeader = "X-Forwarded-Proto" } } })
  }

  # Images from a private registry mirror. The global key `spinnaker` reaches
  # every service the Spinnaker Operator knows but Deck; Deck and the HA
  # services (which Halyard reads under their own names only; a plan names
  # what the global settings miss) get the pull secret under their names.
  service_settings = merge(
    { spinnaker = local.pull_from_mirror },
    { for s in local.not_global : s => local.pull_from_mirror },
  )

  # Every upgrade first runs one backup of the policy and is refused when it
  # fails (the zone is left as it was).
  backup_before_upgrade {
    policy_id = spinops_backup_policy.this.id
    timeout   = "30m"
  }

  # In an emergency only: take a version the promotion gate refuses.
  # promotion_override {
  #   reason = "CVE-2026-1234 hotfix, approved in INC-4711"
  # }

  timeouts {
    create = "45m"
    update = "45m"
  }
}

locals {
  pull_from_mirror = yamlencode({ kubernetes = { imagePullSecrets = ["registry-mirror"] } })
  not_global       = ["deck", "clouddriver-caching", "clouddriver-ro", "clouddriver-ro-deck", "clouddriver-rw", "echo-scheduler", "echo-worker"]
}
