# The whole stack plans as one: every module's inputs come from another
# module's outputs, and nothing is created (mock providers).

mock_provider "google" {}

mock_provider "spinops" {}

variables {
  db_password = "not-a-real-password"
}

run "the_stack_plans_with_the_modules_wired_together" {
  command = plan

  assert {
    condition     = module.gke.node_pool_names != null && length(module.mysql.replica_names) == 2
    error_message = "The cluster's node pools and two read replicas are planned."
  }

  assert {
    condition     = module.network.internal_tag == "spinnaker-internal"
    error_message = "The network's internal tag is what the nodes carry."
  }

  assert {
    condition     = module.network.pods_range_name == "spinnaker-pods" && module.network.services_range_name == "spinnaker-services"
    error_message = "The cluster runs on the network's secondary ranges."
  }

  assert {
    condition     = toset(keys(module.gke.workload_identity_service_accounts)) == toset(["backup", "clouddriver", "front50"])
    error_message = "Front50, Clouddriver and the backup job get Workload Identity accounts."
  }

  assert {
    condition     = spinops_zone.red.tier == "sandbox" && spinops_zone.green.tier == "production"
    error_message = "A red (sandbox) and a green (production) zone."
  }

  assert {
    condition     = spinops_zone.green.expose.source_ranges == tolist(["203.0.113.0/24"])
    error_message = "Green is open to the user ranges only."
  }
}
