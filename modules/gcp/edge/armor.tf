################################################################################
# Cloud Armor: on both backend services. Rules are evaluated by priority, the
# lowest number first, and the first match decides:
#   100+    preconfigured WAF rule sets (deny 403; preview only logs)
#   1000+   the user ranges, 10 per rule (a basic match takes at most 10)
#   default everything else: deny 403
################################################################################

locals {
  user_range_chunks = chunklist(sort(distinct(var.user_source_ranges)), 10)
  waf_rules         = var.waf.enabled ? var.waf.rules : []
}

resource "google_compute_security_policy" "this" {
  project     = var.project_id
  name        = "${var.name}-edge"
  description = "Deck and Gate: only user_source_ranges, preconfigured WAF rules first."
  type        = "CLOUD_ARMOR"

  # Parse JSON bodies (Gate's API) as JSON, so the WAF rules look at values,
  # not at the JSON syntax around them.
  advanced_options_config {
    json_parsing = "STANDARD"
    log_level    = "NORMAL"
  }

  dynamic "rule" {
    for_each = local.waf_rules
    content {
      priority    = 100 + rule.key
      action      = "deny(403)"
      preview     = var.waf.preview
      description = "Preconfigured WAF ${rule.value}, sensitivity ${var.waf.sensitivity}."

      match {
        expr {
          expression = "evaluatePreconfiguredWaf('${rule.value}', {'sensitivity': ${var.waf.sensitivity}})"
        }
      }
    }
  }

  dynamic "rule" {
    for_each = local.user_range_chunks
    content {
      priority    = 1000 + rule.key
      action      = "allow"
      description = "Users' ranges (${rule.key + 1} of ${length(local.user_range_chunks)})."

      match {
        versioned_expr = "SRC_IPS_V1"
        config {
          src_ip_ranges = rule.value
        }
      }
    }
  }

  rule {
    priority    = 2147483647
    action      = "deny(403)"
    description = "Default: deny everyone not in user_source_ranges."

    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }
}
