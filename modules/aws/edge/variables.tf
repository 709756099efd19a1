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

variable "bridge" {
  description = <<-EOT
    A network load balancer for the spinops bridge's gRPC port, which agents in other networks dial (off by default):
    a TCP listener that passes TLS through to the bridge (the bridge terminates it and checks agent credentials or
    client certificates), IP targets on the bridge pods (bind them with a TargetGroupBinding, `bridge_target_group_arn`),
    a health check on the bridge's ops port (`/readyz`), and its own security group that admits `allowed_cidrs` on
    `listener_port`.

    * `enabled`: create it.
    * `allowed_cidrs`: IPv4 ranges the agents connect from (their clusters' NAT or egress addresses); required when enabled.
    * `security_group_ids`: further groups of the NLB, so it reaches the bridge pods as a member: the network module's
      `internal_security_group_id`; required when enabled.
    * `domain`: a name in `zone_id` to point at it (an alias record), e.g. `bridge.spinnaker.example.com`; null makes none.
      The bridge's serving certificate must name it (TLS is not terminated here, so ACM cannot serve it).
    * `listener_port` (443), `target_port` (the bridge's `--grpc-addr` port, 9091), `health_check_port` (its
      `--ops-addr` port, 8080).
    * `idle_timeout_seconds`: how long a connection with no traffic in either direction is kept (60-6000, AWS's default
      350). Agent streams are never idle that long: the agent sends a heartbeat every 10 s and an HTTP/2 keepalive ping
      every 20 s (`keepAliveHeartbeatSeconds`), the bridge pings every 30 s; keep any custom keepalive below this.
    * `internal`: make this NLB internal (default: the module's `internal`).
  EOT
  type = object({
    enabled              = optional(bool, false)
    allowed_cidrs        = optional(list(string), [])
    security_group_ids   = optional(list(string), [])
    domain               = optional(string)
    listener_port        = optional(number, 443)
    target_port          = optional(number, 9091)
    health_check_port    = optional(number, 8080)
    idle_timeout_seconds = optional(number, 350)
    internal             = optional(bool)
  })
  default  = {}
  nullable = false

  validation {
    condition     = !var.bridge.enabled || length(var.bridge.allowed_cidrs) > 0
    error_message = "bridge.allowed_cidrs must list the ranges the agents connect from (their clusters' NAT or egress addresses): the bridge's security group admits nothing else."
  }

  validation {
    condition     = alltrue([for c in var.bridge.allowed_cidrs : can(cidrnetmask(c))])
    error_message = "bridge.allowed_cidrs must be IPv4 CIDRs such as 203.0.113.0/24."
  }

  validation {
    condition     = !var.bridge.enabled || length(var.bridge.security_group_ids) > 0
    error_message = "bridge.security_group_ids must name the group that lets the NLB reach the bridge pods: the network module's internal_security_group_id."
  }

  validation {
    condition     = var.bridge.domain == null || can(regex("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.bridge.domain))
    error_message = "bridge.domain must be a lower-case DNS name such as bridge.spinnaker.example.com."
  }

  validation {
    condition     = var.bridge.domain == null || !contains([var.deck_domain, var.gate_domain, var.gate_x509_domain], coalesce(var.bridge.domain, "-"))
    error_message = "bridge.domain needs its own name: it points at the bridge's NLB, not at Deck's, Gate's or Gate x509's load balancer."
  }

  validation {
    condition     = alltrue([for p in [var.bridge.listener_port, var.bridge.target_port, var.bridge.health_check_port] : p >= 1 && p <= 65535 && floor(p) == p])
    error_message = "bridge.listener_port, target_port and health_check_port must be ports (1-65535)."
  }

  validation {
    condition     = var.bridge.idle_timeout_seconds >= 60 && var.bridge.idle_timeout_seconds <= 6000
    error_message = "bridge.idle_timeout_seconds must be 60-6000 (the range AWS allows for an NLB TCP listener)."
  }
}

variable "waf" {
  description = <<-EOT
    An AWS WAF web ACL on the ALB (Deck and Gate), on by default as the managed service offered. AWS WAF attaches to
    Application Load Balancers only: the x509 and bridge NLBs pass TLS through and are guarded by their security groups
    and the client certificates Gate and the bridge check.

    * `enabled`: attach a web ACL to the ALB.
    * `web_acl_arn`: attach this existing (REGIONAL) web ACL instead of creating one, e.g. the organisation's own from
      Firewall Manager.
    * `managed_rule_groups`: AWS managed rule groups, evaluated in this order (default: the core rule set, known bad
      inputs, and Amazon's IP reputation list).
    * `count_rules`: per rule group, rules that only count instead of block. The default (null) counts
      `SizeRestrictions_BODY` of the core rule set: it blocks every request body over 8 KB, and saving a pipeline
      (Deck's `POST /pipelines` to Gate) or a Spinnaker application's configuration routinely sends more; an ALB
      passes only the first 8 KB of a body to WAF, so the other body rules still see that part. Pipelines whose
      webhook stages call services by IP address trip `GenericRFI_BODY` (a URL with an IPv4 address in the body):
      add it here when yours do.
    * `rate_limit`: requests per client IP in 5 minutes before the WAF blocks that IP (0: no rate rule). Deck polls
      Gate every few seconds per open tab; the default 2,000 leaves about 6 requests a second to each address.
    * `logging = { destination_arn }`: a CloudWatch log group (its name must start with `aws-waf-logs-`), S3 bucket or
      Firehose stream for the WAF's logs, with the `authorization` and `cookie` headers redacted; null logs nothing.
  EOT
  type = object({
    enabled             = optional(bool, true)
    web_acl_arn         = optional(string)
    managed_rule_groups = optional(list(string), ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"])
    count_rules         = optional(map(list(string)))
    rate_limit          = optional(number, 2000)
    logging             = optional(object({ destination_arn = string }))
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.waf.web_acl_arn == null || can(regex("^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:[0-9]{12}:regional/webacl/", coalesce(var.waf.web_acl_arn, "-")))
    error_message = "waf.web_acl_arn must be the ARN of a REGIONAL web ACL (arn:aws:wafv2:REGION:ACCOUNT:regional/webacl/NAME/ID): a CLOUDFRONT-scoped one cannot protect an ALB."
  }

  validation {
    condition     = length(var.waf.managed_rule_groups) == length(distinct(var.waf.managed_rule_groups)) && alltrue([for g in var.waf.managed_rule_groups : can(regex("^AWSManagedRules[A-Za-z0-9]+$", g))])
    error_message = "waf.managed_rule_groups must name AWS managed rule groups (AWSManagedRules...), each once."
  }

  validation {
    condition     = alltrue([for g in keys(coalesce(var.waf.count_rules, {})) : contains(var.waf.managed_rule_groups, g)])
    error_message = "waf.count_rules names a rule group that is not in waf.managed_rule_groups: its rules would never be evaluated."
  }

  validation {
    condition     = var.waf.rate_limit == 0 || (var.waf.rate_limit >= 10 && var.waf.rate_limit <= 2000000000 && floor(var.waf.rate_limit) == var.waf.rate_limit)
    error_message = "waf.rate_limit must be a whole number of requests per 5 minutes from 10 to 2,000,000,000 (AWS WAF's range), or 0 for no rate rule."
  }

  validation {
    condition     = try(var.waf.logging.destination_arn, null) == null || !can(regex(":logs:", var.waf.logging.destination_arn)) || can(regex(":log-group:aws-waf-logs-", var.waf.logging.destination_arn))
    error_message = "waf.logging.destination_arn: a CloudWatch log group for WAF logs must be named aws-waf-logs-... (an AWS WAF rule)."
  }
}

variable "target_group_bindings" {
  description = <<-EOT
    The Services the AWS Load Balancer Controller binds to the target groups (outputs `target_group_bindings` and
    `target_group_bindings_yaml`, one TargetGroupBinding each for Deck, Gate and, when given, Gate's x509 port), for
    zones not exposed with spinops_zone's `expose { type = "aws-target-groups" }` (which keeps the bindings itself): the
    zone's namespace and, per target group, the Service name and the Service port (not the container port: the controller
    registers the pods behind that port's targetPort). Deck's and Gate's defaults are the Services Halyard makes for a zone
    without `expose`; gate_x509 has none, because Halyard's spin-gate has only port 8084: name a Service for Gate's
    default.apiPort.
  EOT
  type = object({
    namespace = optional(string, "spinnaker")
    deck      = optional(object({ service = string, port = number }), { service = "spin-deck", port = 9000 })
    gate      = optional(object({ service = string, port = number }), { service = "spin-gate", port = 8084 })
    gate_x509 = optional(object({ service = string, port = number }))
  })
  default  = {}
  nullable = false

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.target_group_bindings.namespace))
    error_message = "target_group_bindings.namespace must be a Kubernetes namespace name (the zone's namespace)."
  }

  validation {
    condition = alltrue([for s in [var.target_group_bindings.deck, var.target_group_bindings.gate, var.target_group_bindings.gate_x509] : s == null ? true :
    can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", s.service)) && s.port >= 1 && s.port <= 65535 && floor(s.port) == s.port])
    error_message = "target_group_bindings: each binding needs a Service name (a DNS label such as spin-gate) and a Service port (1-65535)."
  }
}
