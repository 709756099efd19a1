# The whole managed Spinnaker on Google Cloud in one plan: network, regional
# GKE with Workload Identity, Cloud SQL MySQL (regional HA + read replicas),
# buckets, wired into the spinops provider.

provider "google" {
  project = var.project_id
  region  = var.region
}

# Google access tokens from Application Default Credentials (or the gcp
# block's): no gcloud plugin needed.
provider "spinops" {
  kubernetes {
    host                   = module.gke.cluster_endpoint
    cluster_ca_certificate = module.gke.cluster_ca_certificate
    gke {}
  }

  gcp {
    project = var.project_id
  }
}

# The same cluster connection plus the bridge this stack deploys
# (spinops_bridge.this below): every spinops_agent_account uses this
# provider. On the first plan the bridge's CA is still unknown; Terraform
# configures this provider again during the apply, once spinops_bridge has
# rolled out, so one apply makes the bridge and attaches the clusters.
provider "spinops" {
  alias = "fleet"

  kubernetes {
    host                   = module.gke.cluster_endpoint
    cluster_ca_certificate = module.gke.cluster_ca_certificate
    gke {}
  }

  gcp {
    project = var.project_id
  }

  bridge {
    address = spinops_bridge.this.address
    token   = var.bridge_admin_token

    tls {
      ca_certificate = spinops_bridge.this.ca_certificate
    }
  }
}

################################################################################
# Foundation
################################################################################

module "network" {
  source = "../../modules/gcp/network"

  project_id         = var.project_id
  name               = var.name
  region             = var.region
  cidr               = var.cidr
  deck_source_ranges = var.user_source_ranges
  gate_source_ranges = var.user_source_ranges
}

module "gke" {
  source = "../../modules/gcp/gke"

  project_id          = var.project_id
  name                = var.name
  region              = var.region
  network             = module.network.network_id
  subnetwork          = module.network.subnet_id
  pods_range_name     = module.network.pods_range_name
  services_range_name = module.network.services_range_name
  network_tags        = [module.network.internal_tag]
  labels              = var.labels

  master_authorized_networks = [for r in var.admin_ranges : { cidr_block = r, display_name = "admin" }]

  # One namespace per zone (spinops_zone.red / .green below).
  workload_identity_service_accounts = {
    front50     = { service_account = "front50", namespaces = local.zone_namespaces }
    clouddriver = { service_account = "clouddriver", namespaces = local.zone_namespaces }
    backup      = { service_account = "spinops-backup", namespaces = local.zone_namespaces }
  }
}

module "mysql" {
  source = "../../modules/gcp/mysql"

  project_id         = var.project_id
  name               = "${var.name}-sql"
  region             = var.region
  private_network    = module.network.private_network_id
  read_replica_count = 2
  labels             = var.labels

  admin_password_wo         = var.db_password
  admin_password_wo_version = var.db_password_version

  iam_service_accounts = {
    for k in ["front50", "clouddriver", "backup"] : k => module.gke.workload_identity_service_accounts[k]
  }
}

module "front50_bucket" {
  source = "../../modules/gcp/bucket"

  project_id    = var.project_id
  name          = var.front50_bucket
  location      = var.region
  labels        = var.labels
  object_admins = { front50 = module.gke.workload_identity_members["front50"] }
  # The backup job copies Front50's objects.
  object_viewers = { backup = module.gke.workload_identity_members["backup"] }
}

module "backup_bucket" {
  source = "../../modules/gcp/bucket"

  project_id                        = var.project_id
  name                              = var.backup_bucket
  location                          = var.region
  labels                            = var.labels
  noncurrent_version_retention_days = 35
  object_admins                     = { backup = module.gke.workload_identity_members["backup"] }
}

################################################################################
# Spinnaker
################################################################################

# Preflight: the cluster answers and the provider's credentials may install
# Spinnaker. Read once the cluster exists.
data "spinops_kubernetes_cluster" "control" {
  namespace = "spinnaker"

  depends_on = [module.gke]
}

locals {
  zone_namespaces = ["spinnaker-red", "spinnaker-green"]
}

