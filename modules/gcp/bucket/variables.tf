variable "project_id" {
  description = "The Google Cloud project the bucket is created in."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project ID: 6-30 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "name" {
  description = "Globally unique bucket name (Front50's persistent storage, backups)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", var.name)) && !startswith(var.name, "goog")
    error_message = "name must be 3-63 lower-case letters, digits, hyphens or underscores, start and end with a letter or digit, and not start with \"goog\"."
  }
}

variable "location" {
  description = "Bucket location: a region (europe-west1), a dual-region (EUR4) or a multi-region (EU)."
  type        = string
}

variable "storage_class" {
  description = "Default storage class of new objects."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"], var.storage_class)
    error_message = "storage_class must be STANDARD, NEARLINE, COLDLINE or ARCHIVE."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Delete an object version this many days after it stopped being the live version."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && floor(var.noncurrent_version_retention_days) == var.noncurrent_version_retention_days
    error_message = "noncurrent_version_retention_days must be a whole number of days, at least 1."
  }
}

variable "noncurrent_versions_to_keep" {
  description = "Keep at most this many older versions of an object, regardless of age; null keeps all within the retention."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_versions_to_keep == null || try(var.noncurrent_versions_to_keep >= 1, false)
    error_message = "noncurrent_versions_to_keep must be at least 1 (or null)."
  }
}

variable "soft_delete_retention_days" {
  description = "Days a deleted object stays recoverable (soft delete); 0 turns soft delete off, otherwise 7-90."
  type        = number
  default     = 7

  validation {
    condition     = var.soft_delete_retention_days == 0 || (var.soft_delete_retention_days >= 7 && var.soft_delete_retention_days <= 90)
    error_message = "soft_delete_retention_days must be 0 or between 7 and 90."
  }
}

variable "kms_key_name" {
  description = "Cloud KMS key for default encryption (CMEK); null uses Google-managed encryption."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_name == null || can(regex("^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$", var.kms_key_name))
    error_message = "kms_key_name must be a key name such as projects/P/locations/L/keyRings/R/cryptoKeys/K."
  }
}

variable "object_admins" {
  description = "Members granted roles/storage.objectAdmin on the bucket, by a short name known at plan time (the members themselves, e.g. serviceAccount:EMAIL of a service account created in the same plan, may not be)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for m in values(var.object_admins) : can(regex("^(serviceAccount|user|group|principal|principalSet):", m))])
    error_message = "object_admins values must be IAM members such as serviceAccount:NAME@PROJECT.iam.gserviceaccount.com."
  }
}

variable "object_viewers" {
  description = "Members granted roles/storage.objectViewer on the bucket, by a short name known at plan time (the members themselves, e.g. serviceAccount:EMAIL of a service account created in the same plan, may not be)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for m in values(var.object_viewers) : can(regex("^(serviceAccount|user|group|principal|principalSet):", m))])
    error_message = "object_viewers values must be IAM members such as serviceAccount:NAME@PROJECT.iam.gserviceaccount.com."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete the bucket with its objects. Keep false for production data."
  type        = bool
  default     = false
}

variable "labels" {
  description = "Labels for the bucket."
  type        = map(string)
  default     = {}
}
