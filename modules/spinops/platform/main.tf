# The spinops layer of a managed Spinnaker, the same on every cloud: the
# installation, a red (sandbox) and a green (production) zone, the spinops
# bridge with the clusters attached through it, and backups with
# point-in-time recovery. What differs by cloud comes in as data: the Front50
# bucket (s3 or gcs), the database's addresses, how the bridge is reached
# (an AWS target group or a LoadBalancer Service), the backup bucket.

locals {
  # The services that may use SQL, in the order the backups list them.
  sql_services = ["clouddriver", "orca", "front50"]

  # Each zone's service_annotations as Halyard service settings
  # (kubernetes.serviceAnnotations), by service; null without any.
  service_settings = {
    for name, z in var.zones : name => z.service_annotations == null ? null : {
      for svc, annotations in z.service_annotations : svc => yamlencode({ kubernetes = { serviceAnnotations = annotations } })
    }
  }
}

# Preflight: the cluster answers and the provider's credentials may install
# Spinnaker. Give the module depends_on = [the cluster's module], so this is
# read once the cluster (and the access Terraform has to it) exists.
data "spinops_kubernetes_cluster" "control" {
  namespace = var.preflight_namespace
}

# One installation on the cluster: Front50 in its bucket, Clouddriver, Orca
# and Front50 on MySQL. With HA and clouddriver_split, the read-only
# Clouddrivers use sql.reader_endpoint; without one (null) they read from the
# primary. The password is either an existing Secret (sql.password_secret)
# or written as a write-only argument (sql_password): never in state.
resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = var.spinnaker_version

  persistence {
    dynamic "s3" {
      for_each = var.persistence.s3 == null ? [] : [var.persistence.s3]

      content {
        bucket      = s3.value.bucket
        region      = s3.value.region
        root_folder = s3.value.root_folder
        endpoint    = s3.value.endpoint
        path_style  = s3.value.path_style
      }
    }

    dynamic "gcs" {
      for_each = var.persistence.gcs == null ? [] : [var.persistence.gcs]

      content {
        bucket      = gcs.value.bucket
        project     = gcs.value.project
        root_folder = gcs.value.root_folder
      }
    }
  }

  sql {
    endpoint        = var.sql.endpoint
    reader_endpoint = var.sql.reader_endpoint
    port            = var.sql.port
    databases       = var.sql.databases
    user            = var.sql.user

    dynamic "password_secret" {
      for_each = var.sql.password_secret == null ? [] : [var.sql.password_secret]

      content {
        name = password_secret.value.name
        key  = password_secret.value.key
      }
    }

    password_wo         = var.sql_password
    password_wo_version = var.sql.password_secret == null ? var.sql_password_version : null
  }

  # An external Redis (null: the operator's in-cluster one). Managed Redis
  # (ElastiCache, Memorystore) refuses CONFIG: Gate must not try to set
  # notify-keyspace-events itself (spinnaker/gate RedisActionConfig,
  # redis.configuration.secure); the Redis modules set it in their
  # parameters.
  dynamic "redis" {
    for_each = var.redis_endpoint == null ? [] : [var.redis_endpoint]

    content {
      endpoint = redis.value
    }
  }

  profiles = var.redis_endpoint == null ? null : {
    gate = yamlencode({ redis = { configuration = { secure = true } } })
  }

  promotion {
    soak                     = var.promotion.soak
    require_verification     = var.promotion.require_verification
    min_sandbox_availability = var.promotion.min_sandbox_availability
  }

  depends_on = [data.spinops_kubernetes_cluster.control]
}

# Red proves every upgrade and configuration change first ...
resource "spinops_zone" "red" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  config_revision      = spinops_managed_spinnaker.this.config_revision # shared-config changes reach this zone in the same apply
  name                 = "red"
  tier                 = "sandbox"
  namespace            = var.zones.red.namespace
  spinnaker_version    = var.zones.red.spinnaker_version
  deletion_protection  = var.zones.red.deletion_protection
  config_overrides     = var.zones.red.config_overrides
  service_settings     = local.service_settings.red

  dynamic "ha" {
    for_each = var.zones.red.ha == null ? [] : [var.zones.red.ha]

    content {
      replicas          = ha.value.replicas
      clouddriver_split = ha.value.clouddriver_split
    }
  }

  dynamic "expose" {
    for_each = var.zones.red.expose == null ? [] : [var.zones.red.expose]

    content {
      type          = expose.value.type
      deck_host     = expose.value.deck_host
      gate_host     = expose.value.gate_host
      source_ranges = expose.value.source_ranges
      annotations   = expose.value.annotations
      tls_secret    = expose.value.tls_secret
      target_groups = expose.value.target_groups
    }
  }

}

# ... green, the production zone users reach, only takes a version red
# verified at least promotion.soak ago.
resource "spinops_zone" "green" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  config_revision      = spinops_managed_spinnaker.this.config_revision # shared-config changes reach this zone in the same apply
  name                 = "green"
  tier                 = "production"
  namespace            = var.zones.green.namespace
  spinnaker_version    = var.zones.green.spinnaker_version
  deletion_protection  = var.zones.green.deletion_protection
  config_overrides     = var.zones.green.config_overrides
  service_settings     = local.service_settings.green

  dynamic "ha" {
    for_each = var.zones.green.ha == null ? [] : [var.zones.green.ha]

    content {
      replicas          = ha.value.replicas
      clouddriver_split = ha.value.clouddriver_split
    }
  }

  dynamic "expose" {
    for_each = var.zones.green.expose == null ? [] : [var.zones.green.expose]

    content {
      type          = expose.value.type
      deck_host     = expose.value.deck_host
      gate_host     = expose.value.gate_host
      source_ranges = expose.value.source_ranges
      annotations   = expose.value.annotations
      tls_secret    = expose.value.tls_secret
      target_groups = expose.value.target_groups
    }
  }

  # With backup_before_upgrade, every upgrade first backs up Clouddriver,
  # Orca and Front50 (one run of the policy in backup.tf) and is refused when
  # that fails. The id is built from the inputs: the policy lives in green's
  # namespace, so a reference to it would be a cycle (and a first create
  # runs no backup anyway).
  dynamic "backup_before_upgrade" {
    for_each = var.zones.green.backup_before_upgrade ? [local.backup_policy_id] : []

    content {
      policy_id = backup_before_upgrade.value
    }
  }

  # The first apply creates red and green together: red cannot have
  # verified the version soak ago, so green needs this once (recorded in
  # the promotion ledger).
  dynamic "promotion_override" {
    for_each = var.zones.green.promotion_override == null ? [] : [var.zones.green.promotion_override]

    content {
      reason = promotion_override.value
    }
  }

  # Red proves every change first: within one apply red's upgrade, and its
  # verification, come before green's.
  depends_on = [spinops_zone.red]
}
