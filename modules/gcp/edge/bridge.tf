################################################################################
# The spinops bridge's gRPC port for agents, when var.bridge.enabled: a
# regional external passthrough Network Load Balancer (TLS passes through to
# the bridge, which terminates it itself).
#
# GKE builds that load balancer from the bridge's Service of type
# LoadBalancer: with cloud.google.com/l4-rbs: "enabled" a backend service-based
# one, whose backends GKE manages itself (instance groups, or GCE_VM_IP NEGs
# from GKE 1.32.2-gke.1652000; https://cloud.google.com/kubernetes-engine/docs/concepts/service-load-balancer-parameters).
# GKE has no standalone GCE_VM_IP NEGs a module could attach, so this module
# does not build its own: it reserves the address the Service asks for
# (spec.loadBalancerIP), and guards it with firewall rules of its own, so
# only allowed_cidrs reach the port whatever the Service's
# loadBalancerSourceRanges say (GKE's own allow rule, k8s-fw-*, has priority
# 1000; these come first).
################################################################################

locals {
  bridge = var.bridge.enabled ? { this = var.bridge } : {}
}

resource "google_compute_address" "bridge" {
  for_each = local.bridge

  project      = var.project_id
  name         = "${var.name}-bridge"
  region       = each.value.region
  description  = "spinops bridge: agents' gRPC (TLS passthrough) on ${each.value.listener_port}."
  address_type = "EXTERNAL"
  network_tier = "PREMIUM"
  labels       = var.labels

  lifecycle {
    # Compute Engine cannot change an address's description in place: an
    # address moved in from a configuration that reserved it with another
    # (examples/gcp-complete's moved.tf) keeps it rather than being
    # replaced, which would give the bridge a new IP.
    ignore_changes = [description]
  }
}

# A passthrough load balancer delivers packets with the load balancer's
# address as their destination, so these rules match on it: they touch
# nothing else on the nodes, not the health checks (other ports) either.
resource "google_compute_firewall" "bridge_allow" {
  for_each = local.bridge

  project     = var.project_id
  name        = "${var.name}-bridge-allow"
  network     = var.network
  description = "spinops agents to the bridge's load balancer (gRPC over TLS) on ${each.value.listener_port}."
  direction   = "INGRESS"
  priority    = 800

  source_ranges      = sort(distinct(each.value.allowed_cidrs))
  destination_ranges = ["${google_compute_address.bridge[each.key].address}/32"]
  target_tags        = var.target_tags

  allow {
    protocol = "tcp"
    ports    = [tostring(each.value.listener_port)]
  }
}

resource "google_compute_firewall" "bridge_deny" {
  for_each = local.bridge

  project     = var.project_id
  name        = "${var.name}-bridge-deny"
  network     = var.network
  description = "Everyone else to the bridge's load balancer on ${each.value.listener_port}."
  direction   = "INGRESS"
  priority    = 900

  source_ranges      = ["0.0.0.0/0"]
  destination_ranges = ["${google_compute_address.bridge[each.key].address}/32"]
  target_tags        = var.target_tags

  deny {
    protocol = "tcp"
    ports    = [tostring(each.value.listener_port)]
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}
