mock_provider "google" {}

variables {
  project_id      = "spinops-test"
  name            = "spin-sql"
  region          = "europe-west1"
  private_network = "projects/spinops-test/global/networks/spin"
}

run "regional_ha_primary_with_binary_logs" {
  command = plan

  assert {
    condition     = google_sql_database_instance.this.settings[0].availability_type == "REGIONAL"
    error_message = "The primary must be regional HA (synchronous standby in another zone)."
  }

  assert {
    condition     = startswith(google_sql_database_instance.this.database_version, "MYSQL_8")
    error_message = "MySQL 8 is required."
  }

  assert {
    condition = (
      google_sql_database_instance.this.settings[0].backup_configuration[0].enabled &&
      google_sql_database_instance.this.settings[0].backup_configuration[0].binary_log_enabled &&
      google_sql_database_instance.this.settings[0].backup_configuration[0].transaction_log_retention_days == 7 &&
      google_sql_database_instance.this.settings[0].backup_configuration[0].backup_retention_settings[0].retained_backups == 14
    )
    error_message = "Backups and binary logs (point-in-time recovery) must be on, 14 backups and 7 days of logs kept."
  }

  assert {
    condition = (
      google_sql_database_instance.this.settings[0].ip_configuration[0].ipv4_enabled == false &&
      google_sql_database_instance.this.settings[0].ip_configuration[0].private_network == "projects/spinops-test/global/networks/spin" &&
      google_sql_database_instance.this.settings[0].ip_configuration[0].ssl_mode == "ENCRYPTED_ONLY"
    )
    error_message = "Private IP only, TLS required."
  }

  assert {
    condition     = google_sql_database_instance.this.deletion_protection && google_sql_database_instance.this.settings[0].deletion_protection_enabled
    error_message = "Deletion protection must be on in Terraform and in the API."
  }
}

run "flags_are_utf8mb4_and_read_committed" {
  command = plan

  variables {
    read_replica_count = 1
  }

  assert {
    condition     = { for f in google_sql_database_instance.this.settings[0].database_flags : f.name => f.value }["character_set_server"] == "utf8mb4"
    error_message = "character_set_server must be utf8mb4."
  }

  assert {
    condition     = { for f in google_sql_database_instance.this.settings[0].database_flags : f.name => f.value }["transaction_isolation"] == "READ-COMMITTED"
    error_message = "transaction_isolation must be READ-COMMITTED."
  }

  assert {
    condition     = { for f in google_sql_database_instance.replica[0].settings[0].database_flags : f.name => f.value }["transaction_isolation"] == "READ-COMMITTED"
    error_message = "Replicas must carry the same flags."
  }

  assert {
    condition     = [for d in google_sql_database.this : "${d.name}:${d.charset}"] == ["clouddriver:utf8mb4", "front50:utf8mb4", "orca:utf8mb4"]
    error_message = "Spinnaker's databases should be created with utf8mb4."
  }
}

run "one_read_replica_of_the_primary" {
  command = plan

  variables {
    read_replica_count = 1
  }

  assert {
    condition     = length(google_sql_database_instance.replica) == 1
    error_message = "One read replica by default."
  }

  assert {
    condition     = google_sql_database_instance.replica[0].master_instance_name == "spin-sql" && google_sql_database_instance.replica[0].replica_configuration[0].failover_target == false
    error_message = "The replica must replicate from the primary and not be a legacy failover target."
  }

  assert {
    condition     = google_sql_database_instance.replica[0].settings[0].ip_configuration[0].ipv4_enabled == false
    error_message = "Replicas are private too."
  }

  assert {
    condition     = length(google_sql_user.admin) == 0 && length(google_sql_user.iam) == 0
    error_message = "No users without a password version or IAM accounts."
  }
}

run "replicas_spread_over_zones" {
  command = plan

  variables {
    zone               = "europe-west1-b"
    secondary_zone     = "europe-west1-c"
    read_replica_count = 3
    replica_zones      = ["europe-west1-c", "europe-west1-d"]
  }

  assert {
    condition     = [for r in google_sql_database_instance.replica : r.settings[0].location_preference[0].zone] == ["europe-west1-c", "europe-west1-d", "europe-west1-c"]
    error_message = "Replicas should cycle through replica_zones."
  }

  assert {
    condition     = alltrue([for r in google_sql_database_instance.replica : r.settings[0].location_preference[0].zone != google_sql_database_instance.this.settings[0].location_preference[0].zone])
    error_message = "No replica may share the primary's zone."
  }

  assert {
    condition     = [for r in google_sql_database_instance.replica : r.name] == ["spin-sql-replica-0", "spin-sql-replica-1", "spin-sql-replica-2"]
    error_message = "Replicas are named NAME-replica-N."
  }
}

run "write_only_admin_password_and_iam_users" {
  command = plan

  variables {
    admin_password_wo         = "not-a-real-password"
    admin_password_wo_version = 1
    iam_service_accounts      = { front50 = "spin-front50@spinops-test.iam.gserviceaccount.com" }
  }

  assert {
    condition     = google_sql_user.admin[0].name == "spinops_admin" && google_sql_user.admin[0].password_wo_version == 1
    error_message = "The admin user should be created with a write-only password."
  }

  assert {
    condition     = google_sql_user.admin[0].password_wo == null
    error_message = "The write-only password must not appear in the plan."
  }

  assert {
    condition     = google_sql_user.iam["front50"].name == "spin-front50@spinops-test.iam" && google_sql_user.iam["front50"].type == "CLOUD_IAM_SERVICE_ACCOUNT"
    error_message = "IAM users are named by the email without .gserviceaccount.com."
  }
}

run "no_replica_by_default" {
  command = plan

  assert {
    condition     = length(google_sql_database_instance.replica) == 0
    error_message = "No read replica unless asked for: Cloud SQL replicas are asynchronous, Clouddriver reads from the primary."
  }
}

run "too_many_replicas_are_refused" {
  command = plan

  variables {
    read_replica_count = 11
  }

  expect_failures = [var.read_replica_count]
}

run "replica_in_the_primary_zone_is_refused" {
  command = plan

  variables {
    zone          = "europe-west1-b"
    replica_zones = ["europe-west1-b"]
  }

  expect_failures = [var.replica_zones]
}

run "mysql_5_7_is_refused" {
  command = plan

  variables {
    database_version = "MYSQL_5_7"
  }

  expect_failures = [var.database_version]
}

# examples/basic, the module's usage example, plans with this file's mock
# providers: an example that no longer fits the module fails here.
run "example_basic" {
  command = plan

  module {
    source = "./examples/basic"
  }
}
