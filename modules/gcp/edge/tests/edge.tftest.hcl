# Plan-level tests with a mock provider: there is no emulator for the load
# balancing, Cloud Armor or Cloud DNS APIs, so these check what the module
# asks Google Cloud for. Runs with `command = apply` still create nothing:
# the mock provider makes up the computed attributes (IDs), and the
# addresses are pinned below, so what refers to them can be checked.

mock_provider "google" {}

# The runs with `command = apply` share one state, so an address is made up
# once and kept: pin both here for every run.
override_resource {
  target = google_compute_global_address.this
  values = { address = "203.0.113.10" }
}

override_resource {
  target = google_compute_address.bridge
  values = { address = "198.51.100.7" }
}

variables {
  project_id         = "spinops-test"
  name               = "spin"
  network            = "projects/spinops-test/global/networks/spin"
  target_tags        = ["spin-internal"]
  deck_domain        = "spinnaker.example.com"
  gate_domain        = "api.spinnaker.example.com"
  user_source_ranges = ["203.0.113.0/24", "2001:db8::/32"]
  neg_zones          = ["europe-west1-b", "europe-west1-c"]
  dns_managed_zone   = "spinnaker-example-com"
}

run "https_routes_deck_and_gate_by_host_and_refuses_other_hosts" {
  command = plan

  assert {
    condition     = { for h in google_compute_url_map.https.host_rule : join(",", h.hosts) => h.path_matcher } == { "spinnaker.example.com" = "deck", "api.spinnaker.example.com" = "gate" }
    error_message = "Deck's name should go to the deck path matcher and Gate's to gate, and no other host should have a rule."
  }

  assert {
    condition = (
      length(google_compute_url_map.https.default_route_action) == 1 &&
      google_compute_url_map.https.default_route_action[0].fault_injection_policy[0].abort[0].http_status == 404 &&
      google_compute_url_map.https.default_route_action[0].fault_injection_policy[0].abort[0].percentage == 100
    )
    error_message = "A request for any other host should be aborted with 404, every time (fault injection at 100%)."
  }

  assert {
    condition     = google_compute_global_forwarding_rule.https.port_range == "443" && google_compute_global_forwarding_rule.https.load_balancing_scheme == "EXTERNAL_MANAGED"
    error_message = "HTTPS should be served on 443 by a global external Application Load Balancer (EXTERNAL_MANAGED)."
  }

  assert {
    condition     = alltrue([for b in google_compute_backend_service.this : b.load_balancing_scheme == "EXTERNAL_MANAGED" && b.protocol == "HTTP"])
    error_message = "Both backend services should be EXTERNAL_MANAGED and speak HTTP to the pods."
  }

  assert {
    condition     = google_compute_ssl_policy.this.min_tls_version == "TLS_1_2"
    error_message = "The HTTPS proxy should refuse TLS older than 1.2."
  }
}

run "routes_reach_the_right_backend_services" {
  command = apply

  assert {
    condition = (
      { for m in google_compute_url_map.https.path_matcher : m.name => m.default_service } ==
      { deck = google_compute_backend_service.this["deck"].id, gate = google_compute_backend_service.this["gate"].id }
    )
    error_message = "The deck path matcher should send to Deck's backend service and gate to Gate's."
  }

  assert {
    condition     = google_compute_url_map.https.default_service == google_compute_backend_service.this["deck"].id
    error_message = "The aborted default route needs a backend service (Deck's); the abort keeps requests from reaching it."
  }

  assert {
    condition = (
      google_compute_target_https_proxy.this.url_map == google_compute_url_map.https.id &&
      google_compute_global_forwarding_rule.https.target == google_compute_target_https_proxy.this.id &&
      google_compute_global_forwarding_rule.https.ip_address == google_compute_global_address.this.id &&
      google_compute_global_forwarding_rule.http.ip_address == google_compute_global_address.this.id
    )
    error_message = "443 and 80 should share the global address, and 443 should go through the HTTPS proxy and its URL map."
  }

  assert {
    condition     = google_compute_target_https_proxy.this.ssl_certificates == tolist([google_compute_managed_ssl_certificate.this[0].id]) && google_compute_target_https_proxy.this.ssl_policy == google_compute_ssl_policy.this.id
    error_message = "The HTTPS proxy should serve the managed certificate under the module's SSL policy."
  }

  assert {
    condition     = alltrue([for b in google_compute_backend_service.this : b.security_policy == google_compute_security_policy.this.id])
    error_message = "Both backend services should carry the Cloud Armor policy."
  }

  assert {
    condition = alltrue([
      for k, b in google_compute_backend_service.this :
      b.health_checks == toset([google_compute_health_check.this[k].id])
    ])
    error_message = "Each backend service should use its own health check."
  }
}