# One installation on the cluster: Front50 in its bucket, Clouddriver, Orca
# and Front50 on Cloud SQL. The read-only Clouddrivers read from the primary:
# Cloud SQL's read replicas are asynchronous, and Clouddriver's read path must
# see what was just written (the regional HA standby is the synchronous
# copy); the replicas serve the backups. The
# password goes to Cloud SQL and to Spinnaker as write-only arguments only.
resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = var.spinnaker_version

  persistence {
    gcs {
      bucket      = module.front50_bucket.name
      project     = var.project_id
      root_folder = "front50"
    }
  }

  sql {
    endpoint            = module.mysql.private_ip_address
    port                = module.mysql.port
    databases           = { clouddriver = "clouddriver", orca = "orca", front50 = "front50" }
    user                = module.mysql.admin_user
    password_wo         = var.db_password
    password_wo_version = var.db_password_version
  }

  promotion {
    soak = "24h"
  }

  depends_on = [data.spinops_kubernetes_cluster.control]
}

# Red proves every upgrade and configuration change first ...
resource "spinops_zone" "red" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  config_revision      = spinops_managed_spinnaker.this.config_revision # shared-config changes reach this zone in the same apply
  name                 = "red"
  tier                 = "sandbox"
  namespace            = local.zone_namespaces[0]
}

# ... green, open to users on Deck 80/443 and Gate 8084/443 only, takes a
# version only after red verified it at least promotion.soak ago.
resource "spinops_zone" "green" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  config_revision      = spinops_managed_spinnaker.this.config_revision # shared-config changes reach this zone in the same apply
  name                 = "green"
  tier                 = "production"
  namespace            = local.zone_namespaces[1]

  ha {
    replicas = 3
  }

  expose {
    type          = "service"
    deck_host     = var.domain
    gate_host     = "api.${var.domain}"
    source_ranges = var.user_source_ranges
  }
}

# Everything the installation takes from the foundation, in one place
# (output "spinnaker"), for what this stack does not set up itself: Cloud SQL
# connection names for a proxy, the Workload Identity annotations of the
# zones' service accounts.
locals {
  spinnaker = {
    namespace = "spinnaker"
    sql = {
      writer_address           = module.mysql.private_ip_address
      reader_addresses         = module.mysql.replica_private_ip_addresses
      port                     = module.mysql.port
      connection_name          = module.mysql.connection_name
      databases                = module.mysql.database_names
      iam_users                = module.mysql.iam_user_names
      replica_connection_names = module.mysql.replica_connection_names
    }
    front50 = {
      bucket = module.front50_bucket.name
    }
    backup = {
      bucket = module.backup_bucket.name
    }
    service_account_annotations = {
      for k, sa in {
        front50     = "front50"
        clouddriver = "clouddriver"
        backup      = "spinops-backup"
      } : sa => { "iam.gke.io/gcp-service-account" = module.gke.workload_identity_service_accounts[k] }
    }
  }
}

################################################################################
# The bridge, and the clusters attached through it
################################################################################

# The bridge's edge on Google Cloud: a reserved regional address for a
# passthrough network load balancer (the bridge's gRPC Service of type
# LoadBalancer). TLS passes through to the bridge; GKE turns the Service's
# source ranges into the firewall rule, so only agents and admins reach it.
resource "google_compute_address" "bridge" {
  project      = var.project_id
  name         = "${var.name}-bridge"
  region       = var.region
  address_type = "EXTERNAL"
  network_tier = "PREMIUM"
  labels       = var.labels
}

# The spinops bridge next to Spinnaker: one replica on SQLite (give
# bridge_mysql_dsn_secret for two on Cloud SQL), a CA and serving
# certificate generated into a Secret (or cert-manager's), and get/patch on
# green's SpinnakerAccounts to withdraw those of agents gone past their
# grace period. The key ring and admin token never enter state.
resource "spinops_bridge" "this" {
  name                = "spinops-bridge"
  namespace           = "spinops"
  replicas            = var.bridge_mysql_dsn_secret == null ? 1 : 2
  external_address    = "${google_compute_address.bridge.address}:443"
  spinnaker_namespace = spinops_zone.green.namespace

  grpc_service {
    type             = "LoadBalancer"
    port             = 443
    load_balancer_ip = google_compute_address.bridge.address
    source_ranges    = distinct(concat(var.admin_ranges, var.agent_source_ranges))
  }

  dynamic "mysql" {
    for_each = var.bridge_mysql_dsn_secret == null ? [] : [var.bridge_mysql_dsn_secret]

    content {
      dsn_secret_name = mysql.value
    }
  }

  dynamic "tls" {
    for_each = var.bridge_cert_manager_issuer == null ? [] : [var.bridge_cert_manager_issuer]

    content {
      cert_manager_issuer      = tls.value.name
      cert_manager_issuer_kind = tls.value.kind
    }
  }

  admin_token_wo         = var.bridge_admin_token
  admin_token_wo_version = var.bridge_admin_token_version

  requests = { cpu = "200m", memory = "256Mi" }
  limits   = { memory = "1Gi" }
}

