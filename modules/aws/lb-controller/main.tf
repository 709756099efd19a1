data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  name      = coalesce(var.name, "${var.cluster_name}-lb-controller")
  partition = data.aws_partition.current.partition
  region    = coalesce(var.region, data.aws_region.current.region)

  # arn:PARTITION:iam::ACCOUNT:oidc-provider/ISSUER-WITHOUT-https://: the
  # account the role lives in (an IRSA role trusts a provider of its own
  # account) and the issuer prefix of the trust condition, read from the one
  # input so they cannot disagree.
  account_id = split(":", var.oidc_provider_arn)[4]
  oidc_issuer = trimprefix(
    regex("^arn:[^:]+:iam::[0-9]+:(oidc-provider/.+)$", var.oidc_provider_arn)[0],
    "oidc-provider/",
  )

  subject = "system:serviceaccount:${var.namespace}:${var.service_account}"
}

################################################################################
# The controller's role: its service account, through IRSA
################################################################################

resource "aws_iam_role" "this" {
  name        = local.name
  description = "AWS Load Balancer Controller of EKS cluster ${var.cluster_name} (IRSA: ${local.subject})"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = var.oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${local.oidc_issuer}:sub" = local.subject
          "${local.oidc_issuer}:aud" = "sts.amazonaws.com"
        }
      }
    }]
  })

  tags = var.tags
}

################################################################################
# The chart: what ties it to this role, cluster and VPC
################################################################################

locals {
  service_account_annotations = { "eks.amazonaws.com/role-arn" = aws_iam_role.this.arn }

  # Keys of the chart's values.yaml (kubernetes-sigs/aws-load-balancer-
  # controller, helm/aws-load-balancer-controller/values.yaml at v3.5.0).
  # region and vpcId are given, not looked up: the eks module's nodes allow
  # one IMDS hop, so pods cannot reach the instance metadata the controller
  # would otherwise read them from. The chart renders its
  # PodDisruptionBudget only with more than one replica
  # (templates/pdb.yaml), so it is given only then.
  helm_values = merge(
    {
      clusterName  = var.cluster_name
      region       = local.region
      vpcId        = var.vpc_id
      replicaCount = var.replica_count
      serviceAccount = {
        create      = true
        name        = var.service_account
        annotations = local.service_account_annotations
      }
    },
    var.replica_count > 1 ? { podDisruptionBudget = { maxUnavailable = 1 } } : {},
  )
}