run "http_redirects_to_https" {
  command = plan

  assert {
    condition = (
      google_compute_url_map.http.default_url_redirect[0].https_redirect == true &&
      google_compute_url_map.http.default_url_redirect[0].redirect_response_code == "MOVED_PERMANENTLY_DEFAULT" &&
      google_compute_url_map.http.default_url_redirect[0].strip_query == false
    )
    error_message = "Every HTTP request should be redirected (301) to HTTPS, keeping its query."
  }

  assert {
    condition     = length(google_compute_url_map.http.host_rule) == 0 && google_compute_url_map.http.default_service == null
    error_message = "The HTTP URL map should route nothing to a backend: it only redirects."
  }

  assert {
    condition     = google_compute_global_forwarding_rule.http.port_range == "80" && google_compute_global_forwarding_rule.http.load_balancing_scheme == "EXTERNAL_MANAGED"
    error_message = "The redirect should listen on 80 on the same kind of load balancer."
  }
}

run "the_certificate_names_deck_and_gate" {
  command = plan

  assert {
    condition     = google_compute_managed_ssl_certificate.this[0].managed[0].domains == tolist(["spinnaker.example.com", "api.spinnaker.example.com"])
    error_message = "The Google-managed certificate should cover exactly Deck's and Gate's names."
  }
}

run "existing_certificates_replace_the_managed_one" {
  command = plan

  variables {
    ssl_certificates = ["projects/spinops-test/global/sslCertificates/spinnaker"]
  }

  assert {
    condition     = length(google_compute_managed_ssl_certificate.this) == 0
    error_message = "With ssl_certificates given, no managed certificate should be requested."
  }

  assert {
    condition     = google_compute_target_https_proxy.this.ssl_certificates == tolist(["projects/spinops-test/global/sslCertificates/spinnaker"])
    error_message = "The HTTPS proxy should serve the given certificates."
  }
}

run "backends_are_the_neg_controllers_negs_in_every_zone" {
  command = plan

  assert {
    condition = sort([for b in google_compute_backend_service.this["deck"].backend : b.group]) == tolist([
      "projects/spinops-test/zones/europe-west1-b/networkEndpointGroups/spin-deck",
      "projects/spinops-test/zones/europe-west1-c/networkEndpointGroups/spin-deck",
    ])
    error_message = "Deck's backend service should take the NEG spin-deck in each of neg_zones."
  }

  assert {
    condition = sort([for b in google_compute_backend_service.this["gate"].backend : b.group]) == tolist([
      "projects/spinops-test/zones/europe-west1-b/networkEndpointGroups/spin-gate",
      "projects/spinops-test/zones/europe-west1-c/networkEndpointGroups/spin-gate",
    ])
    error_message = "Gate's backend service should take the NEG spin-gate in each of neg_zones."
  }

  assert {
    condition     = alltrue([for s in google_compute_backend_service.this : alltrue([for b in s.backend : b.balancing_mode == "RATE" && b.max_rate_per_endpoint == 100])])
    error_message = "NEG backends of an Application Load Balancer balance by RATE with a per-endpoint rate."
  }

  assert {
    condition = (
      jsondecode(output.service_annotations.deck["cloud.google.com/neg"]) == { exposed_ports = { "9000" = { name = "spin-deck" } } } &&
      jsondecode(output.service_annotations.gate["cloud.google.com/neg"]) == { exposed_ports = { "8084" = { name = "spin-gate" } } }
    )
    error_message = "The Services' NEG annotations should expose Deck's 9000 as spin-deck and Gate's 8084 as spin-gate, the names the backends use."
  }

  assert {
    condition     = output.neg_names == { deck = "spin-deck", gate = "spin-gate" }
    error_message = "The NEG names should be output for the Services."
  }

  assert {
    condition = alltrue([
      for k, h in google_compute_health_check.this :
      h.http_health_check[0].port_specification == "USE_SERVING_PORT" && h.http_health_check[0].request_path == { deck = "/", gate = "/health" }[k]
    ])
    error_message = "Health checks should probe each pod's serving port, Deck on / and Gate on /health."
  }
}