locals {
  # With no namespaces given, the control cluster's account leaves out the
  # cluster's own machinery and Spinnaker's namespaces. This only narrows
  # what is watched and shown: the agent's RBAC stays cluster-wide.
  control_omit_namespaces = concat(["kube-system", "kube-public", "kube-node-lease", "spinops-agent", spinops_managed_spinnaker.this.id], local.zone_namespaces)

  agent_requests = { cpu = "100m", memory = "128Mi" }
  agent_limits   = { memory = "512Mi" }
}

# The control cluster itself, as a Spinnaker account of the green zone: the
# provider registers it at the bridge, installs the agent through its own
# connection, creates the SpinnakerAccount in green's namespace and waits for
# the agent's first full sync. The agent's credential goes from the bridge
# into the cluster's Secret and never into state.
resource "spinops_agent_account" "control" {
  count    = var.control_cluster_account == null ? 0 : 1
  provider = spinops.fleet

  name            = var.control_cluster_account.name
  kinds           = var.control_cluster_account.kinds
  namespaces      = var.control_cluster_account.namespaces
  omit_namespaces = var.control_cluster_account.namespaces == null ? local.control_omit_namespaces : null

  permissions {
    read  = var.control_cluster_account.permissions.read
    write = var.control_cluster_account.permissions.write
  }

  # The control cluster's agent stays inside: it dials the bridge's
  # Service, whose name the bridge's certificate holds.
  install_agent {
    bridge_address = coalesce(var.control_cluster_account.bridge_address, "${spinops_bridge.this.name}.${spinops_bridge.this.namespace}.svc:443")
    requests       = local.agent_requests
    limits         = local.agent_limits
  }

  spinnaker {
    namespace = spinops_zone.green.namespace
  }

  # SpinnakerAccounts are the operator's objects: green must be up first.
  depends_on = [spinops_zone.green]
}

# Further clusters (other GKE clusters, or anything a kubeconfig reaches):
# the agent is installed through each cluster's own connection and dials
# out to the bridge, so the clusters' API servers never have to be
# reachable from Spinnaker.
resource "spinops_agent_account" "target" {
  for_each = var.target_clusters
  provider = spinops.fleet

  name       = each.key
  kinds      = each.value.kinds
  namespaces = each.value.namespaces

  permissions {
    read  = each.value.permissions.read
    write = each.value.permissions.write
  }

  install_agent {
    kubernetes {
      config_path            = each.value.config_path
      config_context         = each.value.config_context
      host                   = try(each.value.gke.host, null)
      cluster_ca_certificate = try(each.value.gke.cluster_ca_certificate, null)

      # A Google access token from the provider's gcp credentials (or
      # Application Default Credentials): no gcloud plugin, no kubeconfig.
      dynamic "gke" {
        for_each = each.value.gke == null ? [] : [each.value.gke]

        content {}
      }
    }

    bridge_address = each.value.bridge_address
    requests       = local.agent_requests
    limits         = local.agent_limits
  }

  spinnaker {
    namespace = spinops_zone.green.namespace
  }

  depends_on = [spinops_zone.green]
}

################################################################################
# Backups with point-in-time recovery
################################################################################

# Clouddriver, Orca and Front50 every 6 hours into the backup bucket, the
# Front50 bucket copied incrementally by generation, and the binary log
# archived continuously. The password reaches the job's Secret as a
# write-only argument only.
resource "spinops_backup_policy" "this" {
  name                 = "spinnaker"
  namespace            = spinops_zone.green.namespace
  schedule             = "0 */6 * * *"
  time_zone            = "Etc/UTC"
  image                = "ghcr.io/spinops/spinops:0.1.0"
  service_account_name = "spinops-backup"

  retention {
    count = 14
    days  = 30
  }

  sources {
    mysql {
      host                = module.mysql.private_ip_address
      port                = module.mysql.port
      user                = module.mysql.admin_user
      password_wo         = var.db_password
      password_wo_version = var.db_password_version
      databases           = ["clouddriver", "orca", "front50"]
    }

    bucket {
      gcs {
        bucket = module.front50_bucket.name
        prefix = "front50"
      }
    }
  }

  destination {
    gcs {
      bucket = module.backup_bucket.name
      prefix = "spinnaker"
    }
  }

  point_in_time {
    enabled = true
  }
}
