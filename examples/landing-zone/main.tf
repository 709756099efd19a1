# A multi-account landing zone: Spinnaker runs in a tooling account, deploys
# into target accounts through one managed role each, and its Front50 bucket
# replicates into a separate backup account. One plan, one AWS provider per
# account (Terraform cannot loop over providers, so one alias and one module
# block per account).

provider "aws" {
  region = var.region

  assume_role {
    role_arn = "arn:aws:iam::${var.spinnaker_account_id}:role/${var.account_access_role}"
  }
}

provider "aws" {
  alias  = "backup"
  region = var.region

  assume_role {
    role_arn = "arn:aws:iam::${var.backup_account_id}:role/${var.account_access_role}"
  }
}

provider "aws" {
  alias  = "staging"
  region = var.region

  assume_role {
    role_arn = "arn:aws:iam::${var.target_accounts["staging"]}:role/${var.account_access_role}"
  }
}

provider "aws" {
  alias  = "production"
  region = var.region

  assume_role {
    role_arn = "arn:aws:iam::${var.target_accounts["production"]}:role/${var.account_access_role}"
  }
}

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

    assume_role {
      role_arn = "arn:aws:iam::${var.spinnaker_account_id}:role/${var.account_access_role}"
    }
  }
}

locals {
  # Role ARNs follow from names, so the source role and the managed roles
  # can name each other without a dependency cycle.
  source_role_arn   = "arn:aws:iam::${var.spinnaker_account_id}:role/${var.source_role_name}"
  managed_role_arns = { for k, id in var.target_accounts : k => "arn:aws:iam::${id}:role/${var.managed_role_name}" }
}

################################################################################
# Tooling account: network, cluster, IRSA roles, Front50's bucket
################################################################################

module "network" {
  source = "../../modules/aws/network"

  name               = var.name
  azs                = ["${var.region}a", "${var.region}b", "${var.region}c"]
  single_nat_gateway = false
}

module "eks" {
  source = "../../modules/aws/eks"

  name               = var.name
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [module.network.internal_security_group_id]

  access_entries = {
    terraform = { principal_arn = "arn:aws:iam::${var.spinnaker_account_id}:role/${var.account_access_role}" }
  }
}

module "front50_bucket" {
  source = "../../modules/aws/bucket"

  bucket = "${var.name}-front50-${var.spinnaker_account_id}"

  replication = {
    destination_bucket_arn = module.front50_replica.bucket_arn
    destination_account_id = var.backup_account_id
    storage_class          = "STANDARD_IA"
  }
}

module "iam" {
  source = "../../modules/aws/iam"

  name_prefix        = var.name
  oidc_provider_arn  = module.eks.oidc_provider_arn
  oidc_provider      = module.eks.oidc_provider
  front50_bucket_arn = module.front50_bucket.bucket_arn
}

resource "spinops_iam_source_role" "this" {
  name = var.source_role_name

  trust {
    eks_oidc {
      provider_arn     = module.iam.source_role_eks_oidc.provider_arn
      service_accounts = module.iam.source_role_eks_oidc.service_accounts
    }
  }

  managed_role_arns = values(local.managed_role_arns)
}

################################################################################
# Backup account: the replica of Front50's bucket
################################################################################

module "front50_replica" {
  source = "../../modules/aws/bucket"
  providers = {
    aws = aws.backup
  }

  bucket                             = "${var.name}-front50-replica-${var.backup_account_id}"
  noncurrent_version_expiration_days = 365

  # The replica accepts objects from the tooling account's replication role.
  additional_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "ReplicationFromTooling"
        Effect    = "Allow"
        Principal = { AWS = module.front50_bucket.replication_role_arn }
        Action    = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"]
        Resource  = ["arn:aws:s3:::${var.name}-front50-replica-${var.backup_account_id}/*"]
      },
      {
        Sid       = "ReplicationConfiguration"
        Effect    = "Allow"
        Principal = { AWS = module.front50_bucket.replication_role_arn }
        Action    = ["s3:GetBucketVersioning", "s3:PutBucketVersioning", "s3:List*"]
        Resource  = ["arn:aws:s3:::${var.name}-front50-replica-${var.backup_account_id}"]
      },
    ]
  })
}


################################################################################
# Target accounts: one managed role each, from the documents the spinops
# provider computes (trust in the source role, PassRole, a baseline)
################################################################################

data "spinops_iam_managed_role_policy" "this" {
  source_role_arns = [local.source_role_arn]
  external_id      = var.external_id
  baseline         = "ec2_deploy"
}

module "managed_role_staging" {
  source = "../../modules/aws/managed-role"
  providers = {
    aws = aws.staging
  }

  name                = var.managed_role_name
  trust_policy_json   = data.spinops_iam_managed_role_policy.this.trust_policy_json
  policy_json         = data.spinops_iam_managed_role_policy.this.policy_json
  managed_policy_arns = data.spinops_iam_managed_role_policy.this.managed_policy_arns
}

module "managed_role_production" {
  source = "../../modules/aws/managed-role"
  providers = {
    aws = aws.production
  }

  name                = var.managed_role_name
  trust_policy_json   = data.spinops_iam_managed_role_policy.this.trust_policy_json
  policy_json         = data.spinops_iam_managed_role_policy.this.policy_json
  managed_policy_arns = data.spinops_iam_managed_role_policy.this.managed_policy_arns
}
