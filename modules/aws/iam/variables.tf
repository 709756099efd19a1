variable "name_prefix" {
  description = "Prefix of the role names (NAME_PREFIX-front50, NAME_PREFIX-backup, ...), e.g. the cluster's name."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9+=,.@_-]{0,40}$", var.name_prefix))
    error_message = "name_prefix must be 1-41 characters valid in IAM role names, starting with a letter."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider (the eks module's oidc_provider_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/.+$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be an IAM OIDC provider ARN (arn:aws:iam::123456789012:oidc-provider/oidc.eks.REGION.amazonaws.com/id/ID)."
  }
}

variable "oidc_provider" {
  description = "The cluster's OIDC issuer without https:// (the eks module's oidc_provider): the prefix of the trust conditions."
  type        = string

  validation {
    condition     = !startswith(var.oidc_provider, "https://") && length(var.oidc_provider) > 0
    error_message = "oidc_provider is the issuer without the https:// scheme, e.g. oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF."
  }
}

variable "namespaces" {
  description = "Kubernetes namespaces Spinnaker's service accounts live in: one per zone (e.g. spinnaker-red, spinnaker-green); every role trusts its service accounts in each."
  type        = list(string)
  default     = ["spinnaker"]

  validation {
    condition     = length(var.namespaces) > 0 && alltrue([for n in var.namespaces : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", n))])
    error_message = "namespaces must be one or more Kubernetes namespace names (DNS-1123 labels)."
  }
}

variable "front50_bucket_arn" {
  description = "ARN of Front50's bucket (the bucket module's bucket_arn): Front50 reads and writes it, the backup job reads it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.front50_bucket_arn))
    error_message = "front50_bucket_arn must be a bucket ARN (arn:aws:s3:::NAME)."
  }
}

variable "backup_bucket_arn" {
  description = "ARN of the bucket spinops backups are written to; null uses front50_bucket_arn (backups under their own prefix)."
  type        = string
  default     = null

  validation {
    condition     = var.backup_bucket_arn == null || can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", coalesce(var.backup_bucket_arn, "x")))
    error_message = "backup_bucket_arn must be a bucket ARN (arn:aws:s3:::NAME) or null."
  }
}

variable "kms_key_arns" {
  description = "KMS keys of SSE-KMS encrypted buckets; the roles may encrypt and decrypt with them."
  type        = list(string)
  default     = []
}

variable "front50_service_account" {
  description = "Front50's Kubernetes service account."
  type        = string
  default     = "front50"
}

variable "backup_service_account" {
  description = "The spinops backup CronJob's service account (spinops_backup_policy)."
  type        = string
  default     = "spinops-backup"
}

variable "source_role_service_accounts" {
  description = "Service accounts that run as the managing (source) role, which spinops_iam_source_role creates: the source_role_eks_oidc output lists them for its trust."
  type        = list(string)
  default     = ["clouddriver", "rosco"]
}

variable "additional_roles" {
  description = "More IRSA roles by short name: the service accounts (in each of namespaces) that may assume the role, an inline policy document and managed policy ARNs."
  type = map(object({
    service_accounts = list(string)
    policy_json      = optional(string)
    policy_arns      = optional(list(string), [])
  }))
  default = {}

  validation {
    condition     = alltrue([for k, r in var.additional_roles : length(r.service_accounts) > 0 && !contains(["front50", "backup"], k)])
    error_message = "additional_roles need at least one service account each, and may not be named front50 or backup."
  }
}

variable "tags" {
  description = "Tags for every role."
  type        = map(string)
  default     = {}
}
