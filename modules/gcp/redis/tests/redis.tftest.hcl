mock_provider "google" {}

variables {
  project_id         = "spinops-test-project"
  name               = "spin"
  region             = "europe-west1"
  authorized_network = "projects/spinops-test-project/global/networks/spin"
}

run "ha_is_standard_ha_on_private_services_access" {
  command = plan

  assert {
    condition     = google_redis_instance.this.tier == "STANDARD_HA"
    error_message = "With ha (the default) the tier is STANDARD_HA: a replica in another zone with automatic failover."
  }

  assert {
    condition     = google_redis_instance.this.connect_mode == "PRIVATE_SERVICE_ACCESS" && google_redis_instance.this.authorized_network == "projects/spinops-test-project/global/networks/spin"
    error_message = "Reached through private services access on the given VPC."
  }

  assert {
    condition     = google_redis_instance.this.auth_enabled == false
    error_message = "No AUTH: its string would be kept in state."
  }

  assert {
    condition     = google_redis_instance.this.redis_version == "REDIS_7_2" && google_redis_instance.this.persistence_config[0].persistence_mode == "RDB" && google_redis_instance.this.persistence_config[0].rdb_snapshot_period == "ONE_HOUR"
    error_message = "Redis 7.2 with hourly RDB snapshots by default."
  }
}

run "spinnaker_configs" {
  command = plan

  assert {
    condition     = google_redis_instance.this.redis_configs["notify-keyspace-events"] == "gxE"
    error_message = "Gate's session store needs notify-keyspace-events gxE (Gate cannot set it: Memorystore blocks CONFIG)."
  }

  assert {
    condition     = google_redis_instance.this.redis_configs["maxmemory-policy"] == "noeviction"
    error_message = "Spinnaker's keys must not be evicted."
  }

  assert {
    condition     = yamldecode(output.spinnaker_profiles.gate).redis.configuration.secure == true
    error_message = "Gate must be told not to run CONFIG (redis.configuration.secure)."
  }
}

run "replica_zone_can_be_chosen" {
  command = plan

  variables {
    location_id             = "europe-west1-b"
    alternative_location_id = "europe-west1-c"
  }

  assert {
    condition     = google_redis_instance.this.location_id == "europe-west1-b" && google_redis_instance.this.alternative_location_id == "europe-west1-c"
    error_message = "The primary and the replica go to the given zones."
  }
}

run "without_ha_basic" {
  command = plan

  variables {
    ha = false
  }

  assert {
    condition     = google_redis_instance.this.tier == "BASIC"
    error_message = "Without ha the tier is BASIC."
  }
}

run "tls_off_by_default_and_plain_url" {
  command = apply

  override_resource {
    target = google_redis_instance.this
    values = { host = "10.30.0.4", port = 6379 }
  }

  assert {
    condition     = google_redis_instance.this.transit_encryption_mode == "DISABLED"
    error_message = "TLS is off by default (Spinnaker's JVMs do not trust Memorystore's CA)."
  }

  assert {
    condition     = output.endpoint == "10.30.0.4:6379" && output.url == "redis://10.30.0.4:6379"
    error_message = "endpoint is host:port and url redis://host:port, got ${output.endpoint} and ${output.url}."
  }

  assert {
    condition     = length(output.firewall_rule_names) == 0
    error_message = "No firewall rules unless asked for."
  }
}

run "firewall_limits_redis_to_the_given_tags" {
  command = apply

  variables {
    firewall = {
      network     = "projects/spinops-test-project/global/networks/spin"
      source_tags = ["spin-internal"]
    }
  }

  override_resource {
    target = google_redis_instance.this
    values = { host = "10.30.0.4", port = 6379 }
  }

  assert {
    condition     = google_compute_firewall.redis[0].direction == "EGRESS" && google_compute_firewall.redis[0].destination_ranges == toset(["10.30.0.4/32"]) && google_compute_firewall.redis[0].target_tags == toset(["spin-internal"])
    error_message = "Egress to the instance's address is allowed from the given tags."
  }

  assert {
    condition     = one(google_compute_firewall.redis[0].allow).ports == tolist(["6379"]) && one(google_compute_firewall.redis_deny[0].deny).ports == tolist(["6379"])
    error_message = "Both rules are for the instance's port."
  }

  assert {
    condition     = google_compute_firewall.redis_deny[0].priority > google_compute_firewall.redis[0].priority && length(coalesce(google_compute_firewall.redis_deny[0].target_tags, toset([]))) == 0
    error_message = "Everything else is denied, after the allow rule."
  }
}

run "replica_zone_without_ha_is_refused" {
  command = plan

  variables {
    ha                      = false
    alternative_location_id = "europe-west1-c"
  }

  expect_failures = [var.alternative_location_id]
}

run "replica_in_the_primary_zone_is_refused" {
  command = plan

  variables {
    location_id             = "europe-west1-b"
    alternative_location_id = "europe-west1-b"
  }

  expect_failures = [var.alternative_location_id]
}

run "zone_of_another_region_is_refused" {
  command = plan

  variables {
    location_id = "us-central1-a"
  }

  expect_failures = [var.location_id]
}

run "network_name_is_refused" {
  command = plan

  variables {
    authorized_network = "spin"
  }

  expect_failures = [var.authorized_network]
}

run "firewall_without_tags_is_refused" {
  command = plan

  variables {
    firewall = { network = "projects/spinops-test-project/global/networks/spin", source_tags = [] }
  }

  expect_failures = [var.firewall]
}

# examples/basic, the module's usage example, plans with this file's mock
# providers: an example that no longer fits the module fails here.
run "example_basic" {
  command = plan

  module {
    source = "./examples/basic"
  }
}
