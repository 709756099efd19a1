terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.27"
    }
    spinops = {
      source  = "spinops/spinops"
      version = ">= 0.1.0"
    }
  }
}
