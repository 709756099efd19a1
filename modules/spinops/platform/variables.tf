################################################################################
# The installation
################################################################################

variable "spinnaker_version" {
  description = "The Spinnaker version the zones run (unless a zone sets its own), e.g. 1.35.3."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.spinnaker_version))
    error_message = "spinnaker_version must be a Spinnaker release version such as 1.35.3."
  }
}

variable "preflight_namespace" {
  description = "The namespace the preflight (data.spinops_kubernetes_cluster) checks the namespaced install permissions in."
  type        = string
  default     = "spinnaker"
}

variable "persistence" {
  description = <<-EOT
    Front50's bucket: exactly one of s3 (bucket, region; endpoint and path_style for S3-compatible servers) or gcs (bucket, project).
    root_folder is the prefix Front50 writes under (default front50); the backups copy the bucket under the same prefix.
  EOT
  type = object({
    s3 = optional(object({
      bucket      = string
      region      = optional(string)
      root_folder = optional(string, "front50")
      endpoint    = optional(string)
      path_style  = optional(bool)
    }))
    gcs = optional(object({
      bucket      = string
      project     = optional(string)
      root_folder = optional(string, "front50")
    }))
  })

  validation {
    condition     = (var.persistence.s3 == null) != (var.persistence.gcs == null)
    error_message = "persistence needs exactly one of s3 and gcs (Front50's bucket on AWS S3 or on Google Cloud Storage)."
  }
}

variable "sql" {
  description = <<-EOT
    The MySQL-compatible database of Clouddriver, Orca and Front50. endpoint: the primary's host name. reader_endpoint: where the
    read-only Clouddrivers read (an Aurora reader endpoint); null makes them read from the primary, which is what a database with
    asynchronous replicas (Cloud SQL's read replicas) needs. databases: service (clouddriver, orca, front50) -> schema.
    The password comes from exactly one of password_secret (an existing Secret in the operator namespace, also used by the backup
    job: name, key) and the write-only sql_password.
  EOT
  type = object({
    endpoint        = string
    reader_endpoint = optional(string)
    port            = optional(number, 3306)
    databases       = optional(map(string), { clouddriver = "clouddriver", orca = "orca", front50 = "front50" })
    user            = string
    password_secret = optional(object({
      name = string
      key  = optional(string, "password")
    }))
  })

  validation {
    condition     = length(var.sql.endpoint) > 0 && length(var.sql.user) > 0
    error_message = "sql.endpoint (the primary's host name) and sql.user must not be empty."
  }

  validation {
    condition     = length(var.sql.databases) > 0 && alltrue([for s in keys(var.sql.databases) : contains(["clouddriver", "orca", "front50"], s)])
    error_message = "sql.databases maps services to schemas: its keys must be among clouddriver, orca and front50."
  }

  validation {
    condition     = var.sql.port >= 1 && var.sql.port <= 65535
    error_message = "sql.port must be a TCP port (1-65535)."
  }
}

variable "sql_password" {
  description = "The database password, when sql.password_secret is not given: written to Spinnaker and to the backup job's Secret as write-only arguments, never in state or plan (an ephemeral value is fine)."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = (var.sql_password == null) != (var.sql.password_secret == null)
    error_message = "Give the database password exactly one way: sql.password_secret (an existing Secret) or sql_password (write-only)."
  }
}

variable "redis_endpoint" {
  description = <<-EOT
    An external Redis for every Spinnaker service: modules/aws/redis's or modules/gcp/redis's url (rediss://host:port with TLS,
    redis://host:port without), or host:port (read as redis://). null keeps the Redis the operator runs in the cluster (one pod:
    a single point of failure). Managed Redis refuses CONFIG, so with an endpoint Gate is told not to set keyspace notifications
    itself (profile gate: redis.configuration.secure); the Redis must already have notify-keyspace-events gxE, as both modules set.
  EOT
  type        = string
  default     = null

  validation {
    condition     = var.redis_endpoint == null || can(regex("^(rediss?://)?[A-Za-z0-9.-]+:[0-9]{1,5}(/[0-9]{1,2})?$", coalesce(var.redis_endpoint, "-")))
    error_message = "redis_endpoint must be host:port, redis://host:port or rediss://host:port (optionally /DB), without a user or password: a password in the URL would be kept in state."
  }
}

variable "sql_password_version" {
  description = "Raise to write a new sql_password (Terraform cannot see a write-only value change)."
  type        = number
  default     = 1
}

