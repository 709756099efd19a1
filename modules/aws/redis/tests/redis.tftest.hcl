mock_provider "aws" {}

variables {
  name                      = "spin"
  vpc_id                    = "vpc-0123"
  subnet_ids                = ["subnet-priv-a", "subnet-priv-b", "subnet-priv-c"]
  availability_zones        = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  source_security_group_ids = ["sg-internal"]
}

run "ha_is_multi_az_with_failover_and_two_nodes" {
  command = plan

  assert {
    condition     = aws_elasticache_replication_group.this.multi_az_enabled && aws_elasticache_replication_group.this.automatic_failover_enabled
    error_message = "With ha (the default), Multi-AZ and automatic failover must be on."
  }

  assert {
    condition     = aws_elasticache_replication_group.this.num_cache_clusters == 2
    error_message = "A primary and one replica by default, got ${aws_elasticache_replication_group.this.num_cache_clusters} nodes."
  }

  assert {
    condition     = aws_elasticache_replication_group.this.preferred_cache_cluster_azs == tolist(["eu-west-1a", "eu-west-1b"])
    error_message = "The primary goes to the first AZ, the replica to the second: ${jsonencode(aws_elasticache_replication_group.this.preferred_cache_cluster_azs)}."
  }

  assert {
    condition     = aws_elasticache_replication_group.this.cluster_mode == "disabled"
    error_message = "Cluster mode must be off: Spinnaker's Redis clients talk to one primary."
  }

  assert {
    condition     = aws_elasticache_subnet_group.this.subnet_ids == toset(["subnet-priv-a", "subnet-priv-b", "subnet-priv-c"])
    error_message = "The subnet group holds the given subnets."
  }
}

run "every_node_lands_in_a_distinct_az" {
  command = plan

  variables {
    replica_count = 2
  }

  assert {
    condition     = aws_elasticache_replication_group.this.num_cache_clusters == 3 && length(aws_elasticache_replication_group.this.preferred_cache_cluster_azs) == 3
    error_message = "Three nodes, each with an AZ."
  }

  assert {
    condition     = length(distinct(aws_elasticache_replication_group.this.preferred_cache_cluster_azs)) == aws_elasticache_replication_group.this.num_cache_clusters
    error_message = "No two nodes may share an AZ: ${jsonencode(aws_elasticache_replication_group.this.preferred_cache_cluster_azs)}."
  }

  assert {
    condition     = output.node_availability_zones == tolist(["eu-west-1a", "eu-west-1b", "eu-west-1c"])
    error_message = "node_availability_zones lists the nodes' AZs, primary first."
  }
}

run "encrypted_at_rest_and_in_transit_without_a_secret" {
  command = plan

  assert {
    condition     = aws_elasticache_replication_group.this.at_rest_encryption_enabled == "true"
    error_message = "Encryption at rest must be on."
  }

  assert {
    condition     = aws_elasticache_replication_group.this.transit_encryption_enabled && aws_elasticache_replication_group.this.transit_encryption_mode == "required"
    error_message = "TLS must be on and required (no plain-text connections)."
  }

  assert {
    condition     = aws_elasticache_replication_group.this.auth_token == null
    error_message = "No AUTH token: it would be kept in state."
  }
}

run "parameters_for_spinnaker" {
  command = plan

  assert {
    condition     = aws_elasticache_parameter_group.this.family == "valkey8" && aws_elasticache_replication_group.this.engine == "valkey" && aws_elasticache_replication_group.this.engine_version == "8.0"
    error_message = "Valkey 8.0 with a valkey8 parameter group by default."
  }

  assert {
    condition     = { for p in aws_elasticache_parameter_group.this.parameter : p.name => p.value }["notify-keyspace-events"] == "gxE"
    error_message = "Gate's session store needs notify-keyspace-events gxE (Gate cannot set it: ElastiCache refuses CONFIG)."
  }

  assert {
    condition     = { for p in aws_elasticache_parameter_group.this.parameter : p.name => p.value }["maxmemory-policy"] == "noeviction"
    error_message = "Spinnaker's keys must not be evicted."
  }

  assert {
    condition     = yamldecode(output.spinnaker_profiles.gate).redis.configuration.secure == true
    error_message = "Gate must be told not to run CONFIG (redis.configuration.secure)."
  }
}

