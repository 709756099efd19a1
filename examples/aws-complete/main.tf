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
# (module.platform's spinops_bridge): every spinops_agent_account uses this
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

# Nodes that scale: Karpenter's controller role (IRSA), the node role and its
# EKS access entry, the interruption queue with its EventBridge rules, and a
# NodePool sized for Spinnaker in the cluster's private subnets and AZs. The
# eks module's managed node group keeps running the system pods and
# Karpenter itself; install the chart from output karpenter (helm_chart,
# helm_values_yaml), then apply its node_pool_yaml and node_class_yaml.
module "karpenter" {
  source = "../../modules/aws/karpenter"
  count  = var.karpenter ? 1 : 0

  cluster_name       = module.eks.cluster_name
  oidc_provider_arn  = module.eks.oidc_provider_arn
  availability_zones = module.network.azs
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [module.eks.cluster_security_group_id, module.network.internal_security_group_id]
}

# The AWS Load Balancer Controller's AWS side: its IRSA role (trusting
# kube-system:aws-load-balancer-controller) and policies scoped to this
# cluster's tag and VPC. It fills the edge module's target groups from the
# TargetGroupBindings (Deck, Gate, the bridge). Install the chart from output
# lb_controller (helm_chart, helm_values_yaml) before the bridge, which
# checks that the controller runs.
module "lb_controller" {
  source = "../../modules/aws/lb-controller"
  count  = var.lb_controller ? 1 : 0

  cluster_name      = module.eks.cluster_name
  oidc_provider_arn = module.eks.oidc_provider_arn
  vpc_id            = module.network.vpc_id
}

module "mysql" {
  source = "../../modules/aws/mysql"

  name               = var.name
  subnet_ids         = module.network.database_subnet_ids
  availability_zones = module.network.azs
  security_group_ids = [module.network.database_security_group_id]
  reader_count       = 2
}

# Spinnaker's Redis (Gate's sessions, Fiat, Orca's queue, Igor, Echo),
# with ha: in the database subnets, reached on 6379 only from the internal
# group (the EKS nodes), over TLS. Its url (rediss://) goes to the platform.
module "redis" {
  source = "../../modules/aws/redis"
  count  = var.ha ? 1 : 0

  name                      = var.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.database_subnet_ids
  availability_zones        = module.network.azs
  source_security_group_ids = [module.network.internal_security_group_id]
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
  namespaces         = local.zone_namespaces
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

  # Deck's and Gate's target groups take the green (production) zone's
  # pods: the zone keeps their TargetGroupBindings (module.platform, expose
  # type aws-target-groups), which the AWS Load Balancer Controller
  # (module.lb_controller) serves.
}

################################################################################
# Spinnaker
################################################################################

