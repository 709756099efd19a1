# The whole stack plans as one: every module's inputs come from another
# module's outputs, and nothing is created (mock providers).

mock_provider "google" {
  # Values the modules' and the provider's validations accept, for the run
  # that applies and for plans under OpenTofu, whose mocks give computed
  # attributes made-up values already at plan (Terraform leaves them unknown
  # there and uses these defaults only at apply).
  mock_resource "google_compute_network" {
    defaults = {
      id = "projects/example-spinnaker/global/networks/spinnaker"
    }
  }

  # Memorystore's address, which the stack's Redis endpoint is built from
  # (run "with_ha_spinnaker_uses_memorystore_standard_ha").
  mock_resource "google_redis_instance" {
    defaults = {
      host = "10.60.200.4"
      port = 6379
    }
  }

  mock_resource "google_service_account" {
    defaults = {
      name  = "projects/example-spinnaker/serviceAccounts/spinnaker-mock@example-spinnaker.iam.gserviceaccount.com"
      email = "spinnaker-mock@example-spinnaker.iam.gserviceaccount.com"
    }
  }
}

mock_provider "spinops" {
  # The installation's id is a namespace: the control cluster's agent
  # account leaves it out by name, and the provider validates the names.
  mock_resource "spinops_managed_spinnaker" {
    defaults = {
      id = "spinops-system"
    }
  }
}

mock_provider "spinops" {
  alias = "fleet"
}

variables {
  db_password        = "not-a-real-password"
  bridge_admin_token = "test-admin-token-0123456789abcdef"
}

run "the_bridge_runs_next_to_spinnaker_behind_a_passthrough_load_balancer" {
  command = plan

  variables {
    agent_source_ranges = ["192.0.2.0/24"]
  }

  assert {
    condition     = module.platform.bridge.grpc_service.type == "LoadBalancer" && module.platform.bridge.grpc_service.port == 443
    error_message = "Agents reach the bridge through a passthrough load balancer on 443."
  }

  assert {
    condition     = toset(module.platform.bridge.grpc_service.source_ranges) == toset(["198.51.100.0/24", "192.0.2.0/24"])
    error_message = "Only admins (Terraform) and the agents' egress ranges reach it."
  }

  assert {
    condition     = module.edge.bridge_firewall_rule_names == ["spinnaker-bridge-allow", "spinnaker-bridge-deny"]
    error_message = "The edge module's firewall rules guard the bridge's address ahead of GKE's (allow the ranges above, deny everyone else)."
  }

  assert {
    condition     = module.platform.bridge.grpc_service.annotations["cloud.google.com/l4-rbs"] == "enabled"
    error_message = "The bridge's Service asks GKE for a backend service-based passthrough load balancer (module.edge.bridge_service)."
  }

  assert {
    condition     = module.platform.bridge.spinnaker_namespace == "spinnaker-green" && module.platform.bridge.replicas == 1
    error_message = "One replica on SQLite, withdrawing green's SpinnakerAccounts."
  }

  assert {
    condition     = endswith(module.platform.control_agent_account[0].install_agent.bridge_address, ".spinops.svc:443")
    error_message = "The control cluster's agent dials the bridge's in-cluster Service."
  }
}

run "the_stack_plans_with_the_modules_wired_together" {
  command = plan

  assert {
    condition     = module.gke.node_pool_names != null && length(module.mysql.replica_names) == 2
    error_message = "The cluster's node pools and two read replicas are planned."
  }

  assert {
    condition     = module.platform.managed_spinnaker.sql.reader_endpoint == null
    error_message = "The read-only Clouddrivers read from the primary: Cloud SQL's read replicas are asynchronous."
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
    condition     = keys(module.platform.backup_policy.service_account_annotations) == tolist(["iam.gke.io/gcp-service-account"])
    error_message = "The backup policy makes its ServiceAccount as the backup job's Workload Identity account."
  }

  assert {
    condition     = module.platform.zones.red.tier == "sandbox" && module.platform.zones.green.tier == "production"
    error_message = "A red (sandbox) and a green (production) zone."
  }
}

