# Synthetic checks of both zones every 30 s, the 99.9 % SLO of production
# measured per zone, and the SRE workbook's burn-rate alerts: production
# pages PagerDuty, the sandbox only opens tickets (the webhook).
variable "pagerduty_routing_key" {
  type      = string
  sensitive = true
  ephemeral = true
}

variable "gate_monitor_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "spinops_monitor" "this" {
  namespace    = "spinnaker-operator"
  installation = spinops_managed_spinnaker.this.id
  slo          = 0.999

  zone {
    name      = spinops_zone.green.name
    namespace = spinops_zone.green.namespace
    tier      = spinops_zone.green.tier
    gate_url  = "https://api.spinnaker.example.com"
    deck_url  = "https://spinnaker.example.com"
  }

  # Not exposed: checked through the API server's service proxy.
  zone {
    name      = spinops_zone.red.name
    namespace = spinops_zone.red.namespace
    tier      = spinops_zone.red.tier
  }

  # Announced maintenance does not count against the SLO.
  maintenance_window {
    zone  = "green"
    start = "2027-01-10T02:00:00Z"
    end   = "2027-01-10T03:00:00Z"
  }

  gate_auth {
    username    = "spinops-monitor"
    password_wo = var.gate_monitor_password
  }

  notify {
    pagerduty_routing_key_wo = var.pagerduty_routing_key
  }
  secrets_wo_version = 1

  # The deepest check: a no-op pipeline started and awaited (created
  # through Gate, with its application, when missing; create = false
  # leaves that to you).
  canary_pipeline {
    application = "spinops-canary"
    pipeline    = "noop"
    create      = true
  }

  prometheus_rule_labels = { release = "kube-prometheus-stack" }
}

data "spinops_zone_slo" "green" {
  zone_id = spinops_zone.green.id
}
