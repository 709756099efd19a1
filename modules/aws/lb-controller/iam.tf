################################################################################
# The controller's permissions
#
# What the controller's project documents as its IAM policy, for the version
# helm_chart installs, expressed here in our own statements:
#   github.com/kubernetes-sigs/aws-load-balancer-controller, tag v3.5.0
#   (commit 11eb202c97e4ae2ee45e0658c4cde9a4b59f33d4, chart 3.5.0 / app
#   v3.5.0), docs/install/iam_policy.json.
# Split by concern into four managed policies (discovery, integrations,
# security-groups, load-balancers; README.md lists what each allows).
#
# The documented policy lets the controller create load balancers, target
# groups and security groups only with an elbv2.k8s.aws/cluster tag in the
# request, and change or delete only those that carry the tag. It asks the
# tag to be present; here it must equal this cluster's name. That is the
# value the controller sets: its tracking provider tags every resource it
# creates with elbv2.k8s.aws/cluster = the --cluster-name it runs with
# (pkg/deploy/tracking/provider.go, StackTags; the shared backend security
# group likewise, pkg/networking/backend_sg_provider.go), the chart passes
# clusterName as that flag, and the controller refuses --default-tags that
# would overwrite its tracking tags (pkg/config/controller_config.go,
# validateDefaultTagsCollisionWithTrackingTags). So a controller of another
# cluster in the account cannot be steered into this cluster's load
# balancers by this role, nor this one into another's.
#
# Further narrowed to this cluster:
#   * ARNs are this partition's, region's and account's (the documented
#     policy has arn:aws:...:*:*);
#   * iam:CreateServiceLinkedRole makes Elastic Load Balancing's role only;
#   * security groups are created, and their rules changed, only in the
#     cluster's VPC (ec2:Vpc): the documented policy allows rule changes on
#     any group, which the controller needs for the groups of the nodes and
#     pods it sends traffic to (TargetGroupBinding networking).
################################################################################

locals {
  elb_arn = "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}"
  ec2_arn = "arn:${local.partition}:ec2:${local.region}:${local.account_id}"
  vpc_arn = "${local.ec2_arn}:vpc/${var.vpc_id}"

  cluster_tag      = "elbv2.k8s.aws/cluster"
  security_groups  = "${local.ec2_arn}:security-group/*"
  balancers        = ["${local.elb_arn}:loadbalancer/app/*/*", "${local.elb_arn}:loadbalancer/net/*/*"]
  target_groups    = "${local.elb_arn}:targetgroup/*/*"
  listeners        = ["${local.elb_arn}:listener/app/*/*/*", "${local.elb_arn}:listener/net/*/*/*"]
  listener_rules   = ["${local.elb_arn}:listener-rule/app/*/*/*/*", "${local.elb_arn}:listener-rule/net/*/*/*/*"]
  any_elb_resource = "${local.elb_arn}:*"
}

# Reading what it reconciles: VPCs, subnets, security groups, instances and
# ENIs (to find the pods' and nodes' groups), load balancers, listeners,
# rules, target groups and their health, tags. Describe and Get calls of
# these services take no resource ARN.
data "aws_iam_policy_document" "discovery" {
  statement {
    sid    = "DescribeNetwork"
    effect = "Allow"
    actions = [
      "ec2:DescribeAccountAttributes",
      "ec2:DescribeAddresses",
      "ec2:DescribeAvailabilityZones",
      "ec2:DescribeCoipPools",
      "ec2:DescribeInstances",
      "ec2:DescribeInternetGateways",
      "ec2:DescribeIpamPools",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets",
      "ec2:DescribeTags",
      "ec2:DescribeVpcPeeringConnections",
      "ec2:DescribeVpcs",
      "ec2:GetCoipPoolUsage",
      "ec2:GetSecurityGroupsForVpc",
    ]
    resources = ["*"]
  }

  statement {
    sid    = "DescribeLoadBalancing"
    effect = "Allow"
    actions = [
      "elasticloadbalancing:DescribeCapacityReservation",
      "elasticloadbalancing:DescribeListenerAttributes",
      "elasticloadbalancing:DescribeListenerCertificates",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeSSLPolicies",
      "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
      "elasticloadbalancing:DescribeTrustStores",
    ]
    resources = ["*"]
  }
}

