locals {
  # What Spinnaker needs of its Redis (the same as modules/aws/redis):
  # * notify-keyspace-events gxE for Gate's session store (Spring Session's
  #   keyspace events: generic, expired, keyevent). Memorystore blocks
  #   CONFIG, so Gate cannot set it itself and must be told not to try
  #   (redis.configuration.secure; output spinnaker_profiles).
  # * maxmemory-policy noeviction: Spinnaker's locks and sessions have TTLs
  #   and would be the first evicted under a volatile-* policy; a full
  #   Redis should refuse writes rather than lose them.
  module_redis_configs = {
    "notify-keyspace-events" = "gxE"
    "maxmemory-policy"       = "noeviction"
  }
}

# Tier STANDARD_HA puts a replica in a zone other than the primary's
# (alternative_location_id, or one Memorystore picks) and fails over to it
# automatically; the host address stays the same. Reached only through
# private services access on the given VPC: no public address.
#
# No AUTH: Memorystore generates the AUTH string and hashicorp/google keeps
# it in state (auth_string), so access is limited by the network (and the
# optional firewall rules below).
resource "google_redis_instance" "this" {
  project        = var.project_id
  name           = var.name
  region         = var.region
  display_name   = "Spinnaker's Redis"
  tier           = var.ha ? "STANDARD_HA" : "BASIC"
  memory_size_gb = var.memory_size_gb
  redis_version  = var.redis_version

  location_id             = var.location_id
  alternative_location_id = var.ha ? var.alternative_location_id : null

  connect_mode       = "PRIVATE_SERVICE_ACCESS"
  authorized_network = var.authorized_network
  reserved_ip_range  = var.reserved_ip_range

  transit_encryption_mode = var.transit_encryption ? "SERVER_AUTHENTICATION" : "DISABLED"
  auth_enabled            = false
  customer_managed_key    = var.customer_managed_key

  redis_configs = merge(local.module_redis_configs, var.redis_configs)

  persistence_config {
    persistence_mode    = var.rdb_snapshot_period == null ? "DISABLED" : "RDB"
    rdb_snapshot_period = var.rdb_snapshot_period
  }

  dynamic "maintenance_policy" {
    for_each = var.maintenance_window == null ? [] : [var.maintenance_window]

    content {
      weekly_maintenance_window {
        day = maintenance_policy.value.day

        start_time {
          hours   = maintenance_policy.value.hour
          minutes = 0
          seconds = 0
          nanos   = 0
        }
      }
    }
  }

  labels = var.labels
}

################################################################################
# Optional firewall rules: the instance's port only from the given tags.
################################################################################

resource "google_compute_firewall" "redis" {
  count = var.firewall == null ? 0 : 1

  project            = var.project_id
  name               = "${var.name}-redis"
  network            = var.firewall.network
  description        = "Spinnaker's Redis ${var.name}, from the given tags only."
  direction          = "EGRESS"
  priority           = 1000
  destination_ranges = ["${google_redis_instance.this.host}/32"]
  target_tags        = var.firewall.source_tags

  allow {
    protocol = "tcp"
    ports    = [tostring(google_redis_instance.this.port)]
  }
}

resource "google_compute_firewall" "redis_deny" {
  count = var.firewall == null ? 0 : 1

  project            = var.project_id
  name               = "${var.name}-redis-deny"
  network            = var.firewall.network
  description        = "Spinnaker's Redis ${var.name}, from anything outside the given tags."
  direction          = "EGRESS"
  priority           = 1100
  destination_ranges = ["${google_redis_instance.this.host}/32"]

  deny {
    protocol = "tcp"
    ports    = [tostring(google_redis_instance.this.port)]
  }
}
