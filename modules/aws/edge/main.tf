locals {
  domains         = distinct([var.deck_domain, var.gate_domain, var.gate_x509_domain])
  create_cert     = var.certificate_arn == null
  certificate_arn = local.create_cert ? aws_acm_certificate_validation.this[0].certificate_arn : var.certificate_arn
}

################################################################################
# Certificate
################################################################################

resource "aws_acm_certificate" "this" {
  count = local.create_cert ? 1 : 0

  domain_name               = var.deck_domain
  subject_alternative_names = [var.gate_domain, var.gate_x509_domain]
  validation_method         = "DNS"

  options {
    certificate_transparency_logging_preference = "ENABLED"
  }

  tags = merge(var.tags, { Name = var.deck_domain })

  lifecycle {
    create_before_destroy = true
  }
}

# Keyed by the names, which are known at plan time (the validation options
# are not).
resource "aws_route53_record" "validation" {
  for_each = local.create_cert ? toset(local.domains) : toset([])

  zone_id         = var.zone_id
  name            = one([for o in aws_acm_certificate.this[0].domain_validation_options : o.resource_record_name if o.domain_name == each.key])
  type            = one([for o in aws_acm_certificate.this[0].domain_validation_options : o.resource_record_type if o.domain_name == each.key])
  records         = [one([for o in aws_acm_certificate.this[0].domain_validation_options : o.resource_record_value if o.domain_name == each.key])]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  count = local.create_cert ? 1 : 0

  certificate_arn         = aws_acm_certificate.this[0].arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}

################################################################################
# ALB: Deck and Gate by host name, HTTP redirected to HTTPS
################################################################################

resource "aws_lb" "this" {
  name               = "${var.name}-alb"
  load_balancer_type = "application"
  internal           = var.internal
  subnets            = var.subnet_ids
  security_groups    = var.security_group_ids

  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  idle_timeout               = 120

  dynamic "access_logs" {
    for_each = var.access_logs_bucket == null ? [] : [var.access_logs_bucket]
    content {
      bucket  = access_logs.value
      prefix  = "${var.name}-alb"
      enabled = true
    }
  }

  tags = var.tags
}

resource "aws_lb_target_group" "deck" {
  name        = "${var.name}-deck"
  vpc_id      = var.vpc_id
  target_type = "ip"
  protocol    = "HTTP"
  port        = var.target_ports.deck

  deregistration_delay = 30

  health_check {
    path    = "/"
    matcher = "200-399"
  }

  tags = var.tags
}

resource "aws_lb_target_group" "gate" {
  name        = "${var.name}-gate"
  vpc_id      = var.vpc_id
  target_type = "ip"
  protocol    = "HTTP"
  port        = var.target_ports.gate

  deregistration_delay = 30

  health_check {
    path    = "/health"
    matcher = "200"
  }

  tags = var.tags
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = local.certificate_arn

  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      message_body = "Not found"
      status_code  = "404"
    }
  }

  tags = var.tags
}

resource "aws_lb_listener_rule" "deck" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10

  condition {
    host_header {
      values = [var.deck_domain]
    }
  }

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.deck.arn
  }

  tags = var.tags
}

resource "aws_lb_listener_rule" "gate" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 20

  condition {
    host_header {
      values = [var.gate_domain]
    }
  }

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.gate.arn
  }

  tags = var.tags
}

################################################################################
# NLB: x509 client authentication to Gate (TLS passes through to Gate)
################################################################################

resource "aws_lb" "x509" {
  name               = "${var.name}-x509"
  load_balancer_type = "network"
  internal           = var.internal
  subnets            = var.subnet_ids
  security_groups    = var.security_group_ids

  enable_cross_zone_load_balancing = true
  enable_deletion_protection       = var.deletion_protection

  tags = var.tags
}

resource "aws_lb_target_group" "gate_x509" {
  name        = "${var.name}-gate-x509"
  vpc_id      = var.vpc_id
  target_type = "ip"
  protocol    = "TCP"
  port        = var.target_ports.gate_x509

  deregistration_delay = 30
  preserve_client_ip   = "true"

  health_check {
    protocol = "TCP"
  }

  tags = var.tags
}

