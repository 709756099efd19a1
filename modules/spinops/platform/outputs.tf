# Explicit attributes, not whole resource objects: the resources carry
# write-only sensitive arguments (the database password, the bridge's admin
# token, ...), which are always null in plan and state but still marked
# sensitive, so an output of the whole object would have to be sensitive
# itself and hide everything in it. Nothing here is a secret; the
# connection blocks (kubernetes) are left out.

locals {
  # The backup policy's locations without the deprecated force_path_style.
  backup_bucket_source = {
    s3  = var.persistence.s3 == null ? null : { for k in ["bucket", "prefix", "region", "endpoint", "path_style"] : k => spinops_backup_policy.this.sources.bucket.s3[k] }
    gcs = var.persistence.gcs == null ? null : { for k in ["bucket", "prefix", "endpoint"] : k => spinops_backup_policy.this.sources.bucket.gcs[k] }
  }
  backup_destination = {
    s3  = var.backup.destination.s3 == null ? null : { for k in ["bucket", "prefix", "region", "endpoint", "path_style"] : k => spinops_backup_policy.this.destination.s3[k] }
    gcs = var.backup.destination.gcs == null ? null : { for k in ["bucket", "prefix", "endpoint"] : k => spinops_backup_policy.this.destination.gcs[k] }
  }

  agent_account_outputs = {
    for key, a in merge({ for i, c in spinops_agent_account.control : "control/${i}" => c }, { for k, t in spinops_agent_account.target : "target/${k}" => t }) : key => {
      id                 = a.id
      name               = a.name
      kinds              = a.kinds
      namespaces         = a.namespaces
      omit_namespaces    = a.omit_namespaces
      permissions        = a.permissions
      spinnaker          = a.spinnaker
      status             = a.status
      agent_id           = a.agent_id
      kubernetes_version = a.kubernetes_version
      objects            = a.objects
      endpoint           = a.endpoint
      install_agent = a.install_agent == null ? null : {
        namespace      = a.install_agent.namespace
        bridge_address = a.install_agent.bridge_address
        requests       = a.install_agent.requests
        limits         = a.install_agent.limits
        # How the agent was installed in the target cluster, without
        # credentials (null: through the provider's own connection).
        kubernetes = a.install_agent.kubernetes == null ? null : {
          host                   = a.install_agent.kubernetes.host
          cluster_ca_certificate = a.install_agent.kubernetes.cluster_ca_certificate
          config_path            = a.install_agent.kubernetes.config_path
          config_context         = a.install_agent.kubernetes.config_context
          eks                    = a.install_agent.kubernetes.eks
          gke                    = a.install_agent.kubernetes.gke
        }
      }
    }
  }
}

output "ready_for_install" {
  description = "Whether the provider's credentials may install Spinnaker on the cluster (the preflight)."
  value       = data.spinops_kubernetes_cluster.control.ready_for_install
}

output "managed_spinnaker" {
  description = "The installation: id (the operator namespace), spinnaker_version, config_revision, verified_versions, persistence (s3 or gcs), sql (endpoint, reader_endpoint, port, databases, user, password_secret), redis_endpoint (null: the operator's in-cluster Redis), profiles, promotion. No passwords."
  value = {
    id                = spinops_managed_spinnaker.this.id
    spinnaker_version = spinops_managed_spinnaker.this.spinnaker_version
    config_revision   = spinops_managed_spinnaker.this.config_revision
    verified_versions = spinops_managed_spinnaker.this.verified_versions
    persistence = {
      # Tested on the input: a comparison with the block itself would be
      # sensitive (it holds secret_access_key_wo).
      s3 = var.persistence.s3 == null ? null : {
        bucket      = spinops_managed_spinnaker.this.persistence.s3.bucket
        region      = spinops_managed_spinnaker.this.persistence.s3.region
        root_folder = spinops_managed_spinnaker.this.persistence.s3.root_folder
        endpoint    = spinops_managed_spinnaker.this.persistence.s3.endpoint
        path_style  = spinops_managed_spinnaker.this.persistence.s3.path_style
      }
      gcs = spinops_managed_spinnaker.this.persistence.gcs
    }
    sql = {
      endpoint        = spinops_managed_spinnaker.this.sql.endpoint
      reader_endpoint = spinops_managed_spinnaker.this.sql.reader_endpoint
      port            = spinops_managed_spinnaker.this.sql.port
      databases       = spinops_managed_spinnaker.this.sql.databases
      user            = spinops_managed_spinnaker.this.sql.user
      password_secret = spinops_managed_spinnaker.this.sql.password_secret
    }
    redis_endpoint = try(spinops_managed_spinnaker.this.redis.endpoint, null)
    profiles       = spinops_managed_spinnaker.this.profiles
    promotion      = spinops_managed_spinnaker.this.promotion
  }
}

