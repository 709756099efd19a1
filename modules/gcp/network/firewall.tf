################################################################################
# Firewall rules mirroring the AWS security groups:
#   user-facing: Deck 80/443 and Gate 8084/443 from the configured ranges
#   internal:    everything, but only between members of the group
#   database:    3306 to private services access only from the group
################################################################################

locals {
  # port => source ranges; 443 serves both Deck and Gate.
  user_facing_ports = {
    "80"   = var.deck_source_ranges
    "443"  = distinct(concat(var.deck_source_ranges, var.gate_source_ranges))
    "8084" = var.gate_source_ranges
  }
  user_facing_rules = { for port, ranges in local.user_facing_ports : port => sort(ranges) if length(ranges) > 0 }
}

resource "google_compute_firewall" "user_facing" {
  for_each = local.user_facing_rules

  project     = var.project_id
  name        = "${var.name}-user-facing-${each.key}"
  network     = google_compute_network.this.id
  description = "User-facing Spinnaker traffic on ${each.key} (Deck 80/443, Gate 8084/443)."
  direction   = "INGRESS"
  priority    = 1000

  source_ranges = each.value
  target_tags   = [local.user_facing_tag]

  allow {
    protocol = "tcp"
    ports    = [each.key]
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_firewall" "internal" {
  project     = var.project_id
  name        = "${var.name}-internal"
  network     = google_compute_network.this.id
  description = "Service-to-service traffic, only between members of the internal group (tagged nodes and their pods)."
  direction   = "INGRESS"
  priority    = 1000

  source_tags   = [local.internal_tag]
  source_ranges = [local.ranges.pods]
  target_tags   = [local.internal_tag]

  allow {
    protocol = "all"
  }
}

resource "google_compute_firewall" "database" {
  project            = var.project_id
  name               = "${var.name}-database"
  network            = google_compute_network.this.id
  description        = "MySQL (3306) to the private services range, from the internal group only."
  direction          = "EGRESS"
  priority           = 1000
  destination_ranges = [local.ranges.private_services]
  target_tags        = [local.internal_tag]

  allow {
    protocol = "tcp"
    ports    = ["3306"]
  }
}

resource "google_compute_firewall" "database_deny" {
  project            = var.project_id
  name               = "${var.name}-database-deny"
  network            = google_compute_network.this.id
  description        = "MySQL (3306) to the private services range from anything outside the internal group."
  direction          = "EGRESS"
  priority           = 1100
  destination_ranges = [local.ranges.private_services]

  deny {
    protocol = "tcp"
    ports    = ["3306"]
  }
}
