# The whole managed Spinnaker on AWS in one plan: the foundation modules
# (network, EKS, Aurora MySQL, buckets, IRSA roles, load balancers and DNS)
# wired into the spinops provider.

provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

# The provider reaches the new cluster through EKS tokens it signs itself
# with its AWS credentials (no aws CLI needed).
provider "spinops" {
  kubernetes {
    host                   = module.eks.cluster_endpoint
    cluster_ca_certificate = module.eks.cluster_ca_certificate

    eks {
      cluster_name = module.eks.cluster_name
      region       = var.region
    }
  }

  aws {
    region = var.region
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
    host                   = module.eks.cluster_endpoint
    cluster_ca_certificate = module.eks.cluster_ca_certificate

    eks {
      cluster_name = module.eks.cluster_name
      region       = var.region
    }
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
  source = "../../modules/aws/network"

  name                     = var.name
  cidr                     = var.cidr
  azs                      = var.azs
  deck_ingress_cidr_blocks = var.user_cidr_blocks
  gate_ingress_cidr_blocks = var.user_cidr_blocks
}

module "eks" {
  source = "../../modules/aws/eks"

  name               = var.name
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [module.network.internal_security_group_id]

  access_entries = {
    terraform = { principal_arn = var.admin_principal_arn }
  }
}

module "mysql" {
  source = "../../modules/aws/mysql"

  name               = var.name
  subnet_ids         = module.network.database_subnet_ids
  availability_zones = module.network.azs
  security_group_ids = [module.network.database_security_group_id]
  reader_count       = 2
}

module "front50_bucket" {
  source = "../../modules/aws/bucket"

  bucket = var.front50_bucket
}

module "backup_bucket" {
  source = "../../modules/aws/bucket"

  bucket                             = var.backup_bucket
  noncurrent_version_expiration_days = 35
}

module "iam" {
  source = "../../modules/aws/iam"

  name_prefix        = var.name
  oidc_provider_arn  = module.eks.oidc_provider_arn
  oidc_provider      = module.eks.oidc_provider
  front50_bucket_arn = module.front50_bucket.bucket_arn
  backup_bucket_arn  = module.backup_bucket.bucket_arn
  namespaces         = ["spinnaker-red", "spinnaker-green"]
}

module "edge" {
  source = "../../modules/aws/edge"

  name               = var.name
  vpc_id             = module.network.vpc_id
  subnet_ids         = module.network.public_subnet_ids
  security_group_ids = [module.network.user_facing_security_group_id, module.network.internal_security_group_id]
  zone_id            = var.zone_id
  deck_domain        = var.domain
  gate_domain        = "api.${var.domain}"
  gate_x509_domain   = "x509.${var.domain}"

  # The bridge's NLB: agents in other networks, and this Terraform, dial
  # bridge.DOMAIN:443; TLS passes through to the bridge.
  bridge = {
    enabled            = true
    allowed_cidrs      = distinct(concat(var.user_cidr_blocks, var.agent_cidr_blocks))
    security_group_ids = [module.network.internal_security_group_id]
    domain             = "bridge.${var.domain}"
  }
}

################################################################################
# Spinnaker
################################################################################

# Preflight: the cluster answers and the provider's credentials may install
# Spinnaker. Read once the cluster exists.
data "spinops_kubernetes_cluster" "control" {
  namespace = "spinnaker"

  depends_on = [module.eks]
}

# The managing role Clouddriver and Rosco run as (IRSA), allowed to assume
# exactly the managed roles of the target accounts.
resource "spinops_iam_source_role" "this" {
  name        = "${var.name}-managing"
  description = "Spinnaker ${var.name}: Clouddriver and Rosco"

  trust {
    eks_oidc {
      provider_arn     = module.iam.source_role_eks_oidc.provider_arn
      service_accounts = module.iam.source_role_eks_oidc.service_accounts
    }
  }

  managed_role_arns = var.managed_role_arns

  bake {
    enabled = true
  }

  tags = var.tags
}

# One installation on the cluster: Front50 in its bucket, Clouddriver, Orca
# and Front50 on Aurora (the read-only Clouddrivers on the reader endpoint).
# The database password is the RDS-managed master secret, which RDS rotates:
# sync it into the Secret below (e.g. with External Secrets from
# module.mysql.master_user_secret_arn) rather than copying it into Terraform.
resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = var.spinnaker_version

  persistence {
    s3 {
      bucket      = module.front50_bucket.bucket_id
      region      = var.region
      root_folder = "front50"
    }
  }

  sql {
    endpoint        = module.mysql.endpoint
    reader_endpoint = module.mysql.reader_endpoint
    port            = module.mysql.port
    databases       = { clouddriver = "clouddriver", orca = "orca", front50 = "front50" }
    user            = module.mysql.master_username

    password_secret {
      name = "spinnaker-mysql"
      key  = "password"
    }
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
  namespace            = "spinnaker-red"
}

# ... green, behind the ALB and NLB of module.edge, only takes a version red
# verified at least promotion.soak ago.
resource "spinops_zone" "green" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  config_revision      = spinops_managed_spinnaker.this.config_revision # shared-config changes reach this zone in the same apply
  name                 = "green"
  tier                 = "production"
  namespace            = "spinnaker-green"

  ha {
    replicas = 3
  }

  # Every upgrade of production first backs up Clouddriver, Orca and Front50
  # (one run of the policy below) and is refused when that fails. The id is
  # written out: the policy lives in this zone's namespace, so a reference
  # would be a cycle (and a first create runs no backup anyway).
  backup_before_upgrade {
    policy_id = "spinnaker-green/spinnaker"
  }

  config_overrides = yamlencode({
    security = {
      uiSecurity  = { overrideBaseUrl = module.edge.deck_url }
      apiSecurity = { overrideBaseUrl = module.edge.gate_url }
    }
  })
}

