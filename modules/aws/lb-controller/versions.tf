terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.27.0 is the first release that accepts provider_meta "aws" (below);
      # Terraform refuses the block with an older one.
      version = ">= 6.27"
    }
  }

  # hashicorp/aws appends this to the User-Agent of the API requests it makes
  # for this module's resources only (docs: "provider_meta user_agent Argument").
  provider_meta "aws" {
    user_agent = ["spinops-module-aws-lb-controller"]
  }
}
