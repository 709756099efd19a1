# Deck and Gate behind an ALB, Gate's x509 port behind an NLB, with certificates,
# DNS records and the default WAF web ACL. The IDs come from modules/aws/network
# (vpc_id, public_subnet_ids, user_facing_security_group_id,
# internal_security_group_id) and a Route 53 hosted zone.
#
# Planned by this module's tests (run "example_basic"), with mock providers.

provider "aws" {
  region = "eu-west-1"
}

module "edge" {
  source = "../.."

  name               = "spinnaker"
  vpc_id             = "vpc-0123456789abcdef0"
  subnet_ids         = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002", "subnet-0a1b2c3d4e5f60003"]
  security_group_ids = ["sg-0a1b2c3d4e5f60001", "sg-0a1b2c3d4e5f60002"]
  zone_id            = "Z0123456789EXAMPLE"
  deck_domain        = "spinnaker.example.com"
  gate_domain        = "api.spinnaker.example.com"
  gate_x509_domain   = "x509.spinnaker.example.com"
}

output "target_group_bindings_yaml" {
  value = module.edge.target_group_bindings_yaml
}
