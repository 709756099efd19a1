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
# (module.platform's spinops_bridge): every spinops_agent_account uses this
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
    address = module.platform.bridge.address
    token   = var.bridge_admin_token

    tls {
      ca_certificate = module.platform.bridge.ca_certificate
    }
  }
}

################################################################################
# Foundation
################################################################################

module "network" {
  source = "../../modules/gcp/network"

  project_id = var.project_id
  name       = var.name
  region     = var.region
  cidr       = var.cidr
  # No deck_source_ranges / gate_source_ranges: users reach Deck and Gate
  # through module.edge's load balancer, never the nodes.
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

  # One namespace per zone (module.platform's red and green).
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

# Spinnaker's Redis (Gate's sessions, Fiat, Orca's queue, Igor, Echo),
# with ha: Memorystore through private services access, reached only from
# the GKE nodes (the internal tag). Without TLS: Memorystore's server CA is
# the instance's own, which Spinnaker's JVMs do not trust (see the module's
# transit_encryption).
module "redis" {
  source = "../../modules/gcp/redis"
  count  = var.ha ? 1 : 0

  project_id         = var.project_id
  name               = "${var.name}-redis"
  region             = var.region
  authorized_network = module.network.private_network_id
  labels             = var.labels

  firewall = {
    network     = module.network.network_id
    source_tags = [module.network.internal_tag]
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

locals {
  zone_namespaces = ["spinnaker-red", "spinnaker-green"]
}

# How users reach Spinnaker (modules/gcp/edge): a global external
# Application Load Balancer on one address, a Google-managed certificate for
# DOMAIN and api.DOMAIN, Cloud Armor (the preconfigured WAF rules, then
# user_source_ranges only), Cloud DNS records in dns_managed_zone, and
# HTTP redirected to HTTPS. Its backends are the NEGs GKE's NEG controller
# makes from green's spin-deck and spin-gate Services: the first apply runs
# with neg_zones = [] (the load balancer without backends, the Services
# annotated); once the Services' cloud.google.com/neg-status annotation lists
# the zones, set neg_zones to them and apply again (README).
module "edge" {
  source = "../../modules/gcp/edge"

  project_id         = var.project_id
  name               = var.name
  network            = module.network.network_id
  target_tags        = [module.network.internal_tag]
  deck_domain        = var.domain
  gate_domain        = "api.${var.domain}"
  user_source_ranges = var.user_source_ranges
  dns_managed_zone   = var.dns_managed_zone
  neg_zones          = var.neg_zones
  labels             = var.labels

  # The bridge's edge: a reserved regional address for a passthrough network
  # load balancer (the bridge's gRPC Service of type LoadBalancer, built by
  # GKE), with firewall rules of the module's own in front of GKE's: only
  # admins (Terraform) and the agents' egress ranges reach the port, whatever
  # the Service says. TLS passes through to the bridge. (An address this
  # stack reserved itself before moves in: moved.tf.)
  bridge = {
    enabled       = true
    region        = var.region
    allowed_cidrs = distinct(concat(var.admin_ranges, var.agent_source_ranges))
  }
}

# The spinops layer, the same as on AWS (modules/spinops/platform): the
# preflight, one installation with a red and a green zone, the bridge and
# the clusters attached through it, backups with point-in-time recovery.
# What is Google Cloud's comes in as data:
#
# * Front50 in its GCS bucket; Clouddriver, Orca and Front50 on Cloud SQL.
#   The read-only Clouddrivers read from the primary (no reader_endpoint):
#   Cloud SQL's read replicas are asynchronous, and Clouddriver's read path
#   must see what was just written (the regional HA standby is the
#   synchronous copy); the replicas serve the backups. The password goes to
#   Cloud SQL, to Spinnaker and to the backup job as write-only arguments
#   only (sql_password is an ephemeral input of the module).
# * Green, reached by users through module.edge only (HTTPS on 443).
# * The bridge behind a passthrough network load balancer (its gRPC Service
#   of type LoadBalancer on module.edge's reserved address, port 443). TLS
#   passes through to the bridge; module.edge's firewall rules (and GKE's,
#   from the Service's source ranges) let only agents and admins reach it.
#   The control cluster's agent dials the bridge's Service on 443.
# * Backups into the backup bucket as the Workload Identity account of
#   "spinops-backup" (the ServiceAccount, which the backup policy makes); Front50's bucket copied incrementally by generation.
module "platform" {
  source = "../../modules/spinops/platform"

  providers = {
    spinops       = spinops
    spinops.fleet = spinops.fleet
  }

  spinnaker_version = var.spinnaker_version

  persistence = {
    gcs = {
      bucket      = module.front50_bucket.name
      project     = var.project_id
      root_folder = "front50"
    }
  }

  sql = {
    endpoint        = module.mysql.private_ip_address
    reader_endpoint = null
    port            = module.mysql.port
    databases       = { clouddriver = "clouddriver", orca = "orca", front50 = "front50" }
    user            = module.mysql.admin_user
  }
  sql_password         = var.db_password
  sql_password_version = var.db_password_version

  # With ha, Memorystore; without, the operator's in-cluster Redis.
  redis_endpoint = var.ha ? module.redis[0].url : null

  promotion = { soak = "24h" }

  zones = {
    red = { namespace = local.zone_namespaces[0] }
    green = {
      namespace = local.zone_namespaces[1]
      ha        = { replicas = 3 }
      # Only for the first apply (README.md, "The first apply").
      promotion_override  = var.green_promotion_override
      deletion_protection = var.green_deletion_protection
      # No expose: spin-deck and spin-gate stay ClusterIP Services, reached
      # only through module.edge's load balancer. Their cloud.google.com/neg
      # annotations make GKE's NEG controller create the NEGs the load
      # balancer's backend services take; the base URLs are the edge's.
      service_annotations = module.edge.service_annotations
      config_overrides = yamlencode({
        security = {
          uiSecurity  = { overrideBaseUrl = module.edge.deck_url }
          apiSecurity = { overrideBaseUrl = module.edge.gate_url }
        }
      })
    }
  }

  bridge = {
    name                = "spinops-bridge"
    namespace           = "spinops"
    external_address    = module.edge.bridge_address
    grpc_service        = module.edge.bridge_service
    mysql_dsn_secret    = var.bridge_mysql_dsn_secret
    cert_manager_issuer = var.bridge_cert_manager_issuer
    admin_token_version = var.bridge_admin_token_version
  }
  bridge_admin_token = var.bridge_admin_token

  control_cluster_account = var.control_cluster_account
  target_clusters = {
    for name, c in var.target_clusters : name => {
      config_path            = c.config_path
      config_context         = c.config_context
      host                   = try(c.gke.host, null)
      cluster_ca_certificate = try(c.gke.cluster_ca_certificate, null)
      gke                    = c.gke == null ? null : {}
      namespaces             = c.namespaces
      kinds                  = c.kinds
      permissions            = c.permissions
      bridge_address         = c.bridge_address
    }
  }

  backup = {
    name                 = "spinnaker"
    schedule             = "0 */6 * * *"
    time_zone            = "Etc/UTC"
    image                = "ghcr.io/spinops/spinops:0.1.0"
    service_account_name = "spinops-backup"
    # The policy makes the ServiceAccount, as the backup Google service account.
    service_account_annotations = { "iam.gke.io/gcp-service-account" = module.gke.workload_identity_service_accounts["backup"] }
    retention                   = { count = 14, days = 30 }
    destination = {
      gcs = { bucket = module.backup_bucket.name, prefix = "spinnaker" }
    }
    point_in_time = true
  }

  # The preflight is read, and the installation made, once the cluster
  # exists.
  depends_on = [module.gke]
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
    redis = var.ha ? {
      endpoint = module.redis[0].endpoint
      url      = module.redis[0].url
      id       = module.redis[0].id
    } : null
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