run "users_reach_green_through_the_edge_load_balancer" {
  command = plan

  assert {
    condition     = module.platform.zones.green.expose == null && module.platform.zones.red.expose == null
    error_message = "No zone exposes Deck or Gate itself: green's Services stay ClusterIP behind the edge."
  }

  assert {
    condition = (
      yamldecode(module.platform.zones.green.service_settings["deck"]).kubernetes.serviceAnnotations["cloud.google.com/neg"] == jsonencode({ exposed_ports = { "9000" = { name = "spinnaker-deck" } } }) &&
      yamldecode(module.platform.zones.green.service_settings["gate"]).kubernetes.serviceAnnotations["cloud.google.com/neg"] == jsonencode({ exposed_ports = { "8084" = { name = "spinnaker-gate" } } })
    )
    error_message = "Green's spin-deck and spin-gate carry the NEG annotations naming the edge's NEGs, each on its own Service port."
  }

  assert {
    condition     = module.platform.zones.red.service_settings == null
    error_message = "Red (the sandbox) has no NEGs: users never reach it."
  }

  assert {
    condition = (
      yamldecode(module.platform.zones.green.config_overrides).security.uiSecurity.overrideBaseUrl == "https://spinnaker.example.com" &&
      yamldecode(module.platform.zones.green.config_overrides).security.apiSecurity.overrideBaseUrl == "https://api.spinnaker.example.com"
    )
    error_message = "Deck and Gate know the edge's HTTPS URLs as their base URLs."
  }

  assert {
    condition     = module.edge.neg_names == { deck = "spinnaker-deck", gate = "spinnaker-gate" }
    error_message = "The edge's NEG names are the ones the annotations give."
  }
}

run "the_control_cluster_is_attached_to_green_through_the_bridge" {
  command = plan

  assert {
    condition     = length(module.platform.control_agent_account) == 1 && module.platform.control_agent_account[0].name == "control"
    error_message = "The control cluster is attached as account \"control\" by default."
  }

  assert {
    condition     = module.platform.control_agent_account[0].spinnaker.namespace == "spinnaker-green"
    error_message = "The control cluster's SpinnakerAccount goes to the green zone's namespace."
  }

  assert {
    condition     = module.platform.control_agent_account[0].install_agent.kubernetes == null
    error_message = "The control cluster's agent is installed through the provider's own connection."
  }

  assert {
    condition = module.platform.control_agent_account[0].namespaces == null && alltrue([
      for ns in ["kube-system", "spinops-agent", "spinnaker-red", "spinnaker-green"] : contains(module.platform.control_agent_account[0].omit_namespaces, ns)
    ])
    error_message = "Without namespaces, the control cluster's account leaves out the cluster's machinery and Spinnaker's zones."
  }

  assert {
    condition     = length(module.platform.control_agent_account[0].permissions.write) == 0
    error_message = "Without write roles the control cluster's account is read-only."
  }

  assert {
    condition     = length(module.platform.target_agent_accounts) == 0 && keys(output.agent_accounts) == ["control"]
    error_message = "No further clusters by default."
  }
}

