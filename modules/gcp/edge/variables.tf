variable "project_id" {
  description = "The Google Cloud project of the load balancers, the security policy and the firewall rules."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project ID: 6-30 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "name" {
  description = "Prefix of every resource's name (address, certificate, backend services, URL maps, proxies, forwarding rules, security policy, firewall rules)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", var.name))
    error_message = "name must be 1-40 lower-case letters, digits or hyphens, start with a letter and not end with a hyphen (resource names get suffixes of up to 23 characters and Google Cloud allows 63)."
  }
}

variable "network" {
  description = "The VPC network of the GKE nodes (the network module's network_id): the firewall rules that admit Google's front ends, health checkers and the bridge's agents go there."
  type        = string

  validation {
    condition     = length(trimspace(var.network)) > 0
    error_message = "network must name the nodes' VPC network, e.g. the network module's network_id (projects/P/global/networks/N)."
  }
}

variable "target_tags" {
  description = "Network tags of the GKE nodes (the network module's internal_tag): the firewall rules apply to them, and so to the pods on their alias ranges."
  type        = list(string)

  validation {
    condition     = length(var.target_tags) > 0
    error_message = "target_tags must name at least one network tag of the GKE nodes (the network module's internal_tag): without one the firewall rules would apply to every VM in the network."
  }

  validation {
    condition     = alltrue([for t in var.target_tags : can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", t))])
    error_message = "target_tags must be network tags: lower-case letters, digits or hyphens, starting with a letter, at most 63 characters."
  }
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
  description = "Name of Gate (the API), e.g. api.spinnaker.example.com; Deck's browser sessions and OAuth callbacks use it."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.gate_domain))
    error_message = "gate_domain must be a lower-case DNS name such as api.spinnaker.example.com."
  }

  validation {
    condition     = var.gate_domain != var.deck_domain
    error_message = "gate_domain and deck_domain must differ: the URL map routes between Deck and Gate by host name."
  }
}

variable "user_source_ranges" {
  description = "CIDR blocks (IPv4 or IPv6) allowed to reach Deck and Gate. The Cloud Armor policy allows these and denies everything else with 403. Use [\"0.0.0.0/0\", \"::/0\"] to open them to everyone."
  type        = list(string)

  validation {
    condition     = length(var.user_source_ranges) > 0
    error_message = "user_source_ranges must list at least one range: the security policy denies everything it does not allow (give [\"0.0.0.0/0\", \"::/0\"] to open Deck and Gate to everyone)."
  }

  validation {
    condition     = alltrue([for c in var.user_source_ranges : can(cidrhost(c, 0))])
    error_message = "user_source_ranges must be CIDR blocks such as 203.0.113.0/24 or 2001:db8::/32."
  }

  validation {
    condition     = length(distinct(var.user_source_ranges)) <= 100
    error_message = "user_source_ranges may hold at most 100 ranges: a Cloud Armor rule matches at most 10, and the module keeps to 10 such rules; summarise them into larger blocks."
  }
}

