variable "project_id" {
  description = "The Google Cloud project of the cluster."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project ID: 6-30 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "name" {
  description = "Name of the cluster; also the prefix of its service accounts."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,18}[a-z0-9])?$", var.name))
    error_message = "name must be 1-20 lower-case letters, digits or hyphens, start with a letter and not end with a hyphen (service account IDs built from it are limited to 30 characters)."
  }
}

variable "region" {
  description = "Region of the cluster. The cluster is regional: its control plane and nodes span the region's zones."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 (a regional cluster, not a zonal one)."
  }
}

variable "node_locations" {
  description = "Zones of the nodes; null uses every zone of the region (usually three). At least two zones in the cluster's region."
  type        = list(string)
  default     = null

  validation {
    condition     = var.node_locations == null || try(length(distinct(var.node_locations)) >= 2, false)
    error_message = "node_locations must name at least two distinct zones: one zone is not highly available."
  }

  validation {
    condition     = var.node_locations == null || alltrue([for z in coalesce(var.node_locations, []) : startswith(z, "${var.region}-")])
    error_message = "Every zone in node_locations must be in the cluster's region."
  }
}

variable "network" {
  description = "ID or self link of the VPC network (the network module's network_id)."
  type        = string
}

variable "subnetwork" {
  description = "ID or self link of the subnet with the pods and services secondary ranges (the network module's subnet_id)."
  type        = string
}

variable "pods_range_name" {
  description = "Name of the subnet's secondary range for pods."
  type        = string
}

variable "services_range_name" {
  description = "Name of the subnet's secondary range for Services."
  type        = string
}

variable "network_tags" {
  description = "Network tags of the nodes, e.g. the network module's internal_tag so the internal and database firewall rules apply."
  type        = list(string)
  default     = []
}

variable "release_channel" {
  description = "GKE release channel the control plane and nodes follow."
  type        = string
  default     = "REGULAR"

  validation {
    condition     = contains(["RAPID", "REGULAR", "STABLE", "EXTENDED"], var.release_channel)
    error_message = "release_channel must be RAPID, REGULAR, STABLE or EXTENDED."
  }
}

variable "kubernetes_version" {
  description = "Minimum control-plane version (e.g. 1.33); null lets the release channel decide."
  type        = string
  default     = null
}

variable "enable_private_endpoint" {
  description = "Reach the control plane only on its private endpoint (from the VPC or a peered network)."
  type        = bool
  default     = false
}

variable "master_ipv4_cidr_block" {
  description = "The /28 the control plane's private endpoint lives in; must not overlap the network's ranges."
  type        = string
  default     = "172.16.0.0/28"

  validation {
    condition     = can(cidrhost(var.master_ipv4_cidr_block, 0)) && endswith(var.master_ipv4_cidr_block, "/28")
    error_message = "master_ipv4_cidr_block must be an IPv4 /28."
  }
}

variable "master_authorized_networks" {
  description = "Ranges allowed to reach the control plane's endpoint. Empty: only the VPC itself."
  type = list(object({
    cidr_block   = string
    display_name = optional(string)
  }))
  default = []

  validation {
    condition     = alltrue([for n in var.master_authorized_networks : can(cidrhost(n.cidr_block, 0))])
    error_message = "master_authorized_networks must carry CIDR blocks."
  }
}

variable "node_pools" {
  description = "Node pools by name. Autoscaling is regional: the totals are spread across node_locations. The default is three n2-standard-8 nodes (8 vCPU, 32 GB: the m5.2xlarge class), growing to nine."
  type = map(object({
    machine_type         = optional(string, "n2-standard-8")
    total_min_node_count = optional(number, 3)
    total_max_node_count = optional(number, 9)
    disk_size_gb         = optional(number, 100)
    disk_type            = optional(string, "pd-balanced")
    spot                 = optional(bool, false)
    labels               = optional(map(string), {})
    taints = optional(list(object({
      key    = string
      value  = string
      effect = string
    })), [])
  }))
  default = {
    default = {}
  }

  validation {
    condition     = length(var.node_pools) > 0
    error_message = "At least one node pool is needed."
  }

  validation {
    condition     = alltrue([for p in var.node_pools : p.total_min_node_count >= 0 && p.total_max_node_count >= p.total_min_node_count && p.total_max_node_count > 0])
    error_message = "Every node pool needs 0 <= total_min_node_count <= total_max_node_count and total_max_node_count > 0."
  }

  validation {
    condition     = alltrue([for k, _ in var.node_pools : can(regex("^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", k))])
    error_message = "Node pool names must be lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "database_encryption_key" {
  description = "Cloud KMS key for application-layer encryption of Kubernetes Secrets; null leaves it off."
  type        = string
  default     = null
}

variable "workload_identity_service_accounts" {
  description = "Google service accounts for Spinnaker's Kubernetes service accounts (Workload Identity), by short name: the Kubernetes service account and the namespaces (one per zone) it may act as the Google account from, and project roles to grant. Bucket access is better granted on the bucket (the bucket module's object_admins)."
  type = map(object({
    namespaces      = optional(list(string), ["spinnaker"])
    service_account = string
    project_roles   = optional(list(string), [])
  }))
  default = {}

  validation {
    condition     = alltrue([for k, _ in var.workload_identity_service_accounts : can(regex("^[a-z]([-a-z0-9]*[a-z0-9])?$", k)) && length("${var.name}-${k}") <= 30])
    error_message = "Keys of workload_identity_service_accounts must be lower-case letters, digits or hyphens, short enough that NAME-KEY (the Google service account ID) has at most 30 characters."
  }
}

variable "deletion_protection" {
  description = "Refuse to destroy the cluster from Terraform."
  type        = bool
  default     = true
}

variable "maintenance_start_time" {
  description = "Start of the daily four-hour maintenance window, HH:MM in UTC."
  type        = string
  default     = "03:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_start_time))
    error_message = "maintenance_start_time must be HH:MM (24-hour, UTC)."
  }
}

variable "labels" {
  description = "Resource labels of the cluster and node pools."
  type        = map(string)
  default     = {}
}