run "custom_neg_names_and_ports" {
  command = plan

  variables {
    neg_names     = { deck = "green-deck", gate = "green-gate" }
    service_ports = { deck = 80, gate = 8084 }
    target_ports  = { deck = 9000, gate = 8084 }
  }

  assert {
    condition     = jsondecode(output.service_annotations.deck["cloud.google.com/neg"]) == { exposed_ports = { "80" = { name = "green-deck" } } }
    error_message = "The annotation should name the Service's port (80) and the given NEG name."
  }

  assert {
    condition     = alltrue([for b in google_compute_backend_service.this["gate"].backend : endswith(b.group, "/networkEndpointGroups/green-gate")])
    error_message = "Gate's backends should use the given NEG name."
  }
}

run "no_backends_before_the_negs_exist" {
  command = plan

  variables {
    neg_zones = []
  }

  assert {
    condition     = alltrue([for b in google_compute_backend_service.this : length(b.backend) == 0])
    error_message = "With neg_zones = [] the backend services should have no backends (the NEGs do not exist yet)."
  }
}

run "only_googles_front_ends_reach_the_pods" {
  command = plan

  assert {
    condition     = google_compute_firewall.load_balancer.source_ranges == toset(["130.211.0.0/22", "35.191.0.0/16"])
    error_message = "Only Google's front ends and health checkers should be admitted to the pods."
  }

  assert {
    condition = (
      [for a in google_compute_firewall.load_balancer.allow : "${a.protocol}:${join(",", a.ports)}"] == ["tcp:9000,8084"] &&
      length(google_compute_firewall.load_balancer.deny) == 0 &&
      google_compute_firewall.load_balancer.target_tags == toset(["spin-internal"])
    )
    error_message = "The rule should open Deck's and Gate's container ports only, on the nodes' tag."
  }
}

run "armor_allows_only_the_user_ranges" {
  command = plan

  variables {
    waf = { enabled = false }
  }

  assert {
    condition = [
      for r in google_compute_security_policy.this.rule : "${r.action} ${join(",", r.match[0].config[0].src_ip_ranges)}"
      if r.priority == 2147483647
    ] == ["deny(403) *"]
    error_message = "The default rule should deny everyone with 403."
  }

  assert {
    condition = [
      for r in google_compute_security_policy.this.rule : join(" ", sort(r.match[0].config[0].src_ip_ranges))
      if r.action == "allow"
    ] == ["2001:db8::/32 203.0.113.0/24"]
    error_message = "Exactly one allow rule, for exactly the user ranges."
  }

  assert {
    condition     = length(google_compute_security_policy.this.rule) == 2
    error_message = "Without the WAF the policy should hold the allow rule and the default deny only."
  }
}

run "armor_splits_many_ranges_into_rules_of_ten" {
  command = plan

  variables {
    waf                = { enabled = false }
    user_source_ranges = [for i in range(12) : "198.51.${i}.0/24"]
  }

  assert {
    condition = (
      sort([for r in google_compute_security_policy.this.rule : tostring(length(r.match[0].config[0].src_ip_ranges)) if r.action == "allow"]) == tolist(["10", "2"]) &&
      toset(flatten([for r in google_compute_security_policy.this.rule : r.match[0].config[0].src_ip_ranges if r.action == "allow"])) == toset([for i in range(12) : "198.51.${i}.0/24"])
    )
    error_message = "Twelve ranges should become two allow rules (10 and 2) that together hold every range."
  }
}

run "waf_rules_come_before_the_allow_rules_in_preview_by_default" {
  command = plan

  assert {
    condition = toset([
      for r in google_compute_security_policy.this.rule : r.match[0].expr[0].expression if length(r.match[0].expr) > 0
      ]) == toset([
      "evaluatePreconfiguredWaf('sqli-v33-stable', {'sensitivity': 1})",
      "evaluatePreconfiguredWaf('xss-v33-stable', {'sensitivity': 1})",
    ])
    error_message = "The default WAF rules should be sqli-v33-stable and xss-v33-stable at sensitivity 1."
  }

  assert {
    condition = (
      max([for r in google_compute_security_policy.this.rule : r.priority if length(r.match[0].expr) > 0]...) <
      min([for r in google_compute_security_policy.this.rule : r.priority if r.action == "allow"]...)
    )
    error_message = "The WAF rules should be evaluated before the allow rules, or an allowed range would skip them."
  }

  assert {
    condition     = alltrue([for r in google_compute_security_policy.this.rule : r.action == "deny(403)" && r.preview == true if length(r.match[0].expr) > 0])
    error_message = "The WAF rules should deny with 403, in preview by default."
  }
}

