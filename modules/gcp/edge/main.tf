locals {
  domains = [var.deck_domain, var.gate_domain]

  neg_names = {
    deck = coalesce(var.neg_names.deck, "${var.name}-deck")
    gate = coalesce(var.neg_names.gate, "${var.name}-gate")
  }

  # What each service is: its NEG, the port its Service exposes to the NEG
  # controller, its container port, and what says it is healthy (Deck's
  # nginx serves / , Gate answers /health).
  services = {
    deck = { neg = local.neg_names.deck, service_port = var.service_ports.deck, target_port = var.target_ports.deck, health_path = "/" }
    gate = { neg = local.neg_names.gate, service_port = var.service_ports.gate, target_port = var.target_ports.gate, health_path = "/health" }
  }

  # Google's front ends and health checkers: where a global external
  # Application Load Balancer's requests and probes to the backends come from
  # (https://cloud.google.com/load-balancing/docs/health-check-concepts#ip-ranges,
  # https://cloud.google.com/load-balancing/docs/https#firewall-rules).
  google_front_end_ranges = ["130.211.0.0/22", "35.191.0.0/16"]

  create_certificate = length(var.ssl_certificates) == 0
  # A managed certificate's domains cannot be changed in place: a new name
  # for new domains lets create_before_destroy swap it under the proxy.
  certificate_name = "${var.name}-${substr(sha256(join(",", local.domains)), 0, 8)}"
}

################################################################################
# Address and certificate
################################################################################

resource "google_compute_global_address" "this" {
  project      = var.project_id
  name         = "${var.name}-lb"
  description  = "Deck (${var.deck_domain}) and Gate (${var.gate_domain})."
  address_type = "EXTERNAL"
  ip_version   = "IPV4"
  labels       = var.labels
}

# A Google-managed certificate on the proxy (load balancer authorization): it
# is issued once both names resolve to the address above, which the DNS
# records below (or yours) make them do.
resource "google_compute_managed_ssl_certificate" "this" {
  count = local.create_certificate ? 1 : 0

  project     = var.project_id
  name        = local.certificate_name
  description = "Deck and Gate: ${join(", ", local.domains)}."

  managed {
    domains = local.domains
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_compute_ssl_policy" "this" {
  project         = var.project_id
  name            = "${var.name}-tls"
  description     = "TLS 1.2 or later for Deck and Gate."
  profile         = var.ssl_policy_profile
  min_tls_version = "TLS_1_2"
}

################################################################################
# Backends: standalone zonal NEGs that GKE's NEG controller creates and fills
# from the annotated Services (this module never creates the NEGs: the
# controller refuses a NEG of its name that it did not create,
# kubernetes/ingress-gce pkg/neg/syncers/utils.go ensureNetworkEndpointGroup)
################################################################################

resource "google_compute_health_check" "this" {
  for_each = local.services

  project             = var.project_id
  name                = "${var.name}-${each.key}"
  description         = "${each.key} on its pods' serving port (${each.value.target_port}), ${each.value.health_path}."
  check_interval_sec  = 10
  timeout_sec         = 5
  healthy_threshold   = 2
  unhealthy_threshold = 3

  # Each NEG endpoint is a pod IP and its container port: probe that port.
  http_health_check {
    port_specification = "USE_SERVING_PORT"
    request_path       = each.value.health_path
  }

  log_config {
    enable = false
  }
}

resource "google_compute_backend_service" "this" {
  for_each = local.services

  project               = var.project_id
  name                  = "${var.name}-${each.key}"
  description           = "${each.key} pods through the NEG ${each.value.neg}."
  load_balancing_scheme = "EXTERNAL_MANAGED"
  protocol              = "HTTP"
  timeout_sec           = var.backend_timeout_sec
  health_checks         = [google_compute_health_check.this[each.key].id]
  security_policy       = google_compute_security_policy.this.id

  # A pod leaving its NEG (rollout, eviction) finishes its requests first.
  connection_draining_timeout_sec = 30

  dynamic "backend" {
    for_each = var.neg_zones
    content {
      group                 = "projects/${var.project_id}/zones/${backend.value}/networkEndpointGroups/${each.value.neg}"
      balancing_mode        = "RATE"
      max_rate_per_endpoint = var.max_rate_per_endpoint
      capacity_scaler       = 1
    }
  }

  log_config {
    enable      = true
    sample_rate = 1
  }
}

# The requests and health probes reach the pods from Google's front ends, on
# the containers' ports only (users are filtered by the security policy, at
# the edge, before anything reaches the VPC).
resource "google_compute_firewall" "load_balancer" {
  project     = var.project_id
  name        = "${var.name}-lb-backends"
  network     = var.network
  description = "Google's front ends and health checkers to Deck (${var.target_ports.deck}) and Gate (${var.target_ports.gate}) pods."
  direction   = "INGRESS"
  priority    = 1000

  source_ranges = local.google_front_end_ranges
  target_tags   = var.target_tags

  allow {
    protocol = "tcp"
    ports    = distinct([tostring(var.target_ports.deck), tostring(var.target_ports.gate)])
  }
}

################################################################################
# HTTPS: Deck and Gate by host name, anything else 404
################################################################################

resource "google_compute_url_map" "https" {
  project     = var.project_id
  name        = "${var.name}-https"
  description = "${var.deck_domain} to Deck, ${var.gate_domain} to Gate, anything else 404."

  # A URL map has no fixed response: its default must be a backend service,
  # a backend bucket or a redirect. Requests for any other host go to Deck's
  # backend service with a fault-injection abort on every one of them, so
  # the load balancer answers 404 itself and Deck never sees them (fault
  # injection: global external Application Load Balancer, not classic).
  default_service = google_compute_backend_service.this["deck"].id

  default_route_action {
    fault_injection_policy {
      abort {
        http_status = 404
        percentage  = 100
      }
    }
  }

  host_rule {
    hosts        = [var.deck_domain]
    path_matcher = "deck"
  }

  host_rule {
    hosts        = [var.gate_domain]
    path_matcher = "gate"
  }

  path_matcher {
    name            = "deck"
    default_service = google_compute_backend_service.this["deck"].id
  }

  path_matcher {
    name            = "gate"
    default_service = google_compute_backend_service.this["gate"].id
  }
}

resource "google_compute_target_https_proxy" "this" {
  project          = var.project_id
  name             = "${var.name}-https"
  url_map          = google_compute_url_map.https.id
  ssl_certificates = local.create_certificate ? [google_compute_managed_ssl_certificate.this[0].id] : var.ssl_certificates
  ssl_policy       = google_compute_ssl_policy.this.id
}

resource "google_compute_global_forwarding_rule" "https" {
  project               = var.project_id
  name                  = "${var.name}-https"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_protocol           = "TCP"
  ip_address            = google_compute_global_address.this.id
  port_range            = "443"
  target                = google_compute_target_https_proxy.this.id
  labels                = var.labels
}

################################################################################
# HTTP: everything redirected to HTTPS
################################################################################

resource "google_compute_url_map" "http" {
  project     = var.project_id
  name        = "${var.name}-http"
  description = "Every HTTP request redirected to HTTPS."

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }
}

resource "google_compute_target_http_proxy" "this" {
  project = var.project_id
  name    = "${var.name}-http"
  url_map = google_compute_url_map.http.id
}

resource "google_compute_global_forwarding_rule" "http" {
  project               = var.project_id
  name                  = "${var.name}-http"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_protocol           = "TCP"
  ip_address            = google_compute_global_address.this.id
  port_range            = "80"
  target                = google_compute_target_http_proxy.this.id
  labels                = var.labels
}
