variable "name" {
  description = "Name of the managed role in the target account (what Spinnaker's AWS account's assumeRole names, e.g. spinnakerManaged)."
  type        = string
  default     = "spinnakerManaged"

  validation {
    condition     = can(regex("^[\\w+=,.@-]{1,64}$", var.name))
    error_message = "name must be 1-64 characters valid in IAM role names."
  }
}

variable "path" {
  description = "Path of the role."
  type        = string
  default     = "/"

  validation {
    condition     = can(regex("^/([\\w+=,.@-]+/)*$", var.path))
    error_message = "path must be / or /something/."
  }
}

variable "trust_policy_json" {
  description = "The trust policy: data.spinops_iam_managed_role_policy's trust_policy_json (lets the source role assume this one)."
  type        = string

  validation {
    condition     = can(jsondecode(var.trust_policy_json).Statement)
    error_message = "trust_policy_json must be a policy document (JSON with a Statement)."
  }
}

variable "policy_json" {
  description = "The inline policy: data.spinops_iam_managed_role_policy's policy_json (iam:PassRole, certificate listing, the baseline's actions)."
  type        = string

  validation {
    condition     = can(jsondecode(var.policy_json).Statement)
    error_message = "policy_json must be a policy document (JSON with a Statement)."
  }
}

variable "managed_policy_arns" {
  description = "AWS managed policies to attach: data.spinops_iam_managed_role_policy's managed_policy_arns (PowerUserAccess for the power_user baseline)."
  type        = list(string)
  default     = []
}

variable "max_session_duration" {
  description = "Maximum session length in seconds (3600-43200)."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be between 3600 and 43200 seconds."
  }
}

variable "permissions_boundary" {
  description = "ARN of a permissions boundary for the role; null sets none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags of the role."
  type        = map(string)
  default     = {}
}
