locals {
  az_count = length(var.azs)

  # Fixed slots (see var.cidr): private = eighths 0..5, public = the /+6
  # blocks of the seventh eighth, database = those of the eighth eighth.
  public_subnets   = length(var.public_subnets) == local.az_count ? var.public_subnets : [for i in range(local.az_count) : cidrsubnet(var.cidr, 6, 48 + i)]
  private_subnets  = length(var.private_subnets) == local.az_count ? var.private_subnets : [for i in range(local.az_count) : cidrsubnet(var.cidr, 3, i)]
  database_subnets = length(var.database_subnets) == local.az_count ? var.database_subnets : [for i in range(local.az_count) : cidrsubnet(var.cidr, 6, 56 + i)]

  all_subnets = merge(
    { for i, c in local.public_subnets : "public ${i}" => c },
    { for i, c in local.private_subnets : "private ${i}" => c },
    { for i, c in local.database_subnets : "database ${i}" => c },
  )
  subnet_names = keys(local.all_subnets)

  # a holds b when b's first address, cut to a's prefix, is a's first address.
  subnets_outside_vpc = [
    for n, c in local.all_subnets : "${n} ${c}"
    if !(tonumber(split("/", c)[1]) >= tonumber(split("/", var.cidr)[1]) &&
    cidrhost("${cidrhost(c, 0)}/${split("/", var.cidr)[1]}", 0) == cidrhost(var.cidr, 0))
  ]
  overlapping_subnets = [
    for p in setproduct(local.subnet_names, local.subnet_names) :
    "${p[0]} ${local.all_subnets[p[0]]} and ${p[1]} ${local.all_subnets[p[1]]}"
    if index(local.subnet_names, p[0]) < index(local.subnet_names, p[1]) && (
      cidrhost("${cidrhost(local.all_subnets[p[1]], 0)}/${split("/", local.all_subnets[p[0]])[1]}", 0) == cidrhost(local.all_subnets[p[0]], 0) ||
      cidrhost("${cidrhost(local.all_subnets[p[0]], 0)}/${split("/", local.all_subnets[p[1]])[1]}", 0) == cidrhost(local.all_subnets[p[1]], 0)
    )
  ]

  nat_gateway_count = var.single_nat_gateway ? 1 : local.az_count
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(var.tags, { Name = var.name })

  lifecycle {
    # Checks over all subnets, given or computed.
    precondition {
      condition     = length(local.subnets_outside_vpc) == 0
      error_message = "Subnets must lie inside the VPC's cidr ${var.cidr}: ${join(", ", local.subnets_outside_vpc)}."
    }

    precondition {
      condition     = length(local.overlapping_subnets) == 0
      error_message = "Subnets overlap: ${join("; ", local.overlapping_subnets)}. Give every public, private and database subnet its own range."
    }
  }
}

# The default security group allows all traffic between its members; nothing
# should use it, so it is emptied.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-default-unused" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = var.name })
}

################################################################################
# Subnets
################################################################################

resource "aws_subnet" "public" {
  count = local.az_count

  vpc_id                  = aws_vpc.this.id
  cidr_block              = local.public_subnets[count.index]
  availability_zone       = var.azs[count.index]
  map_public_ip_on_launch = false

  tags = merge(var.tags, {
    Name                     = "${var.name}-public-${var.azs[count.index]}"
    Tier                     = "public"
    "kubernetes.io/role/elb" = "1"
  })
}

resource "aws_subnet" "private" {
  count = local.az_count

  vpc_id            = aws_vpc.this.id
  cidr_block        = local.private_subnets[count.index]
  availability_zone = var.azs[count.index]

  tags = merge(var.tags, {
    Name                              = "${var.name}-private-${var.azs[count.index]}"
    Tier                              = "private"
    "kubernetes.io/role/internal-elb" = "1"
  })
}

resource "aws_subnet" "database" {
  count = local.az_count

  vpc_id            = aws_vpc.this.id
  cidr_block        = local.database_subnets[count.index]
  availability_zone = var.azs[count.index]

  tags = merge(var.tags, {
    Name = "${var.name}-database-${var.azs[count.index]}"
    Tier = "database"
  })
}

################################################################################
# NAT gateways
################################################################################

resource "aws_eip" "nat" {
  count = local.nat_gateway_count

  domain = "vpc"

  tags = merge(var.tags, { Name = "${var.name}-nat-${var.azs[count.index]}" })

  depends_on = [aws_internet_gateway.this]
}

resource "aws_nat_gateway" "this" {
  count = local.nat_gateway_count

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id

  tags = merge(var.tags, { Name = "${var.name}-${var.azs[count.index]}" })

  depends_on = [aws_internet_gateway.this]
}

################################################################################
# Routing: public -> internet gateway, private -> NAT in the same AZ (or the
# single one), database -> nowhere outside the VPC
################################################################################

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-public" })
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count = local.az_count

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table" "private" {
  count = local.az_count

  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-private-${var.azs[count.index]}" })
}

resource "aws_route" "private_nat" {
  count = local.az_count

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[var.single_nat_gateway ? 0 : count.index].id
}

resource "aws_route_table_association" "private" {
  count = local.az_count

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

resource "aws_route_table" "database" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-database" })
}

resource "aws_route_table_association" "database" {
  count = local.az_count

  subnet_id      = aws_subnet.database[count.index].id
  route_table_id = aws_route_table.database.id
}
