mock_provider "aws" {
  # ARNs the real provider's validation accepts (mocks make up random strings).
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }

  # The OIDC provider takes the cluster's issuer: OpenTofu's mock makes
  # identity an empty list already at plan (Terraform leaves it unknown
  # until apply), which the provider's url cannot index.
  mock_resource "aws_eks_cluster" {
    defaults = {
      identity = [{ oidc = [{ issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/MOCK" }] }]
    }
  }

  mock_resource "aws_launch_template" {
    defaults = {
      id = "lt-0123456789abcdef0"
    }
  }

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
}

variables {
  name               = "spin"
  subnet_ids         = ["subnet-0a", "subnet-0b", "subnet-0c"]
  security_group_ids = ["sg-internal"]
  access_entries = {
    terraform = { principal_arn = "arn:aws:iam::123456789012:role/spinops-terraform" }
  }
}

run "private_cluster_with_control_plane_logs" {
  command = plan

  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].endpoint_private_access && !aws_eks_cluster.this.vpc_config[0].endpoint_public_access
    error_message = "The API server should be private by default."
  }

  assert {
    condition     = sort(aws_eks_cluster.this.enabled_cluster_log_types) == sort(["api", "audit", "authenticator", "controllerManager", "scheduler"])
    error_message = "All five control-plane log types should go to CloudWatch."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/eks/spin/cluster" && aws_cloudwatch_log_group.this.retention_in_days == 90
    error_message = "The log group is created up front with a 90-day retention."
  }

  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].subnet_ids == toset(["subnet-0a", "subnet-0b", "subnet-0c"]) && aws_eks_cluster.this.vpc_config[0].security_group_ids == toset(["sg-internal"])
    error_message = "The control plane should sit in the private subnets with the internal security group."
  }

  assert {
    condition     = aws_eks_cluster.this.access_config[0].authentication_mode == "API" && aws_eks_cluster.this.access_config[0].bootstrap_cluster_creator_admin_permissions == false
    error_message = "Access is granted by access entries only."
  }

  assert {
    condition     = aws_eks_cluster.this.version == "1.33"
    error_message = "Kubernetes 1.33 by default."
  }
}

run "three_m5_2xlarge_nodes_across_azs" {
  command = plan

  assert {
    condition     = toset(keys(aws_eks_node_group.this)) == toset(["default"])
    error_message = "One node group by default."
  }

  assert {
    condition = (
      aws_eks_node_group.this["default"].instance_types == tolist(["m5.2xlarge"]) &&
      aws_eks_node_group.this["default"].scaling_config[0].min_size == 3 &&
      aws_eks_node_group.this["default"].scaling_config[0].desired_size == 3 &&
      aws_eks_node_group.this["default"].scaling_config[0].max_size == 6
    )
    error_message = "The default node group should run three m5.2xlarge nodes, autoscaling up to six."
  }

  assert {
    condition     = aws_eks_node_group.this["default"].subnet_ids == toset(["subnet-0a", "subnet-0b", "subnet-0c"])
    error_message = "The node group should span every private subnet (all AZs)."
  }

  assert {
    condition = (
      aws_launch_template.node["default"].metadata_options[0].http_tokens == "required" &&
      aws_launch_template.node["default"].metadata_options[0].http_put_response_hop_limit == 1
    )
    error_message = "Nodes should require IMDSv2 with one hop, so pods cannot use the node's role."
  }

  assert {
    condition     = aws_launch_template.node["default"].block_device_mappings[0].ebs[0].encrypted == "true"
    error_message = "Node volumes must be encrypted."
  }

  assert {
    condition     = sort([for a in aws_iam_role_policy_attachment.node : a.policy_arn]) == sort(["arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy", "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"])
    error_message = "Nodes get exactly the worker, CNI, ECR read-only and SSM policies."
  }
}

run "irsa_and_access_entries" {
  command = plan

  assert {
    condition     = aws_iam_openid_connect_provider.this.client_id_list == toset(["sts.amazonaws.com"])
    error_message = "The OIDC provider's audience is sts.amazonaws.com."
  }

  assert {
    condition     = aws_eks_access_policy_association.this["terraform"].policy_arn == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    error_message = "Access entries default to the cluster admin policy."
  }

  assert {
    condition     = aws_eks_access_entry.this["terraform"].principal_arn == "arn:aws:iam::123456789012:role/spinops-terraform"
    error_message = "The access entry names the principal."
  }

  assert {
    condition     = sort(keys(aws_eks_addon.this)) == tolist(["coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni"])
    error_message = "The core add-ons are managed."
  }
}

run "outputs_plug_into_the_spinops_kubernetes_block" {
  command = apply

  override_resource {
    target = aws_eks_cluster.this
    values = {
      endpoint              = "https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com"
      certificate_authority = [{ data = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==" }]
      identity              = [{ oidc = [{ issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF" }] }]
    }
  }

  assert {
    condition = output.kubernetes == {
      host                   = "https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com"
      cluster_ca_certificate = "-----BEGIN CERTIFICATE-----\n"
      eks                    = { cluster_name = "spin", region = "eu-west-1" }
    }
    error_message = "The kubernetes output should carry host, PEM CA and eks { cluster_name, region }: ${jsonencode(output.kubernetes)}."
  }

  assert {
    condition     = output.oidc_provider == "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF"
    error_message = "oidc_provider is the issuer without https://."
  }

  assert {
    condition     = aws_iam_openid_connect_provider.this.url == "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF"
    error_message = "The OIDC provider trusts the cluster's issuer."
  }
}

run "public_endpoint_with_cidrs" {
  command = plan

  variables {
    endpoint_public_access = true
    public_access_cidrs    = ["203.0.113.0/24"]
  }

  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].public_access_cidrs == toset(["203.0.113.0/24"])
    error_message = "The public endpoint is limited to the given CIDRs."
  }
}

run "one_subnet_is_refused" {
  command = plan

  variables {
    subnet_ids = ["subnet-0a"]
  }

  expect_failures = [var.subnet_ids]
}

run "public_endpoint_without_cidrs_is_refused" {
  command = plan

  variables {
    endpoint_public_access = true
  }

  expect_failures = [var.public_access_cidrs]
}

run "desired_below_min_is_refused" {
  command = plan

  variables {
    node_groups = { default = { min_size = 3, desired_size = 2 } }
  }

  expect_failures = [var.node_groups]
}

run "unknown_log_type_is_refused" {
  command = plan

  variables {
    enabled_log_types = ["api", "kubelet"]
  }

  expect_failures = [var.enabled_log_types]
}

# examples/basic, the module's usage example, plans with this file's mock
# providers: an example that no longer fits the module fails here.
run "example_basic" {
  command = plan

  module {
    source = "./examples/basic"
  }
}
