# A file of its own: mock providers keep an updated resource's computed
# attributes, so an apply after redis.tftest.hcl's would still see its port.

mock_provider "google" {}

variables {
  project_id         = "spinops-test-project"
  name               = "spin"
  region             = "europe-west1"
  authorized_network = "projects/spinops-test-project/global/networks/spin"
}

run "tls_gives_a_rediss_url" {
  command = apply

  variables {
    transit_encryption = true
  }

  override_resource {
    target = google_redis_instance.this
    values = {
      host            = "10.30.0.4"
      port            = 6378
      server_ca_certs = [{ cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", create_time = "", expire_time = "", serial_number = "1", sha1_fingerprint = "ab" }]
    }
  }

  assert {
    condition     = google_redis_instance.this.transit_encryption_mode == "SERVER_AUTHENTICATION"
    error_message = "transit_encryption turns TLS on."
  }

  assert {
    condition     = output.url == "rediss://10.30.0.4:6378" && output.endpoint == "10.30.0.4:6378"
    error_message = "With TLS the url is rediss://, got ${output.url}."
  }

  assert {
    condition     = length(output.server_ca_certs) == 1 && startswith(output.server_ca_certs[0], "-----BEGIN CERTIFICATE-----")
    error_message = "The server CA is an output."
  }
}