# What an Ingress or Service annotation may ask of other services:
# certificates (ACM, IAM server certificates), Cognito authentication, a WAF
# web ACL (classic and v2) and Shield Advanced protection of an ALB it
# manages. As documented, on any resource: the ACL, certificate or user pool
# is named by whoever writes the annotation.
data "aws_iam_policy_document" "integrations" {
  statement {
    sid    = "ReadCertificatesAndAuth"
    effect = "Allow"
    actions = [
      "acm:DescribeCertificate",
      "acm:ListCertificates",
      "cognito-idp:DescribeUserPoolClient",
      "iam:GetServerCertificate",
      "iam:ListServerCertificates",
    ]
    resources = ["*"]
  }

  statement {
    sid    = "ManageWebACLAndShield"
    effect = "Allow"
    actions = [
      "shield:CreateProtection",
      "shield:DeleteProtection",
      "shield:DescribeProtection",
      "shield:GetSubscriptionState",
      "waf-regional:AssociateWebACL",
      "waf-regional:DisassociateWebACL",
      "waf-regional:GetWebACL",
      "waf-regional:GetWebACLForResource",
      "wafv2:AssociateWebACL",
      "wafv2:DisassociateWebACL",
      "wafv2:GetWebACL",
      "wafv2:GetWebACLForResource",
    ]
    resources = ["*"]
  }
}

# Security groups: the ones it makes for load balancers (and the shared
# backend group), and the ingress rules that let them reach pods and nodes.
data "aws_iam_policy_document" "security_groups" {
  statement {
    sid       = "CreateInClusterVpc"
    effect    = "Allow"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = [local.vpc_arn, local.security_groups]
  }

  statement {
    sid       = "TagWhenCreatedForThisCluster"
    effect    = "Allow"
    actions   = ["ec2:CreateTags"]
    resources = [local.security_groups]

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["CreateSecurityGroup"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.cluster_tag}"
      values   = [var.cluster_name]
    }
  }

  statement {
    # Other tags of this cluster's groups; the cluster tag itself is never
    # set or removed after creation.
    sid       = "RetagOwnKeepingClusterTag"
    effect    = "Allow"
    actions   = ["ec2:CreateTags", "ec2:DeleteTags"]
    resources = [local.security_groups]

    condition {
      test     = "Null"
      variable = "aws:RequestTag/${local.cluster_tag}"
      values   = ["true"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.cluster_tag}"
      values   = [var.cluster_name]
    }
  }

  statement {
    sid       = "ChangeRulesInClusterVpc"
    effect    = "Allow"
    actions   = ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"]
    resources = [local.security_groups]

    condition {
      test     = "StringEquals"
      variable = "ec2:Vpc"
      values   = [local.vpc_arn]
    }
  }

  statement {
    sid       = "ChangeOrDeleteOwn"
    effect    = "Allow"
    actions   = ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"]
    resources = [local.security_groups]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.cluster_tag}"
      values   = [var.cluster_name]
    }
  }
}

