variable "bucket" {
  description = "Globally unique name of the bucket (Front50's persistent storage, spinops backups)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket)) && !strcontains(var.bucket, "..") && !can(regex("^[0-9.]+$", var.bucket))
    error_message = "bucket must be 3-63 lower-case letters, digits, dots or hyphens, start and end with a letter or digit, and not look like an IP address."
  }
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS (with an S3 bucket key); null uses SSE-S3 (AES256). Objects are always encrypted."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", coalesce(var.kms_key_arn, "x")))
    error_message = "kms_key_arn must be a KMS key or alias ARN."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Delete an object version this many days after it stopped being the current one."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of days, at least 1."
  }
}

variable "noncurrent_versions_to_keep" {
  description = "Keep this many newest noncurrent versions of each object even past the expiration; null keeps none beyond it."
  type        = number
  default     = 10

  validation {
    condition     = var.noncurrent_versions_to_keep == null || try(var.noncurrent_versions_to_keep >= 1 && var.noncurrent_versions_to_keep <= 100, false)
    error_message = "noncurrent_versions_to_keep must be between 1 and 100 (or null)."
  }
}

variable "noncurrent_version_transition_days" {
  description = "Move noncurrent versions to STANDARD_IA after this many days (at least 30); null keeps them in STANDARD."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_transition_days == null || try(var.noncurrent_version_transition_days >= 30, false)
    error_message = "noncurrent_version_transition_days must be at least 30 (S3's minimum for STANDARD_IA), or null."
  }
}

variable "replication" {
  description = "Replicate every object to a versioned bucket in another region or account. role_arn null creates the replication role. replica_kms_key_arn is needed when the destination is SSE-KMS encrypted."
  type = object({
    destination_bucket_arn = string
    role_arn               = optional(string)
    storage_class          = optional(string, "STANDARD")
    replica_kms_key_arn    = optional(string)
    destination_account_id = optional(string)
  })
  default = null

  validation {
    condition     = var.replication == null || can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", try(var.replication.destination_bucket_arn, "")))
    error_message = "replication.destination_bucket_arn must be a bucket ARN (arn:aws:s3:::NAME)."
  }

  validation {
    condition     = var.replication == null || try(var.replication.destination_bucket_arn != "arn:aws:s3:::${var.bucket}", true)
    error_message = "A bucket cannot replicate to itself."
  }
}

variable "additional_policy_json" {
  description = "A policy document whose statements are added to the bucket policy (which always denies requests without TLS), e.g. to let another account's replication role write to a replica."
  type        = string
  default     = null

  validation {
    condition     = var.additional_policy_json == null || can(jsondecode(var.additional_policy_json).Statement)
    error_message = "additional_policy_json must be a policy document (JSON with a Statement list)."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy empty the bucket first. Keep false for production data."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
