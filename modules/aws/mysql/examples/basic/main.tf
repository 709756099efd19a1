# Aurora MySQL for Spinnaker: a writer and two readers across three AZs in the
# network module's database subnets (modules/aws/network: database_subnet_ids,
# azs, database_security_group_id).
#
# Planned by this module's tests (run "example_basic"), with mock providers.

provider "aws" {
  region = "eu-west-1"
}

module "mysql" {
  source = "../.."

  name               = "spinnaker"
  subnet_ids         = ["subnet-0a1b2c3d4e5f60021", "subnet-0a1b2c3d4e5f60022", "subnet-0a1b2c3d4e5f60023"]
  availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  security_group_ids = ["sg-0a1b2c3d4e5f60004"]
  reader_count       = 2
}

output "endpoint" {
  value = module.mysql.endpoint
}
