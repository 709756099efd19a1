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
