mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }

  mock_resource "aws_iam_policy" {
    defaults = {
      arn = "arn:aws:iam::123456789012:policy/mock"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "eu-west-1"
    }
  }
}

mock_provider "kubernetes" {}

# ARNs the real provider's validation accepts (mocks make up random strings).
override_resource {
  target = aws_iam_role.node
  values = { arn = "arn:aws:iam::123456789012:role/spin-karpenter-node" }
}

override_resource {
  target = aws_iam_role.controller
  values = { arn = "arn:aws:iam::123456789012:role/spin-karpenter-controller" }
}

override_resource {
  target = aws_sqs_queue.interruption
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:spin-karpenter"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/spin-karpenter"
  }
}

variables {
  cluster_name       = "spin"
  oidc_provider_arn  = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/5C0FFEE"
  availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
}

run "controller_trusts_exactly_the_karpenter_service_account" {
  command = plan

  assert {
    condition = jsondecode(aws_iam_role.controller.assume_role_policy).Statement == [{
      Effect    = "Allow"
      Principal = { Federated = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/5C0FFEE" }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "oidc.eks.eu-west-1.amazonaws.com/id/5C0FFEE:sub" = "system:serviceaccount:kube-system:karpenter"
          "oidc.eks.eu-west-1.amazonaws.com/id/5C0FFEE:aud" = "sts.amazonaws.com"
        }
      }
    }]
    error_message = "The controller's role is assumed only with a web identity from the cluster's OIDC provider, for kube-system's karpenter service account, audience sts.amazonaws.com: no wildcard, no other condition."
  }

  assert {
    condition     = aws_iam_role.controller.name == "spin-karpenter-controller" && aws_iam_role.node.name == "spin-karpenter-node"
    error_message = "Roles are named CLUSTER-karpenter-controller and -node by default."
  }

  assert {
    condition     = output.service_account == { namespace = "kube-system", name = "karpenter" }
    error_message = "The trusted service account is kube-system/karpenter."
  }
}

run "another_namespace_moves_the_trust" {
  command = plan

  variables {
    namespace = "karpenter"
  }

  assert {
    condition     = jsondecode(aws_iam_role.controller.assume_role_policy).Statement[0].Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/5C0FFEE:sub"] == "system:serviceaccount:karpenter:karpenter"
    error_message = "The trust follows the namespace."
  }

  assert {
    condition     = output.helm_chart.namespace == "karpenter" && output.helm_values.serviceAccount.name == "karpenter"
    error_message = "The chart goes to the same namespace, with the trusted service account's name."
  }
}

