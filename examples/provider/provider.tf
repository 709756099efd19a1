# Every argument is optional and may come from an environment variable
# instead (SPINOPS_KUBE_*, SPINOPS_BRIDGE_*, AWS_*, GOOGLE_*), which is how
# Terraform Cloud workspaces usually configure providers.
provider "spinops" {
  # The default cluster connection; resources may override it.
  kubernetes {
    config_path    = "~/.kube/config"
    config_context = "spinnaker-control"
  }

  # The spinops bridge's admin API, used by spinops_agent_account.
  bridge {
    address = "bridge.spinnaker.example.com:9091"
    tls {
      ca_certificate = file("bridge-ca.pem")
    }
  }

  aws {
    region = "us-west-2"
    assume_role {
      role_arn = "arn:aws:iam::123456789012:role/spinops-terraform"
    }
  }
}

# An EKS cluster without the aws CLI: the provider signs the token itself
# with its AWS credentials.
provider "spinops" {
  alias = "eks"

  kubernetes {
    host                   = "https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com"
    cluster_ca_certificate = base64decode("LS0tLS1CRUdJTi...")
    eks {
      cluster_name = "spinnaker"
      region       = "us-west-2"
    }
  }
}

# A GKE cluster with Google default credentials (or the gcp block's).
provider "spinops" {
  alias = "gke"

  kubernetes {
    host                   = "https://34.1.2.3"
    cluster_ca_certificate = base64decode("LS0tLS1CRUdJTi...")
    gke {}
  }

  gcp {
    project = "my-spinnaker-project"
  }
}