run "target_clusters_are_attached_with_their_own_connections" {
  command = plan

  variables {
    control_cluster_account = {
      name        = "spinnaker-control"
      namespaces  = ["platform-tools"]
      permissions = { read = ["platform"], write = ["platform"] }
    }
    target_clusters = {
      staging = {
        gke = {
          host                   = "https://34.1.2.3"
          cluster_ca_certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        }
        namespaces  = ["shop", "payments"]
        permissions = { read = ["developers"], write = ["deployers"] }
      }
      edge = {
        config_path    = "~/.kube/edge"
        config_context = "edge-fra"
        kinds          = ["Deployment", "Service"]
      }
    }
  }

  assert {
    condition     = module.platform.control_agent_account[0].namespaces == tolist(["platform-tools"]) && module.platform.control_agent_account[0].omit_namespaces == null
    error_message = "With namespaces, the control cluster's account watches those only."
  }

  assert {
    condition     = toset(keys(output.agent_accounts)) == toset(["spinnaker-control", "edge", "staging"])
    error_message = "One account per cluster, named by its key."
  }

  assert {
    condition = alltrue([
      module.platform.target_agent_accounts["staging"].install_agent.kubernetes.gke != null,
      module.platform.target_agent_accounts["staging"].install_agent.kubernetes.host == "https://34.1.2.3",
      module.platform.target_agent_accounts["staging"].install_agent.kubernetes.config_path == null,
    ])
    error_message = "A GKE target's agent is installed with a Google access token for that cluster."
  }

  assert {
    condition = alltrue([
      module.platform.target_agent_accounts["edge"].install_agent.kubernetes.config_path == "~/.kube/edge",
      module.platform.target_agent_accounts["edge"].install_agent.kubernetes.config_context == "edge-fra",
      module.platform.target_agent_accounts["edge"].install_agent.kubernetes.gke == null,
    ])
    error_message = "A kubeconfig target's agent is installed through its kubeconfig."
  }

  assert {
    condition     = module.platform.target_agent_accounts["staging"].namespaces == tolist(["shop", "payments"]) && module.platform.target_agent_accounts["staging"].permissions.write == tolist(["deployers"])
    error_message = "Namespaces and write roles are passed on."
  }

  assert {
    condition     = alltrue([for a in values(module.platform.target_agent_accounts) : a.spinnaker.namespace == "spinnaker-green"])
    error_message = "Every target cluster becomes an account of the green zone."
  }
}

run "a_target_cluster_needs_exactly_one_connection" {
  command = plan

  variables {
    target_clusters = {
      staging = {}
    }
  }

  expect_failures = [var.target_clusters]
}

run "account_names_are_unique_at_the_bridge" {
  command = plan

  variables {
    target_clusters = {
      control = { config_path = "~/.kube/config" }
    }
  }

  expect_failures = [var.target_clusters]
}

run "without_ha_the_operator_runs_redis" {
  command = plan

  variables {
    ha = false
  }

  assert {
    condition     = length(module.redis) == 0 && module.platform.managed_spinnaker.redis_endpoint == null
    error_message = "Without ha there is no Memorystore and the installation keeps the in-cluster Redis."
  }
}

# An apply (with mock providers it creates nothing): Memorystore's address
# is computed. This run was a plan with an override_resource of
# module.redis[0].google_redis_instance.this and override_during = plan,
# both of which tofu refuses (override_during is Terraform-only, and a
# target may not name a module instance), while terraform does not match
# the instance without its key: the address now comes from the
# google_redis_instance defaults above, which both use at apply. Last, so
# that the plans above start from an empty state, as before.
run "with_ha_spinnaker_uses_memorystore_standard_ha" {
  command = apply

  assert {
    condition     = module.redis[0].tier == "STANDARD_HA"
    error_message = "With ha, Memorystore's STANDARD_HA tier (a replica in another zone)."
  }

  assert {
    condition     = module.platform.managed_spinnaker.redis_endpoint == "redis://10.60.200.4:6379"
    error_message = "The installation's Redis is Memorystore's address, got ${coalesce(module.platform.managed_spinnaker.redis_endpoint, "null")}."
  }

  assert {
    condition     = yamldecode(module.platform.managed_spinnaker.profiles["gate"]).redis.configuration.secure == true
    error_message = "Gate must not run CONFIG against Memorystore."
  }

  assert {
    condition     = length(module.redis[0].firewall_rule_names) == 2
    error_message = "Redis is reached only from the GKE nodes (an allow and a deny rule)."
  }
}
