mock_provider "google" {}

variables {
  project_id         = "spinops-test"
  name               = "spin"
  region             = "europe-west1"
  deck_source_ranges = ["203.0.113.0/24"]
  gate_source_ranges = ["198.51.100.0/24", "203.0.113.0/24"]
}

run "ranges_are_computed_from_one_cidr" {
  command = plan

  assert {
    condition     = google_compute_subnetwork.this.ip_cidr_range == "10.10.0.0/20"
    error_message = "Nodes should get the first /20 of 10.10.0.0/16, got ${google_compute_subnetwork.this.ip_cidr_range}."
  }

  assert {
    condition = [for r in google_compute_subnetwork.this.secondary_ip_range : "${r.range_name}=${r.ip_cidr_range}"] == [
      "spin-pods=10.10.128.0/17",
      "spin-services=10.10.16.0/20",
    ]
    error_message = "Secondary ranges should be pods=10.10.128.0/17 and services=10.10.16.0/20."
  }

  assert {
    condition     = google_compute_global_address.private_services[0].address == "10.10.32.0" && google_compute_global_address.private_services[0].prefix_length == 20
    error_message = "Private services access should reserve 10.10.32.0/20."
  }

  assert {
    condition     = google_compute_subnetwork.this.private_ip_google_access
    error_message = "Private nodes need Private Google Access."
  }

  assert {
    condition     = google_compute_network.this.auto_create_subnetworks == false
    error_message = "The network must not auto-create subnets."
  }

  assert {
    condition     = google_compute_router_nat.this.nat_ip_allocate_option == "AUTO_ONLY" && length(google_compute_address.nat) == 0
    error_message = "With nat_ip_count = 0 Cloud NAT should allocate its IPs automatically."
  }

  assert {
    condition     = length(google_service_networking_connection.this) == 1
    error_message = "Private services access should be peered by default."
  }
}

run "user_facing_rules_are_exactly_deck_and_gate_ports" {
  command = plan

  assert {
    condition     = sort(keys(google_compute_firewall.user_facing)) == tolist(["443", "80", "8084"])
    error_message = "User-facing rules should cover exactly 80, 443 and 8084, got ${jsonencode(keys(google_compute_firewall.user_facing))}."
  }

  assert {
    condition = alltrue([
      for port, r in google_compute_firewall.user_facing :
      r.direction == "INGRESS" && length(r.allow) == 1 && length(r.deny) == 0 &&
      alltrue([for a in r.allow : a.protocol == "tcp" && a.ports == tolist([port])])
    ])
    error_message = "Each user-facing rule should allow one TCP port and nothing else."
  }

  assert {
    condition     = google_compute_firewall.user_facing["80"].source_ranges == toset(["203.0.113.0/24"])
    error_message = "Port 80 is Deck's only: it should be open to deck_source_ranges only."
  }

  assert {
    condition     = google_compute_firewall.user_facing["8084"].source_ranges == toset(["198.51.100.0/24", "203.0.113.0/24"])
    error_message = "Port 8084 is Gate's only: it should be open to gate_source_ranges only."
  }

  assert {
    condition     = google_compute_firewall.user_facing["443"].source_ranges == toset(["198.51.100.0/24", "203.0.113.0/24"])
    error_message = "Port 443 serves Deck and Gate: it should be open to both lists."
  }

  assert {
    condition     = alltrue([for r in google_compute_firewall.user_facing : r.target_tags == toset(["spin-user-facing"])])
    error_message = "User-facing rules should target the user-facing tag only."
  }
}

run "internal_rule_stays_within_the_group" {
  command = plan

  assert {
    condition     = google_compute_firewall.internal.source_tags == toset(["spin-internal"]) && google_compute_firewall.internal.target_tags == toset(["spin-internal"])
    error_message = "The internal rule should allow traffic from the internal tag to the internal tag."
  }

  assert {
    condition     = google_compute_firewall.internal.source_ranges == toset(["10.10.128.0/17"])
    error_message = "Besides the tag, only the cluster's pod range may be a source of internal traffic."
  }

  assert {
    condition     = google_compute_firewall.internal.direction == "INGRESS"
    error_message = "The internal rule is an ingress rule."
  }
}

run "database_port_only_from_the_cluster" {
  command = plan

  assert {
    condition = (
      google_compute_firewall.database.direction == "EGRESS" &&
      google_compute_firewall.database.destination_ranges == toset(["10.10.32.0/20"]) &&
      google_compute_firewall.database.target_tags == toset(["spin-internal"]) &&
      [for a in google_compute_firewall.database.allow : "${a.protocol}:${join(",", a.ports)}"] == ["tcp:3306"]
    )
    error_message = "Only the internal group may open 3306 to the private services range."
  }

  assert {
    condition = (
      google_compute_firewall.database_deny.priority > google_compute_firewall.database.priority &&
      [for d in google_compute_firewall.database_deny.deny : "${d.protocol}:${join(",", d.ports)}"] == ["tcp:3306"] &&
      google_compute_firewall.database_deny.target_tags == null
    )
    error_message = "Everything else should be denied 3306 to the private services range, at a lower priority than the allow."
  }
}

run "no_user_facing_rules_without_ranges" {
  command = plan

  variables {
    deck_source_ranges = []
    gate_source_ranges = []
  }

  assert {
    condition     = length(google_compute_firewall.user_facing) == 0
    error_message = "Without source ranges nothing should be opened to users."
  }
}

run "explicit_ranges_and_static_nat" {
  command = plan

  variables {
    subnet_cidr           = "172.16.0.0/22"
    pods_cidr             = "172.20.0.0/16"
    services_cidr         = "172.16.8.0/22"
    private_services_cidr = "172.17.0.0/20"
    nat_ip_count          = 2
  }

  assert {
    condition     = google_compute_subnetwork.this.ip_cidr_range == "172.16.0.0/22"
    error_message = "An explicit subnet_cidr should win over the computed range."
  }

  assert {
    condition     = [for r in google_compute_subnetwork.this.secondary_ip_range : r.ip_cidr_range] == ["172.20.0.0/16", "172.16.8.0/22"]
    error_message = "Explicit pods and services ranges should be used."
  }

  assert {
    condition     = length(google_compute_address.nat) == 2 && google_compute_router_nat.this.nat_ip_allocate_option == "MANUAL_ONLY"
    error_message = "nat_ip_count = 2 should reserve two static NAT IPs."
  }
}

run "overlapping_ranges_are_refused" {
  command = plan

  variables {
    pods_cidr = "10.10.0.0/18"
  }

  expect_failures = [google_compute_subnetwork.this]
}

run "overlapping_explicit_private_services_range_is_refused" {
  command = plan

  variables {
    private_services_cidr = "10.10.16.0/24"
  }

  expect_failures = [google_compute_subnetwork.this]
}

run "too_small_cidr_is_refused" {
  command = plan

  variables {
    cidr = "10.10.0.0/24"
  }

  expect_failures = [var.cidr]
}

run "a_zone_is_not_a_region" {
  command = plan

  variables {
    region = "europe-west1-b"
  }

  expect_failures = [var.region]
}

run "ipv6_source_ranges_are_refused" {
  command = plan

  variables {
    gate_source_ranges = ["2001:db8::/32"]
  }

  expect_failures = [var.gate_source_ranges]
}

# examples/basic, the module's usage example, plans with this file's mock
# providers: an example that no longer fits the module fails here.
run "example_basic" {
  command = plan

  module {
    source = "./examples/basic"
  }
}
