mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "eu-west-1"
    }
  }

  mock_resource "aws_iam_policy" {
    defaults = {
      arn = "arn:aws:iam::123456789012:policy/mock"
    }
  }

  # The policy documents are rendered by the real provider on moto
  # (internal/modtest/aws_lb_controller_test.go); here their statements are
  # read from the configuration, and json is any valid document.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

# An ARN the real provider's validation accepts (mocks make up random strings).
override_resource {
  target = aws_iam_role.this
  values = { arn = "arn:aws:iam::123456789012:role/spin-lb-controller" }
}

variables {
  cluster_name      = "spin"
  oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/5C0FFEE"
  vpc_id            = "vpc-0123456789abcdef0"
}

run "role_trusts_exactly_the_controllers_service_account" {
  command = plan

  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement == [{
      Effect    = "Allow"
      Principal = { Federated = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/5C0FFEE" }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "oidc.eks.eu-west-1.amazonaws.com/id/5C0FFEE:sub" = "system:serviceaccount:kube-system:aws-load-balancer-controller"
          "oidc.eks.eu-west-1.amazonaws.com/id/5C0FFEE:aud" = "sts.amazonaws.com"
        }
      }
    }]
    error_message = "The role is assumed only with a web identity from the cluster's OIDC provider, for kube-system's aws-load-balancer-controller service account, audience sts.amazonaws.com: no wildcard, no other condition."
  }

  assert {
    condition     = aws_iam_role.this.name == "spin-lb-controller"
    error_message = "The role is named CLUSTER-lb-controller by default."
  }

  assert {
    condition     = toset([for p in aws_iam_policy.this : p.name]) == toset(["spin-lb-controller-discovery", "spin-lb-controller-integrations", "spin-lb-controller-security-groups", "spin-lb-controller-load-balancers"])
    error_message = "Four policies, named after the role."
  }
}

run "namespace_service_account_and_name_move_the_trust" {
  command = plan

  variables {
    namespace       = "lb"
    service_account = "alb"
    name            = "edge-controller"
  }

  assert {
    condition     = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/5C0FFEE:sub"] == "system:serviceaccount:lb:alb"
    error_message = "The trust follows the namespace and the service account."
  }

  assert {
    condition     = aws_iam_role.this.name == "edge-controller" && output.helm_chart.namespace == "lb" && output.helm_values.serviceAccount.name == "alb" && output.service_account.name == "alb" && output.service_account.namespace == "lb"
    error_message = "The chart goes to the same namespace, with the trusted service account's name; name names the role."
  }
}

run "policies_are_attached_and_grant_no_whole_service" {
  command = apply

  assert {
    condition     = toset(keys(aws_iam_policy.this)) == toset(["discovery", "integrations", "security-groups", "load-balancers"]) && alltrue([for k, a in aws_iam_role_policy_attachment.this : a.role == "spin-lb-controller" && a.policy_arn == aws_iam_policy.this[k].arn])
    error_message = "The four policies are attached to the controller's role."
  }

  assert {
    condition = alltrue(flatten([for d in [data.aws_iam_policy_document.discovery, data.aws_iam_policy_document.integrations, data.aws_iam_policy_document.security_groups, data.aws_iam_policy_document.load_balancers] : [
      for s in d.statement : s.effect == "Allow" && !contains(s.actions, "*") && alltrue([for a in s.actions : !endswith(a, ":*") && !strcontains(a, "*")])
    ]]))
    error_message = "Every statement allows named actions only: no wildcard action, no Deny to reason about."
  }

  assert {
    condition     = output.policy_arns == { for k in ["discovery", "integrations", "security-groups", "load-balancers"] : k => "arn:aws:iam::123456789012:policy/mock" }
    error_message = "policy_arns lists the four policies."
  }
}

