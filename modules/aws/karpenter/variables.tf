variable "cluster_name" {
  description = "Name of the EKS cluster Karpenter adds nodes to (the eks module's cluster_name)."
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

variable "name" {
  description = "Prefix of the IAM roles and policies, the queue and the EventBridge rules; null: CLUSTER_NAME-karpenter."
  type        = string
  default     = null

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_-]{0,39}$", coalesce(var.name, "${var.cluster_name}-karpenter")))
    error_message = "name (or, when it is null, CLUSTER_NAME-karpenter) must be 1-40 letters, digits, hyphens or underscores starting with a letter: the EventBridge rule names built from it are limited to 64 characters. Give a shorter name."
  }
}

variable "namespace" {
  description = "Kubernetes namespace the Karpenter chart is installed in (Karpenter's documentation installs it in kube-system). The controller's role trusts only system:serviceaccount:NAMESPACE:karpenter."
  type        = string
  default     = "kube-system"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a Kubernetes namespace name (a DNS-1123 label: lower-case letters, digits and hyphens, at most 63)."
  }
}

variable "karpenter_version" {
  description = "Version of the Karpenter chart (oci://public.ecr.aws/karpenter/karpenter) the helm_chart output names. The controller policy follows this version's documented permissions (see iam.tf)."
  type        = string
  default     = "1.14.1"

  validation {
    condition     = can(regex("^1\\.[0-9]+\\.[0-9]+$", var.karpenter_version))
    error_message = "karpenter_version must be a Karpenter v1 release such as 1.14.1: the NodePool and EC2NodeClass are karpenter.sh/v1 and karpenter.k8s.aws/v1, which earlier releases do not serve."
  }
}

variable "availability_zones" {
  description = "AZs nodes may be launched in: the cluster's AZs (the network module's azs)."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) > 0 && alltrue([for z in var.availability_zones : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+[a-z]$", z))])
    error_message = "availability_zones must name at least one AZ, e.g. [\"eu-west-1a\", \"eu-west-1b\"] (the network module's azs)."
  }
}

variable "subnet_ids" {
  description = "Subnets nodes are launched in (the network module's private_subnet_ids). Empty: Karpenter discovers them by subnet_discovery_tags."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-z]+$", s))])
    error_message = "subnet_ids must be subnet IDs (subnet-...)."
  }
}

variable "subnet_discovery_tags" {
  description = "Tags of the subnets Karpenter launches nodes in, when subnet_ids is empty (every tag must match); null: karpenter.sh/discovery = CLUSTER_NAME."
  type        = map(string)
  default     = null

  validation {
    condition     = var.subnet_discovery_tags == null || (length(coalesce(var.subnet_discovery_tags, {})) > 0 && alltrue([for k, v in coalesce(var.subnet_discovery_tags, {}) : k != "" && v != ""]))
    error_message = "subnet_discovery_tags must name at least one tag, with a non-empty key and value (an empty selector would match every subnet), or be null."
  }
}

variable "security_group_ids" {
  description = "Security groups of the nodes (the eks module's cluster_security_group_id and the network module's internal_security_group_id). Empty: Karpenter discovers them by security_group_discovery_tags."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.security_group_ids : can(regex("^sg-[0-9a-z]+$", s))])
    error_message = "security_group_ids must be security group IDs (sg-...)."
  }
}

variable "security_group_discovery_tags" {
  description = "Tags of the nodes' security groups, when security_group_ids is empty (every tag must match); null: karpenter.sh/discovery = CLUSTER_NAME."
  type        = map(string)
  default     = null

  validation {
    condition     = var.security_group_discovery_tags == null || (length(coalesce(var.security_group_discovery_tags, {})) > 0 && alltrue([for k, v in coalesce(var.security_group_discovery_tags, {}) : k != "" && v != ""]))
    error_message = "security_group_discovery_tags must name at least one tag, with a non-empty key and value (an empty selector would match every security group), or be null."
  }
}

variable "capacity_types" {
  description = "Capacity types the NodePool may launch. On-demand only by default: Spinnaker's services are long-lived and a spot reclaim restarts them (Clouddriver's caches, Orca's running stages)."
  type        = list(string)
  default     = ["on-demand"]

  validation {
    condition     = length(var.capacity_types) > 0 && alltrue([for c in var.capacity_types : contains(["on-demand", "spot", "reserved"], c)])
    error_message = "capacity_types must name one or more of on-demand, spot and reserved."
  }
}

variable "instance_categories" {
  description = "EC2 instance categories (karpenter.k8s.aws/instance-category): compute (c), general purpose (m), memory (r) by default."
  type        = list(string)
  default     = ["c", "m", "r"]

  validation {
    condition     = length(var.instance_categories) > 0 && alltrue([for c in var.instance_categories : can(regex("^[a-z]+$", c))])
    error_message = "instance_categories must name one or more categories, each lower-case letters (c, m, r, ...)."
  }
}

