variable "project_id" {
  description = "Google Cloud project of the installation."
  type        = string
  default     = "example-spinnaker"
}

variable "region" {
  description = "Region of the network, cluster and database."
  type        = string
  default     = "europe-west1"
}

variable "spinnaker_version" {
  description = "The Spinnaker version the zones run."
  type        = string
  default     = "1.35.3"
}

variable "domain" {
  description = "Deck is at DOMAIN, Gate at api.DOMAIN."
  type        = string
  default     = "spinnaker.example.com"
}

variable "db_password" {
  description = "Password of Spinnaker's database user: written to Cloud SQL and to Spinnaker, stored nowhere (pass it with TF_VAR_db_password or from an ephemeral resource)."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "db_password_version" {
  description = "Bump to push a new db_password."
  type        = number
  default     = 1
}

variable "name" {
  description = "Name of the installation: network, cluster, database and service account names derive from it."
  type        = string
  default     = "spinnaker"
}

variable "cidr" {
  description = "The one range nodes, pods, Services and private services access are computed from."
  type        = string
  default     = "10.60.0.0/16"
}

variable "user_source_ranges" {
  description = "Where users and API clients connect from (Deck 80/443, Gate 8084/443)."
  type        = list(string)
  default     = ["203.0.113.0/24"]
}

variable "admin_ranges" {
  description = "Ranges allowed to reach the cluster's control plane (where Terraform runs)."
  type        = list(string)
  default     = ["198.51.100.0/24"]
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

variable "labels" {
  description = "Labels for everything that takes them."
  type        = map(string)
  default = {
    project    = "spinnaker"
    managed-by = "terraform"
  }
}
