# The whole stack plans as one: every module's inputs come from another
# module's outputs, and nothing is created (mock providers).

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "eu-west-1"
    }
  }

  # Any valid document: aws_iam_policy validates the JSON it is given, and a
  # mocked json would be a random string (the module's own tests and its
  # moto test check the statements).
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

mock_provider "spinops" {}

mock_provider "spinops" {
  alias = "fleet"
}

variables {
  bridge_admin_token = "test-admin-token-0123456789abcdef"
}

run "the_stack_plans_with_the_modules_wired_together" {
  command = plan

  assert {
    condition     = length(module.network.private_subnet_ids) == 3 && length(module.network.database_subnet_ids) == 3
    error_message = "Three AZs of private and database subnets."
  }

  assert {
    condition     = length(module.mysql.reader_availability_zones) == 2 && module.mysql.writer_availability_zone == "eu-west-1a"
    error_message = "A writer in the first AZ and two readers."
  }

  assert {
    condition     = !contains(module.mysql.reader_availability_zones, module.mysql.writer_availability_zone)
    error_message = "No reader shares the writer's AZ."
  }

  assert {
    condition     = spinops_iam_source_role.this.name == "spinnaker-managing" && length(spinops_iam_source_role.this.managed_role_arns) == 2
    error_message = "The managing role may assume the two target accounts' managed roles."
  }

  assert {
    condition     = output.deck_url == "https://spinnaker.example.com" && output.gate_x509_url == "https://x509.spinnaker.example.com:8084"
    error_message = "URLs of Deck and Gate."
  }

  assert {
    condition     = toset(keys(output.spinnaker.service_account_annotations)) == toset(["clouddriver", "front50", "rosco", "spinops-backup"])
    error_message = "Front50, the backup job, Clouddriver and Rosco get IAM roles."
  }
}

run "backups_cover_the_three_databases_with_point_in_time" {
  command = plan

  assert {
    condition     = module.platform.zones.green.backup_before_upgrade.policy_id == "${module.platform.backup_policy.namespace}/${module.platform.backup_policy.name}"
    error_message = "Green's upgrades are preceded by a run of the stack's backup policy."
  }

  assert {
    condition     = toset(module.platform.backup_policy.sources.mysql.databases) == toset(["clouddriver", "orca", "front50"])
    error_message = "Clouddriver, Orca and Front50 are backed up."
  }

  assert {
    condition     = module.platform.backup_policy.point_in_time.enabled
    error_message = "Point-in-time recovery is on."
  }

  assert {
    condition     = module.platform.backup_policy.service_account_name == "spinops-backup" && keys(module.platform.backup_policy.service_account_annotations) == tolist(["eks.amazonaws.com/role-arn"])
    error_message = "The backup policy makes its ServiceAccount, annotated with module.iam's backup role."
  }
}

run "the_bridge_runs_next_to_spinnaker_behind_the_edge" {
  command = plan

  assert {
    condition     = module.platform.bridge.external_address == "bridge.spinnaker.example.com:443" && module.platform.bridge.namespace == "spinops"
    error_message = "Agents and Terraform dial the bridge at bridge.DOMAIN:443, the edge's NLB."
  }

  assert {
    condition     = module.platform.bridge.spinnaker_namespace == "spinnaker-green"
    error_message = "The bridge withdraws the SpinnakerAccounts of green, where the accounts are."
  }

  assert {
    condition     = module.platform.bridge.replicas == 1 && module.platform.bridge.mysql == null
    error_message = "Without a MySQL DSN Secret, one replica on SQLite."
  }

  assert {
    condition     = toset(module.edge.bridge_address == null ? [] : [1]) == toset([1])
    error_message = "The edge makes the bridge's NLB."
  }
}