variable "instance_generation_greater_than" {
  description = "Only instance generations above this (karpenter.k8s.aws/instance-generation Gt): 5 keeps to 6th generation and newer (c6i, m7i, r6g, ...)."
  type        = number
  default     = 5

  validation {
    condition     = var.instance_generation_greater_than >= 0 && floor(var.instance_generation_greater_than) == var.instance_generation_greater_than
    error_message = "instance_generation_greater_than must be a whole number, 0 or more."
  }
}

variable "min_memory_mib" {
  description = "Smallest instance memory in MiB (karpenter.k8s.aws/instance-memory): 8192 (8 GiB) by default, so one node holds Clouddriver's or Orca's JVM beside the daemon sets."
  type        = number
  default     = 8192

  validation {
    condition     = var.min_memory_mib >= 1024 && floor(var.min_memory_mib) == var.min_memory_mib
    error_message = "min_memory_mib must be a whole number of MiB, at least 1024."
  }
}

variable "architectures" {
  description = "CPU architectures (kubernetes.io/arch) of the nodes."
  type        = list(string)
  default     = ["amd64"]

  validation {
    condition     = length(var.architectures) > 0 && alltrue([for a in var.architectures : contains(["amd64", "arm64"], a)])
    error_message = "architectures must name amd64, arm64 or both."
  }
}

variable "limits" {
  description = "Most the NodePool may launch in total: vCPUs and memory in GiB (Karpenter stops launching when the pool reaches either)."
  type = object({
    cpu        = number
    memory_gib = number
  })
  default = {
    cpu        = 64
    memory_gib = 256
  }

  validation {
    condition     = var.limits.cpu > 0 && var.limits.memory_gib > 0 && floor(var.limits.cpu) == var.limits.cpu && floor(var.limits.memory_gib) == var.limits.memory_gib
    error_message = "limits.cpu and limits.memory_gib must be whole numbers above 0."
  }

  validation {
    condition     = var.limits.memory_gib * 1024 >= var.min_memory_mib
    error_message = "limits.memory_gib is below the smallest node the pool may launch (min_memory_mib): no node could ever be launched."
  }
}

variable "node_pool_name" {
  description = "Name of the NodePool."
  type        = string
  default     = "spinnaker"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.node_pool_name))
    error_message = "node_pool_name must be a DNS-1123 label (lower-case letters, digits and hyphens, at most 63)."
  }
}

variable "node_class_name" {
  description = "Name of the EC2NodeClass."
  type        = string
  default     = "spinnaker"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.node_class_name))
    error_message = "node_class_name must be a DNS-1123 label (lower-case letters, digits and hyphens, at most 63)."
  }
}

variable "node_labels" {
  description = "Labels of every node of the pool: spinops.io/node-pool = spinnaker by default, for Spinnaker's pods to select (see README.md: labels and taints)."
  type        = map(string)
  default = {
    "spinops.io/node-pool" = "spinnaker"
  }

  validation {
    # Karpenter refuses labels in its own domains (its NodePool CRD,
    # pkg/apis/crds/karpenter.sh_nodepools.yaml: "label domain ... is
    # restricted"), and the kubelet may not set kubernetes.io and k8s.io
    # labels outside a short allowed list (NodeRestriction).
    condition     = alltrue([for k, v in var.node_labels : !can(regex("^([^/]*\\.)?(karpenter\\.sh|karpenter\\.k8s\\.aws|kubernetes\\.io|k8s\\.io)/", k))])
    error_message = "node_labels may not use the karpenter.sh, karpenter.k8s.aws, kubernetes.io or k8s.io domains: Karpenter sets those itself and refuses them in a NodePool."
  }
}

variable "node_taints" {
  description = "Taints of every node of the pool; none by default, so Spinnaker's pods schedule without tolerations (see README.md: labels and taints)."
  type = list(object({
    key    = string
    value  = optional(string)
    effect = string
  }))
  default = []

  validation {
    condition     = alltrue([for t in var.node_taints : contains(["NoSchedule", "PreferNoSchedule", "NoExecute"], t.effect) && t.key != ""])
    error_message = "Each taint needs a key and an effect of NoSchedule, PreferNoSchedule or NoExecute (Kubernetes' spelling)."
  }
}

variable "expire_after" {
  description = "How long a node lives before Karpenter replaces it (patches, AMI updates): a duration such as 720h, or Never."
  type        = string
  default     = "720h"

  validation {
    condition     = var.expire_after == "Never" || can(regex("^([0-9]+(s|m|h))+$", var.expire_after))
    error_message = "expire_after must be a duration in hours, minutes and seconds such as 720h or 90m, or Never."
  }
}

variable "consolidate_after" {
  description = "How long a node must stay empty or underutilised (no pod added or removed) before Karpenter consolidates it: a duration such as 5m, or Never."
  type        = string
  default     = "5m"

  validation {
    condition     = var.consolidate_after == "Never" || can(regex("^([0-9]+(s|m|h))+$", var.consolidate_after))
    error_message = "consolidate_after must be a duration such as 5m or 1h30m, or Never."
  }
}

