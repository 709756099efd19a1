mock_provider "google" {}

variables {
  project_id    = "spinops-test"
  name          = "spinops-test-front50"
  location      = "EU"
  object_admins = { front50 = "serviceAccount:front50@spinops-test.iam.gserviceaccount.com" }
}

run "versioned_private_and_uniform" {
  command = plan

  assert {
    condition     = google_storage_bucket.this.versioning[0].enabled
    error_message = "The bucket must be versioned."
  }

  assert {
    condition     = google_storage_bucket.this.uniform_bucket_level_access
    error_message = "Uniform bucket-level access must be on (no object ACLs)."
  }

  assert {
    condition     = google_storage_bucket.this.public_access_prevention == "enforced"
    error_message = "Public access prevention must be enforced."
  }

  assert {
    condition     = google_storage_bucket.this.force_destroy == false
    error_message = "A production bucket must not be force-destroyable by default."
  }

  assert {
    condition     = length(google_storage_bucket.this.encryption) == 0
    error_message = "Without a KMS key the bucket uses Google-managed encryption."
  }
}

run "lifecycle_expires_old_versions_only" {
  command = plan

  assert {
    condition     = [for r in google_storage_bucket.this.lifecycle_rule : one(r.action).type] == ["Delete", "Delete", "AbortIncompleteMultipartUpload"]
    error_message = "Two deletion rules and one for stale multipart uploads."
  }

  assert {
    condition = [
      for r in google_storage_bucket.this.lifecycle_rule : [
        coalesce(one(r.condition).days_since_noncurrent_time, -1),
        coalesce(one(r.condition).num_newer_versions, -1),
        coalesce(one(r.condition).age, -1),
      ]
    ] == [[90, -1, -1], [-1, 30, -1], [-1, -1, 1]]
    error_message = "Noncurrent versions go after 90 days or beyond 30 newer ones; uploads are aborted after a day."
  }

  assert {
    condition     = [for r in google_storage_bucket.this.lifecycle_rule : one(r.condition).with_state if one(r.action).type == "Delete"] == ["ARCHIVED", "ARCHIVED"]
    error_message = "Deletion rules may only touch noncurrent (ARCHIVED) versions, never live objects."
  }
}

run "iam_grants_only_the_listed_members" {
  command = plan

  assert {
    condition     = toset(keys(google_storage_bucket_iam_member.object_admin)) == toset(["front50"]) && google_storage_bucket_iam_member.object_admin["front50"].member == "serviceAccount:front50@spinops-test.iam.gserviceaccount.com"
    error_message = "Only the listed member should become object admin."
  }

  assert {
    condition     = google_storage_bucket_iam_member.object_admin["front50"].role == "roles/storage.objectAdmin"
    error_message = "object_admins should get roles/storage.objectAdmin."
  }

  assert {
    condition     = length(google_storage_bucket_iam_member.object_viewer) == 0
    error_message = "No viewers unless asked for."
  }
}

run "customer_managed_key" {
  command = plan

  variables {
    kms_key_name = "projects/spinops-test/locations/europe/keyRings/spinnaker/cryptoKeys/front50"
  }

  assert {
    condition     = google_storage_bucket.this.encryption[0].default_kms_key_name == "projects/spinops-test/locations/europe/keyRings/spinnaker/cryptoKeys/front50"
    error_message = "The KMS key should become the default encryption key."
  }
}

run "bad_bucket_name_is_refused" {
  command = plan

  variables {
    name = "Spinnaker_Front50"
  }

  expect_failures = [var.name]
}

run "bad_member_is_refused" {
  command = plan

  variables {
    object_admins = { front50 = "front50@spinops-test.iam.gserviceaccount.com" }
  }

  expect_failures = [var.object_admins]
}

run "short_soft_delete_is_refused" {
  command = plan

  variables {
    soft_delete_retention_days = 3
  }

  expect_failures = [var.soft_delete_retention_days]
}

# examples/basic, the module's usage example, plans with this file's mock
# providers: an example that no longer fits the module fails here.
run "example_basic" {
  command = plan

  module {
    source = "./examples/basic"
  }
}
