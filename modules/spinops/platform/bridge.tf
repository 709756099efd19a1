# The spinops bridge next to Spinnaker: one replica on SQLite (give
# bridge.mysql_dsn_secret for two on the installation's MySQL), a CA and
# serving certificate generated into a Secret (or cert-manager's), and
# get/patch on green's SpinnakerAccounts to withdraw those of agents gone
# past their grace period. How agents outside the cluster reach it is the
# cloud's part: an NLB target group (aws_target_group_arn, with the CIDRs the
# NLB reaches the pods from) or a LoadBalancer Service (grpc_service). The
# key ring and admin token never enter state.
resource "spinops_bridge" "this" {
  name                 = var.bridge.name
  namespace            = var.bridge.namespace
  replicas             = var.bridge.mysql_dsn_secret == null ? 1 : 2
  external_address     = var.bridge.external_address
  aws_target_group_arn = var.bridge.aws_target_group_arn
  spinnaker_namespace  = spinops_zone.green.namespace

  grpc_allowed_cidrs = var.bridge.grpc_allowed_cidrs
  health_check_cidrs = var.bridge.health_check_cidrs

  dynamic "grpc_service" {
    for_each = var.bridge.grpc_service == null ? [] : [var.bridge.grpc_service]

    content {
      type             = grpc_service.value.type
      port             = grpc_service.value.port
      load_balancer_ip = grpc_service.value.load_balancer_ip
      source_ranges    = grpc_service.value.source_ranges
      annotations      = grpc_service.value.annotations
    }
  }

  dynamic "mysql" {
    for_each = var.bridge.mysql_dsn_secret == null ? [] : [var.bridge.mysql_dsn_secret]

    content {
      dsn_secret_name = mysql.value
    }
  }

  dynamic "tls" {
    for_each = var.bridge.cert_manager_issuer == null ? [] : [var.bridge.cert_manager_issuer]

    content {
      cert_manager_issuer      = tls.value.name
      cert_manager_issuer_kind = tls.value.kind
    }
  }

  admin_token_wo         = var.bridge_admin_token
  admin_token_wo_version = var.bridge.admin_token_version

  requests = var.bridge.requests
  limits   = var.bridge.limits
}