# Load balancers, listeners, rules and target groups: creating them tagged
# for this cluster, changing and deleting only this cluster's, and
# registering targets in any target group of the account and region
# (TargetGroupBindings name target groups made elsewhere, such as the edge
# module's).
data "aws_iam_policy_document" "load_balancers" {
  statement {
    sid       = "ServiceLinkedRoleOfElasticLoadBalancing"
    effect    = "Allow"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["elasticloadbalancing.amazonaws.com"]
    }
  }

  statement {
    sid       = "CreateForThisCluster"
    effect    = "Allow"
    actions   = ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"]
    resources = concat(local.balancers, [local.target_groups])

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.cluster_tag}"
      values   = [var.cluster_name]
    }
  }

  statement {
    sid       = "TagWhenCreatedForThisCluster"
    effect    = "Allow"
    actions   = ["elasticloadbalancing:AddTags"]
    resources = concat(local.balancers, [local.target_groups])

    condition {
      test     = "StringEquals"
      variable = "elasticloadbalancing:CreateAction"
      values   = ["CreateLoadBalancer", "CreateTargetGroup"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.cluster_tag}"
      values   = [var.cluster_name]
    }
  }

  statement {
    sid       = "RetagOwnKeepingClusterTag"
    effect    = "Allow"
    actions   = ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"]
    resources = concat(local.balancers, [local.target_groups])

    condition {
      test     = "Null"
      variable = "aws:RequestTag/${local.cluster_tag}"
      values   = ["true"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.cluster_tag}"
      values   = [var.cluster_name]
    }
  }

  statement {
    sid       = "ChangeOrDeleteOwn"
    effect    = "Allow"
    resources = [local.any_elb_resource]
    actions = [
      "elasticloadbalancing:DeleteLoadBalancer",
      "elasticloadbalancing:DeleteTargetGroup",
      "elasticloadbalancing:ModifyCapacityReservation",
      "elasticloadbalancing:ModifyIpPools",
      "elasticloadbalancing:ModifyListenerAttributes",
      "elasticloadbalancing:ModifyLoadBalancerAttributes",
      "elasticloadbalancing:ModifyTargetGroup",
      "elasticloadbalancing:ModifyTargetGroupAttributes",
      "elasticloadbalancing:SetIpAddressType",
      "elasticloadbalancing:SetSecurityGroups",
      "elasticloadbalancing:SetSubnets",
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.cluster_tag}"
      values   = [var.cluster_name]
    }
  }

  statement {
    # As documented, without a tag condition: listeners and rules are
    # reconciled under the load balancer they belong to.
    sid       = "ManageListenersAndRules"
    effect    = "Allow"
    resources = concat(local.balancers, local.listeners, local.listener_rules)
    actions = [
      "elasticloadbalancing:CreateListener",
      "elasticloadbalancing:CreateRule",
      "elasticloadbalancing:DeleteListener",
      "elasticloadbalancing:DeleteRule",
    ]
  }

  statement {
    # Tags of listeners and rules only (a load balancer's are above).
    sid       = "TagListenersAndRules"
    effect    = "Allow"
    actions   = ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"]
    resources = concat(local.listeners, local.listener_rules)
  }

  statement {
    sid       = "ConfigureListenersRulesAndWebACL"
    effect    = "Allow"
    resources = [local.any_elb_resource]
    actions = [
      "elasticloadbalancing:AddListenerCertificates",
      "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:ModifyRule",
      "elasticloadbalancing:RemoveListenerCertificates",
      "elasticloadbalancing:SetRulePriorities",
      "elasticloadbalancing:SetWebAcl",
    ]
  }

  statement {
    sid       = "RegisterTargets"
    effect    = "Allow"
    actions   = ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"]
    resources = [local.target_groups]
  }
}

locals {
  policies = {
    discovery       = data.aws_iam_policy_document.discovery.json
    integrations    = data.aws_iam_policy_document.integrations.json
    security-groups = data.aws_iam_policy_document.security_groups.json
    load-balancers  = data.aws_iam_policy_document.load_balancers.json
  }
}

resource "aws_iam_policy" "this" {
  for_each = local.policies

  name        = "${local.name}-${each.key}"
  description = "AWS Load Balancer Controller of EKS cluster ${var.cluster_name}: ${each.key}"
  policy      = each.value

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = aws_iam_policy.this

  role       = aws_iam_role.this.name
  policy_arn = each.value.arn
}