output "zones" {
  description = "The zones by name (red, green): id, managed_spinnaker_id, name, tier, namespace, spinnaker_version, deletion_protection, config_revision, status, deployed_version, verified_version, verified_at, ui_url, api_url, ha, expose, service_settings, config_overrides, backup_before_upgrade."
  value = {
    for z in [spinops_zone.red, spinops_zone.green] : z.name => {
      id                    = z.id
      managed_spinnaker_id  = z.managed_spinnaker_id
      name                  = z.name
      tier                  = z.tier
      namespace             = z.namespace
      spinnaker_version     = z.spinnaker_version
      deletion_protection   = z.deletion_protection
      config_revision       = z.config_revision
      status                = z.status
      deployed_version      = z.deployed_version
      verified_version      = z.verified_version
      verified_at           = z.verified_at
      ui_url                = z.ui_url
      api_url               = z.api_url
      ha                    = z.ha
      expose                = z.expose
      service_settings      = z.service_settings
      config_overrides      = z.config_overrides
      backup_before_upgrade = z.backup_before_upgrade
    }
  }
}

output "bridge" {
  description = "The bridge: address (what agents and the spinops.fleet provider's bridge.address dial), ca_certificate (the fleet provider's bridge.tls.ca_certificate), endpoint_url, name, namespace, replicas, external_address, spinnaker_namespace, aws_target_group_arn, grpc_service, mysql, tls, and the names of its tls_secret and keys_secret. Not the admin token."
  value = {
    id                   = spinops_bridge.this.id
    name                 = spinops_bridge.this.name
    namespace            = spinops_bridge.this.namespace
    replicas             = spinops_bridge.this.replicas
    external_address     = spinops_bridge.this.external_address
    dns_names            = spinops_bridge.this.dns_names
    spinnaker_namespace  = spinops_bridge.this.spinnaker_namespace
    aws_target_group_arn = spinops_bridge.this.aws_target_group_arn
    grpc_allowed_cidrs   = spinops_bridge.this.grpc_allowed_cidrs
    health_check_cidrs   = spinops_bridge.this.health_check_cidrs
    grpc_service         = spinops_bridge.this.grpc_service
    mysql                = spinops_bridge.this.mysql
    tls                  = spinops_bridge.this.tls
    address              = spinops_bridge.this.address
    endpoint_url         = spinops_bridge.this.endpoint_url
    ca_certificate       = spinops_bridge.this.ca_certificate
    tls_secret           = spinops_bridge.this.tls_secret
    keys_secret          = spinops_bridge.this.keys_secret
  }
}

output "control_agent_account" {
  description = "The control cluster's agent account, as a list of zero or one (control_cluster_account = null: empty): id, name, kinds, namespaces, omit_namespaces, permissions, spinnaker, status, agent_id, kubernetes_version, objects, endpoint, install_agent (namespace, bridge_address, requests, limits; kubernetes null)."
  value       = [for i, _ in spinops_agent_account.control : local.agent_account_outputs["control/${i}"]]
}

output "target_agent_accounts" {
  description = "The target clusters' agent accounts by account name, with the attributes of control_agent_account; install_agent.kubernetes: host, cluster_ca_certificate, config_path, config_context, eks, gke (no credentials)."
  value       = { for k, _ in spinops_agent_account.target : k => local.agent_account_outputs["target/${k}"] }
}

output "agent_accounts" {
  description = "Every cluster attached through the bridge, by account name: status (connected, syncing, never_connected, unavailable or withdrawn), Kubernetes version, objects cached by kind, and the endpoint Clouddriver reads them from."
  value = {
    for a in concat(spinops_agent_account.control, values(spinops_agent_account.target)) : a.name => {
      status             = a.status
      kubernetes_version = a.kubernetes_version
      objects            = a.objects
      endpoint           = a.endpoint
    }
  }
}

output "backup_policy" {
  description = "The backup policy: id (green's backup_before_upgrade policy), name, namespace, schedule, time_zone, service_account_name, service_account_annotations, retention, sources (mysql: host, port, user, databases, password_secret; bucket), destination, point_in_time, restore_window, last_successful_backup, next_run. No passwords."
  value = {
    id                   = spinops_backup_policy.this.id
    name                 = spinops_backup_policy.this.name
    namespace            = spinops_backup_policy.this.namespace
    schedule             = spinops_backup_policy.this.schedule
    time_zone            = spinops_backup_policy.this.time_zone
    image                = spinops_backup_policy.this.image
    service_account_name = spinops_backup_policy.this.service_account_name
    # Annotations of the ServiceAccount the policy makes (null: it makes none).
    service_account_annotations = spinops_backup_policy.this.service_account_annotations
    retention                   = spinops_backup_policy.this.retention
    restore_window              = spinops_backup_policy.this.restore_window
    last_successful_backup      = spinops_backup_policy.this.last_successful_backup
    next_run                    = spinops_backup_policy.this.next_run
    sources = {
      mysql = {
        host            = spinops_backup_policy.this.sources.mysql.host
        port            = spinops_backup_policy.this.sources.mysql.port
        user            = spinops_backup_policy.this.sources.mysql.user
        databases       = spinops_backup_policy.this.sources.mysql.databases
        password_secret = spinops_backup_policy.this.sources.mysql.password_secret
      }
      bucket = local.backup_bucket_source
    }
    destination        = local.backup_destination
    point_in_time      = spinops_backup_policy.this.point_in_time
    signing_key_secret = spinops_backup_policy.this.signing_key_secret
  }
}