run "waf_enforced_when_preview_is_off" {
  command = plan

  variables {
    waf = { preview = false, rules = ["sqli-v33-stable", "xss-v33-stable", "rce-v33-stable"], sensitivity = 2 }
  }

  assert {
    condition     = length([for r in google_compute_security_policy.this.rule : r if length(r.match[0].expr) > 0 && r.preview == false]) == 3
    error_message = "With preview off the three WAF rules should be enforced."
  }

  assert {
    condition     = contains([for r in google_compute_security_policy.this.rule : try(r.match[0].expr[0].expression, "")], "evaluatePreconfiguredWaf('rce-v33-stable', {'sensitivity': 2})")
    error_message = "The given rule sets and sensitivity should be used."
  }
}

run "dns_records_point_at_the_global_address" {
  command = apply

  assert {
    condition = { for k, r in google_dns_record_set.this : k => "${r.managed_zone} ${r.name} ${r.type} ${join(",", r.rrdatas)}" } == {
      deck = "spinnaker-example-com spinnaker.example.com. A 203.0.113.10"
      gate = "spinnaker-example-com api.spinnaker.example.com. A 203.0.113.10"
    }
    error_message = "Deck's and Gate's names should be A records of the global address in the given zone."
  }

  assert {
    condition     = output.ip_address == "203.0.113.10" && output.deck_url == "https://spinnaker.example.com" && output.gate_url == "https://api.spinnaker.example.com"
    error_message = "The address and the URLs should be output."
  }
}

run "no_dns_records_without_a_zone" {
  command = plan

  variables {
    dns_managed_zone = null
    bridge           = { enabled = true, region = "europe-west1", allowed_cidrs = ["192.0.2.0/24"], domain = "bridge.spinnaker.example.com" }
  }

  assert {
    condition     = length(google_dns_record_set.this) == 0 && length(google_dns_record_set.bridge) == 0
    error_message = "Without dns_managed_zone no records should be created."
  }
}

run "no_bridge_by_default" {
  command = plan

  assert {
    condition     = length(google_compute_address.bridge) == 0 && length(google_compute_firewall.bridge_allow) == 0 && length(google_compute_firewall.bridge_deny) == 0
    error_message = "The bridge's address and firewall rules should exist only when bridge.enabled."
  }

  assert {
    condition     = output.bridge_address == null && output.bridge_service == null
    error_message = "The bridge's outputs should be null while it is off."
  }
}

run "the_bridge_admits_only_the_agents" {
  command = apply

  variables {
    bridge = {
      enabled       = true
      region        = "europe-west1"
      allowed_cidrs = ["192.0.2.0/24", "198.51.100.0/24"]
      domain        = "bridge.spinnaker.example.com"
    }
  }

  assert {
    condition = (
      google_compute_firewall.bridge_allow["this"].source_ranges == toset(["192.0.2.0/24", "198.51.100.0/24"]) &&
      google_compute_firewall.bridge_allow["this"].destination_ranges == toset(["198.51.100.7/32"]) &&
      [for a in google_compute_firewall.bridge_allow["this"].allow : "${a.protocol}:${join(",", a.ports)}"] == ["tcp:443"]
    )
    error_message = "Only the agents' ranges should be allowed to the bridge's address on 443."
  }

  assert {
    condition = (
      google_compute_firewall.bridge_deny["this"].source_ranges == toset(["0.0.0.0/0"]) &&
      google_compute_firewall.bridge_deny["this"].destination_ranges == toset(["198.51.100.7/32"]) &&
      [for d in google_compute_firewall.bridge_deny["this"].deny : "${d.protocol}:${join(",", d.ports)}"] == ["tcp:443"]
    )
    error_message = "Everyone else should be denied the bridge's address on 443."
  }

  assert {
    condition = (
      google_compute_firewall.bridge_allow["this"].priority < google_compute_firewall.bridge_deny["this"].priority &&
      google_compute_firewall.bridge_deny["this"].priority < 1000
    )
    error_message = "The allow rule should come before the deny, and both before GKE's own load balancer rule (priority 1000)."
  }

  assert {
    condition     = google_compute_address.bridge["this"].region == "europe-west1" && google_compute_address.bridge["this"].address_type == "EXTERNAL"
    error_message = "The bridge's address should be a regional external address in the cluster's region."
  }

  assert {
    condition     = output.bridge_address == "bridge.spinnaker.example.com:443"
    error_message = "Agents should dial bridge.domain on the listener port."
  }

  assert {
    condition = (
      output.bridge_service.type == "LoadBalancer" &&
      output.bridge_service.port == 443 &&
      output.bridge_service.load_balancer_ip == "198.51.100.7" &&
      output.bridge_service.source_ranges == tolist(["192.0.2.0/24", "198.51.100.0/24"]) &&
      output.bridge_service.annotations == { "cloud.google.com/l4-rbs" = "enabled" }
    )
    error_message = "bridge_service should give the bridge's Service the reserved address, the agents' ranges and the backend service-based load balancer annotation."
  }

  assert {
    condition     = google_dns_record_set.bridge["this"].name == "bridge.spinnaker.example.com." && google_dns_record_set.bridge["this"].rrdatas == tolist(["198.51.100.7"])
    error_message = "bridge.domain should be an A record of the bridge's address."
  }
}