run "redis_oss_engine" {
  command = plan

  variables {
    engine = "redis"
  }

  assert {
    condition     = aws_elasticache_parameter_group.this.family == "redis7" && aws_elasticache_replication_group.this.engine_version == "7.1"
    error_message = "Redis OSS 7.1 with a redis7 parameter group."
  }
}

run "only_the_source_groups_reach_6379" {
  command = plan

  variables {
    source_security_group_ids = ["sg-internal", "sg-karpenter-nodes"]
  }

  assert {
    condition     = toset([for r in aws_vpc_security_group_ingress_rule.redis : r.referenced_security_group_id]) == toset(["sg-internal", "sg-karpenter-nodes"])
    error_message = "One rule per source group."
  }

  assert {
    condition     = alltrue([for r in aws_vpc_security_group_ingress_rule.redis : r.from_port == 6379 && r.to_port == 6379 && r.ip_protocol == "tcp" && r.cidr_ipv4 == null])
    error_message = "Only TCP 6379, and from groups, never from an address range."
  }

  assert {
    condition     = aws_security_group.this.vpc_id == "vpc-0123"
    error_message = "The group is in the given VPC."
  }
}

run "endpoint_is_host_port_and_url_is_tls" {
  command = apply

  override_resource {
    target = aws_elasticache_replication_group.this
    values = {
      primary_endpoint_address = "master.spin.abc123.euw1.cache.amazonaws.com"
      reader_endpoint_address  = "replica.spin.abc123.euw1.cache.amazonaws.com"
    }
  }

  assert {
    condition     = output.endpoint == "master.spin.abc123.euw1.cache.amazonaws.com:6379"
    error_message = "endpoint is host:port of the primary endpoint, got ${output.endpoint}."
  }

  assert {
    condition     = output.url == "rediss://master.spin.abc123.euw1.cache.amazonaws.com:6379"
    error_message = "url is the primary endpoint with the rediss scheme, got ${output.url}."
  }

  assert {
    condition     = output.reader_endpoint == "replica.spin.abc123.euw1.cache.amazonaws.com:6379"
    error_message = "reader_endpoint is host:port of the reader endpoint."
  }
}

run "without_ha_one_node_in_one_subnet" {
  command = plan

  variables {
    ha                 = false
    subnet_ids         = ["subnet-priv-a"]
    availability_zones = ["eu-west-1a"]
  }

  assert {
    condition     = aws_elasticache_replication_group.this.num_cache_clusters == 1 && !aws_elasticache_replication_group.this.multi_az_enabled && !aws_elasticache_replication_group.this.automatic_failover_enabled
    error_message = "Without ha: one node, no Multi-AZ, no failover."
  }
}

run "ha_in_one_subnet_is_refused" {
  command = plan

  variables {
    subnet_ids         = ["subnet-priv-a"]
    availability_zones = ["eu-west-1a"]
  }

  # The checks of availability_zones and replica_count refer to subnet_ids,
  # so Terraform reports only the first.
  expect_failures = [var.subnet_ids]
}

run "ha_in_one_az_is_refused" {
  command = plan

  variables {
    subnet_ids         = ["subnet-priv-a", "subnet-priv-a2"]
    availability_zones = ["eu-west-1a", "eu-west-1a"]
  }

  expect_failures = [var.availability_zones]
}

run "an_az_given_twice_is_refused" {
  command = plan

  # Two AZs, but three subnets: the third node would share the first's AZ.
  variables {
    availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1a"]
    replica_count      = 2
  }

  expect_failures = [var.availability_zones]
}

run "more_nodes_than_azs_is_refused" {
  command = plan

  variables {
    replica_count = 3
  }

  expect_failures = [var.replica_count]
}

run "ha_without_a_replica_is_refused" {
  command = plan

  variables {
    replica_count = 0
  }

  expect_failures = [var.replica_count]
}

run "subnets_and_azs_must_pair_up" {
  command = plan

  variables {
    availability_zones = ["eu-west-1a", "eu-west-1b"]
  }

  expect_failures = [var.availability_zones]
}

run "no_source_group_is_refused" {
  command = plan

  variables {
    source_security_group_ids = []
  }

  expect_failures = [var.source_security_group_ids]
}

run "redis_8_is_refused" {
  command = plan

  variables {
    engine         = "redis"
    engine_version = "8.0"
  }

  expect_failures = [var.engine_version]
}

# examples/basic, the module's usage example, plans with this file's mock
# providers: an example that no longer fits the module fails here.
run "example_basic" {
  command = plan

  module {
    source = "./examples/basic"
  }
}
