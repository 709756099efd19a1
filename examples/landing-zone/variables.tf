variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the Spinnaker installation."
  type        = string
  default     = "spinnaker"
}

variable "spinnaker_account_id" {
  description = "The tooling account Spinnaker runs in."
  type        = string
  default     = "111111111111"
}

variable "backup_account_id" {
  description = "The account holding the replica of Front50's bucket, out of reach of the tooling account's admins."
  type        = string
  default     = "444444444444"
}

variable "target_accounts" {
  description = "Accounts Spinnaker deploys to, by Spinnaker account name. Each gets a managed role; add a provider alias and a module block per account."
  type        = map(string)
  default = {
    staging    = "222222222222"
    production = "333333333333"
  }

  validation {
    condition     = alltrue([for id in values(var.target_accounts) : can(regex("^[0-9]{12}$", id))])
    error_message = "target_accounts values must be 12-digit AWS account IDs."
  }
}

variable "account_access_role" {
  description = "The role Terraform assumes in each member account (AWS Organizations' default)."
  type        = string
  default     = "OrganizationAccountAccessRole"
}

variable "source_role_name" {
  description = "Name of the managing (source) role in the tooling account."
  type        = string
  default     = "spinnaker-managing"
}

variable "managed_role_name" {
  description = "Name of the managed role in every target account."
  type        = string
  default     = "spinnakerManaged"
}

variable "external_id" {
  description = "sts:ExternalId the managed roles require (configure the same on Spinnaker's AWS accounts)."
  type        = string
  default     = "spinnaker-example"
}
