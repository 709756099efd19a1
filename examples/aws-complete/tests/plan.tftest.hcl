# The whole stack plans as one: every module's inputs come from another
# module's outputs, and nothing is created (mock providers).

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

mock_provider "spinops" {}

run "the_stack_plans_with_the_modules_wired_together" {
  command = plan

  assert {
    condition     = length(module.network.private_subnet_ids) == 3 && length(module.network.database_subnet_ids) == 3
    error_message = "Three AZs of private and database subnets."
  }

  assert {
    condition     = length(module.mysql.reader_availability_zones) == 2 && module.mysql.writer_availability_zone == "eu-west-1a"
    error_message = "A writer in the first AZ and two readers."
  }

  assert {
    condition     = !contains(module.mysql.reader_availability_zones, module.mysql.writer_availability_zone)
    error_message = "No reader shares the writer's AZ."
  }

  assert {
    condition     = spinops_iam_source_role.this.name == "spinnaker-managing" && length(spinops_iam_source_role.this.managed_role_arns) == 2
    error_message = "The managing role may assume the two target accounts' managed roles."
  }

  assert {
    condition     = output.deck_url == "https://spinnaker.example.com" && output.gate_x509_url == "https://x509.spinnaker.example.com:8084"
    error_message = "URLs of Deck and Gate."
  }

  assert {
    condition     = toset(keys(output.spinnaker.service_account_annotations)) == toset(["clouddriver", "front50", "rosco", "spinops-backup"])
    error_message = "Front50, the backup job, Clouddriver and Rosco get IAM roles."
  }
}

run "backups_cover_the_three_databases_with_point_in_time" {
  command = plan

  assert {
    condition     = toset(spinops_backup_policy.this.sources.mysql.databases) == toset(["clouddriver", "orca", "front50"])
    error_message = "Clouddriver, Orca and Front50 are backed up."
  }

  assert {
    condition     = spinops_backup_policy.this.point_in_time.enabled
    error_message = "Point-in-time recovery is on."
  }
}