variable "neg_zones" {
  description = <<-EOT
    Zones of the GKE nodes (the cluster's node_locations), where GKE's NEG controller creates the Deck and Gate NEGs.
    The backend services reference the NEGs by name in these zones, so the NEGs must exist when they are attached: give []
    on the first apply (the load balancer is created without backends), annotate the Services (`service_annotations`
    output), then set the zones the Services' `cloud.google.com/neg-status` annotation lists.
  EOT
  type        = list(string)

  validation {
    condition     = alltrue([for z in var.neg_zones : can(regex("^[a-z]+-[a-z]+[0-9]+-[a-z]$", z))])
    error_message = "neg_zones must be zones such as europe-west1-b (not regions)."
  }

  validation {
    condition     = length(distinct(var.neg_zones)) == length(var.neg_zones)
    error_message = "neg_zones must not repeat a zone: a backend service takes each NEG once."
  }
}

variable "neg_names" {
  description = "Names of the standalone NEGs GKE's NEG controller creates for Deck's and Gate's Services (the same name in every zone); null uses NAME-deck and NAME-gate. The Services' cloud.google.com/neg annotation must name them (`service_annotations` output)."
  type = object({
    deck = optional(string)
    gate = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for n in [var.neg_names.deck, var.neg_names.gate] : n == null || can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", n))])
    error_message = "neg_names.deck and neg_names.gate must be 1-63 lower-case letters, digits or hyphens, start with a letter and not end with a hyphen."
  }

  validation {
    condition     = var.neg_names.deck == null || var.neg_names.deck != var.neg_names.gate
    error_message = "neg_names.deck and neg_names.gate must differ: each Service gets its own NEG."
  }
}

variable "service_ports" {
  description = "Ports of Deck's and Gate's Kubernetes Services that the cloud.google.com/neg annotation exposes (the keys of its exposed_ports): the operator's ClusterIP Services listen on 9000 and 8084."
  type = object({
    deck = optional(number, 9000)
    gate = optional(number, 8084)
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for p in [var.service_ports.deck, var.service_ports.gate] : p >= 1 && p <= 65535 && floor(p) == p])
    error_message = "service_ports.deck and service_ports.gate must be ports (1-65535)."
  }
}

variable "target_ports" {
  description = "Container ports of Deck and Gate (the NEG endpoints' ports: the Services' targetPorts). The firewall rule opens exactly these to Google's front ends and health checkers."
  type = object({
    deck = optional(number, 9000)
    gate = optional(number, 8084)
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for p in [var.target_ports.deck, var.target_ports.gate] : p >= 1 && p <= 65535 && floor(p) == p])
    error_message = "target_ports.deck and target_ports.gate must be ports (1-65535)."
  }
}

variable "max_rate_per_endpoint" {
  description = "Requests per second each Deck or Gate pod is given before the load balancer prefers others (RATE balancing, the mode NEG backends of an Application Load Balancer use)."
  type        = number
  default     = 100

  validation {
    condition     = var.max_rate_per_endpoint > 0
    error_message = "max_rate_per_endpoint must be a positive number of requests per second."
  }
}

variable "backend_timeout_sec" {
  description = "How long the load balancer waits for a response from Deck or Gate (and the longest a WebSocket stays open)."
  type        = number
  default     = 120

  validation {
    condition     = var.backend_timeout_sec >= 1 && var.backend_timeout_sec <= 86400 && floor(var.backend_timeout_sec) == var.backend_timeout_sec
    error_message = "backend_timeout_sec must be a whole number of seconds between 1 and 86400."
  }
}

variable "ssl_certificates" {
  description = "Existing SSL certificates (self links or IDs) covering deck_domain and gate_domain; empty creates a Google-managed certificate for both names."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "ssl_policy_profile" {
  description = "Profile of the HTTPS proxy's SSL policy (TLS 1.2 or later always)."
  type        = string
  default     = "MODERN"

  validation {
    condition     = contains(["COMPATIBLE", "MODERN", "RESTRICTED"], var.ssl_policy_profile)
    error_message = "ssl_policy_profile must be COMPATIBLE, MODERN or RESTRICTED."
  }
}

variable "waf" {
  description = <<-EOT
    Cloud Armor's preconfigured WAF rules, evaluated before the source-range rules (a match is denied with 403 even from an allowed range).

    * `enabled`: add them.
    * `rules`: preconfigured rule sets by name, e.g. sqli-v33-stable, xss-v33-stable.
    * `sensitivity`: 1 (fewest false positives) to 4.
    * `preview`: only log what would be denied. On by default: Gate's API takes pipeline JSON with SpEL expressions and
      shell scripts, which the xss and rce signatures can match; read the `preview` log entries, then turn it off.
  EOT
  type = object({
    enabled     = optional(bool, true)
    rules       = optional(list(string), ["sqli-v33-stable", "xss-v33-stable"])
    sensitivity = optional(number, 1)
    preview     = optional(bool, true)
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for r in var.waf.rules : can(regex("^[a-z]+-v[0-9]+-(stable|canary)$", r))])
    error_message = "waf.rules must be Cloud Armor preconfigured rule sets such as sqli-v33-stable or xss-v33-canary."
  }

  validation {
    condition     = !var.waf.enabled || length(var.waf.rules) > 0
    error_message = "waf.rules must name at least one rule set when waf.enabled is true (or set waf.enabled = false)."
  }

  validation {
    condition     = contains([1, 2, 3, 4], var.waf.sensitivity)
    error_message = "waf.sensitivity must be 1, 2, 3 or 4."
  }
}

