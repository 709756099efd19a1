variable "project_id" {
  description = "The Google Cloud project the network is created in."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project ID: 6-30 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "name" {
  description = "Name of the VPC network; also the prefix of the subnet, router, NAT, firewall rules and network tags."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", var.name))
    error_message = "name must be 1-40 lower-case letters, digits or hyphens, start with a letter and not end with a hyphen (resource names get suffixes of up to 23 characters)."
  }
}

variable "region" {
  description = "The region of the subnet, router and Cloud NAT (a regional GKE cluster and Cloud SQL instance live here too)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 or us-central1 (not a zone)."
  }
}

variable "cidr" {
  description = "The one IPv4 range every other range is computed from (unless given explicitly): nodes /+4 (slot 0), services /+4 (slot 1), private services access /+4 (slot 2), pods the upper half. Between /8 and /18."
  type        = string
  default     = "10.10.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr, 0)) && !strcontains(var.cidr, ":")
    error_message = "cidr must be an IPv4 CIDR block such as 10.10.0.0/16."
  }

  validation {
    condition     = !can(cidrhost(var.cidr, 0)) || try(tonumber(split("/", var.cidr)[1]) >= 8 && tonumber(split("/", var.cidr)[1]) <= 18, false)
    error_message = "cidr is too small (or too large): use a prefix between /8 and /18. A /18 leaves a /19 for pods (32 nodes at 110 pods each) and /22 ranges for nodes, services and private services access."
  }
}

variable "subnet_cidr" {
  description = "Primary range of the subnet (node IPs). Computed from cidr when null."
  type        = string
  default     = null

  validation {
    condition     = var.subnet_cidr == null || can(cidrhost(var.subnet_cidr, 0))
    error_message = "subnet_cidr must be an IPv4 CIDR block or null."
  }
}

variable "pods_cidr" {
  description = "Secondary range for pod IPs (VPC-native GKE). Computed from cidr when null."
  type        = string
  default     = null

  validation {
    condition     = var.pods_cidr == null || can(cidrhost(var.pods_cidr, 0))
    error_message = "pods_cidr must be an IPv4 CIDR block or null."
  }
}

variable "services_cidr" {
  description = "Secondary range for Kubernetes Service cluster IPs. Computed from cidr when null."
  type        = string
  default     = null

  validation {
    condition     = var.services_cidr == null || can(cidrhost(var.services_cidr, 0))
    error_message = "services_cidr must be an IPv4 CIDR block or null."
  }
}

variable "private_services_cidr" {
  description = "Range reserved for private services access (Cloud SQL private IP, Memorystore). Computed from cidr when null. At least a /24."
  type        = string
  default     = null

  validation {
    condition     = var.private_services_cidr == null || can(cidrhost(var.private_services_cidr, 0))
    error_message = "private_services_cidr must be an IPv4 CIDR block or null."
  }

}

variable "create_private_services_access" {
  description = "Reserve private_services_cidr and peer it with servicenetworking.googleapis.com, which Cloud SQL private IP needs. Turn off when the network's project already has the peering."
  type        = bool
  default     = true
}

variable "nat_ip_count" {
  description = "Number of static external IPs for Cloud NAT (so target APIs can allowlist Spinnaker's egress). 0 lets Google allocate them automatically."
  type        = number
  default     = 0

  validation {
    condition     = var.nat_ip_count >= 0 && var.nat_ip_count <= 16 && floor(var.nat_ip_count) == var.nat_ip_count
    error_message = "nat_ip_count must be a whole number between 0 and 16."
  }
}

variable "deck_source_ranges" {
  description = "IPv4 ranges allowed to reach Deck (the UI) on 80 and 443."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.deck_source_ranges : can(cidrhost(c, 0)) && !strcontains(c, ":")])
    error_message = "deck_source_ranges must be IPv4 CIDR blocks such as 203.0.113.0/24."
  }
}

variable "gate_source_ranges" {
  description = "IPv4 ranges allowed to reach Gate (the API) on 8084 and 443."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.gate_source_ranges : can(cidrhost(c, 0)) && !strcontains(c, ":")])
    error_message = "gate_source_ranges must be IPv4 CIDR blocks such as 203.0.113.0/24."
  }
}

variable "enable_flow_logs" {
  description = "Turn on VPC flow logs for the subnet."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels for the resources that take them (static NAT addresses)."
  type        = map(string)
  default     = {}
}
