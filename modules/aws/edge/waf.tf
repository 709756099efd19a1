################################################################################
# WAF: a web ACL on the ALB (Deck and Gate), when var.waf.enabled
#
# Only the ALB can carry one: AWS WAF protects Application Load Balancers,
# not Network Load Balancers, so Gate's x509 listener and the bridge (both
# TLS passed through to the pod) are guarded by their security groups and by
# the client certificates they check instead.
################################################################################

locals {
  waf = var.waf.enabled && var.waf.web_acl_arn == null ? { this = var.waf } : {}
  # AWS managed rule groups, in evaluation order; each one's own rules that
  # Spinnaker's normal traffic trips are counted instead of blocked.
  waf_rule_groups = [for i, g in var.waf.managed_rule_groups : {
    name     = g
    priority = 10 + i
    count = lookup(var.waf.count_rules != null ? var.waf.count_rules : {
      AWSManagedRulesCommonRuleSet = ["SizeRestrictions_BODY"]
    }, g, [])
  }]
  web_acl_arn = !var.waf.enabled ? null : coalesce(var.waf.web_acl_arn, try(aws_wafv2_web_acl.this["this"].arn, null))
}

resource "aws_wafv2_web_acl" "this" {
  for_each = local.waf

  name        = "${var.name}-spinnaker"
  description = "Deck and Gate behind the ALB (spinops)"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  dynamic "rule" {
    for_each = each.value.rate_limit == 0 ? [] : [each.value.rate_limit]
    content {
      name     = "rate-limit-per-ip"
      priority = 1

      action {
        block {}
      }

      statement {
        rate_based_statement {
          limit                 = rule.value
          evaluation_window_sec = 300
          aggregate_key_type    = "IP"
        }
      }

      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "${var.name}-rate-limit-per-ip"
        sampled_requests_enabled   = true
      }
    }
  }

  dynamic "rule" {
    for_each = local.waf_rule_groups
    content {
      name     = rule.value.name
      priority = rule.value.priority

      override_action {
        none {}
      }

      statement {
        managed_rule_group_statement {
          vendor_name = "AWS"
          name        = rule.value.name

          dynamic "rule_action_override" {
            for_each = rule.value.count
            content {
              name = rule_action_override.value
              action_to_use {
                count {}
              }
            }
          }
        }
      }

      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "${var.name}-${rule.value.name}"
        sampled_requests_enabled   = true
      }
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${var.name}-spinnaker"
    sampled_requests_enabled   = true
  }

  tags = var.tags
}

resource "aws_wafv2_web_acl_association" "this" {
  for_each = var.waf.enabled ? { this = true } : {}

  resource_arn = aws_lb.this.arn
  web_acl_arn  = local.web_acl_arn
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  # Keyed on the logging object being set (known at plan), not on its
  # destination, which is often a log group created in the same apply.
  for_each = var.waf.enabled && var.waf.web_acl_arn == null && var.waf.logging != null ? { this = var.waf.logging.destination_arn } : {}

  resource_arn            = aws_wafv2_web_acl.this["this"].arn
  log_destination_configs = [each.value]

  # Spinnaker's session cookie and the Authorization header carry
  # credentials: never in the WAF's logs.
  redacted_fields {
    single_header {
      name = "authorization"
    }
  }
  redacted_fields {
    single_header {
      name = "cookie"
    }
  }
}