resource "aws_lb_listener" "gate_x509" {
  load_balancer_arn = aws_lb.x509.arn
  port              = var.gate_x509_listener_port
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.gate_x509.arn
  }

  tags = var.tags
}

################################################################################
# DNS
################################################################################

resource "aws_route53_record" "this" {
  for_each = {
    deck      = { name = var.deck_domain, lb = aws_lb.this }
    gate      = { name = var.gate_domain, lb = aws_lb.this }
    gate_x509 = { name = var.gate_x509_domain, lb = aws_lb.x509 }
  }

  zone_id = var.zone_id
  name    = each.value.name
  type    = "A"

  alias {
    name                   = each.value.lb.dns_name
    zone_id                = each.value.lb.zone_id
    evaluate_target_health = true
  }
}

################################################################################
# NLB: the spinops bridge's gRPC port for agents (TLS passes through to the
# bridge), when var.bridge.enabled
################################################################################

locals {
  bridge               = var.bridge.enabled ? { this = var.bridge } : {}
  bridge_allowed_cidrs = var.bridge.enabled ? toset(var.bridge.allowed_cidrs) : toset([])
}

resource "aws_security_group" "bridge" {
  for_each = local.bridge

  name        = "${var.name}-bridge"
  description = "spinops bridge: agents' gRPC (TLS passthrough) on ${each.value.listener_port}"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-bridge" })
}

resource "aws_vpc_security_group_ingress_rule" "bridge" {
  for_each = local.bridge_allowed_cidrs

  security_group_id = aws_security_group.bridge["this"].id
  description       = "spinops agents to the bridge (gRPC over TLS)"
  ip_protocol       = "tcp"
  from_port         = var.bridge.listener_port
  to_port           = var.bridge.listener_port
  cidr_ipv4         = each.value

  tags = merge(var.tags, { Name = "${var.name}-bridge-${each.value}" })
}

resource "aws_lb" "bridge" {
  for_each = local.bridge

  name               = "${var.name}-bridge"
  load_balancer_type = "network"
  internal           = coalesce(each.value.internal, var.internal)
  subnets            = var.subnet_ids
  security_groups    = concat([aws_security_group.bridge["this"].id], each.value.security_group_ids)

  enable_cross_zone_load_balancing = true
  enable_deletion_protection       = var.deletion_protection

  tags = var.tags
}

resource "aws_lb_target_group" "bridge" {
  for_each = local.bridge

  name        = "${var.name}-bridge"
  vpc_id      = var.vpc_id
  target_type = "ip"
  protocol    = "TCP"
  port        = each.value.target_port

  # A replica going away (rollout, eviction) closes its agents' streams when
  # it leaves the target group, so they reconnect to another replica at once
  # instead of waiting on a dead flow.
  deregistration_delay   = 30
  connection_termination = true
  # The pods see the NLB's addresses (in subnet_ids), which the bridge's
  # NetworkPolicy admits; agents are told apart by credential, not address.
  preserve_client_ip = "false"

  # Ready, not merely listening: /readyz answers 200 once the bridge serves.
  health_check {
    protocol            = "HTTP"
    port                = tostring(each.value.health_check_port)
    path                = "/readyz"
    matcher             = "200"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }

  tags = var.tags
}

# TCP, not TLS: the bridge terminates TLS itself (its own certificate, agent
# client certificates and credentials), and HTTP/2 streams pass unchanged.
resource "aws_lb_listener" "bridge" {
  for_each = local.bridge

  load_balancer_arn        = aws_lb.bridge["this"].arn
  port                     = each.value.listener_port
  protocol                 = "TCP"
  tcp_idle_timeout_seconds = each.value.idle_timeout_seconds

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.bridge["this"].arn
  }

  tags = var.tags
}

resource "aws_route53_record" "bridge" {
  for_each = { for k, b in local.bridge : k => b if b.domain != null }

  zone_id = var.zone_id
  name    = each.value.domain
  type    = "A"

  alias {
    name                   = aws_lb.bridge["this"].dns_name
    zone_id                = aws_lb.bridge["this"].zone_id
    evaluate_target_health = true
  }
}
