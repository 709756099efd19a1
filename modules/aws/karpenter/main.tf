data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  name       = coalesce(var.name, "${var.cluster_name}-karpenter")
  partition  = data.aws_partition.current.partition
  dns_suffix = data.aws_partition.current.dns_suffix
  region     = data.aws_region.current.region

  # arn:PARTITION:iam::ACCOUNT:oidc-provider/ISSUER-WITHOUT-https://: the
  # account the roles live in (an IRSA role trusts a provider of its own
  # account) and the issuer prefix of the trust conditions, read from the
  # one input so they cannot disagree.
  account_id = split(":", var.oidc_provider_arn)[4]
  oidc_issuer = trimprefix(
    regex("^arn:[^:]+:iam::[0-9]+:(oidc-provider/.+)$", var.oidc_provider_arn)[0],
    "oidc-provider/",
  )

  # The chart's service account: the helm_values output names it, so the
  # trust below holds whatever the release is called.
  service_account = "karpenter"
  subject         = "system:serviceaccount:${var.namespace}:${local.service_account}"

  cluster_arn = "arn:${local.partition}:eks:${local.region}:${local.account_id}:cluster/${var.cluster_name}"
}

################################################################################
# Node role: the nodes Karpenter launches, and their way into the cluster
################################################################################

resource "aws_iam_role" "node" {
  name        = "${local.name}-node"
  description = "Nodes Karpenter launches for EKS cluster ${var.cluster_name}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.${local.dns_suffix}" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonSSMManagedInstanceCore",
  ])

  role       = aws_iam_role.node.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

# EC2_LINUX: EKS maps the role to system:node:{{EC2PrivateDNSName}} in
# system:nodes, so the kubelet of a node Karpenter launched can join (no
# access policy is associated with this type).
resource "aws_eks_access_entry" "node" {
  count = var.create_access_entry ? 1 : 0

  cluster_name  = var.cluster_name
  principal_arn = aws_iam_role.node.arn
  type          = "EC2_LINUX"

  tags = var.tags
}

locals {
  # The chart's values (charts/karpenter/values.yaml of the version above):
  # the service account the controller's role trusts, the cluster and the
  # queue. The chart's default affinity already keeps the controller off
  # the nodes it launches (karpenter.sh/nodepool DoesNotExist).
  helm_values = {
    serviceAccount = {
      create      = true
      name        = local.service_account
      annotations = { "eks.amazonaws.com/role-arn" = aws_iam_role.controller.arn }
    }
    settings = {
      clusterName       = var.cluster_name
      interruptionQueue = aws_sqs_queue.interruption.name
      enableZonalShift  = var.enable_zonal_shift
    }
  }
}
