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

variable "ha" {
  description = "Spinnaker without a single point of failure. Here: Spinnaker's Redis on ElastiCache (module.redis: a primary and a replica in different AZs, Multi-AZ with automatic failover, TLS) instead of the one Redis pod the operator runs in the cluster. false: the in-cluster Redis."
  type        = bool
  default     = true
  nullable    = false
}

variable "karpenter" {
  description = "Scale the cluster's nodes with Karpenter (module.karpenter: its IAM, interruption queue and a NodePool for Spinnaker; output karpenter says how to install the chart). false: only the eks module's managed node group, at its fixed size."
  type        = bool
  default     = true
  nullable    = false
}

variable "lb_controller" {
  description = "Make the AWS Load Balancer Controller's IRSA role and policies (module.lb_controller; output lb_controller names the chart and its values to install). The controller fills the edge's target groups from the TargetGroupBindings. false: nothing of it is made here; install the controller with its IAM some other way, or the target groups stay empty (the ALB answers 503) and the bridge is refused."
  type        = bool
  default     = true
  nullable    = false
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

variable "bridge_admin_token" {
  description = "The spinops bridge's admin token (at least 24 characters), from your secret store: written to the bridge's Secret (write-only) and used by the fleet provider; never in state."
  type        = string
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = length(var.bridge_admin_token) >= 24
    error_message = "bridge_admin_token must be at least 24 characters."
  }
}

variable "bridge_admin_token_version" {
  description = "Raise to write a new bridge_admin_token (and roll the bridge)."
  type        = number
  default     = 1
}

variable "agent_cidr_blocks" {
  description = "Where agents of clusters outside this VPC connect from (their NAT or egress addresses): the bridge's NLB admits these and user_cidr_blocks (for Terraform's admin calls)."
  type        = list(string)
  default     = []
}

variable "bridge_mysql_dsn_secret" {
  description = "A Secret in namespace spinops whose key dsn holds the bridge's MySQL DSN (user:pass@tcp(host:3306)/spinops_bridge), e.g. synced by External Secrets: the bridge then runs two replicas on Aurora. null: one replica on SQLite."
  type        = string
  default     = null
}

variable "bridge_cert_manager_issuer" {
  description = "A cert-manager issuer for the bridge's serving certificate ({ name, kind = \"Issuer\" or \"ClusterIssuer\" }); null: a CA generated into a Secret."
  type = object({
    name = string
    kind = optional(string, "ClusterIssuer")
  })
  default = null
}

variable "control_cluster_account" {
  description = <<-EOT
    Attach the control cluster itself to the green zone as this Spinnaker account (null: do not).
    namespaces: the agent's RBAC is bound in these only (they must exist); unset, it is cluster-wide and the account leaves out kube-*, spinops-agent and Spinnaker's own namespaces.
    kinds: unset watches every kind. permissions: Fiat roles; without write roles the account is read-only.
    bridge_address: what the agent dials (default: the bridge's in-cluster Service, spinops-bridge.spinops.svc:9091).
  EOT
  type = object({
    name       = optional(string, "control")
    namespaces = optional(list(string))
    kinds      = optional(list(string))
    permissions = optional(object({
      read  = optional(list(string), [])
      write = optional(list(string), [])
    }), {})
    bridge_address = optional(string)
  })
  default = {}

  validation {
    condition     = var.control_cluster_account == null ? true : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.control_cluster_account.name))
    error_message = "control_cluster_account.name must be a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters)."
  }

  validation {
    condition     = var.control_cluster_account == null ? true : alltrue([for n in coalesce(var.control_cluster_account.namespaces, []) : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", n))])
    error_message = "control_cluster_account.namespaces must be namespace names (DNS-1123 labels)."
  }
}

variable "target_clusters" {
  description = <<-EOT
    More clusters to attach to the green zone, by Spinnaker account name (a DNS-1123 label). Each is reached either with a kubeconfig
    (config_path, optionally config_context) or as EKS (eks: host, cluster_ca_certificate (PEM), cluster_name, optionally region and a
    role_arn to assume before signing the token). namespaces, kinds and permissions as in control_cluster_account; bridge_address
    defaults to the bridge's edge address (bridge.DOMAIN:443).
  EOT
  type = map(object({
    config_path    = optional(string)
    config_context = optional(string)
    eks = optional(object({
      host                   = string
      cluster_ca_certificate = string
      cluster_name           = string
      region                 = optional(string)
      role_arn               = optional(string)
    }))
    namespaces = optional(list(string))
    kinds      = optional(list(string))
    permissions = optional(object({
      read  = optional(list(string), [])
      write = optional(list(string), [])
    }), {})
    bridge_address = optional(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for name in keys(var.target_clusters) : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", name))])
    error_message = "target_clusters keys are account names: DNS-1123 labels (lowercase letters, digits and '-', at most 63 characters)."
  }

  validation {
    condition     = alltrue([for c in values(var.target_clusters) : (c.config_path != null) != (c.eks != null)])
    error_message = "Each target cluster needs exactly one of config_path (a kubeconfig) and eks."
  }

  validation {
    condition     = alltrue([for c in values(var.target_clusters) : alltrue([for n in coalesce(c.namespaces, []) : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", n))])])
    error_message = "target_clusters namespaces must be namespace names (DNS-1123 labels)."
  }

  validation {
    condition     = var.control_cluster_account == null ? true : !contains(keys(var.target_clusters), var.control_cluster_account.name)
    error_message = "A target cluster may not take the control cluster's account name: account names are unique at the bridge."
  }
}

variable "green_promotion_override" {
  description = <<-EOT
    A reason, recorded in the promotion ledger, to let green take a version red has not verified soak ago. The first apply of a
    new installation needs it: red and green are made in the same apply, so red cannot have verified the version a day before.
    Set it for that apply (e.g. -var 'green_promotion_override=first install of this installation') and not after: while it is
    set, no upgrade of green is gated by red.
  EOT
  type        = string
  default     = null
}

variable "green_deletion_protection" {
  description = "Green refuses to be destroyed while this is true. To tear the stack down, apply with false first, then destroy."
  type        = bool
  default     = true
}
