mock_provider "google" {
  # The Workload Identity bindings name their service account by its
  # resource name, which the provider validates: OpenTofu's mock makes up a
  # random string already at plan (Terraform leaves it unknown there).
  mock_resource "google_service_account" {
    defaults = {
      name  = "projects/spinops-test/serviceAccounts/spin-mock@spinops-test.iam.gserviceaccount.com"
      email = "spin-mock@spinops-test.iam.gserviceaccount.com"
    }
  }
}

variables {
  project_id          = "spinops-test"
  name                = "spin"
  region              = "europe-west1"
  network             = "projects/spinops-test/global/networks/spin"
  subnetwork          = "projects/spinops-test/regions/europe-west1/subnetworks/spin-europe-west1"
  pods_range_name     = "spin-pods"
  services_range_name = "spin-services"
  network_tags        = ["spin-internal"]
  workload_identity_service_accounts = {
    front50 = { service_account = "front50", namespaces = ["spinnaker-red", "spinnaker-green"] }
    backup  = { service_account = "spinops-backup", project_roles = ["roles/cloudsql.client"] }
  }
}

run "regional_private_cluster_with_workload_identity" {
  command = plan

  assert {
    condition     = google_container_cluster.this.location == "europe-west1"
    error_message = "The cluster must be regional (location = the region, not a zone)."
  }

  assert {
    condition     = google_container_cluster.this.private_cluster_config[0].enable_private_nodes
    error_message = "Nodes must have private IPs only."
  }

  assert {
    condition     = google_container_cluster.this.workload_identity_config[0].workload_pool == "spinops-test.svc.id.goog"
    error_message = "Workload Identity must be on with the project's pool."
  }

  assert {
    condition     = google_container_cluster.this.ip_allocation_policy[0].cluster_secondary_range_name == "spin-pods" && google_container_cluster.this.ip_allocation_policy[0].services_secondary_range_name == "spin-services"
    error_message = "The cluster must be VPC-native on the network's secondary ranges."
  }

  assert {
    condition     = google_container_cluster.this.remove_default_node_pool && google_container_cluster.this.deletion_protection
    error_message = "The default node pool goes away and the cluster is deletion-protected."
  }

  assert {
    condition     = contains(google_container_cluster.this.logging_config[0].enable_components, "APISERVER") && contains(google_container_cluster.this.logging_config[0].enable_components, "WORKLOADS")
    error_message = "Control-plane and workload logs must be collected."
  }
}

run "default_node_pool_autoscales_three_nodes_across_zones" {
  command = plan

  assert {
    condition     = toset(keys(google_container_node_pool.this)) == toset(["default"])
    error_message = "One node pool by default."
  }

  assert {
    condition = (
      google_container_node_pool.this["default"].autoscaling[0].total_min_node_count == 3 &&
      google_container_node_pool.this["default"].autoscaling[0].total_max_node_count == 9 &&
      google_container_node_pool.this["default"].autoscaling[0].location_policy == "BALANCED"
    )
    error_message = "The default pool should autoscale 3-9 nodes balanced across the region's zones."
  }

  assert {
    condition     = google_container_node_pool.this["default"].node_config[0].machine_type == "n2-standard-8"
    error_message = "Default nodes should be n2-standard-8 (the m5.2xlarge class)."
  }

  assert {
    condition     = google_container_node_pool.this["default"].node_config[0].workload_metadata_config[0].mode == "GKE_METADATA"
    error_message = "Pods must see the GKE metadata server (Workload Identity), not the node's credentials."
  }

  assert {
    condition     = google_container_node_pool.this["default"].node_config[0].tags == tolist(["spin-internal"])
    error_message = "Nodes must carry the internal network tag."
  }

  assert {
    condition     = google_container_node_pool.this["default"].management[0].auto_repair && google_container_node_pool.this["default"].management[0].auto_upgrade
    error_message = "Nodes should auto-repair and auto-upgrade."
  }
}

run "workload_identity_bindings_name_exact_service_accounts" {
  command = plan

  assert {
    condition = { for k, b in google_service_account_iam_member.workload_identity : k => b.member } == {
      "front50/spinnaker-red"   = "serviceAccount:spinops-test.svc.id.goog[spinnaker-red/front50]"
      "front50/spinnaker-green" = "serviceAccount:spinops-test.svc.id.goog[spinnaker-green/front50]"
      "backup/spinnaker"        = "serviceAccount:spinops-test.svc.id.goog[spinnaker/spinops-backup]"
    }
    error_message = "Each Google service account should trust exactly its Kubernetes service account in each listed namespace."
  }

  assert {
    condition     = google_service_account_iam_member.workload_identity["backup/spinnaker"].role == "roles/iam.workloadIdentityUser"
    error_message = "The binding must grant roles/iam.workloadIdentityUser."
  }

  assert {
    condition     = toset(keys(google_project_iam_member.workload)) == toset(["backup/roles/cloudsql.client"])
    error_message = "Only the listed project roles should be granted."
  }

  assert {
    condition     = google_service_account.workload["backup"].account_id == "spin-backup"
    error_message = "Google service account IDs are NAME-KEY."
  }
}

run "explicit_zones" {
  command = plan

  variables {
    node_locations = ["europe-west1-b", "europe-west1-c", "europe-west1-d"]
  }

  assert {
    condition     = google_container_node_pool.this["default"].node_locations == toset(["europe-west1-b", "europe-west1-c", "europe-west1-d"])
    error_message = "Node pools should span the given zones."
  }
}

run "one_zone_is_refused" {
  command = plan

  variables {
    node_locations = ["europe-west1-b"]
  }

  expect_failures = [var.node_locations]
}

run "zone_outside_the_region_is_refused" {
  command = plan

  variables {
    node_locations = ["europe-west1-b", "europe-west4-a"]
  }

  expect_failures = [var.node_locations]
}

run "min_above_max_is_refused" {
  command = plan

  variables {
    node_pools = { default = { total_min_node_count = 5, total_max_node_count = 3 } }
  }

  expect_failures = [var.node_pools]
}

run "too_long_service_account_id_is_refused" {
  command = plan

  variables {
    workload_identity_service_accounts = {
      clouddriver-caching-readonly = { service_account = "clouddriver-caching" }
    }
  }

  expect_failures = [var.workload_identity_service_accounts]
}

# examples/basic, the module's usage example, plans with this file's mock
# providers: an example that no longer fits the module fails here.
run "example_basic" {
  command = plan

  module {
    source = "./examples/basic"
  }
}
