locals {
  # Fixed slots, so adding a range later never moves an existing one:
  # nodes, services, private services access in the first three sixteenths,
  # pods in the upper half.
  ranges = {
    nodes            = coalesce(var.subnet_cidr, cidrsubnet(var.cidr, 4, 0))
    services         = coalesce(var.services_cidr, cidrsubnet(var.cidr, 4, 1))
    private_services = coalesce(var.private_services_cidr, cidrsubnet(var.cidr, 4, 2))
    pods             = coalesce(var.pods_cidr, cidrsubnet(var.cidr, 1, 1))
  }
  range_names = keys(local.ranges)

  # Two CIDR blocks overlap exactly when one holds the other's first address.
  overlapping_ranges = [
    for p in setproduct(local.range_names, local.range_names) :
    "${p[0]} ${local.ranges[p[0]]} and ${p[1]} ${local.ranges[p[1]]}"
    if index(local.range_names, p[0]) < index(local.range_names, p[1]) && (
      cidrhost("${cidrhost(local.ranges[p[1]], 0)}/${split("/", local.ranges[p[0]])[1]}", 0) == cidrhost(local.ranges[p[0]], 0) ||
      cidrhost("${cidrhost(local.ranges[p[0]], 0)}/${split("/", local.ranges[p[1]])[1]}", 0) == cidrhost(local.ranges[p[1]], 0)
    )
  ]

  pods_range_name     = "${var.name}-pods"
  services_range_name = "${var.name}-services"

  # Network tags the firewall rules below select on; the GKE node pools carry
  # internal_tag, load-balanced ingress points carry user_facing_tag.
  internal_tag    = "${var.name}-internal"
  user_facing_tag = "${var.name}-user-facing"
}

resource "google_compute_network" "this" {
  project                 = var.project_id
  name                    = var.name
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
  description             = "Dedicated network of the Spinnaker installation ${var.name}."
}

resource "google_compute_subnetwork" "this" {
  project                  = var.project_id
  name                     = "${var.name}-${var.region}"
  region                   = var.region
  network                  = google_compute_network.this.id
  ip_cidr_range            = local.ranges.nodes
  private_ip_google_access = true

  secondary_ip_range {
    range_name    = local.pods_range_name
    ip_cidr_range = local.ranges.pods
  }

  secondary_ip_range {
    range_name    = local.services_range_name
    ip_cidr_range = local.ranges.services
  }

  dynamic "log_config" {
    for_each = var.enable_flow_logs ? [1] : []
    content {
      aggregation_interval = "INTERVAL_5_SEC"
      flow_sampling        = 0.5
      metadata             = "INCLUDE_ALL_METADATA"
    }
  }

  lifecycle {
    # The effective ranges (given or computed) must be pairwise disjoint.
    precondition {
      condition     = length(local.overlapping_ranges) == 0
      error_message = "The network's ranges overlap: ${join("; ", local.overlapping_ranges)}. Give subnet_cidr, pods_cidr, services_cidr and private_services_cidr disjoint ranges, or leave them null to compute them from cidr."
    }
  }
}

################################################################################
# Cloud NAT: egress for private nodes
################################################################################

resource "google_compute_router" "this" {
  project = var.project_id
  name    = "${var.name}-router"
  region  = var.region
  network = google_compute_network.this.id
}

resource "google_compute_address" "nat" {
  count = var.nat_ip_count

  project      = var.project_id
  name         = "${var.name}-nat-${count.index}"
  region       = var.region
  address_type = "EXTERNAL"
  labels       = var.labels
}

resource "google_compute_router_nat" "this" {
  project                            = var.project_id
  name                               = "${var.name}-nat"
  router                             = google_compute_router.this.name
  region                             = var.region
  nat_ip_allocate_option             = var.nat_ip_count > 0 ? "MANUAL_ONLY" : "AUTO_ONLY"
  nat_ips                            = google_compute_address.nat[*].self_link
  source_subnetwork_ip_ranges_to_nat = "LIST_OF_SUBNETWORKS"

  subnetwork {
    name                    = google_compute_subnetwork.this.id
    source_ip_ranges_to_nat = ["ALL_IP_RANGES"]
  }

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

################################################################################
# Private services access (Cloud SQL private IP)
################################################################################

resource "google_compute_global_address" "private_services" {
  count = var.create_private_services_access ? 1 : 0

  project       = var.project_id
  name          = "${var.name}-private-services"
  network       = google_compute_network.this.id
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  address       = cidrhost(local.ranges.private_services, 0)
  prefix_length = tonumber(split("/", local.ranges.private_services)[1])
}

resource "google_service_networking_connection" "this" {
  count = var.create_private_services_access ? 1 : 0

  network                 = google_compute_network.this.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services[0].name]
}
