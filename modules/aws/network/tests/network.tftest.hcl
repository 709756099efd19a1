mock_provider "aws" {}

variables {
  name                     = "spin"
  cidr                     = "10.0.0.0/16"
  azs                      = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  deck_ingress_cidr_blocks = ["203.0.113.0/24"]
  gate_ingress_cidr_blocks = ["198.51.100.0/24", "203.0.113.0/24"]
}

run "subnets_are_computed_from_one_cidr" {
  command = plan

  assert {
    condition     = aws_vpc.this.cidr_block == "10.0.0.0/16" && aws_vpc.this.enable_dns_hostnames && aws_vpc.this.enable_dns_support
    error_message = "The VPC should use the given CIDR with DNS support and hostnames."
  }

  assert {
    condition     = aws_subnet.private[*].cidr_block == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
    error_message = "Private subnets should be the first three /19s, got ${jsonencode(aws_subnet.private[*].cidr_block)}."
  }

  assert {
    condition     = aws_subnet.public[*].cidr_block == ["10.0.192.0/22", "10.0.196.0/22", "10.0.200.0/22"]
    error_message = "Public subnets should be /22s from 10.0.192.0, got ${jsonencode(aws_subnet.public[*].cidr_block)}."
  }

  assert {
    condition     = aws_subnet.database[*].cidr_block == ["10.0.224.0/22", "10.0.228.0/22", "10.0.232.0/22"]
    error_message = "Database subnets should be /22s from 10.0.224.0, got ${jsonencode(aws_subnet.database[*].cidr_block)}."
  }

  assert {
    condition = (
      tolist(aws_subnet.public[*].availability_zone) == tolist(var.azs) &&
      tolist(aws_subnet.private[*].availability_zone) == tolist(var.azs) &&
      tolist(aws_subnet.database[*].availability_zone) == tolist(var.azs)
    )
    error_message = "Each tier should have one subnet in each AZ, in order."
  }

  assert {
    condition     = alltrue([for s in aws_subnet.public : s.map_public_ip_on_launch == false])
    error_message = "Nothing launched into a public subnet should get a public IP by default."
  }

  assert {
    condition     = alltrue([for s in aws_subnet.public : s.tags["kubernetes.io/role/elb"] == "1"]) && alltrue([for s in aws_subnet.private : s.tags["kubernetes.io/role/internal-elb"] == "1"])
    error_message = "Subnets need the Kubernetes load-balancer role tags."
  }
}

run "two_azs_in_a_slash_20" {
  command = plan

  variables {
    cidr = "10.20.16.0/20"
    azs  = ["us-east-1a", "us-east-1b"]
  }

  assert {
    condition = (
      aws_subnet.private[*].cidr_block == ["10.20.16.0/23", "10.20.18.0/23"] &&
      aws_subnet.public[*].cidr_block == ["10.20.28.0/26", "10.20.28.64/26"] &&
      aws_subnet.database[*].cidr_block == ["10.20.30.0/26", "10.20.30.64/26"]
    )
    error_message = "A /20 should give /23 private and /26 public and database subnets: ${jsonencode([aws_subnet.private[*].cidr_block, aws_subnet.public[*].cidr_block, aws_subnet.database[*].cidr_block])}."
  }
}

run "one_nat_gateway_per_az" {
  # apply against the mock provider: IDs are known, so routes can be followed.
  command = apply

  assert {
    condition     = length(aws_nat_gateway.this) == 3 && length(aws_eip.nat) == 3
    error_message = "One NAT gateway (and Elastic IP) per AZ by default."
  }

  assert {
    condition     = [for i, n in aws_nat_gateway.this : n.subnet_id] == aws_subnet.public[*].id
    error_message = "Each NAT gateway lives in its AZ's public subnet."
  }

  assert {
    condition     = [for r in aws_route.private_nat : r.nat_gateway_id] == aws_nat_gateway.this[*].id
    error_message = "Each private route table should send 0.0.0.0/0 to the NAT gateway in its own AZ."
  }

  assert {
    condition     = [for a in aws_route_table_association.private : a.route_table_id] == aws_route_table.private[*].id && [for a in aws_route_table_association.private : a.subnet_id] == aws_subnet.private[*].id
    error_message = "Each private subnet uses its own AZ's route table."
  }

  assert {
    condition     = aws_route.public_internet.gateway_id == aws_internet_gateway.this.id && aws_route.public_internet.destination_cidr_block == "0.0.0.0/0"
    error_message = "Public subnets route to the internet gateway."
  }

  assert {
    condition     = alltrue([for a in aws_route_table_association.database : a.route_table_id == aws_route_table.database.id])
    error_message = "Database subnets use the database route table, which has no route out of the VPC."
  }

  assert {
    condition     = alltrue([for e in aws_eip.nat : e.domain == "vpc"])
    error_message = "NAT Elastic IPs are VPC addresses."
  }
}

run "single_nat_gateway" {
  command = apply

  variables {
    single_nat_gateway = true
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 1
    error_message = "single_nat_gateway should create exactly one NAT gateway."
  }

  assert {
    condition     = alltrue([for r in aws_route.private_nat : r.nat_gateway_id == aws_nat_gateway.this[0].id]) && length(aws_route.private_nat) == 3
    error_message = "Every private route table should use the single NAT gateway."
  }
}