run "node_role_and_access_entry" {
  command = apply

  assert {
    condition     = jsondecode(aws_iam_role.node.assume_role_policy).Statement == [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
    error_message = "Only EC2 assumes the node role."
  }

  assert {
    condition = toset([for a in aws_iam_role_policy_attachment.node : a.policy_arn]) == toset([
      "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
      "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
      "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
      "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    ]) && alltrue([for a in aws_iam_role_policy_attachment.node : a.role == "spin-karpenter-node"])
    error_message = "The node role has exactly the four node policies."
  }

  assert {
    condition     = aws_eks_access_entry.node[0].type == "EC2_LINUX" && aws_eks_access_entry.node[0].principal_arn == "arn:aws:iam::123456789012:role/spin-karpenter-node" && aws_eks_access_entry.node[0].cluster_name == "spin"
    error_message = "An EC2_LINUX access entry lets the node role's instances join the cluster."
  }

  assert {
    condition     = output.node_class.spec.role == "spin-karpenter-node" && output.node_role_arn == "arn:aws:iam::123456789012:role/spin-karpenter-node"
    error_message = "The EC2NodeClass launches nodes with the node role."
  }
}

run "no_access_entry_when_asked" {
  command = plan

  variables {
    create_access_entry = false
  }

  assert {
    condition     = length(aws_eks_access_entry.node) == 0
    error_message = "create_access_entry = false makes no access entry."
  }
}

run "controller_passes_only_the_node_role" {
  command = apply

  assert {
    condition = [
      for s in flatten([for p in aws_iam_policy.controller : jsondecode(p.policy).Statement]) : s
      if contains(flatten([s.Action]), "iam:PassRole") || contains(flatten([s.Action]), "iam:*") || contains(flatten([s.Action]), "*")
      ] == [{
        Sid       = "PassNodeRole"
        Effect    = "Allow"
        Action    = "iam:PassRole"
        Resource  = "arn:aws:iam::123456789012:role/spin-karpenter-node"
        Condition = { StringEquals = { "iam:PassedToService" = "ec2.amazonaws.com" } }
    }]
    error_message = "Exactly one statement passes a role: the node role, to EC2 only."
  }

  assert {
    condition     = alltrue([for p in aws_iam_policy.controller : alltrue([for s in jsondecode(p.policy).Statement : s.Effect == "Allow" && !contains(flatten([s.Action]), "*") && alltrue([for a in flatten([s.Action]) : !endswith(a, ":*")])])])
    error_message = "No statement grants a whole service."
  }

  assert {
    condition     = toset(keys(aws_iam_policy.controller)) == toset(["node-lifecycle", "instance-profiles", "discovery", "interruption"]) && alltrue([for k, a in aws_iam_role_policy_attachment.controller : a.role == "spin-karpenter-controller" && a.policy_arn == aws_iam_policy.controller[k].arn])
    error_message = "The four controller policies are attached to the controller's role."
  }
}

run "deletion_and_tagging_are_scoped_to_the_clusters_node_pools" {
  command = apply

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_policy.controller["node-lifecycle"].policy).Statement :
      s.Condition.StringEquals["aws:ResourceTag/kubernetes.io/cluster/spin"] == "owned" && s.Condition.StringLike["aws:ResourceTag/karpenter.sh/nodepool"] == "*"
      if length(setintersection(toset(flatten([s.Action])), toset(["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"]))) > 0
    ]) && length([for s in jsondecode(aws_iam_policy.controller["node-lifecycle"].policy).Statement : s if contains(flatten([s.Action]), "ec2:TerminateInstances")]) == 1
    error_message = "Instances are terminated (and launch templates deleted) only when tagged as this cluster's and a node pool's."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_policy.controller["node-lifecycle"].policy).Statement :
      (s.Condition.StringEquals["aws:RequestTag/kubernetes.io/cluster/spin"] == "owned" && s.Condition.StringEquals["aws:RequestTag/eks:eks-cluster-name"] == "spin")
      if contains(flatten([s.Action]), "ec2:CreateLaunchTemplate") || (contains(flatten([s.Action]), "ec2:CreateTags") && s.Sid == "TagOnCreate")
    ])
    error_message = "What Karpenter creates must carry this cluster's tags in the request."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_policy.controller["instance-profiles"].policy).Statement :
      s.Resource == "arn:aws:iam::123456789012:instance-profile/*" && can(s.Condition.StringLike)
      if s.Sid != "PassNodeRole"
    ])
    error_message = "Instance profiles are created, tagged and changed only with this cluster's and an EC2NodeClass's tags."
  }

  assert {
    condition     = one([for s in jsondecode(aws_iam_policy.controller["discovery"].policy).Statement : s if s.Action == "eks:DescribeCluster"]).Resource == "arn:aws:eks:eu-west-1:123456789012:cluster/spin"
    error_message = "eks:DescribeCluster reaches this cluster only."
  }

  assert {
    condition     = one([for s in jsondecode(aws_iam_policy.controller["discovery"].policy).Statement : s if s.Action == "ssm:GetParameter"]).Resource == "arn:aws:ssm:eu-west-1::parameter/aws/service/*"
    error_message = "ssm:GetParameter reads AWS's public AMI parameters only."
  }

  assert {
    condition     = jsondecode(aws_iam_policy.controller["interruption"].policy).Statement == [{ Sid = "ConsumeInterruptionQueue", Effect = "Allow", Action = ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"], Resource = "arn:aws:sqs:eu-west-1:123456789012:spin-karpenter" }]
    error_message = "The controller reads and deletes messages of its interruption queue only."
  }

  assert {
    condition     = length([for s in jsondecode(aws_iam_policy.controller["discovery"].policy).Statement : s if anytrue([for a in flatten([s.Action]) : startswith(a, "arc-zonal-shift")])]) == 0
    error_message = "No zonal shift permission unless enable_zonal_shift."
  }
}

run "zonal_shift" {
  command = apply

  variables {
    enable_zonal_shift = true
  }

  assert {
    condition = one([for s in jsondecode(aws_iam_policy.controller["discovery"].policy).Statement : s if s.Action == "arc-zonal-shift:GetManagedResource"]).Condition == {
      StringEquals = { "arc-zonal-shift:ResourceIdentifier" = "arn:aws:eks:eu-west-1:123456789012:cluster/spin" }
    }
    error_message = "Zonal shift status is read for this cluster only."
  }

  assert {
    condition     = output.helm_values.settings.enableZonalShift
    error_message = "The chart is told to respect zonal shifts."
  }
}

run "interruption_queue" {
  command = apply

  assert {
    condition     = aws_sqs_queue.interruption.name == "spin-karpenter" && aws_sqs_queue.interruption.message_retention_seconds == 300 && aws_sqs_queue.interruption.sqs_managed_sse_enabled
    error_message = "The queue keeps messages 5 minutes, encrypted with SQS-managed keys."
  }

  assert {
    condition = [for s in jsondecode(aws_sqs_queue_policy.interruption.policy).Statement : s if s.Effect == "Allow"] == [{
      Sid       = "EventBridgeAndSQSSend"
      Effect    = "Allow"
      Principal = { Service = ["events.amazonaws.com", "sqs.amazonaws.com"] }
      Action    = "sqs:SendMessage"
      Resource  = "arn:aws:sqs:eu-west-1:123456789012:spin-karpenter"
    }]
    error_message = "Only EventBridge and SQS may send to the queue, and only send."
  }

  assert {
    condition     = one([for s in jsondecode(aws_sqs_queue_policy.interruption.policy).Statement : s if s.Effect == "Deny"]).Condition == { Bool = { "aws:SecureTransport" = "false" } }
    error_message = "Requests without TLS are denied."
  }

  assert {
    condition     = aws_sqs_queue_policy.interruption.queue_url == "https://sqs.eu-west-1.amazonaws.com/123456789012/spin-karpenter"
    error_message = "The policy is the interruption queue's."
  }
}

run "every_interruption_rule_targets_the_queue" {
  command = apply

  assert {
    condition = { for k, r in aws_cloudwatch_event_rule.interruption : k => jsondecode(r.event_pattern) } == {
      spot-interruption    = { source = ["aws.ec2"], detail-type = ["EC2 Spot Instance Interruption Warning"] }
      rebalance            = { source = ["aws.ec2"], detail-type = ["EC2 Instance Rebalance Recommendation"] }
      state-change         = { source = ["aws.ec2"], detail-type = ["EC2 Instance State-change Notification"] }
      scheduled-change     = { source = ["aws.health"], detail-type = ["AWS Health Event"] }
      capacity-reservation = { source = ["aws.ec2"], detail-type = ["EC2 Capacity Reservation Instance Interruption Warning"] }
    }
    error_message = "The five event patterns Karpenter documents."
  }

  assert {
    condition     = keys(aws_cloudwatch_event_target.interruption) == keys(aws_cloudwatch_event_rule.interruption)
    error_message = "Every rule has a target."
  }

  assert {
    condition     = alltrue([for k, t in aws_cloudwatch_event_target.interruption : t.arn == "arn:aws:sqs:eu-west-1:123456789012:spin-karpenter" && t.rule == aws_cloudwatch_event_rule.interruption[k].name])
    error_message = "Each rule's target is the interruption queue."
  }

  assert {
    condition     = alltrue([for k, r in aws_cloudwatch_event_rule.interruption : r.name == "spin-karpenter-${k}"])
    error_message = "Rules are named after the module's prefix."
  }
}

run "node_pool_sized_for_spinnaker" {
  command = plan

  assert {
    condition = { for r in output.node_pool.spec.template.spec.requirements : r.key => "${r.operator} ${join(",", r.values)}" } == {
      "karpenter.k8s.aws/instance-category"   = "In c,m,r"
      "karpenter.k8s.aws/instance-generation" = "Gt 5"
      "karpenter.k8s.aws/instance-memory"     = "Gt 8191"
      "topology.kubernetes.io/zone"           = "In eu-west-1a,eu-west-1b,eu-west-1c"
      "kubernetes.io/arch"                    = "In amd64"
      "kubernetes.io/os"                      = "In linux"
      "karpenter.sh/capacity-type"            = "In on-demand"
    }
    error_message = "On-demand c/m/r instances of generation 6 or later with at least 8 GiB, in the cluster's AZs."
  }

  assert {
    condition = output.node_pool.spec.disruption == {
      consolidationPolicy = "WhenEmptyOrUnderutilized"
      consolidateAfter    = "5m"
      budgets             = [{ nodes = "1" }]
    }
    error_message = "Consolidation when empty or underutilised, one node at a time."
  }

  assert {
    condition     = output.node_pool.spec.limits == { cpu = "64", memory = "256Gi" }
    error_message = "The pool's default limits."
  }

  assert {
    condition     = output.node_pool.spec.template.spec.nodeClassRef == { group = "karpenter.k8s.aws", kind = "EC2NodeClass", name = "spinnaker" } && output.node_class.metadata.name == "spinnaker"
    error_message = "The NodePool uses the module's EC2NodeClass."
  }

  assert {
    condition     = jsonencode(output.node_pool.spec.template.metadata.labels) == jsonencode({ "spinops.io/node-pool" = "spinnaker" }) && !can(output.node_pool.spec.template.spec.taints)
    error_message = "Nodes are labelled for Spinnaker and not tainted."
  }

  assert {
    condition     = jsonencode(yamldecode(output.node_pool_yaml)) == jsonencode(output.node_pool) && jsonencode(yamldecode(output.node_class_yaml)) == jsonencode(output.node_class)
    error_message = "The YAML outputs are the manifests."
  }

  assert {
    condition     = output.node_pool.apiVersion == "karpenter.sh/v1" && output.node_class.apiVersion == "karpenter.k8s.aws/v1"
    error_message = "Karpenter's v1 APIs."
  }
}

run "node_class_discovers_by_tag_and_locks_imds" {
  command = plan

  assert {
    condition     = jsonencode(output.node_class.spec.subnetSelectorTerms) == jsonencode([{ tags = { "karpenter.sh/discovery" = "spin" } }]) && jsonencode(output.node_class.spec.securityGroupSelectorTerms) == jsonencode([{ tags = { "karpenter.sh/discovery" = "spin" } }])
    error_message = "Without IDs, subnets and security groups are discovered by karpenter.sh/discovery = CLUSTER."
  }

  assert {
    condition     = output.node_class.spec.metadataOptions == { httpEndpoint = "enabled", httpProtocolIPv6 = "disabled", httpPutResponseHopLimit = 1, httpTokens = "required" }
    error_message = "IMDSv2 only, one hop."
  }

  assert {
    condition     = output.node_class.spec.amiSelectorTerms == [{ alias = "al2023@latest" }] && output.node_class.spec.blockDeviceMappings[0].ebs == { volumeSize = "100Gi", volumeType = "gp3", encrypted = true, deleteOnTermination = true }
    error_message = "AL2023 nodes with a 100 GiB encrypted gp3 root volume."
  }
}

run "node_class_with_ids_spot_and_taints" {
  command = plan

  variables {
    subnet_ids         = ["subnet-0a", "subnet-0b"]
    security_group_ids = ["sg-cluster", "sg-internal"]
    capacity_types     = ["spot", "on-demand"]
    node_taints        = [{ key = "spinops.io/dedicated", value = "spinnaker", effect = "NoSchedule" }, { key = "spinops.io/canary", effect = "NoExecute" }]
    limits             = { cpu = 200, memory_gib = 800 }
    disruption_budgets = [{ nodes = "20%" }, { nodes = "0", schedule = "0 9 * * mon-fri", duration = "8h", reasons = ["Underutilized"] }]
    kms_key_arn        = "arn:aws:kms:eu-west-1:123456789012:key/abc"
    tags               = { team = "platform" }
  }

  assert {
    condition     = output.node_class.spec.subnetSelectorTerms == [{ id = "subnet-0a" }, { id = "subnet-0b" }] && output.node_class.spec.securityGroupSelectorTerms == [{ id = "sg-cluster" }, { id = "sg-internal" }]
    error_message = "Given IDs select exactly those subnets and security groups."
  }

  assert {
    condition     = jsonencode(one([for r in output.node_pool.spec.template.spec.requirements : r.values if r.key == "karpenter.sh/capacity-type"])) == jsonencode(["spot", "on-demand"])
    error_message = "capacity_types reach the requirements."
  }

  assert {
    condition     = output.node_pool.spec.template.spec.taints == [{ key = "spinops.io/dedicated", value = "spinnaker", effect = "NoSchedule" }, { key = "spinops.io/canary", effect = "NoExecute" }]
    error_message = "Taints are passed on, without null values."
  }

  assert {
    condition     = output.node_pool.spec.limits == { cpu = "200", memory = "800Gi" }
    error_message = "Limits come from the variable."
  }

  assert {
    condition     = jsonencode(output.node_pool.spec.disruption.budgets) == jsonencode([{ nodes = "20%" }, { nodes = "0", schedule = "0 9 * * mon-fri", duration = "8h", reasons = ["Underutilized"] }])
    error_message = "Budgets are passed on, without null fields."
  }

  assert {
    condition     = output.node_class.spec.blockDeviceMappings[0].ebs.kmsKeyID == "arn:aws:kms:eu-west-1:123456789012:key/abc" && jsonencode(output.node_class.spec.tags) == jsonencode({ team = "platform" })
    error_message = "The KMS key and the tags reach the EC2NodeClass."
  }
}

run "helm_values_tie_the_chart_to_the_module" {
  command = apply

  assert {
    condition = output.helm_values == {
      serviceAccount = {
        create      = true
        name        = "karpenter"
        annotations = { "eks.amazonaws.com/role-arn" = "arn:aws:iam::123456789012:role/spin-karpenter-controller" }
      }
      settings = { clusterName = "spin", interruptionQueue = "spin-karpenter", enableZonalShift = false }
    }
    error_message = "The chart's service account carries the controller's role; the cluster and the queue are set."
  }

  assert {
    condition     = yamldecode(output.helm_values_yaml) == output.helm_values
    error_message = "helm_values_yaml is helm_values."
  }

  assert {
    condition     = output.helm_chart == { repository = "oci://public.ecr.aws/karpenter", chart = "karpenter", version = "1.14.1", namespace = "kube-system" }
    error_message = "The chart and version to install."
  }
}

run "manifests_off_by_default" {
  command = plan

  assert {
    condition     = length(kubernetes_manifest.node_pool) == 0 && length(kubernetes_manifest.node_class) == 0
    error_message = "Without install_manifests nothing is applied to the cluster."
  }
}

run "manifests_applied_when_asked" {
  command = plan

  variables {
    install_manifests = true
  }

  assert {
    condition     = kubernetes_manifest.node_pool[0].manifest == output.node_pool && kubernetes_manifest.node_class[0].manifest == output.node_class
    error_message = "install_manifests applies the same NodePool and EC2NodeClass the outputs show."
  }
}

run "bad_cluster_name_is_refused" {
  command = plan

  variables {
    cluster_name = "spin cluster"
  }

  expect_failures = [var.cluster_name]
}

run "bad_oidc_provider_arn_is_refused" {
  command = plan

  variables {
    oidc_provider_arn = "https://oidc.eks.eu-west-1.amazonaws.com/id/5C0FFEE"
  }

  expect_failures = [var.oidc_provider_arn]
}

run "long_prefix_is_refused" {
  command = plan

  variables {
    cluster_name = "a-cluster-name-that-is-much-too-long-for-rules"
  }

  expect_failures = [var.name]
}

run "unknown_capacity_type_is_refused" {
  command = plan

  variables {
    capacity_types = ["preemptible"]
  }

  expect_failures = [var.capacity_types]
}

run "limits_below_one_node_are_refused" {
  command = plan

  variables {
    limits = { cpu = 4, memory_gib = 4 }
  }

  expect_failures = [var.limits]
}

run "budget_schedule_without_duration_is_refused" {
  command = plan

  variables {
    disruption_budgets = [{ nodes = "0", schedule = "0 9 * * mon-fri" }]
  }

  expect_failures = [var.disruption_budgets]
}

run "budget_in_seconds_is_refused" {
  command = plan

  variables {
    disruption_budgets = [{ nodes = "0", schedule = "0 9 * * mon-fri", duration = "30s" }]
  }

  expect_failures = [var.disruption_budgets]
}

run "label_in_karpenter_domain_is_refused" {
  command = plan

  variables {
    node_labels = { "karpenter.sh/custom" = "x" }
  }

  expect_failures = [var.node_labels]
}

run "karpenter_tag_is_refused" {
  command = plan

  variables {
    tags = { "karpenter.sh/nodepool" = "spinnaker" }
  }

  expect_failures = [var.tags]
}

run "empty_discovery_tags_are_refused" {
  command = plan

  variables {
    subnet_discovery_tags = {}
  }

  expect_failures = [var.subnet_discovery_tags]
}

run "no_zones_is_refused" {
  command = plan

  variables {
    availability_zones = []
  }

  expect_failures = [var.availability_zones]
}

run "bad_taint_effect_is_refused" {
  command = plan

  variables {
    node_taints = [{ key = "dedicated", effect = "NO_SCHEDULE" }]
  }

  expect_failures = [var.node_taints]
}

run "pre_v1_karpenter_is_refused" {
  command = plan

  variables {
    karpenter_version = "0.37.0"
  }

  expect_failures = [var.karpenter_version]
}
