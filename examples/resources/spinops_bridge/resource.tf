# The bridge next to Spinnaker: two replicas on the installation's MySQL,
# a certificate from cert-manager, reachable by agents through the edge's
# load balancer, withdrawing the accounts of agents gone past their grace
# period from the green zone.
variable "bridge_admin_token" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "spinops_bridge" "this" {
  namespace = "spinops"
  replicas  = 2

  # kubectl -n spinops create secret generic spinops-bridge-db \
  #   --from-literal=dsn='bridge:...@tcp(spinnaker-db.internal:3306)/spinops_bridge?tls=true'
  mysql {
    dsn_secret_name = "spinops-bridge-db"
  }

  tls {
    cert_manager_issuer      = "internal-ca"
    cert_manager_issuer_kind = "ClusterIssuer"
  }

  external_address    = "bridge.spinnaker.example.com:443" # modules/aws/edge's bridge_address
  spinnaker_namespace = spinops_zone.green.namespace
  grpc_allowed_cidrs  = ["10.0.0.0/8"] # the edge's subnets and your CI
  metrics_namespaces  = ["monitoring"]

  admin_token_wo         = var.bridge_admin_token
  admin_token_wo_version = 1

  requests = { cpu = "200m", memory = "256Mi" }
  limits   = { memory = "1Gi" }
}

# The provider's bridge block reads the resource: spinops_agent_account
# resources with `provider = spinops.fleet` attach clusters through this
# bridge in the same apply (Terraform configures the provider for them
# once the bridge has rolled out; see below).
provider "spinops" {
  alias = "fleet"
  bridge {
    address = spinops_bridge.this.address
    token   = var.bridge_admin_token
    tls {
      ca_certificate = spinops_bridge.this.ca_certificate
    }
  }
}
