output "vpc_id" {
  description = "ID of the VPC."
  value       = try(aws_vpc.this.id, null)
}

output "vpc_cidr_block" {
  description = "The VPC's IPv4 range."
  value       = try(aws_vpc.this.cidr_block, null)
}

output "azs" {
  description = "Availability zones of the subnets, in subnet order."
  value       = var.azs
}

output "public_subnet_ids" {
  description = "IDs of the public subnets (load balancers, NAT), one per AZ in azs order."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets (EKS nodes and pods), one per AZ in azs order."
  value       = aws_subnet.private[*].id
}

output "database_subnet_ids" {
  description = "IDs of the database subnets (Aurora), one per AZ in azs order."
  value       = aws_subnet.database[*].id
}

output "public_subnet_cidr_blocks" {
  description = "CIDRs of the public subnets."
  value       = local.public_subnets
}

output "private_subnet_cidr_blocks" {
  description = "CIDRs of the private subnets."
  value       = local.private_subnets
}

output "database_subnet_cidr_blocks" {
  description = "CIDRs of the database subnets."
  value       = local.database_subnets
}

output "internet_gateway_id" {
  description = "ID of the internet gateway."
  value       = try(aws_internet_gateway.this.id, null)
}

output "nat_gateway_ids" {
  description = "IDs of the NAT gateways."
  value       = aws_nat_gateway.this[*].id
}

output "nat_public_ips" {
  description = "Elastic IPs of the NAT gateways: Spinnaker's egress addresses, for allowlists on deployment targets."
  value       = aws_eip.nat[*].public_ip
}

output "private_route_table_ids" {
  description = "IDs of the private route tables, one per AZ."
  value       = aws_route_table.private[*].id
}

output "public_route_table_id" {
  description = "ID of the public route table."
  value       = try(aws_route_table.public.id, null)
}

output "database_route_table_id" {
  description = "ID of the database route table (local routes only)."
  value       = try(aws_route_table.database.id, null)
}

output "user_facing_security_group_id" {
  description = "Security group for the load balancers: Deck 80/443, Gate 8084/443 from the configured CIDRs."
  value       = try(aws_security_group.user_facing.id, null)
}

output "internal_security_group_id" {
  description = "Security group of the cluster (nodes, control plane, load balancers): all traffic within the group."
  value       = try(aws_security_group.internal.id, null)
}

output "database_security_group_id" {
  description = "Security group for Aurora: 3306 from the internal group only."
  value       = try(aws_security_group.database.id, null)
}
