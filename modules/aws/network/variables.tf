variable "name" {
  description = "Name of the VPC; prefix of every resource's Name tag and of the security group names."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9-]{0,46}$", var.name))
    error_message = "name must be 1-47 letters, digits or hyphens, starting with a letter or digit."
  }
}

variable "cidr" {
  description = "The VPC's one IPv4 range (/16 to /20). Unless given explicitly, subnets are computed from it in fixed slots that never move when an AZ is added: private subnets take the first eighths (a /19 each from a /16), public and database subnets /22s (from a /16) in the last two eighths."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr, 0)) && !strcontains(var.cidr, ":")
    error_message = "cidr must be an IPv4 CIDR block such as 10.0.0.0/16."
  }

  validation {
    condition     = !can(cidrhost(var.cidr, 0)) || try(tonumber(split("/", var.cidr)[1]) >= 16 && tonumber(split("/", var.cidr)[1]) <= 20, false)
    error_message = "cidr must be between /16 and /20: a smaller VPC leaves the private subnets too few addresses for EKS pods (the VPC CNI gives every pod a VPC IP), and AWS allows no VPC larger than /16."
  }
}

variable "azs" {
  description = "Availability zones to spread the subnets over (one public, private and database subnet in each), e.g. [\"eu-west-1a\", \"eu-west-1b\", \"eu-west-1c\"]. 2 to 6."
  type        = list(string)

  validation {
    condition     = length(distinct(var.azs)) == length(var.azs) && length(var.azs) >= 2
    error_message = "azs must name at least two distinct availability zones: a single AZ cannot survive the zone's loss, and Aurora and EKS require two."
  }

  validation {
    condition     = length(var.azs) <= 6
    error_message = "azs may name at most six availability zones."
  }
}

variable "public_subnets" {
  description = "Explicit CIDRs of the public subnets (load balancers, NAT gateways), one per AZ; empty computes them from cidr."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.public_subnets) == 0 || length(var.public_subnets) == length(var.azs)
    error_message = "public_subnets must be empty (computed) or give one CIDR per AZ."
  }

  validation {
    condition     = alltrue([for c in var.public_subnets : can(cidrhost(c, 0)) && !strcontains(c, ":")])
    error_message = "public_subnets must be IPv4 CIDR blocks."
  }
}

variable "private_subnets" {
  description = "Explicit CIDRs of the private subnets (EKS nodes and pods), one per AZ; empty computes them from cidr."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.private_subnets) == 0 || length(var.private_subnets) == length(var.azs)
    error_message = "private_subnets must be empty (computed) or give one CIDR per AZ."
  }

  validation {
    condition     = alltrue([for c in var.private_subnets : can(cidrhost(c, 0)) && !strcontains(c, ":")])
    error_message = "private_subnets must be IPv4 CIDR blocks."
  }
}

variable "database_subnets" {
  description = "Explicit CIDRs of the database subnets (Aurora; no route to the internet), one per AZ; empty computes them from cidr."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.database_subnets) == 0 || length(var.database_subnets) == length(var.azs)
    error_message = "database_subnets must be empty (computed) or give one CIDR per AZ."
  }

  validation {
    condition     = alltrue([for c in var.database_subnets : can(cidrhost(c, 0)) && !strcontains(c, ":")])
    error_message = "database_subnets must be IPv4 CIDR blocks."
  }

}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (cheaper) instead of one per AZ (egress survives the loss of an AZ)."
  type        = bool
  default     = false
}

variable "deck_ingress_cidr_blocks" {
  description = "IPv4 ranges allowed to reach Deck (the UI) on 80 and 443 through the user-facing security group."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.deck_ingress_cidr_blocks : can(cidrhost(c, 0)) && !strcontains(c, ":")])
    error_message = "deck_ingress_cidr_blocks must be IPv4 CIDR blocks such as 203.0.113.0/24."
  }
}

variable "gate_ingress_cidr_blocks" {
  description = "IPv4 ranges allowed to reach Gate (the API) on 8084 and 443 through the user-facing security group."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.gate_ingress_cidr_blocks : can(cidrhost(c, 0)) && !strcontains(c, ":")])
    error_message = "gate_ingress_cidr_blocks must be IPv4 CIDR blocks such as 203.0.113.0/24."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