variable "dns_managed_zone" {
  description = "Cloud DNS managed zone (its name, not its DNS name) to create A records for deck_domain and gate_domain (and bridge.domain) in; null creates none."
  type        = string
  default     = null

  validation {
    condition     = var.dns_managed_zone == null || can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", coalesce(var.dns_managed_zone, "x")))
    error_message = "dns_managed_zone must be a managed zone's name (lower-case letters, digits or hyphens, e.g. spinnaker-example-com), not its DNS name."
  }
}

variable "dns_project_id" {
  description = "Project of dns_managed_zone; null uses project_id."
  type        = string
  default     = null
}

variable "dns_ttl" {
  description = "TTL of the A records, in seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.dns_ttl >= 0 && floor(var.dns_ttl) == var.dns_ttl
    error_message = "dns_ttl must be a whole number of seconds."
  }
}

variable "labels" {
  description = "Labels for the resources that take them (addresses, forwarding rules)."
  type        = map(string)
  default     = {}
}

variable "bridge" {
  description = <<-EOT
    The spinops bridge's gRPC port for agents in other networks (off by default), as a regional external passthrough
    Network Load Balancer that GKE builds from the bridge's Service of type LoadBalancer: TLS passes through to the bridge,
    which terminates it and checks agent credentials and client certificates. The module reserves the address, adds
    firewall rules that let only `allowed_cidrs` reach it, and a DNS record; pass `bridge_service` to spinops_bridge's
    grpc_service.

    * `enabled`: create it.
    * `region`: region of the address: the GKE cluster's region; required when enabled.
    * `allowed_cidrs`: IPv4 ranges the agents connect from (their clusters' NAT or egress addresses, plus where Terraform
      runs); required when enabled.
    * `domain`: a name in dns_managed_zone to point at the address, e.g. bridge.spinnaker.example.com; null makes none.
      The bridge's serving certificate must name it.
    * `listener_port`: the Service's port (443).
  EOT
  type = object({
    enabled       = optional(bool, false)
    region        = optional(string)
    allowed_cidrs = optional(list(string), [])
    domain        = optional(string)
    listener_port = optional(number, 443)
  })
  default  = {}
  nullable = false

  validation {
    condition     = !var.bridge.enabled || var.bridge.region != null
    error_message = "bridge.region must be the GKE cluster's region (e.g. europe-west1): a passthrough load balancer's address is regional."
  }

  validation {
    condition     = var.bridge.region == null || can(regex("^[a-z]+-[a-z]+[0-9]+$", coalesce(var.bridge.region, "-")))
    error_message = "bridge.region must be a region such as europe-west1 (not a zone)."
  }

  validation {
    condition     = !var.bridge.enabled || length(var.bridge.allowed_cidrs) > 0
    error_message = "bridge.allowed_cidrs must list the ranges the agents connect from (their clusters' NAT or egress addresses): the firewall denies everyone else."
  }

  validation {
    condition     = alltrue([for c in var.bridge.allowed_cidrs : can(cidrnetmask(c))])
    error_message = "bridge.allowed_cidrs must be IPv4 CIDRs such as 203.0.113.0/24 (the passthrough load balancer's address is IPv4)."
  }

  validation {
    condition     = !contains(var.bridge.allowed_cidrs, "0.0.0.0/0")
    error_message = "bridge.allowed_cidrs must not contain 0.0.0.0/0: list the agents' egress ranges; the bridge's port is not for everyone."
  }

  validation {
    condition     = var.bridge.domain == null || can(regex("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", coalesce(var.bridge.domain, "-")))
    error_message = "bridge.domain must be a lower-case DNS name such as bridge.spinnaker.example.com."
  }

  validation {
    condition     = var.bridge.domain == null || !contains([var.deck_domain, var.gate_domain], coalesce(var.bridge.domain, "-"))
    error_message = "bridge.domain needs its own name: it points at the bridge's passthrough load balancer, not at Deck's and Gate's."
  }

  validation {
    condition     = var.bridge.listener_port >= 1 && var.bridge.listener_port <= 65535 && floor(var.bridge.listener_port) == var.bridge.listener_port
    error_message = "bridge.listener_port must be a port (1-65535)."
  }
}
