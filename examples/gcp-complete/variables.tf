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

variable "ha" {
  description = "Spinnaker without a single point of failure. Here: Spinnaker's Redis on Memorystore (module.redis: tier STANDARD_HA, a replica in another zone with automatic failover, reached only from the GKE nodes) instead of the one Redis pod the operator runs in the cluster. false: the in-cluster Redis."
  type        = bool
  default     = true
  nullable    = false
}

variable "cidr" {
  description = "The one range nodes, pods, Services and private services access are computed from."
  type        = string
  default     = "10.60.0.0/16"
}

variable "user_source_ranges" {
  description = "Where users and API clients connect from: the edge's Cloud Armor policy lets only these reach Deck and Gate."
  type        = list(string)
  default     = ["203.0.113.0/24"]
}

variable "dns_managed_zone" {
  description = "Cloud DNS managed zone (its name) to hold the A records of DOMAIN and api.DOMAIN; null makes none (point the names at the edge's address yourself: the managed certificate is issued only once both resolve to it)."
  type        = string
  default     = null
}

variable "neg_zones" {
  description = "Zones of the NEGs GKE made for green's spin-deck and spin-gate: [] on the first apply, then the zones their cloud.google.com/neg-status annotation lists (the cluster's node zones)."
  type        = list(string)
  default     = []
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

variable "agent_source_ranges" {
  description = "Where agents of clusters outside this VPC connect from (their Cloud NAT or egress addresses): the bridge's load balancer admits these and admin_ranges (for Terraform's admin calls)."
  type        = list(string)
  default     = []
}

variable "bridge_mysql_dsn_secret" {
  description = "A Secret in namespace spinops whose key dsn holds the bridge's MySQL DSN (user:pass@tcp(host:3306)/spinops_bridge): the bridge then runs two replicas on Cloud SQL. null: one replica on SQLite."
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
    bridge_address: what the agent dials (default: the bridge's in-cluster Service, spinops-bridge.spinops.svc:443).
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
    (config_path, optionally config_context) or as GKE (gke: host and cluster_ca_certificate (PEM); the token is a Google access token from
    the provider's gcp credentials). namespaces, kinds and permissions as in control_cluster_account; bridge_address
    defaults to the bridge's load balancer address.
  EOT
  type = map(object({
    config_path    = optional(string)
    config_context = optional(string)
    gke = optional(object({
      host                   = string
      cluster_ca_certificate = string
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
    condition     = alltrue([for c in values(var.target_clusters) : (c.config_path != null) != (c.gke != null)])
    error_message = "Each target cluster needs exactly one of config_path (a kubeconfig) and gke."
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
