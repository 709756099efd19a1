################################################################################
# NodePool and EC2NodeClass sized for Spinnaker
################################################################################

# The karpenter.sh/v1 NodePool and karpenter.k8s.aws/v1 EC2NodeClass, as
# documented in github.com/aws/karpenter-provider-aws (commit
# 1d927085dd81a9df9301e613f371dac5b4d16bfe): website/content/en/docs/concepts/
# nodepools.md and nodeclasses.md, and the CRDs in pkg/apis/crds/. Fields the
# CRDs default (expireAfter, consolidationPolicy, budgets, metadataOptions)
# are set explicitly, so what is applied is what a later read returns.

locals {
  selector_tags = { "karpenter.sh/discovery" = var.cluster_name }

  # IDs when given, else one term of discovery tags (concat: the two kinds
  # of term are objects of different types).
  subnet_selector_terms = concat(
    [for id in var.subnet_ids : { id = id }],
    [for t in [coalesce(var.subnet_discovery_tags, local.selector_tags)] : { tags = t } if length(var.subnet_ids) == 0],
  )
  security_group_selector_terms = concat(
    [for id in var.security_group_ids : { id = id }],
    [for t in [coalesce(var.security_group_discovery_tags, local.selector_tags)] : { tags = t } if length(var.security_group_ids) == 0],
  )

  node_class = {
    apiVersion = "karpenter.k8s.aws/v1"
    kind       = "EC2NodeClass"
    metadata   = { name = var.node_class_name }
    spec = merge({
      # Karpenter makes (and tags, see iam.tf) an instance profile for the
      # role itself.
      role                       = aws_iam_role.node.name
      amiSelectorTerms           = [{ alias = var.ami_alias }]
      subnetSelectorTerms        = local.subnet_selector_terms
      securityGroupSelectorTerms = local.security_group_selector_terms
      # IMDSv2 only, one hop, as the eks module's node groups: pods get AWS
      # credentials through IRSA, never the node's role.
      metadataOptions = {
        httpEndpoint            = "enabled"
        httpProtocolIPv6        = "disabled"
        httpPutResponseHopLimit = 1
        httpTokens              = "required"
      }
      blockDeviceMappings = [{
        # The root volume of the AL2023 and AL2 EKS-optimised AMIs.
        deviceName = "/dev/xvda"
        ebs = merge({
          volumeSize          = "${var.disk_size_gib}Gi"
          volumeType          = "gp3"
          encrypted           = true
          deleteOnTermination = true
        }, var.kms_key_arn == null ? {} : { kmsKeyID = var.kms_key_arn })
      }]
    }, length(var.tags) == 0 ? {} : { tags = var.tags })
  }

  requirements = [
    { key = "karpenter.k8s.aws/instance-category", operator = "In", values = var.instance_categories },
    { key = "karpenter.k8s.aws/instance-generation", operator = "Gt", values = [tostring(var.instance_generation_greater_than)] },
    # MiB; Gt rather than Gte, which the NodePool CRD accepts only from
    # v1.9.0 on (commit c9aa1e9a5).
    { key = "karpenter.k8s.aws/instance-memory", operator = "Gt", values = [tostring(var.min_memory_mib - 1)] },
    { key = "topology.kubernetes.io/zone", operator = "In", values = var.availability_zones },
    { key = "kubernetes.io/arch", operator = "In", values = var.architectures },
    { key = "kubernetes.io/os", operator = "In", values = ["linux"] },
    { key = "karpenter.sh/capacity-type", operator = "In", values = var.capacity_types },
  ]

  node_pool = {
    apiVersion = "karpenter.sh/v1"
    kind       = "NodePool"
    metadata   = { name = var.node_pool_name }
    spec = {
      template = {
        metadata = { labels = var.node_labels }
        spec = merge({
          nodeClassRef = {
            group = "karpenter.k8s.aws"
            kind  = "EC2NodeClass"
            name  = var.node_class_name
          }
          requirements = local.requirements
          expireAfter  = var.expire_after
          }, length(var.node_taints) == 0 ? {} : {
          taints = [for t in var.node_taints : { for k, v in t : k => v if v != null }]
        })
      }
      disruption = {
        consolidationPolicy = "WhenEmptyOrUnderutilized"
        consolidateAfter    = var.consolidate_after
        budgets             = [for b in var.disruption_budgets : { for k, v in b : k => v if v != null }]
      }
      limits = {
        cpu    = tostring(var.limits.cpu)
        memory = "${var.limits.memory_gib}Gi"
      }
    }
  }
}

# Behind install_manifests: the CRDs must exist (the chart installs them)
# and the kubernetes provider must reach the cluster at plan time.
resource "kubernetes_manifest" "node_class" {
  count = var.install_manifests ? 1 : 0

  manifest = local.node_class
}

resource "kubernetes_manifest" "node_pool" {
  count = var.install_manifests ? 1 : 0

  manifest = local.node_pool

  depends_on = [kubernetes_manifest.node_class]
}