run "two_bridge_replicas_on_aurora_with_a_dsn_secret" {
  command = plan

  variables {
    bridge_mysql_dsn_secret    = "spinops-bridge-db"
    bridge_cert_manager_issuer = { name = "internal-ca" }
  }

  assert {
    condition     = module.platform.bridge.replicas == 2 && module.platform.bridge.mysql.dsn_secret_name == "spinops-bridge-db"
    error_message = "With a DSN Secret, two replicas share Aurora."
  }

  assert {
    condition     = module.platform.bridge.tls.cert_manager_issuer == "internal-ca" && module.platform.bridge.tls.cert_manager_issuer_kind == "ClusterIssuer"
    error_message = "The certificate comes from the given cert-manager issuer."
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
    condition     = endswith(module.platform.control_agent_account[0].install_agent.bridge_address, ".spinops.svc:9091")
    error_message = "The control cluster's agent dials the bridge's in-cluster Service."
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
    control_cluster_account = null
    target_clusters = {
      staging = {
        eks = {
          host                   = "https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com"
          cluster_ca_certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
          cluster_name           = "staging"
          role_arn               = "arn:aws:iam::222222222222:role/spinops-agent-installer"
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
    condition     = length(module.platform.control_agent_account) == 0
    error_message = "control_cluster_account = null attaches no control cluster."
  }

  assert {
    condition     = toset(keys(module.platform.target_agent_accounts)) == toset(["edge", "staging"]) && toset(keys(output.agent_accounts)) == toset(["edge", "staging"])
    error_message = "One account per target cluster, named by its key."
  }

  assert {
    condition = alltrue([
      module.platform.target_agent_accounts["staging"].install_agent.kubernetes.eks.cluster_name == "staging",
      module.platform.target_agent_accounts["staging"].install_agent.kubernetes.eks.role_arn == "arn:aws:iam::222222222222:role/spinops-agent-installer",
      module.platform.target_agent_accounts["staging"].install_agent.kubernetes.host == "https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com",
      module.platform.target_agent_accounts["staging"].install_agent.kubernetes.config_path == null,
    ])
    error_message = "An EKS target's agent is installed with an EKS token for that cluster."
  }

  assert {
    condition = alltrue([
      module.platform.target_agent_accounts["edge"].install_agent.kubernetes.config_path == "~/.kube/edge",
      module.platform.target_agent_accounts["edge"].install_agent.kubernetes.config_context == "edge-fra",
      module.platform.target_agent_accounts["edge"].install_agent.kubernetes.eks == null,
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
      staging = {
        config_path = "~/.kube/config"
        eks = {
          host                   = "https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com"
          cluster_ca_certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
          cluster_name           = "staging"
        }
      }
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

run "with_ha_spinnaker_uses_elasticache_over_tls" {
  command = plan

  override_resource {
    target          = module.redis[0].aws_elasticache_replication_group.this
    override_during = plan
    values = {
      primary_endpoint_address = "master.spinnaker.abc123.euw1.cache.amazonaws.com"
    }
  }

  assert {
    condition     = module.redis[0].node_availability_zones == tolist(["eu-west-1a", "eu-west-1b"]) && module.redis[0].subnet_group_name == "spinnaker"
    error_message = "A primary and a replica in two AZs, in the database subnets."
  }

  assert {
    condition     = module.platform.managed_spinnaker.redis_endpoint == "rediss://master.spinnaker.abc123.euw1.cache.amazonaws.com:6379"
    error_message = "The installation's Redis is ElastiCache's primary endpoint over TLS, got ${coalesce(module.platform.managed_spinnaker.redis_endpoint, "null")}."
  }

  assert {
    condition     = yamldecode(module.platform.managed_spinnaker.profiles["gate"]).redis.configuration.secure == true
    error_message = "Gate must not run CONFIG against ElastiCache."
  }

  assert {
    condition     = output.spinnaker.redis.endpoint == "master.spinnaker.abc123.euw1.cache.amazonaws.com:6379"
    error_message = "The stack's spinnaker output gives the Redis endpoint as host:port."
  }
}

run "without_ha_the_operator_runs_redis" {
  command = plan

  variables {
    ha = false
  }

  assert {
    condition     = length(module.redis) == 0 && module.platform.managed_spinnaker.redis_endpoint == null
    error_message = "Without ha there is no ElastiCache and the installation keeps the in-cluster Redis."
  }
}

run "nodes_scale_with_karpenter_in_the_clusters_azs" {
  command = plan

  assert {
    condition     = one([for r in module.karpenter[0].node_pool.spec.template.spec.requirements : r.values if r.key == "topology.kubernetes.io/zone"]) == module.network.azs
    error_message = "Karpenter's NodePool launches nodes in every AZ of the cluster, and only there."
  }

  assert {
    condition     = module.karpenter[0].helm_chart.namespace == "kube-system" && output.karpenter.helm_chart.version == module.karpenter[0].helm_chart.version
    error_message = "The chart to install is an output of the stack."
  }

  assert {
    # The EC2NodeClass names the node role, known only once it exists.
    condition     = strcontains(output.karpenter.node_pool_yaml, "nodeClassRef") && contains(keys(output.karpenter), "node_class_yaml")
    error_message = "The NodePool and EC2NodeClass are outputs of the stack, to apply once the chart runs."
  }
}

run "without_karpenter_the_node_group_alone" {
  command = plan

  variables {
    karpenter = false
  }

  assert {
    condition     = length(module.karpenter) == 0 && output.karpenter == null
    error_message = "karpenter = false makes nothing of Karpenter."
  }
}

run "the_load_balancer_controller_gets_its_role_and_chart" {
  command = plan

  assert {
    condition     = module.lb_controller[0].service_account.namespace == "kube-system" && module.lb_controller[0].service_account.name == "aws-load-balancer-controller" && module.lb_controller[0].helm_values.serviceAccount.name == "aws-load-balancer-controller"
    error_message = "The controller's role trusts kube-system:aws-load-balancer-controller, the service account the chart creates."
  }

  assert {
    condition     = module.lb_controller[0].helm_values.clusterName == module.eks.cluster_name && module.lb_controller[0].role_name == "${module.eks.cluster_name}-lb-controller"
    error_message = "The controller runs for this stack's cluster (the tag its policies require)."
  }

  assert {
    condition = output.lb_controller.helm_chart == {
      repository = "https://aws.github.io/eks-charts"
      chart      = "aws-load-balancer-controller"
      version    = "3.5.0"
      namespace  = "kube-system"
    } && contains(keys(output.lb_controller), "helm_values_yaml") && contains(keys(output.lb_controller), "role_arn")
    error_message = "The chart to install, its values and the role are outputs of the stack."
  }
}

run "without_lb_controller_nothing_of_it" {
  command = plan

  variables {
    lb_controller = false
  }

  assert {
    condition     = length(module.lb_controller) == 0 && output.lb_controller == null
    error_message = "lb_controller = false makes nothing of the controller."
  }
}
