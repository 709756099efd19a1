locals {
  workload_pool = "${var.project_id}.svc.id.goog"
}

################################################################################
# Node service account: least privilege instead of the Compute default
################################################################################

resource "google_service_account" "nodes" {
  project      = var.project_id
  account_id   = "${var.name}-nodes"
  display_name = "GKE nodes of ${var.name}"
}

resource "google_project_iam_member" "nodes" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/artifactregistry.reader",
  ])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.nodes.email}"
}

################################################################################
# Cluster
################################################################################

resource "google_container_cluster" "this" {
  project        = var.project_id
  name           = var.name
  location       = var.region
  node_locations = var.node_locations

  network         = var.network
  subnetwork      = var.subnetwork
  networking_mode = "VPC_NATIVE"

  # Node pools are managed below; the default one only exists while the
  # cluster is created.
  remove_default_node_pool = true
  initial_node_count       = 1

  min_master_version    = var.kubernetes_version
  datapath_provider     = "ADVANCED_DATAPATH"
  enable_shielded_nodes = true
  deletion_protection   = var.deletion_protection
  resource_labels       = var.labels

  release_channel {
    channel = var.release_channel
  }

  ip_allocation_policy {
    cluster_secondary_range_name  = var.pods_range_name
    services_secondary_range_name = var.services_range_name
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = var.enable_private_endpoint
    master_ipv4_cidr_block  = var.master_ipv4_cidr_block
  }

  master_authorized_networks_config {
    dynamic "cidr_blocks" {
      for_each = var.master_authorized_networks
      content {
        cidr_block   = cidr_blocks.value.cidr_block
        display_name = cidr_blocks.value.display_name
      }
    }
  }

  workload_identity_config {
    workload_pool = local.workload_pool
  }

  logging_config {
    enable_components = ["SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER", "SCHEDULER", "CONTROLLER_MANAGER"]
  }

  monitoring_config {
    enable_components = ["SYSTEM_COMPONENTS", "APISERVER", "SCHEDULER", "CONTROLLER_MANAGER"]

    managed_prometheus {
      enabled = true
    }
  }

  database_encryption {
    state    = var.database_encryption_key == null ? "DECRYPTED" : "ENCRYPTED"
    key_name = var.database_encryption_key
  }

  maintenance_policy {
    daily_maintenance_window {
      start_time = var.maintenance_start_time
    }
  }

  addons_config {
    http_load_balancing {
      disabled = false
    }
    horizontal_pod_autoscaling {
      disabled = false
    }
  }

  lifecycle {
    ignore_changes = [initial_node_count]
  }
}

resource "google_container_node_pool" "this" {
  for_each = var.node_pools

  project        = var.project_id
  name           = each.key
  cluster        = google_container_cluster.this.id
  location       = var.region
  node_locations = var.node_locations

  autoscaling {
    total_min_node_count = each.value.total_min_node_count
    total_max_node_count = each.value.total_max_node_count
    location_policy      = "BALANCED"
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  upgrade_settings {
    max_surge       = 1
    max_unavailable = 0
  }

  node_config {
    machine_type    = each.value.machine_type
    disk_size_gb    = each.value.disk_size_gb
    disk_type       = each.value.disk_type
    image_type      = "COS_CONTAINERD"
    spot            = each.value.spot
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    tags            = var.network_tags
    labels          = each.value.labels
    resource_labels = var.labels

    metadata = {
      disable-legacy-endpoints = "true"
    }

    workload_metadata_config {
      mode = "GKE_METADATA"
    }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }

    dynamic "taint" {
      for_each = each.value.taints
      content {
        key    = taint.value.key
        value  = taint.value.value
        effect = taint.value.effect
      }
    }
  }
}

################################################################################
# Workload Identity: Google service accounts for Spinnaker's pods
################################################################################

resource "google_service_account" "workload" {
  for_each = var.workload_identity_service_accounts

  project      = var.project_id
  account_id   = "${var.name}-${each.key}"
  display_name = substr("${each.value.service_account} in ${join(", ", each.value.namespaces)} on ${var.name}", 0, 100)
}

resource "google_service_account_iam_member" "workload_identity" {
  for_each = merge([
    for k, sa in var.workload_identity_service_accounts : {
      for ns in sa.namespaces : "${k}/${ns}" => { key = k, namespace = ns, service_account = sa.service_account }
    }
  ]...)

  service_account_id = google_service_account.workload[each.value.key].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${local.workload_pool}[${each.value.namespace}/${each.value.service_account}]"
}

resource "google_project_iam_member" "workload" {
  for_each = merge([
    for k, sa in var.workload_identity_service_accounts : {
      for role in sa.project_roles : "${k}/${role}" => { key = k, role = role }
    }
  ]...)

  project = var.project_id
  role    = each.value.role
  member  = "serviceAccount:${google_service_account.workload[each.value.key].email}"
}