run "user_facing_group_opens_exactly_deck_and_gate_ports" {
  command = apply

  assert {
    condition = sort([for r in aws_vpc_security_group_ingress_rule.user_facing : "${r.ip_protocol}/${r.from_port}-${r.to_port} ${r.cidr_ipv4}"]) == sort([
      "tcp/80-80 203.0.113.0/24",
      "tcp/443-443 203.0.113.0/24",
      "tcp/443-443 198.51.100.0/24",
      "tcp/8084-8084 198.51.100.0/24",
      "tcp/8084-8084 203.0.113.0/24",
    ])
    error_message = "User-facing rules should be Deck 80/443 from the Deck CIDRs and Gate 8084/443 from the Gate CIDRs and nothing else, got ${jsonencode(sort([for r in aws_vpc_security_group_ingress_rule.user_facing : "${r.ip_protocol}/${r.from_port}-${r.to_port} ${r.cidr_ipv4}"]))}."
  }

  assert {
    condition     = alltrue([for r in aws_vpc_security_group_ingress_rule.user_facing : r.security_group_id == aws_security_group.user_facing.id])
    error_message = "The user-facing rules belong to the user-facing group."
  }

  assert {
    condition     = toset([for r in aws_vpc_security_group_ingress_rule.user_facing : r.from_port]) == toset([80, 443, 8084])
    error_message = "Only ports 80, 443 and 8084 may be user-facing."
  }
}

run "internal_group_allows_only_its_members" {
  command = apply

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.internal_self.security_group_id == aws_security_group.internal.id &&
      aws_vpc_security_group_ingress_rule.internal_self.referenced_security_group_id == aws_security_group.internal.id &&
      aws_vpc_security_group_ingress_rule.internal_self.cidr_ipv4 == null &&
      aws_vpc_security_group_ingress_rule.internal_self.ip_protocol == "-1"
    )
    error_message = "The internal group's only ingress rule should be all traffic from itself."
  }
}

run "database_group_allows_3306_from_the_cluster_only" {
  command = apply

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.database_mysql.security_group_id == aws_security_group.database.id &&
      aws_vpc_security_group_ingress_rule.database_mysql.referenced_security_group_id == aws_security_group.internal.id &&
      aws_vpc_security_group_ingress_rule.database_mysql.cidr_ipv4 == null &&
      aws_vpc_security_group_ingress_rule.database_mysql.ip_protocol == "tcp" &&
      aws_vpc_security_group_ingress_rule.database_mysql.from_port == 3306 &&
      aws_vpc_security_group_ingress_rule.database_mysql.to_port == 3306
    )
    error_message = "The database group should allow TCP 3306 from the internal group and nothing else."
  }

  assert {
    condition     = output.database_security_group_id == aws_security_group.database.id && output.internal_security_group_id == aws_security_group.internal.id && output.user_facing_security_group_id == aws_security_group.user_facing.id
    error_message = "Outputs should expose the three groups."
  }
}

run "no_user_facing_rules_without_cidrs" {
  command = plan

  variables {
    deck_ingress_cidr_blocks = []
    gate_ingress_cidr_blocks = []
  }

  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.user_facing) == 0
    error_message = "Nothing should be opened to users unless CIDRs are given."
  }
}

run "explicit_subnets" {
  command = plan

  variables {
    azs              = ["eu-west-1a", "eu-west-1b"]
    public_subnets   = ["10.0.100.0/24", "10.0.101.0/24"]
    private_subnets  = ["10.0.0.0/18", "10.0.128.0/18"]
    database_subnets = ["10.0.110.0/24", "10.0.111.0/24"]
  }

  assert {
    condition     = aws_subnet.private[*].cidr_block == ["10.0.0.0/18", "10.0.128.0/18"] && aws_subnet.public[*].cidr_block == ["10.0.100.0/24", "10.0.101.0/24"]
    error_message = "Explicit subnets should be used as given."
  }
}

run "one_az_is_refused" {
  command = plan

  variables {
    azs = ["eu-west-1a"]
  }

  expect_failures = [var.azs]
}

run "the_same_az_twice_is_refused" {
  command = plan

  variables {
    azs = ["eu-west-1a", "eu-west-1a"]
  }

  expect_failures = [var.azs]
}

run "too_small_cidr_is_refused" {
  command = plan

  variables {
    cidr = "10.0.0.0/24"
  }

  expect_failures = [var.cidr]
}

run "overlapping_subnets_are_refused" {
  command = plan

  variables {
    azs              = ["eu-west-1a", "eu-west-1b"]
    public_subnets   = ["10.0.100.0/24", "10.0.101.0/24"]
    private_subnets  = ["10.0.0.0/17", "10.0.128.0/18"]
    database_subnets = ["10.0.110.0/24", "10.0.111.0/24"]
  }

  expect_failures = [aws_vpc.this]
}

run "subnet_outside_the_vpc_is_refused" {
  command = plan

  variables {
    azs              = ["eu-west-1a", "eu-west-1b"]
    database_subnets = ["10.0.224.0/22", "10.1.0.0/22"]
  }

  expect_failures = [aws_vpc.this]
}

run "subnet_count_must_match_azs" {
  command = plan

  variables {
    public_subnets = ["10.0.192.0/22"]
  }

  expect_failures = [var.public_subnets]
}

# examples/basic, the module's usage example, plans with this file's mock
# providers: an example that no longer fits the module fails here.
run "example_basic" {
  command = plan

  module {
    source = "./examples/basic"
  }
}
