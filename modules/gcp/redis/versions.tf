terraform {
  required_version = ">= 1.11"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0"
    }
  }

  # hashicorp/google appends module_name to the User-Agent of the API requests
  # it makes for this module's resources only (ProviderMetaSchema, since 3.x).
  provider_meta "google" {
    module_name = "spinops-module-gcp-redis"
  }
}
