# The landing zone plans as one, across four accounts (mock providers).

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "eu-west-1"
    }
  }
}

mock_provider "aws" {
  alias = "backup"
}

mock_provider "aws" {
  alias = "staging"
}

mock_provider "aws" {
  alias = "production"
}

mock_provider "spinops" {
  mock_data "spinops_iam_managed_role_policy" {
    defaults = {
      trust_policy_json   = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111111111111:role/spinnaker-managing\"},\"Action\":\"sts:AssumeRole\"}]}"
      policy_json         = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\"}]}"
      managed_policy_arns = []
    }
  }
}

run "every_account_gets_its_part" {
  command = plan

  assert {
    condition = toset(spinops_iam_source_role.this.managed_role_arns) == toset([
      "arn:aws:iam::222222222222:role/spinnakerManaged",
      "arn:aws:iam::333333333333:role/spinnakerManaged",
    ])
    error_message = "The source role may assume exactly the two target accounts' managed roles."
  }

  assert {
    condition     = data.spinops_iam_managed_role_policy.this.source_role_arns == toset(["arn:aws:iam::111111111111:role/spinnaker-managing"])
    error_message = "The managed roles trust the tooling account's source role."
  }

  assert {
    condition     = module.managed_role_staging.role_name == "spinnakerManaged" && module.managed_role_production.role_name == "spinnakerManaged"
    error_message = "Both target accounts get the managed role."
  }
}