run "the_bridge_without_a_domain_is_dialled_by_address" {
  command = apply

  variables {
    bridge = { enabled = true, region = "europe-west1", allowed_cidrs = ["192.0.2.0/24"], listener_port = 9443 }
  }

  assert {
    condition     = output.bridge_address == "198.51.100.7:9443" && length(google_dns_record_set.bridge) == 0
    error_message = "Without bridge.domain agents should dial the address itself, and no record should be made."
  }
}

################################################################################
# Refused input
################################################################################

run "no_user_ranges_is_refused" {
  command = plan

  variables {
    user_source_ranges = []
  }

  expect_failures = [var.user_source_ranges]
}

run "a_user_range_that_is_not_a_cidr_is_refused" {
  command = plan

  variables {
    user_source_ranges = ["203.0.113.7"]
  }

  expect_failures = [var.user_source_ranges]
}

run "deck_and_gate_on_one_name_is_refused" {
  command = plan

  variables {
    gate_domain = "spinnaker.example.com"
  }

  expect_failures = [var.gate_domain]
}

run "a_region_is_not_a_neg_zone" {
  command = plan

  variables {
    neg_zones = ["europe-west1"]
  }

  expect_failures = [var.neg_zones]
}

run "one_neg_for_both_services_is_refused" {
  command = plan

  variables {
    neg_names = { deck = "spin-ui", gate = "spin-ui" }
  }

  expect_failures = [var.neg_names]
}

run "a_dns_name_is_not_a_managed_zone" {
  command = plan

  variables {
    dns_managed_zone = "example.com."
  }

  expect_failures = [var.dns_managed_zone]
}

run "an_unknown_waf_rule_is_refused" {
  command = plan

  variables {
    waf = { rules = ["sqli"] }
  }

  expect_failures = [var.waf]
}

run "no_firewall_target_is_refused" {
  command = plan

  variables {
    target_tags = []
  }

  expect_failures = [var.target_tags]
}

run "a_bridge_without_agent_ranges_is_refused" {
  command = plan

  variables {
    bridge = { enabled = true, region = "europe-west1" }
  }

  expect_failures = [var.bridge]
}

run "a_bridge_open_to_everyone_is_refused" {
  command = plan

  variables {
    bridge = { enabled = true, region = "europe-west1", allowed_cidrs = ["0.0.0.0/0"] }
  }

  expect_failures = [var.bridge]
}

run "a_bridge_without_a_region_is_refused" {
  command = plan

  variables {
    bridge = { enabled = true, allowed_cidrs = ["192.0.2.0/24"] }
  }

  expect_failures = [var.bridge]
}

run "a_bridge_on_gates_name_is_refused" {
  command = plan

  variables {
    bridge = { enabled = true, region = "europe-west1", allowed_cidrs = ["192.0.2.0/24"], domain = "api.spinnaker.example.com" }
  }

  expect_failures = [var.bridge]
}
