################################################################################
# Security groups
#
#   user_facing: Deck 80/443 and Gate 8084/443 from the configured CIDRs; put
#                it on the load balancers (edge module).
#   internal:    service to service, only between members of the group: the
#                EKS nodes and control plane, and the load balancers, which
#                reach their targets as members.
#   database:    3306 from the internal group only; put it on Aurora.
################################################################################

locals {
  deck_ports = [80, 443]
  gate_ports = [8084, 443]
  port_descriptions = {
    80   = "Deck (HTTP, redirected to HTTPS)"
    443  = "Deck and Gate (HTTPS)"
    8084 = "Gate API (x509 client certificates)"
  }

  user_facing_rules = {
    for pair in distinct(concat(
      [for pc in setproduct(local.deck_ports, var.deck_ingress_cidr_blocks) : "${pc[0]} ${pc[1]}"],
      [for pc in setproduct(local.gate_ports, var.gate_ingress_cidr_blocks) : "${pc[0]} ${pc[1]}"],
    )) : pair => { port = tonumber(split(" ", pair)[0]), cidr = split(" ", pair)[1] }
  }
}

resource "aws_security_group" "user_facing" {
  name        = "${var.name}-user-facing"
  description = "Spinnaker user-facing: Deck 80/443 and Gate 8084/443"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-user-facing" })
}

resource "aws_vpc_security_group_ingress_rule" "user_facing" {
  for_each = local.user_facing_rules

  security_group_id = aws_security_group.user_facing.id
  description       = local.port_descriptions[each.value.port]
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr

  tags = merge(var.tags, { Name = "${var.name}-user-facing-${each.value.port}" })
}

resource "aws_security_group" "internal" {
  name        = "${var.name}-internal"
  description = "Spinnaker internal: service to service within the group only"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-internal" })
}

resource "aws_vpc_security_group_ingress_rule" "internal_self" {
  security_group_id            = aws_security_group.internal.id
  description                  = "Service to service within the group"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.internal.id

  tags = merge(var.tags, { Name = "${var.name}-internal-self" })
}

resource "aws_vpc_security_group_egress_rule" "internal_all" {
  security_group_id = aws_security_group.internal.id
  description       = "Outbound: AWS APIs, image registries and deployment targets (through NAT)"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"

  tags = merge(var.tags, { Name = "${var.name}-internal-egress" })
}

resource "aws_security_group" "database" {
  name        = "${var.name}-database"
  description = "Spinnaker database: MySQL 3306 from the internal group only"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-database" })
}

resource "aws_vpc_security_group_ingress_rule" "database_mysql" {
  security_group_id            = aws_security_group.database.id
  description                  = "MySQL from the cluster (internal group)"
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
  referenced_security_group_id = aws_security_group.internal.id

  tags = merge(var.tags, { Name = "${var.name}-database-mysql" })
}