run "load_balancers_are_changed_only_when_tagged_for_this_cluster" {
  command = plan

  # Every statement that creates, changes or deletes a load balancer or a
  # target group: one statement each, requiring the cluster tag to be this
  # cluster's name (in the request when creating, on the resource after).
  assert {
    condition     = [for s in data.aws_iam_policy_document.load_balancers.statement : toset([for c in s.condition : "${c.test} ${c.variable} = ${join(",", c.values)}"]) if contains(s.actions, "elasticloadbalancing:DeleteLoadBalancer")] == [toset(["StringEquals aws:ResourceTag/elbv2.k8s.aws/cluster = spin"])]
    error_message = "DeleteLoadBalancer is allowed in one statement, only on a load balancer tagged elbv2.k8s.aws/cluster = spin."
  }

  assert {
    condition = alltrue([for a in ["DeleteTargetGroup", "ModifyTargetGroup", "ModifyLoadBalancerAttributes", "SetSecurityGroups", "SetSubnets"] :
      length([for s in data.aws_iam_policy_document.load_balancers.statement : s if contains(s.actions, "elasticloadbalancing:${a}") && s.sid == "ChangeOrDeleteOwn"]) == 1 &&
      length([for s in data.aws_iam_policy_document.load_balancers.statement : s if contains(s.actions, "elasticloadbalancing:${a}")]) == 1
    ])
    error_message = "Changing or deleting load balancers and target groups is allowed only by the tag-scoped statement."
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.load_balancers.statement : toset([for c in s.condition : "${c.test} ${c.variable} = ${join(",", c.values)}"]) if contains(s.actions, "elasticloadbalancing:CreateLoadBalancer")] == [toset(["StringEquals aws:RequestTag/elbv2.k8s.aws/cluster = spin"])]
    error_message = "Load balancers and target groups are created only with elbv2.k8s.aws/cluster = spin in the request."
  }

  assert {
    # Tags of load balancers and target groups: at creation (with the
    # cluster tag), or later on this cluster's without touching the
    # cluster tag.
    condition = alltrue([for s in [for x in data.aws_iam_policy_document.load_balancers.statement : merge(x, { conds = toset([for c in x.condition : "${c.test} ${c.variable} = ${join(",", c.values)}"]) })] :
      contains(s.conds, "StringEquals aws:RequestTag/elbv2.k8s.aws/cluster = spin") && contains(s.conds, "StringEquals elasticloadbalancing:CreateAction = CreateLoadBalancer,CreateTargetGroup") ||
      contains(s.conds, "StringEquals aws:ResourceTag/elbv2.k8s.aws/cluster = spin") && contains(s.conds, "Null aws:RequestTag/elbv2.k8s.aws/cluster = true")
      if contains(s.actions, "elasticloadbalancing:AddTags") && length(setintersection(s.resources, toset(["arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/*/*", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/*/*"]))) > 0
    ])
    error_message = "A load balancer's or target group's tags are set only at creation for this cluster, or on this cluster's without touching elbv2.k8s.aws/cluster."
  }

  assert {
    condition = [for s in data.aws_iam_policy_document.load_balancers.statement : {
      actions   = s.actions
      resources = s.resources
      condition = toset([for c in s.condition : "${c.test} ${c.variable} = ${join(",", c.values)}"])
      } if contains(s.actions, "iam:CreateServiceLinkedRole")] == [{
      actions   = toset(["iam:CreateServiceLinkedRole"])
      resources = toset(["arn:aws:iam::123456789012:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing"])
      condition = toset(["StringEquals iam:AWSServiceName = elasticloadbalancing.amazonaws.com"])
    }]
    error_message = "The only service-linked role it may create is Elastic Load Balancing's."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.load_balancers.statement : s if contains(s.actions, "elasticloadbalancing:RegisterTargets")]).resources == toset(["arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/*/*"])
    error_message = "Targets are registered in target groups of this account and region (including the edge module's, which it did not create)."
  }

  assert {
    condition     = alltrue(flatten([for s in data.aws_iam_policy_document.load_balancers.statement : [for r in s.resources : startswith(r, "arn:aws:elasticloadbalancing:eu-west-1:123456789012:") || startswith(r, "arn:aws:iam::123456789012:role/aws-service-role/")]]))
    error_message = "Every load-balancing resource is of this region and account."
  }
}

run "security_groups_stay_in_the_clusters_vpc" {
  command = plan

  assert {
    condition     = one([for s in data.aws_iam_policy_document.security_groups.statement : s if contains(s.actions, "ec2:CreateSecurityGroup")]).resources == toset(["arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-0123456789abcdef0", "arn:aws:ec2:eu-west-1:123456789012:security-group/*"])
    error_message = "Security groups are created in the cluster's VPC only."
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.security_groups.statement : toset([for c in s.condition : "${c.test} ${c.variable} = ${join(",", c.values)}"]) if contains(s.actions, "ec2:DeleteSecurityGroup")] == [toset(["StringEquals aws:ResourceTag/elbv2.k8s.aws/cluster = spin"])]
    error_message = "Only this cluster's security groups are deleted."
  }

  assert {
    condition = alltrue([for s in [for x in data.aws_iam_policy_document.security_groups.statement : merge(x, { conds = toset([for c in x.condition : "${c.test} ${c.variable} = ${join(",", c.values)}"]) })] :
      contains(s.conds, "StringEquals ec2:Vpc = arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-0123456789abcdef0") ||
      contains(s.conds, "StringEquals aws:ResourceTag/elbv2.k8s.aws/cluster = spin")
      if contains(s.actions, "ec2:AuthorizeSecurityGroupIngress") || contains(s.actions, "ec2:RevokeSecurityGroupIngress")
    ])
    error_message = "Ingress rules are changed only on groups in the cluster's VPC or of this cluster."
  }

  assert {
    condition = alltrue([for s in [for x in data.aws_iam_policy_document.security_groups.statement : merge(x, { conds = toset([for c in x.condition : "${c.test} ${c.variable} = ${join(",", c.values)}"]) })] :
      contains(s.conds, "StringEquals aws:RequestTag/elbv2.k8s.aws/cluster = spin") && contains(s.conds, "StringEquals ec2:CreateAction = CreateSecurityGroup") ||
      contains(s.conds, "StringEquals aws:ResourceTag/elbv2.k8s.aws/cluster = spin") && contains(s.conds, "Null aws:RequestTag/elbv2.k8s.aws/cluster = true")
      if contains(s.actions, "ec2:CreateTags") || contains(s.actions, "ec2:DeleteTags")
    ])
    error_message = "Security groups are tagged only when created for this cluster, or when they are this cluster's, without touching the cluster tag."
  }
}

run "chart_and_values" {
  command = apply

  assert {
    condition = output.helm_chart == {
      repository = "https://aws.github.io/eks-charts"
      chart      = "aws-load-balancer-controller"
      version    = "3.5.0"
      namespace  = "kube-system"
    }
    error_message = "The chart is eks-charts' aws-load-balancer-controller 3.5.0, in kube-system."
  }

  assert {
    condition = output.helm_values == {
      clusterName  = "spin"
      region       = "eu-west-1"
      vpcId        = "vpc-0123456789abcdef0"
      replicaCount = 2
      serviceAccount = {
        create      = true
        name        = "aws-load-balancer-controller"
        annotations = { "eks.amazonaws.com/role-arn" = "arn:aws:iam::123456789012:role/spin-lb-controller" }
      }
      podDisruptionBudget = { maxUnavailable = 1 }
    }
    error_message = "The values name the cluster (its tag in the policies), region and VPC, two replicas with a PodDisruptionBudget, and the service account with the role's annotation."
  }

  assert {
    condition     = yamldecode(output.helm_values_yaml) == output.helm_values
    error_message = "helm_values_yaml is helm_values."
  }

  assert {
    condition     = output.service_account == { namespace = "kube-system", name = "aws-load-balancer-controller", annotations = { "eks.amazonaws.com/role-arn" = "arn:aws:iam::123456789012:role/spin-lb-controller" } } && output.role_arn == "arn:aws:iam::123456789012:role/spin-lb-controller" && output.role_name == "spin-lb-controller"
    error_message = "service_account, role_arn and role_name."
  }
}

run "one_replica_has_no_disruption_budget_and_region_can_be_given" {
  command = plan

  variables {
    replica_count = 1
    region        = "us-east-2"
  }

  assert {
    condition     = output.helm_values.replicaCount == 1 && !contains(keys(output.helm_values), "podDisruptionBudget") && output.helm_values.region == "us-east-2"
    error_message = "One replica: no PodDisruptionBudget (the chart makes none either); region overrides the provider's."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.load_balancers.statement : s if contains(s.actions, "elasticloadbalancing:RegisterTargets")]).resources == toset(["arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/*/*"])
    error_message = "The policies follow the given region."
  }
}

run "refuses_a_cluster_name_that_is_no_eks_name" {
  command = plan

  variables {
    cluster_name = "spin cluster"
  }

  expect_failures = [var.cluster_name]
}

run "refuses_an_oidc_provider_that_is_no_arn" {
  command = plan

  variables {
    oidc_provider_arn = "oidc.eks.eu-west-1.amazonaws.com/id/5C0FFEE"
  }

  expect_failures = [var.oidc_provider_arn]
}

run "refuses_a_vpc_that_is_no_vpc_id" {
  command = plan

  variables {
    vpc_id = "subnet-0123456789abcdef0"
  }

  expect_failures = [var.vpc_id]
}

run "refuses_a_region_that_is_no_region" {
  command = plan

  variables {
    region = "Ireland"
  }

  expect_failures = [var.region]
}

run "refuses_a_default_name_over_iams_limit" {
  command = plan

  variables {
    # 60 characters: CLUSTER-lb-controller is 74, over the 64 of a role name.
    cluster_name = "a-very-long-cluster-name-that-leaves-no-room-for-the-suffix-"
  }

  expect_failures = [var.name]
}

run "refuses_a_namespace_that_is_no_dns_label" {
  command = plan

  variables {
    namespace = "Kube_System"
  }

  expect_failures = [var.namespace]
}

run "refuses_a_service_account_that_is_no_object_name" {
  command = plan

  variables {
    service_account = "AWS Load Balancer Controller"
  }

  expect_failures = [var.service_account]
}

run "refuses_a_chart_version_of_another_major" {
  command = plan

  variables {
    chart_version = "1.8.1"
  }

  expect_failures = [var.chart_version]
}

run "refuses_zero_replicas" {
  command = plan

  variables {
    replica_count = 0
  }

  expect_failures = [var.replica_count]
}
