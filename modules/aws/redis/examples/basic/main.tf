# ElastiCache for Spinnaker's Redis (Gate's sessions, Fiat's cache), Multi-AZ
# with failover, in the network module's database subnets; pass url to
# modules/spinops/platform's redis_endpoint.
#
# Planned by this module's tests (run "example_basic"), with mock providers.

provider "aws" {
  region = "eu-west-1"
}

module "redis" {
  source = "../.."

  name                      = "spinnaker"
  vpc_id                    = "vpc-0123456789abcdef0"
  subnet_ids                = ["subnet-0a1b2c3d4e5f60021", "subnet-0a1b2c3d4e5f60022", "subnet-0a1b2c3d4e5f60023"]
  availability_zones        = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  source_security_group_ids = ["sg-0a1b2c3d4e5f60002"]
}

output "url" {
  value = module.redis.url
}