locals {
  # One namespace per zone (module.platform's red and green): the IRSA
  # roles trust the service accounts in both.
  zone_namespaces = ["spinnaker-red", "spinnaker-green"]
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

# The spinops layer, the same as on Google Cloud (modules/spinops/platform):
# the preflight, one installation with a red and a green zone, the bridge
# and the clusters attached through it, backups with point-in-time recovery.
# What is AWS's comes in as data:
#
# * Front50 in its S3 bucket; Clouddriver, Orca and Front50 on Aurora, the
#   read-only Clouddrivers on the reader endpoint. The database password is
#   the RDS-managed master secret, which RDS rotates: sync it into the
#   "spinnaker-mysql" Secret (e.g. with External Secrets from
#   module.mysql.master_user_secret_arn) rather than copying it into
#   Terraform; the backup job reads the same Secret.
# * Green, behind the ALB and NLB of module.edge, with Deck's and Gate's
#   URLs; every upgrade of green first backs up Clouddriver, Orca and
#   Front50 (one run of the backup policy) and is refused when that fails.
# * The bridge's pods registered in the edge NLB's target group (the AWS
#   Load Balancer Controller must run). With preserve_client_ip off, the
#   NLB reaches the pods from its own private addresses: the VPC's range
#   (the NLB's security group admits only module.edge's
#   bridge.allowed_cidrs). Agents and Terraform dial bridge.DOMAIN:443; the
#   control cluster's agent dials the bridge's Service on 9091.
# * Backups into the backup bucket as the IRSA role module.iam made for
#   "spinops-backup" (the ServiceAccount, which the backup policy makes).
module "platform" {
  source = "../../modules/spinops/platform"

  providers = {
    spinops       = spinops
    spinops.fleet = spinops.fleet
  }

  spinnaker_version = var.spinnaker_version

  persistence = {
    s3 = {
      bucket      = module.front50_bucket.bucket_id
      region      = var.region
      root_folder = "front50"
    }
  }

  sql = {
    endpoint        = module.mysql.endpoint
    reader_endpoint = module.mysql.reader_endpoint
    port            = module.mysql.port
    databases       = { clouddriver = "clouddriver", orca = "orca", front50 = "front50" }
    user            = module.mysql.master_username
    password_secret = { name = "spinnaker-mysql", key = "password" }
  }

  # With ha, ElastiCache (TLS: the rediss:// url); without, the operator's
  # in-cluster Redis.
  redis_endpoint = var.ha ? module.redis[0].url : null

  promotion = { soak = "24h" }

  zones = {
    red = { namespace = local.zone_namespaces[0] }
    green = {
      namespace             = local.zone_namespaces[1]
      ha                    = { replicas = 3 }
      backup_before_upgrade = true
      # Only for the first apply (README.md, "The first apply").
      promotion_override  = var.green_promotion_override
      deletion_protection = var.green_deletion_protection
      # Deck's and Gate's pods registered in the edge's target groups (the
      # zone's TargetGroupBindings), their base URLs https://DOMAIN and
      # https://api.DOMAIN. Gate's x509 port joins with
      # target_groups.gate_x509 once Gate's profile sets default.apiPort
      # and its x509 settings (the zone refuses it before).
      expose = {
        type      = "aws-target-groups"
        deck_host = var.domain
        gate_host = "api.${var.domain}"
        target_groups = {
          deck = module.edge.target_group_arns.deck
          gate = module.edge.target_group_arns.gate
        }
      }
    }
  }

  bridge = {
    name                 = "spinops-bridge"
    namespace            = "spinops"
    external_address     = module.edge.bridge_address
    aws_target_group_arn = module.edge.bridge_target_group_arn
    grpc_allowed_cidrs   = [var.cidr]
    health_check_cidrs   = [var.cidr]
    mysql_dsn_secret     = var.bridge_mysql_dsn_secret
    cert_manager_issuer  = var.bridge_cert_manager_issuer
    admin_token_version  = var.bridge_admin_token_version
  }
  bridge_admin_token = var.bridge_admin_token

  control_cluster_account = var.control_cluster_account
  target_clusters = {
    for name, c in var.target_clusters : name => {
      config_path            = c.config_path
      config_context         = c.config_context
      host                   = try(c.eks.host, null)
      cluster_ca_certificate = try(c.eks.cluster_ca_certificate, null)
      eks                    = c.eks == null ? null : { cluster_name = c.eks.cluster_name, region = c.eks.region, role_arn = c.eks.role_arn }
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
    # The policy makes the ServiceAccount, with the backup role.
    service_account_annotations = module.iam.service_account_annotations["spinops-backup"]
    retention                   = { count = 14, days = 30 }
    destination = {
      s3 = { bucket = module.backup_bucket.bucket_id, prefix = "spinnaker", region = var.region }
    }
    point_in_time = true
  }

  # The preflight is read, and the installation made, once the cluster and
  # Terraform's access entry exist.
  depends_on = [module.eks]
}

# Everything the installation takes from the foundation, in one place
# (output "spinnaker"), for what this stack does not set up itself: syncing
# the RDS master secret into the "spinnaker-mysql" Secret (e.g. External
# Secrets).
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
    redis = var.ha ? {
      endpoint             = module.redis[0].endpoint
      url                  = module.redis[0].url
      replication_group_id = module.redis[0].replication_group_id
      security_group_id    = module.redis[0].security_group_id
    } : null
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
