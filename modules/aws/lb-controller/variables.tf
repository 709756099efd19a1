variable "cluster_name" {
  description = "Name of the EKS cluster (the eks module's cluster_name). The chart's clusterName: the controller tags what it creates with elbv2.k8s.aws/cluster = this name, and its policies let it change only what carries that tag."
  type        = string

  validation {
    condition     = can(regex("^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$", var.cluster_name))
    error_message = "cluster_name must be an EKS cluster name: 1-100 letters, digits, hyphens or underscores, starting with a letter or digit."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider (the eks module's oidc_provider_arn). The controller's role trusts it; the issuer in the trust condition and the account are read from it, so the two cannot disagree."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/[^/]+/.+$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be an IAM OIDC provider ARN, e.g. arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF (the eks module's oidc_provider_arn output)."
  }
}

variable "vpc_id" {
  description = "The cluster's VPC (the network module's vpc_id): the chart's vpcId, and the only VPC whose security groups the controller may create or change rules of."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID such as vpc-0123456789abcdef0 (the network module's vpc_id output)."
  }
}

variable "region" {
  description = "AWS region of the cluster: the chart's region and the region of the load balancers, target groups and security groups the policies name. null: the aws provider's region."
  type        = string
  default     = null

  validation {
    condition     = var.region == null || can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", coalesce(var.region, "x")))
    error_message = "region must be an AWS region such as eu-west-1, or null for the aws provider's region."
  }
}

variable "name" {
  description = "Name of the controller's IAM role and prefix of its policies (NAME-discovery, NAME-integrations, NAME-security-groups, NAME-load-balancers); null: CLUSTER_NAME-lb-controller."
  type        = string
  default     = null

  validation {
    # IAM role names are at most 64 characters of [\w+=,.@-].
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", coalesce(var.name, "${var.cluster_name}-lb-controller")))
    error_message = "name (or, when it is null, CLUSTER_NAME-lb-controller) must be 1-64 letters, digits or +=,.@_- (IAM's limit for a role name). With a long cluster name, give a shorter name."
  }
}

variable "namespace" {
  description = "Kubernetes namespace the chart is installed in (the controller's documentation installs it in kube-system). The role trusts only system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT."
  type        = string
  default     = "kube-system"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a Kubernetes namespace name (a DNS-1123 label: lower-case letters, digits and hyphens, at most 63)."
  }
}

variable "service_account" {
  description = "Name of the controller's service account, which the chart creates (helm_values serviceAccount.name) and the role trusts."
  type        = string
  default     = "aws-load-balancer-controller"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.service_account))
    error_message = "service_account must be a Kubernetes object name (a DNS-1123 subdomain: lower-case letters, digits, hyphens and dots, at most 253)."
  }
}

variable "chart_version" {
  description = "Version of the aws-load-balancer-controller chart (https://aws.github.io/eks-charts) the helm_chart output names; from 3.0.0 the chart's version is the controller's. The policies follow 3.5.0's documented permissions (see iam.tf)."
  type        = string
  default     = "3.5.0"

  validation {
    condition     = can(regex("^3\\.[0-9]+\\.[0-9]+$", var.chart_version))
    error_message = "chart_version must be a 3.x release of the chart such as 3.5.0: the policies follow the controller 3.5.0's documented permissions, which other major versions do not match."
  }
}

variable "replica_count" {
  description = "Controller replicas (the chart's replicaCount). Two by default, as the chart: one leads, the other takes over, and its webhook keeps answering while one restarts. Above one, a PodDisruptionBudget (maxUnavailable 1) keeps one running through node drains."
  type        = number
  default     = 2

  validation {
    condition     = var.replica_count >= 1 && floor(var.replica_count) == var.replica_count
    error_message = "replica_count must be a whole number, 1 or more."
  }
}

variable "tags" {
  description = "Tags for the IAM role and policies."
  type        = map(string)
  default     = {}
}
