variable "name" {
  description = "Prefix of the load balancers' and target groups' names."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9-]{0,15}$", var.name)) && !endswith(var.name, "-")
    error_message = "name must be 1-16 letters, digits or hyphens (target group names built from it are limited to 32 characters), not ending with a hyphen."
  }
}

variable "vpc_id" {
  description = "VPC of the target groups (the network module's vpc_id)."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the load balancers, in at least two AZs: the network module's public_subnet_ids (or private_subnet_ids with internal = true)."
  type        = list(string)

  validation {
    condition     = length(distinct(var.subnet_ids)) >= 2
    error_message = "subnet_ids must name at least two subnets in different AZs: an ALB requires two."
  }
}

variable "security_group_ids" {
  description = "Security groups of both load balancers: the network module's user_facing_security_group_id (Deck 80/443, Gate 8084/443 from the allowed CIDRs) and internal_security_group_id (so they reach their targets as members of the internal group)."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) > 0
    error_message = "The load balancers need security groups: the user-facing and the internal group."
  }
}

variable "internal" {
  description = "Make both load balancers internal (reachable from the VPC and connected networks only)."
  type        = bool
  default     = false
}

variable "zone_id" {
  description = "Route 53 hosted zone of the three names (and of the certificate's DNS validation records)."
  type        = string
}

variable "deck_domain" {
  description = "Name users open Deck (the UI) at, e.g. spinnaker.example.com."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.deck_domain))
    error_message = "deck_domain must be a lower-case DNS name such as spinnaker.example.com."
  }
}

variable "gate_domain" {
  description = "Name of Gate (the API) behind the ALB, e.g. api.spinnaker.example.com; Deck's browser sessions and OAuth callbacks use it."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.gate_domain))
    error_message = "gate_domain must be a lower-case DNS name such as api.spinnaker.example.com."
  }

  validation {
    condition     = var.gate_domain != var.deck_domain
    error_message = "gate_domain and deck_domain must differ: the ALB routes between Deck and Gate by host name."
  }
}

variable "gate_x509_domain" {
  description = "Name of Gate's x509 endpoint behind the NLB (TLS passes through to Gate, which checks the client certificate), e.g. x509.spinnaker.example.com; the spin CLI and pipelines' webhooks use it."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.gate_x509_domain))
    error_message = "gate_x509_domain must be a lower-case DNS name such as x509.spinnaker.example.com."
  }

  validation {
    condition     = !contains([var.deck_domain, var.gate_domain], var.gate_x509_domain)
    error_message = "gate_x509_domain needs its own name: it points at the NLB, not the ALB."
  }
}

variable "gate_x509_listener_port" {
  description = "Port of the NLB's x509 listener; one of the ports the user-facing security group opens for Gate (8084 or 443)."
  type        = number
  default     = 8084

  validation {
    condition     = contains([8084, 443], var.gate_x509_listener_port)
    error_message = "gate_x509_listener_port must be 8084 or 443: the user-facing security group opens nothing else to Gate."
  }
}

variable "certificate_arn" {
  description = "An existing ACM certificate covering the three names; null requests one, validated through Route 53."
  type        = string
  default     = null
}

variable "ssl_policy" {
  description = "TLS policy of the ALB's HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "target_ports" {
  description = "Container ports the target groups send to (pod IPs registered by the AWS Load Balancer Controller's TargetGroupBinding): Deck, Gate, and Gate's x509 listener."
  type = object({
    deck      = optional(number, 9000)
    gate      = optional(number, 8084)
    gate_x509 = optional(number, 8085)
  })
  default = {}
}

variable "access_logs_bucket" {
  description = "S3 bucket for the ALB's access logs; null turns them off."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Refuse deletion of the load balancers in the ELB API."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