variable "disruption_budgets" {
  description = "How many nodes Karpenter may disrupt at once (a count or a percentage), optionally only during a cron schedule for a duration and only for some reasons (Empty, Drifted, Underutilized). One node at a time by default: Spinnaker's services run one to three replicas each."
  type = list(object({
    nodes    = string
    schedule = optional(string)
    duration = optional(string)
    reasons  = optional(list(string))
  }))
  default = [{ nodes = "1" }]

  validation {
    condition     = length(var.disruption_budgets) > 0 && alltrue([for b in var.disruption_budgets : can(regex("^((100|[0-9]{1,2})%|[0-9]+)$", b.nodes))])
    error_message = "Each disruption budget's nodes must be a count (\"1\") or a percentage (\"10%\"), and at least one budget is needed."
  }

  validation {
    condition     = alltrue([for b in var.disruption_budgets : (b.schedule == null) == (b.duration == null)])
    error_message = "A disruption budget's schedule and duration go together: give both or neither."
  }

  validation {
    # The NodePool CRD's pattern for budgets[].duration: hours and minutes
    # only (cron has no seconds).
    condition     = alltrue([for b in var.disruption_budgets : b.duration == null || can(regex("^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$", coalesce(b.duration, "1h")))])
    error_message = "A disruption budget's duration must be hours and/or minutes such as 8h, 30m or 1h30m (no seconds: the schedule is cron)."
  }

  validation {
    condition     = alltrue([for b in var.disruption_budgets : alltrue([for r in coalesce(b.reasons, []) : contains(["Empty", "Drifted", "Underutilized"], r)])])
    error_message = "A disruption budget's reasons must be Empty, Drifted or Underutilized."
  }
}

variable "ami_alias" {
  description = "EKS-optimised AMI family and version of the nodes (EC2NodeClass amiSelectorTerms alias), e.g. al2023@latest, or pinned: al2023@v20251117. Pin it in production so new nodes do not change AMI unannounced."
  type        = string
  default     = "al2023@latest"

  validation {
    condition     = can(regex("^(al2|al2023|bottlerocket|windows2019|windows2022|windows2025)@(latest|v[0-9][0-9.]*)$", var.ami_alias))
    error_message = "ami_alias must be FAMILY@VERSION with FAMILY al2023, al2, bottlerocket or windows20xx and VERSION latest or a release such as v20251117."
  }
}

variable "disk_size_gib" {
  description = "Root volume of each node in GiB (gp3, encrypted)."
  type        = number
  default     = 100

  validation {
    condition     = var.disk_size_gib >= 20 && var.disk_size_gib <= 16384 && floor(var.disk_size_gib) == var.disk_size_gib
    error_message = "disk_size_gib must be a whole number of GiB from 20 to 16384."
  }
}

variable "kms_key_arn" {
  description = "KMS key of the nodes' root volumes; null: the account's default EBS key."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+$", coalesce(var.kms_key_arn, "x")))
    error_message = "kms_key_arn must be a KMS key or alias ARN, or null."
  }
}

variable "create_access_entry" {
  description = "Create the EKS access entry (type EC2_LINUX) that lets the nodes join the cluster. Needs the cluster's authentication_mode to include API (the eks module's default)."
  type        = bool
  default     = true
}

variable "enable_zonal_shift" {
  description = "Let Karpenter respect ARC zonal shifts of the cluster (settings.enableZonalShift): adds the read-only arc-zonal-shift permission and sets the chart value."
  type        = bool
  default     = false
}

variable "install_manifests" {
  description = "Apply the NodePool and EC2NodeClass with the kubernetes provider's kubernetes_manifest. The Karpenter chart (and so its CRDs) must already be installed and the calling module must configure the kubernetes provider for the cluster: kubernetes_manifest reads the CRDs' schemas at plan time. Off: take the node_pool_yaml and node_class_yaml outputs to your GitOps tool."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every AWS resource, and for the nodes' EC2 resources (EC2NodeClass tags)."
  type        = map(string)
  default     = {}

  validation {
    # Karpenter's own tags, which it refuses in an EC2NodeClass
    # (karpenter.k8s.aws_ec2nodeclasses.yaml, spec.tags validations).
    condition     = alltrue([for k, v in var.tags : !(startswith(k, "kubernetes.io/cluster/") || contains(["karpenter.sh/nodepool", "karpenter.sh/nodeclaim", "karpenter.k8s.aws/ec2nodeclass", "eks:eks-cluster-name"], k))])
    error_message = "tags may not set kubernetes.io/cluster/*, karpenter.sh/nodepool, karpenter.sh/nodeclaim, karpenter.k8s.aws/ec2nodeclass or eks:eks-cluster-name: Karpenter sets them on the nodes and scopes its permissions by them."
  }
}
