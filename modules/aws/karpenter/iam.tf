################################################################################
# Controller role: the karpenter service account, through IRSA
################################################################################

# The controller's permissions follow what Karpenter documents for its
# controller, written here as our own policy documents:
#   github.com/aws/karpenter-provider-aws, commit
#   1d927085dd81a9df9301e613f371dac5b4d16bfe (chart 1.14.1),
#   website/content/en/docs/getting-started/getting-started-with-karpenter/cloudformation.yaml
#   (NodeLifecyclePolicy, IAMIntegrationPolicy, EKSIntegrationPolicy,
#   InterruptionPolicy, ResourceDiscoveryPolicy, ZonalShiftPolicy), explained in
#   website/content/en/docs/reference/cloudformation.md.
# What launches, tags or deletes EC2 resources and instance profiles is
# scoped by the tags Karpenter puts on what it creates
# (kubernetes.io/cluster/CLUSTER = owned, eks:eks-cluster-name = CLUSTER,
# karpenter.sh/nodepool, karpenter.k8s.aws/ec2nodeclass,
# topology.kubernetes.io/region): the controller can only terminate
# instances and delete launch templates and instance profiles of this
# cluster that it made. iam:PassRole reaches the node role only.

locals {
  ec2_arn           = "arn:${local.partition}:ec2:${local.region}"
  instance_profiles = "arn:${local.partition}:iam::${local.account_id}:instance-profile/*"
  owned_tag         = "kubernetes.io/cluster/${var.cluster_name}"

  # Resources Karpenter creates with RunInstances, CreateFleet and
  # CreateLaunchTemplate, which carry its tags from the request on.
  created_resources = [for r in ["fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request"] : "${local.ec2_arn}:*:${r}/*"]

  request_tags = {
    StringEquals = {
      "aws:RequestTag/${local.owned_tag}"   = "owned"
      "aws:RequestTag/eks:eks-cluster-name" = var.cluster_name
    }
    StringLike = { "aws:RequestTag/karpenter.sh/nodepool" = "*" }
  }

  owned_by_a_node_pool = {
    StringEquals = { "aws:ResourceTag/${local.owned_tag}" = "owned" }
    StringLike   = { "aws:ResourceTag/karpenter.sh/nodepool" = "*" }
  }

  controller_policies = {
    # Launching, tagging and terminating nodes.
    node-lifecycle = [
      {
        Sid    = "LaunchWithSharedResources"
        Effect = "Allow"
        Action = ["ec2:RunInstances", "ec2:CreateFleet"]
        Resource = concat(
          ["${local.ec2_arn}::image/*", "${local.ec2_arn}::snapshot/*"],
          [for r in ["security-group", "subnet", "capacity-reservation", "placement-group"] : "${local.ec2_arn}:*:${r}/*"],
        )
      },
      {
        Sid       = "LaunchFromOwnLaunchTemplates"
        Effect    = "Allow"
        Action    = ["ec2:RunInstances", "ec2:CreateFleet"]
        Resource  = "${local.ec2_arn}:*:launch-template/*"
        Condition = local.owned_by_a_node_pool
      },
      {
        Sid       = "CreateOnlyTagged"
        Effect    = "Allow"
        Action    = ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"]
        Resource  = local.created_resources
        Condition = local.request_tags
      },
      {
        Sid      = "TagOnCreate"
        Effect   = "Allow"
        Action   = "ec2:CreateTags"
        Resource = local.created_resources
        Condition = {
          StringEquals = merge(local.request_tags.StringEquals, {
            "ec2:CreateAction" = ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]
          })
          StringLike = local.request_tags.StringLike
        }
      },
      {
        # After launch, only the node claim's name and the instance's Name.
        Sid      = "TagOwnInstances"
        Effect   = "Allow"
        Action   = "ec2:CreateTags"
        Resource = "${local.ec2_arn}:*:instance/*"
        Condition = merge(local.owned_by_a_node_pool, {
          StringEqualsIfExists        = { "aws:RequestTag/eks:eks-cluster-name" = var.cluster_name }
          "ForAllValues:StringEquals" = { "aws:TagKeys" = ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"] }
        })
      },
      {
        Sid       = "DeleteOwn"
        Effect    = "Allow"
        Action    = ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"]
        Resource  = ["${local.ec2_arn}:*:instance/*", "${local.ec2_arn}:*:launch-template/*"]
        Condition = local.owned_by_a_node_pool
      },
    ]

    # The nodes' identity: the node role, in instance profiles Karpenter
    # makes per EC2NodeClass.
    instance-profiles = [
      {
        Sid       = "PassNodeRole"
        Effect    = "Allow"
        Action    = "iam:PassRole"
        Resource  = aws_iam_role.node.arn
        Condition = { StringEquals = { "iam:PassedToService" = "ec2.${local.dns_suffix}" } }
      },
      {
        Sid      = "CreateInstanceProfiles"
        Effect   = "Allow"
        Action   = "iam:CreateInstanceProfile"
        Resource = local.instance_profiles
        Condition = {
          StringEquals = {
            "aws:RequestTag/${local.owned_tag}"            = "owned"
            "aws:RequestTag/eks:eks-cluster-name"          = var.cluster_name
            "aws:RequestTag/topology.kubernetes.io/region" = local.region
          }
          StringLike = { "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass" = "*" }
        }
      },
      {
        Sid      = "TagOwnInstanceProfiles"
        Effect   = "Allow"
        Action   = "iam:TagInstanceProfile"
        Resource = local.instance_profiles
        Condition = {
          StringEquals = {
            "aws:ResourceTag/${local.owned_tag}"            = "owned"
            "aws:ResourceTag/topology.kubernetes.io/region" = local.region
            "aws:RequestTag/${local.owned_tag}"             = "owned"
            "aws:RequestTag/eks:eks-cluster-name"           = var.cluster_name
            "aws:RequestTag/topology.kubernetes.io/region"  = local.region
          }
          StringLike = {
            "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass" = "*"
            "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass"  = "*"
          }
        }
      },
      {
        Sid      = "ManageOwnInstanceProfiles"
        Effect   = "Allow"
        Action   = ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"]
        Resource = local.instance_profiles
        Condition = {
          StringEquals = {
            "aws:ResourceTag/${local.owned_tag}"            = "owned"
            "aws:ResourceTag/topology.kubernetes.io/region" = local.region
          }
          StringLike = { "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass" = "*" }
        }
      },
    ]

    # Reading what it chooses from: instance types, offerings, prices,
    # subnets, security groups, AMIs, the cluster's endpoint.
    discovery = concat([
      {
        Sid    = "DescribeInRegion"
        Effect = "Allow"
        Action = [
          "ec2:DescribeCapacityReservations",
          "ec2:DescribeImages",
          "ec2:DescribeInstances",
          "ec2:DescribeInstanceStatus",
          "ec2:DescribeInstanceTypeOfferings",
          "ec2:DescribeInstanceTypes",
          "ec2:DescribeLaunchTemplates",
          "ec2:DescribePlacementGroups",
          "ec2:DescribeSecurityGroups",
          "ec2:DescribeSpotPriceHistory",
          "ec2:DescribeSubnets",
        ]
        Resource  = "*"
        Condition = { StringEquals = { "aws:RequestedRegion" = local.region } }
      },
      {
        # The EKS-optimised AMIs' public parameters (amiSelectorTerms alias).
        Sid      = "ReadPublicAMIParameters"
        Effect   = "Allow"
        Action   = "ssm:GetParameter"
        Resource = "arn:${local.partition}:ssm:${local.region}::parameter/aws/service/*"
      },
      {
        Sid      = "ReadPrices"
        Effect   = "Allow"
        Action   = "pricing:GetProducts"
        Resource = "*"
      },
      {
        Sid      = "ListInstanceProfiles"
        Effect   = "Allow"
        Action   = "iam:ListInstanceProfiles"
        Resource = "*"
      },
      {
        Sid      = "ReadInstanceProfiles"
        Effect   = "Allow"
        Action   = "iam:GetInstanceProfile"
        Resource = local.instance_profiles
      },
      {
        Sid      = "DescribeOwnCluster"
        Effect   = "Allow"
        Action   = "eks:DescribeCluster"
        Resource = local.cluster_arn
      },
      ], var.enable_zonal_shift ? [{
        Sid       = "ReadZonalShiftOfOwnCluster"
        Effect    = "Allow"
        Action    = "arc-zonal-shift:GetManagedResource"
        Resource  = "*"
        Condition = { StringEquals = { "arc-zonal-shift:ResourceIdentifier" = local.cluster_arn } }
    }] : [])

    # The interruption queue (interruption.tf).
    interruption = [{
      Sid      = "ConsumeInterruptionQueue"
      Effect   = "Allow"
      Action   = ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]
      Resource = aws_sqs_queue.interruption.arn
    }]
  }
}

resource "aws_iam_role" "controller" {
  name        = "${local.name}-controller"
  description = "Karpenter controller of EKS cluster ${var.cluster_name} (IRSA: ${local.subject})"
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

# Managed policies, one per concern (as Karpenter splits them): together
# they exceed what a role's inline policies may hold (10,240 characters).
resource "aws_iam_policy" "controller" {
  for_each = { for k, statements in local.controller_policies : k => jsonencode({ Version = "2012-10-17", Statement = statements }) }

  name        = "${local.name}-${each.key}"
  description = "Karpenter controller of EKS cluster ${var.cluster_name}: ${each.key}"
  policy      = each.value

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "controller" {
  for_each = aws_iam_policy.controller

  role       = aws_iam_role.controller.name
  policy_arn = each.value.arn
}
