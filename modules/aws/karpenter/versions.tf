terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.27.0 is the first release that accepts provider_meta "aws" (below);
      # Terraform refuses the block with an older one.
      version = ">= 6.27"
    }
    # Only used with install_manifests = true (the NodePool and EC2NodeClass
    # applied with kubernetes_manifest); see README.md. No provider_meta: the
    # kubernetes provider has no schema for one.
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.31"
    }
  }

  # hashicorp/aws appends this to the User-Agent of the API requests it makes
  # for this module's resources only (docs: "provider_meta user_agent Argument").
  provider_meta "aws" {
    user_agent = ["spinops-module-aws-karpenter"]
  }
}