# Everything the installation takes from the foundation, in one place
# (output "spinnaker"), for what this stack does not set up itself: syncing
# the RDS master secret into the "spinnaker-mysql" Secret (e.g. External
# Secrets) and binding the green zone's Services to the target groups.
locals {
  spinnaker = {
    namespace = "spinnaker"
    sql = {
      writer_endpoint        = module.mysql.endpoint
      reader_endpoint        = module.mysql.reader_endpoint
      port                   = module.mysql.port
      master_username        = module.mysql.master_username
      master_user_secret_arn = module.mysql.master_user_secret_arn
    }
    front50 = {
      bucket = module.front50_bucket.bucket_id
      region = module.front50_bucket.bucket_region
    }
    backup = {
      bucket = module.backup_bucket.bucket_id
      region = module.backup_bucket.bucket_region
    }
    service_account_annotations = merge(module.iam.service_account_annotations, {
      for sa in ["clouddriver", "rosco"] : sa => { "eks.amazonaws.com/role-arn" = spinops_iam_source_role.this.arn }
    })
    urls = {
      deck      = module.edge.deck_url
      gate      = module.edge.gate_url
      gate_x509 = module.edge.gate_x509_url
    }
    target_group_arns = module.edge.target_group_arns
  }
}

################################################################################
# The bridge, and the clusters attached through it
################################################################################

# The spinops bridge next to Spinnaker: one replica on SQLite (give
# bridge_mysql_dsn_secret for two on Aurora), a CA and serving certificate
# generated into a Secret (or cert-manager's), its pods registered in the
# edge NLB's target group (the AWS Load Balancer Controller must run), and
# get/patch on green's SpinnakerAccounts to withdraw those of agents gone
# past their grace period. The key ring and admin token never enter state.
resource "spinops_bridge" "this" {
  name                 = "spinops-bridge"
  namespace            = "spinops"
  replicas             = var.bridge_mysql_dsn_secret == null ? 1 : 2
  external_address     = module.edge.bridge_address
  aws_target_group_arn = module.edge.bridge_target_group_arn
  spinnaker_namespace  = spinops_zone.green.namespace

  # With preserve_client_ip off, the NLB reaches the pods from its own
  # private addresses: the VPC's range (the NLB's security group admits
  # only module.edge's bridge.allowed_cidrs).
  grpc_allowed_cidrs = [var.cidr]
  health_check_cidrs = [var.cidr]

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
  control_omit_namespaces = ["kube-system", "kube-public", "kube-node-lease", "spinops-agent", spinops_managed_spinnaker.this.id, spinops_zone.red.namespace, spinops_zone.green.namespace]

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
    bridge_address = coalesce(var.control_cluster_account.bridge_address, "${spinops_bridge.this.name}.${spinops_bridge.this.namespace}.svc:9091")
    requests       = local.agent_requests
    limits         = local.agent_limits
  }

  spinnaker {
    namespace = spinops_zone.green.namespace
  }

  # SpinnakerAccounts are the operator's objects: green must be up first.
  depends_on = [spinops_zone.green]
}

# Further clusters (other EKS clusters, or anything a kubeconfig reaches):
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
      host                   = try(each.value.eks.host, null)
      cluster_ca_certificate = try(each.value.eks.cluster_ca_certificate, null)

      # An EKS token the provider signs with its AWS credentials (as
      # role_arn when given): no aws CLI, no kubeconfig.
      dynamic "eks" {
        for_each = each.value.eks == null ? [] : [each.value.eks]

        content {
          cluster_name = eks.value.cluster_name
          region       = eks.value.region
          role_arn     = eks.value.role_arn
        }
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
# Front50 bucket copied incrementally, and the Aurora binary log archived
# continuously. The job runs as the IRSA role module.iam made for
# "spinops-backup"; the password is the same synced Secret Spinnaker uses.
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
      host      = module.mysql.endpoint
      port      = module.mysql.port
      user      = module.mysql.master_username
      databases = ["clouddriver", "orca", "front50"]

      password_secret {
        name = "spinnaker-mysql"
        key  = "password"
      }
    }

    bucket {
      s3 {
        bucket = module.front50_bucket.bucket_id
        prefix = "front50"
        region = var.region
      }
    }
  }

  destination {
    s3 {
      bucket = module.backup_bucket.bucket_id
      prefix = "spinnaker"
      region = var.region
    }
  }

  point_in_time {
    enabled = true
  }
}
