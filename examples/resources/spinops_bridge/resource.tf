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

# The provider's bridge block reads the resource. On the first apply its
# address is known at plan time (external_address) but the CA is not, so
# attach clusters from a second configuration (or a second apply) once the
# bridge exists; see the guide below.
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
