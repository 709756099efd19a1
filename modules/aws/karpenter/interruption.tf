################################################################################
# Interruption queue: EC2 and AWS Health events Karpenter acts on before the
# instance goes (it cordons and drains the node and launches a replacement)
################################################################################

# The queue, its policy and the rules follow Karpenter's documented set-up
# (github.com/aws/karpenter-provider-aws, commit
# 1d927085dd81a9df9301e613f371dac5b4d16bfe,
# website/content/en/docs/getting-started/getting-started-with-karpenter/cloudformation.yaml:
# KarpenterInterruptionQueue, KarpenterInterruptionQueuePolicy and the five
# AWS::Events::Rule resources). Five minutes' retention: an interruption
# warning older than that is past acting on (a spot instance gets two).

locals {
  interruption_rules = {
    spot-interruption = {
      description = "Spot instance interruption warnings (two minutes before the instance is reclaimed)"
      source      = "aws.ec2"
      detail_type = "EC2 Spot Instance Interruption Warning"
    }
    rebalance = {
      description = "EC2 instance rebalance recommendations (elevated risk of a spot interruption)"
      source      = "aws.ec2"
      detail_type = "EC2 Instance Rebalance Recommendation"
    }
    state-change = {
      description = "EC2 instance state changes (stopping, stopped, shutting-down, terminated outside Karpenter)"
      source      = "aws.ec2"
      detail_type = "EC2 Instance State-change Notification"
    }
    scheduled-change = {
      description = "AWS Health events: scheduled maintenance and retirement of instances"
      source      = "aws.health"
      detail_type = "AWS Health Event"
    }
    capacity-reservation = {
      description = "Interruption warnings of instances in interruptible capacity reservations"
      source      = "aws.ec2"
      detail_type = "EC2 Capacity Reservation Instance Interruption Warning"
    }
  }
}

resource "aws_sqs_queue" "interruption" {
  name                      = local.name
  message_retention_seconds = 300
  sqs_managed_sse_enabled   = true

  tags = var.tags
}

resource "aws_sqs_queue_policy" "interruption" {
  queue_url = aws_sqs_queue.interruption.url
  policy = jsonencode({
    Version = "2012-10-17"
    Id      = "KarpenterInterruptionQueue"
    Statement = [
      {
        Sid       = "EventBridgeAndSQSSend"
        Effect    = "Allow"
        Principal = { Service = ["events.amazonaws.com", "sqs.amazonaws.com"] }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.interruption.arn
      },
      {
        Sid       = "DenyHTTP"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:*"
        Resource  = aws_sqs_queue.interruption.arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

resource "aws_cloudwatch_event_rule" "interruption" {
  for_each = local.interruption_rules

  name        = "${local.name}-${each.key}"
  description = "Karpenter (${var.cluster_name}): ${each.value.description}"
  event_pattern = jsonencode({
    source        = [each.value.source]
    "detail-type" = [each.value.detail_type]
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "interruption" {
  for_each = aws_cloudwatch_event_rule.interruption

  rule      = each.value.name
  target_id = "KarpenterInterruptionQueueTarget"
  arn       = aws_sqs_queue.interruption.arn
}
