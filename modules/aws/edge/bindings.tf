################################################################################
# TargetGroupBindings: how the target groups above get their targets
#
# The target groups take pod IPs (target_type = "ip"). The AWS Load Balancer
# Controller registers them when a TargetGroupBinding (elbv2.k8s.aws/v1beta1)
# names a target group and a Service port: it registers the IPs of the
# Service's ready endpoints on the port's targetPort and keeps them current.
# The zone's Services are Halyard's ClusterIP Services (the zone without
# `expose`, so that the operator makes no cloud load balancer of its own).
################################################################################

locals {
  # Gate's x509 port only when its Service is named: Halyard's spin-gate
  # Service has the one port 8084, and the controller refuses a binding to a
  # port the Service lacks (LookupServicePort in aws-load-balancer-
  # controller's pkg/k8s/service_utils.go: "unable to find port").
  target_group_bindings = [for k, s in {
    deck      = { tg = aws_lb_target_group.deck.arn, svc = var.target_group_bindings.deck }
    gate      = { tg = aws_lb_target_group.gate.arn, svc = var.target_group_bindings.gate }
    gate-x509 = { tg = aws_lb_target_group.gate_x509.arn, svc = var.target_group_bindings.gate_x509 }
    } : {
    apiVersion = "elbv2.k8s.aws/v1beta1"
    kind       = "TargetGroupBinding"
    metadata = {
      name      = "${var.name}-${k}"
      namespace = var.target_group_bindings.namespace
      labels    = { "app.kubernetes.io/managed-by" = "terraform", "app.kubernetes.io/part-of" = "spinops" }
    }
    spec = {
      targetGroupARN = s.tg
      targetType     = "ip"
      serviceRef     = { name = s.svc.service, port = s.svc.port }
    }
  } if s.svc != null]
}
