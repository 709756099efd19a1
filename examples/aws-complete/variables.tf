variable "region" {
  description = "AWS region of the installation."
  type        = string
  default     = "eu-west-1"
}

variable "spinnaker_version" {
  description = "The Spinnaker version the zones run."
  type        = string
  default     = "1.35.3"
}

variable "name" {
  description = "Name of the installation: VPC, cluster, database and role names derive from it."
  type        = string
  default     = "spinnaker"
}

variable "azs" {
  description = "Availability zones (at least two)."
  type        = list(string)
  default     = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
}

variable "cidr" {
  description = "The VPC's range; every subnet is computed from it."
  type        = string
  default     = "10.40.0.0/16"
}

variable "user_cidr_blocks" {
  description = "Where users and API clients connect from (Deck 80/443, Gate 8084/443)."
  type        = list(string)
  default     = ["203.0.113.0/24"]
}

variable "zone_id" {
  description = "Route 53 hosted zone of the names below."
  type        = string
  default     = "Z0123456789EXAMPLE"
}

variable "domain" {
  description = "Deck is at DOMAIN, Gate at api.DOMAIN, Gate's x509 endpoint at x509.DOMAIN."
  type        = string
  default     = "spinnaker.example.com"
}

variable "front50_bucket" {
  description = "Globally unique name of Front50's bucket."
  type        = string
  default     = "example-spinnaker-front50"
}

variable "backup_bucket" {
  description = "Globally unique name of the bucket spinops backups go to."
  type        = string
  default     = "example-spinnaker-backups"
}

variable "admin_principal_arn" {
  description = "The IAM role Terraform (and so the spinops provider) runs as: it becomes cluster admin through an EKS access entry."
  type        = string
  default     = "arn:aws:iam::123456789012:role/spinops-terraform"
}

variable "managed_role_arns" {
  description = "Managed roles in the target accounts Spinnaker deploys to (see examples/landing-zone)."
  type        = list(string)
  default = [
    "arn:aws:iam::222222222222:role/spinnakerManaged",
    "arn:aws:iam::333333333333:role/spinnakerManaged",
  ]
}

variable "tags" {
  description = "Tags for everything."
  type        = map(string)
  default = {
    Project   = "spinnaker"
    ManagedBy = "terraform"
  }
}
