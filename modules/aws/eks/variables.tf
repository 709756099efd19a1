variable "name" {
  description = "Name of the EKS cluster; prefix of its IAM roles, node groups and log group."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,37}$", var.name))
    error_message = "name must be 1-38 letters, digits or hyphens, starting with a letter (IAM role names built from it are limited to 64 characters)."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane (e.g. 1.33); node groups follow it."
  type        = string
  default     = "1.33"

  validation {
    condition     = can(regex("^1\\.[0-9]+$", var.kubernetes_version))
    error_message = "kubernetes_version must be a minor version such as 1.33."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the node groups and the control plane's network interfaces, in at least two AZs (the network module's private_subnet_ids)."
  type        = list(string)

  validation {
    condition     = length(distinct(var.subnet_ids)) >= 2
    error_message = "subnet_ids must name at least two subnets (in different AZs): EKS requires two, and nodes must survive an AZ's loss."
  }
}

variable "security_group_ids" {
  description = "Security groups added to the control plane and every node, besides the cluster security group EKS creates (the network module's internal_security_group_id)."
  type        = list(string)
  default     = []
}

variable "endpoint_public_access" {
  description = "Expose the API server's endpoint publicly as well (the private endpoint is always on). Off: reachable only from the VPC and peered networks."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "Ranges allowed to the public endpoint when endpoint_public_access is on; required then."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.public_access_cidrs : can(cidrhost(c, 0))])
    error_message = "public_access_cidrs must be CIDR blocks."
  }

  validation {
    condition     = !var.endpoint_public_access || length(var.public_access_cidrs) > 0
    error_message = "A public endpoint needs public_access_cidrs: name the ranges allowed to reach the API server (0.0.0.0/0 only on purpose)."
  }
}

variable "enabled_log_types" {
  description = "Control-plane logs sent to CloudWatch."
  type        = list(string)
  default     = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  validation {
    condition     = alltrue([for t in var.enabled_log_types : contains(["api", "audit", "authenticator", "controllerManager", "scheduler"], t)])
    error_message = "enabled_log_types may contain api, audit, authenticator, controllerManager and scheduler."
  }
}

variable "log_retention_days" {
  description = "Retention of the control-plane log group."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "kms_key_arn" {
  description = "KMS key for envelope encryption of Kubernetes Secrets and of the log group; null uses AWS-managed encryption."
  type        = string
  default     = null
}

variable "authentication_mode" {
  description = "How IAM principals are mapped into the cluster: API (access entries) or API_AND_CONFIG_MAP."
  type        = string
  default     = "API"

  validation {
    condition     = contains(["API", "API_AND_CONFIG_MAP"], var.authentication_mode)
    error_message = "authentication_mode must be API or API_AND_CONFIG_MAP."
  }
}

variable "bootstrap_cluster_creator_admin_permissions" {
  description = "Make the principal that creates the cluster a cluster admin. Off by default: grant access explicitly with access_entries (e.g. the role the spinops provider uses)."
  type        = bool
  default     = false
}

variable "access_entries" {
  description = "IAM principals granted access to the cluster, by a short name: the principal ARN and the EKS access policy (cluster-wide; AmazonEKSClusterAdminPolicy by default)."
  type = map(object({
    principal_arn = string
    policy_name   = optional(string, "AmazonEKSClusterAdminPolicy")
  }))
  default = {}

  validation {
    condition     = alltrue([for e in var.access_entries : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", e.principal_arn))])
    error_message = "access_entries principal_arn must be an IAM role or user ARN."
  }
}

variable "node_groups" {
  description = "Managed node groups by name, each spread over all subnet_ids' AZs and autoscaled between min_size and max_size (the Cluster Autoscaler or Karpenter moves desired_size; Terraform ignores it after creation). The default is three m5.2xlarge nodes, up to six."
  type = map(object({
    instance_types = optional(list(string), ["m5.2xlarge"])
    capacity_type  = optional(string, "ON_DEMAND")
    ami_type       = optional(string, "AL2023_x86_64_STANDARD")
    min_size       = optional(number, 3)
    max_size       = optional(number, 6)
    desired_size   = optional(number, 3)
    disk_size_gb   = optional(number, 100)
    labels         = optional(map(string), {})
    taints = optional(list(object({
      key    = string
      value  = optional(string)
      effect = string
    })), [])
  }))
  default = {
    default = {}
  }

  validation {
    condition     = length(var.node_groups) > 0
    error_message = "At least one node group is needed."
  }

  validation {
    condition     = alltrue([for g in var.node_groups : g.min_size <= g.desired_size && g.desired_size <= g.max_size && g.max_size > 0])
    error_message = "Every node group needs min_size <= desired_size <= max_size and max_size > 0."
  }

  validation {
    condition     = alltrue([for g in var.node_groups : contains(["ON_DEMAND", "SPOT"], g.capacity_type)])
    error_message = "capacity_type must be ON_DEMAND or SPOT."
  }

  validation {
    condition     = alltrue([for g in var.node_groups : alltrue([for t in g.taints : contains(["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"], t.effect)])])
    error_message = "Taint effects must be NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE."
  }
}

variable "addons" {
  description = "EKS add-ons by name, with an optional version (null: the default for the cluster's version)."
  type = map(object({
    version = optional(string)
  }))
  default = {
    coredns                = {}
    kube-proxy             = {}
    vpc-cni                = {}
    eks-pod-identity-agent = {}
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