variable "promotion" {
  description = "The policy green follows: soak (how long red must have verified a version before green may take it, a Go duration), require_verification, min_sandbox_availability (see spinops_managed_spinnaker's promotion block)."
  type = object({
    soak                     = optional(string, "24h")
    require_verification     = optional(bool)
    min_sandbox_availability = optional(number)
  })
  default  = {}
  nullable = false

  validation {
    condition     = can(regex("^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$", var.promotion.soak))
    error_message = "promotion.soak must be a Go duration such as 24h or 90m."
  }
}

################################################################################
# Zones
################################################################################

variable "zones" {
  description = <<-EOT
    The two zones. red is the sandbox (proves every change first), green production (gated by promotion, deletion-protected).
    namespace: where the zone runs. spinnaker_version: overrides the installation's. ha: { replicas, clouddriver_split } (green
    defaults to 3 replicas, red runs without HA). expose: Deck and Gate for users ({ type = "service", "ingress" or
    "aws-target-groups", deck_host, gate_host, source_ranges, annotations, tls_secret, target_groups }; aws-target-groups: the
    pods registered in modules/aws/edge's target groups, target_groups = its target_group_arns, by TargetGroupBindings the zone
    keeps). service_annotations: annotations of a service's Kubernetes Service, by
    Spinnaker service (Halyard's kubernetes.serviceAnnotations; for Deck and Gate only without expose, e.g. modules/gcp/edge's NEG
    annotations). config_overrides: Halyard YAML merged last.
    green.backup_before_upgrade: every upgrade first runs the module's backup policy and is refused when it fails.
    green.promotion_override: a reason (recorded in the promotion ledger) to let green take a version the promotion gate refuses:
    the first apply of a new installation, which creates red and green together (red cannot have verified a version soak ago),
    or an emergency. Remove it afterwards: while it is set, no upgrade of green is gated.
  EOT
  type = object({
    red = optional(object({
      namespace         = optional(string, "spinnaker-red")
      spinnaker_version = optional(string)
      ha = optional(object({
        replicas          = optional(number)
        clouddriver_split = optional(bool)
      }))
      expose = optional(object({
        type          = string
        deck_host     = optional(string)
        gate_host     = optional(string)
        source_ranges = optional(list(string))
        annotations   = optional(map(string))
        tls_secret    = optional(string)
        target_groups = optional(object({ deck = optional(string), gate = optional(string), gate_x509 = optional(string) }))
      }))
      service_annotations = optional(map(map(string)))
      config_overrides    = optional(string)
      deletion_protection = optional(bool, false)
    }), {})
    green = optional(object({
      namespace         = optional(string, "spinnaker-green")
      spinnaker_version = optional(string)
      ha = optional(object({
        replicas          = optional(number)
        clouddriver_split = optional(bool)
      }), { replicas = 3 })
      expose = optional(object({
        type          = string
        deck_host     = optional(string)
        gate_host     = optional(string)
        source_ranges = optional(list(string))
        annotations   = optional(map(string))
        tls_secret    = optional(string)
        target_groups = optional(object({ deck = optional(string), gate = optional(string), gate_x509 = optional(string) }))
      }))
      service_annotations   = optional(map(map(string)))
      config_overrides      = optional(string)
      backup_before_upgrade = optional(bool, false)
      deletion_protection   = optional(bool, true)
      promotion_override    = optional(string)
    }), {})
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.zones.green.promotion_override == null ? true : length(trimspace(var.zones.green.promotion_override)) >= 10
    error_message = "zones.green.promotion_override is a reason recorded in the promotion ledger: at least 10 characters (e.g. \"first install of the installation\"), or null."
  }

  validation {
    condition     = alltrue([for z in [var.zones.red, var.zones.green] : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", z.namespace))])
    error_message = "zones.red.namespace and zones.green.namespace must be namespace names (DNS-1123 labels)."
  }

  validation {
    condition     = var.zones.red.namespace != var.zones.green.namespace
    error_message = "red and green need namespaces of their own: a zone's namespace holds its SpinnakerService, and green's the accounts and backups."
  }

  validation {
    condition     = alltrue([for z in [var.zones.red, var.zones.green] : z.expose == null ? true : contains(["service", "ingress", "aws-target-groups"], z.expose.type)])
    error_message = "A zone's expose.type must be \"service\" (LoadBalancer Services), \"ingress\" (one Ingress for both hosts) or \"aws-target-groups\" (the pods registered in modules/aws/edge's target groups)."
  }

  validation {
    condition     = alltrue([for z in [var.zones.red, var.zones.green] : z.ha == null ? true : z.ha.replicas == null ? true : z.ha.replicas >= 1])
    error_message = "A zone's ha.replicas must be at least 1."
  }
}

################################################################################
# The bridge
################################################################################

variable "bridge" {
  description = <<-EOT
    The spinops bridge. external_address: host:port agents outside the cluster and the fleet provider dial (the edge's load
    balancer). On AWS: aws_target_group_arn (modules/aws/edge's bridge target group), with grpc_allowed_cidrs and
    health_check_cidrs (the VPC's range, where the NLB reaches the pods from). Elsewhere: grpc_service ({ type = "LoadBalancer",
    port, load_balancer_ip, source_ranges, annotations }). mysql_dsn_secret: a Secret in the bridge's namespace whose key dsn
    holds a MySQL DSN, for two replicas (null: one on SQLite). cert_manager_issuer: { name, kind } for the serving
    certificate (null: a generated CA). admin_token_version: raise to write a new bridge_admin_token.
  EOT
  type = object({
    name                 = optional(string, "spinops-bridge")
    namespace            = optional(string, "spinops")
    external_address     = optional(string)
    aws_target_group_arn = optional(string)
    grpc_allowed_cidrs   = optional(list(string))
    health_check_cidrs   = optional(list(string))
    grpc_service = optional(object({
      type             = optional(string)
      port             = optional(number)
      load_balancer_ip = optional(string)
      source_ranges    = optional(list(string))
      annotations      = optional(map(string))
    }))
    mysql_dsn_secret = optional(string)
    cert_manager_issuer = optional(object({
      name = string
      kind = optional(string, "ClusterIssuer")
    }))
    admin_token_version = optional(number, 1)
    requests            = optional(map(string), { cpu = "200m", memory = "256Mi" })
    limits              = optional(map(string), { memory = "1Gi" })
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.bridge.aws_target_group_arn == null || var.bridge.grpc_service == null ? true : var.bridge.grpc_service.type != "LoadBalancer"
    error_message = "bridge: give aws_target_group_arn (the edge's NLB) or a LoadBalancer grpc_service, not both: agents would have two ways in."
  }

  validation {
    condition     = var.bridge.grpc_service == null ? true : contains(["ClusterIP", "LoadBalancer"], coalesce(var.bridge.grpc_service.type, "ClusterIP"))
    error_message = "bridge.grpc_service.type must be ClusterIP or LoadBalancer."
  }

  validation {
    condition     = var.bridge.cert_manager_issuer == null ? true : contains(["Issuer", "ClusterIssuer"], var.bridge.cert_manager_issuer.kind)
    error_message = "bridge.cert_manager_issuer.kind must be Issuer or ClusterIssuer."
  }
}

variable "bridge_admin_token" {
  description = "The bridge's admin token (at least 24 characters), from your secret store: written to the bridge's Secret as a write-only argument, never in state or plan. Configure the spinops.fleet provider's bridge.token with the same value."
  type        = string
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = length(var.bridge_admin_token) >= 24
    error_message = "bridge_admin_token must be at least 24 characters."
  }
}

################################################################################
# Clusters attached through the bridge
################################################################################

variable "control_cluster_account" {
  description = <<-EOT
    Attach the control cluster itself to the green zone as this Spinnaker account (null: do not).
    namespaces: the agent's RBAC is bound in these only (they must exist); unset, it is cluster-wide and the account leaves out kube-*, spinops-agent and Spinnaker's own namespaces.
    kinds: unset watches every kind. permissions: Fiat roles; without write roles the account is read-only.
    bridge_address: what the agent dials (default: the bridge's in-cluster Service, NAME.NAMESPACE.svc:PORT, the port being grpc_service.port or 9091).
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
    (config_path, optionally config_context) or by host and cluster_ca_certificate (PEM) with exactly one of eks (cluster_name,
    optionally region and a role_arn to assume before signing the token) or gke (a Google access token from the provider's gcp
    credentials; optionally scopes). namespaces, kinds and permissions as in control_cluster_account; bridge_address defaults to the
    bridge's external address.
  EOT
  type = map(object({
    config_path            = optional(string)
    config_context         = optional(string)
    host                   = optional(string)
    cluster_ca_certificate = optional(string)
    eks = optional(object({
      cluster_name = string
      region       = optional(string)
      role_arn     = optional(string)
    }))
    gke = optional(object({
      scopes = optional(list(string))
    }))
    namespaces = optional(list(string))
    kinds      = optional(list(string))
    permissions = optional(object({
      read  = optional(list(string), [])
      write = optional(list(string), [])
    }), {})
    bridge_address = optional(string)
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for name in keys(var.target_clusters) : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", name))])
    error_message = "target_clusters keys are account names: DNS-1123 labels (lowercase letters, digits and '-', at most 63 characters)."
  }

  validation {
    condition     = alltrue([for c in values(var.target_clusters) : (c.config_path != null) != (c.host != null)])
    error_message = "Each target cluster needs exactly one connection: config_path (a kubeconfig) or host (with cluster_ca_certificate and eks or gke)."
  }

  validation {
    condition     = alltrue([for c in values(var.target_clusters) : c.host == null ? (c.eks == null && c.gke == null) : (c.eks == null) != (c.gke == null)])
    error_message = "A target cluster given by host needs exactly one of eks and gke (how the provider gets its token); a kubeconfig target takes neither."
  }

  validation {
    condition     = alltrue([for c in values(var.target_clusters) : c.host == null || c.cluster_ca_certificate != null])
    error_message = "A target cluster given by host needs its cluster_ca_certificate (PEM)."
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

variable "agent_resources" {
  description = "Requests and limits of every agent this module installs."
  type = object({
    requests = optional(map(string), { cpu = "100m", memory = "128Mi" })
    limits   = optional(map(string), { memory = "512Mi" })
  })
  default  = {}
  nullable = false
}

################################################################################
# Backups
################################################################################

variable "backup" {
  description = <<-EOT
    The backup policy in green's namespace (its id is green's backup_before_upgrade policy): Clouddriver's, Orca's and Front50's
    databases (databases; default: those of sql.databases) from mysql_host (default: sql.endpoint, the primary), Front50's
    bucket, into destination: exactly one of s3 (bucket, prefix, region; endpoint and path_style for S3-compatible servers) or gcs
    (bucket, prefix). schedule (cron) in time_zone, retention { count, days }, point_in_time (archive the binary log
    continuously), service_account_name (IRSA or Workload Identity for the buckets), image. With service_account_annotations
    (e.g. { "eks.amazonaws.com/role-arn" = the backup role }) the policy makes that ServiceAccount itself; without, it must exist
    beforehand. signing_key_secret: an existing Secret in
    green's namespace ({ name, key }) holding the key (at least 32 characters) the backup manifests are signed with, kept out
    of the bucket; without it the manifests are unsigned and restore refuses them unless given --allow-unsigned.
  EOT
  type = object({
    name                 = optional(string, "spinnaker")
    schedule             = optional(string, "0 */6 * * *")
    time_zone            = optional(string, "Etc/UTC")
    image                = optional(string, "ghcr.io/spinops/spinops:0.1.0")
    service_account_name = optional(string, "spinops-backup")
    # Set (even {}), the policy makes the ServiceAccount with these annotations.
    service_account_annotations = optional(map(string))
    retention = optional(object({
      count = optional(number)
      days  = optional(number)
    }), { count = 14, days = 30 })
    mysql_host    = optional(string)
    databases     = optional(list(string))
    point_in_time = optional(bool, true)
    signing_key_secret = optional(object({
      name = string
      key  = optional(string, "signing-key")
    }))
    destination = object({
      s3 = optional(object({
        bucket     = string
        prefix     = optional(string, "spinnaker")
        region     = optional(string)
        endpoint   = optional(string)
        path_style = optional(bool)
      }))
      gcs = optional(object({
        bucket   = string
        prefix   = optional(string, "spinnaker")
        endpoint = optional(string)
      }))
    })
  })

  validation {
    condition     = (var.backup.destination.s3 == null) != (var.backup.destination.gcs == null)
    error_message = "backup.destination needs exactly one of s3 and gcs (the backup bucket)."
  }

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.backup.name))
    error_message = "backup.name must be a DNS-1123 label (it names the CronJob spinops-backup-NAME)."
  }

  validation {
    condition     = var.backup.databases == null ? true : length(var.backup.databases) > 0
    error_message = "backup.databases, when given, must name at least one database (leave it null to back up sql.databases)."
  }
}
