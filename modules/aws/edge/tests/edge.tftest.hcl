mock_provider "aws" {
  # Runs that apply need ARNs the provider's own validation accepts, and so
  # do plans under OpenTofu, whose mocks give computed attributes values
  # already at plan (Terraform leaves them unknown there and uses these
  # defaults only at apply): the listeners and rules validate the target
  # group, listener and certificate ARNs they are given.
  #
  # One certificate whose validation options cover the three names, so
  # that each validation record finds its name, type and value (tofu's
  # made-up default is an empty set).
  mock_resource "aws_acm_certificate" {
    defaults = {
      arn = "arn:aws:acm:eu-west-1:123456789012:certificate/mock"
      domain_validation_options = [
        { domain_name = "spinnaker.example.com", resource_record_name = "_a.spinnaker.example.com.", resource_record_type = "CNAME", resource_record_value = "_a.acm-validations.aws." },
        { domain_name = "api.spinnaker.example.com", resource_record_name = "_b.api.spinnaker.example.com.", resource_record_type = "CNAME", resource_record_value = "_b.acm-validations.aws." },
        { domain_name = "x509.spinnaker.example.com", resource_record_name = "_c.x509.spinnaker.example.com.", resource_record_type = "CNAME", resource_record_value = "_c.acm-validations.aws." },
      ]
    }
  }
  # Every target group gets this ARN: the runs that check which target
  # group something names override each one with an ARN of its own.
  mock_resource "aws_lb_target_group" {
    defaults = {
      arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-tg/1a2b3c"
    }
  }
  mock_resource "aws_lb_listener" {
    defaults = {
      arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/spin-alb/1a2b3c/4d5e6f"
    }
  }
  mock_resource "aws_wafv2_web_acl" {
    defaults = {
      arn = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/spin-spinnaker/1a2b3c"
    }
  }
  mock_resource "aws_lb" {
    defaults = {
      arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/spin-alb/1a2b3c"
    }
  }
}

variables {
  name               = "spin"
  vpc_id             = "vpc-0abc"
  subnet_ids         = ["subnet-pub-a", "subnet-pub-b", "subnet-pub-c"]
  security_group_ids = ["sg-user-facing", "sg-internal"]
  zone_id            = "Z0123456789ABC"
  deck_domain        = "spinnaker.example.com"
  gate_domain        = "api.spinnaker.example.com"
  gate_x509_domain   = "x509.spinnaker.example.com"

  # The web ACL is off in the runs that test something else and on (the
  # module's default, `waf = {}`) in the waf_* runs. Planning it is most of
  # a run's cost: Terraform orders the ACL's set of rules by comparing their
  # deeply nested object type, ~2.5 CPU-s per plan (perf, Terraform 1.11), so
  # with it on everywhere this file took 82 CPU-s, with this 25.
  waf = { enabled = false }
}

run "alb_routes_deck_and_gate_by_host_over_tls" {
  command = plan

  assert {
    condition     = aws_lb.this.load_balancer_type == "application" && aws_lb.this.internal == false && aws_lb.this.drop_invalid_header_fields
    error_message = "An internet-facing ALB that drops invalid headers."
  }

  assert {
    condition     = aws_lb.this.security_groups == toset(["sg-user-facing", "sg-internal"]) && aws_lb.this.subnets == toset(["subnet-pub-a", "subnet-pub-b", "subnet-pub-c"])
    error_message = "The ALB sits in the given subnets with the user-facing and internal groups."
  }

  assert {
    condition = (
      aws_lb_listener.http.port == 80 &&
      aws_lb_listener.http.default_action[0].type == "redirect" &&
      aws_lb_listener.http.default_action[0].redirect[0].protocol == "HTTPS" &&
      aws_lb_listener.http.default_action[0].redirect[0].port == "443"
    )
    error_message = "Port 80 only redirects to HTTPS."
  }

  assert {
    condition     = aws_lb_listener.https.port == 443 && aws_lb_listener.https.protocol == "HTTPS" && aws_lb_listener.https.ssl_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    error_message = "Port 443 terminates TLS 1.2+ (TLS 1.3 policy)."
  }

  assert {
    condition     = aws_lb_listener.https.default_action[0].type == "fixed-response" && aws_lb_listener.https.default_action[0].fixed_response[0].status_code == "404"
    error_message = "Unknown hosts get a 404."
  }

  assert {
    condition     = one(one(aws_lb_listener_rule.deck.condition).host_header).values == toset(["spinnaker.example.com"]) && one(one(aws_lb_listener_rule.gate.condition).host_header).values == toset(["api.spinnaker.example.com"])
    error_message = "Deck and Gate are routed by their host names."
  }

  assert {
    condition     = aws_lb_target_group.deck.port == 9000 && aws_lb_target_group.gate.port == 8084 && aws_lb_target_group.gate.health_check[0].path == "/health"
    error_message = "Deck's targets listen on 9000, Gate's on 8084 with /health."
  }

  assert {
    condition     = aws_lb_target_group.deck.target_type == "ip" && aws_lb_target_group.gate.target_type == "ip"
    error_message = "Targets are pod IPs."
  }
}

run "nlb_passes_x509_through_to_gate" {
  command = plan

  assert {
    condition     = aws_lb.x509.load_balancer_type == "network" && aws_lb.x509.security_groups == toset(["sg-user-facing", "sg-internal"])
    error_message = "A network load balancer with the same security groups."
  }

  assert {
    condition     = aws_lb_listener.gate_x509.port == 8084 && aws_lb_listener.gate_x509.protocol == "TCP"
    error_message = "The x509 listener is plain TCP on 8084, so TLS (and the client certificate) reaches Gate."
  }

  assert {
    condition     = aws_lb_target_group.gate_x509.protocol == "TCP" && aws_lb_target_group.gate_x509.port == 8085
    error_message = "The x509 target group forwards TCP to Gate's x509 port 8085."
  }

  assert {
    condition     = output.gate_x509_url == "https://x509.spinnaker.example.com:8084" && output.deck_url == "https://spinnaker.example.com" && output.gate_url == "https://api.spinnaker.example.com"
    error_message = "URLs for Spinnaker's configuration."
  }
}

run "certificate_and_dns" {
  command = plan

  assert {
    condition = (
      aws_acm_certificate.this[0].domain_name == "spinnaker.example.com" &&
      aws_acm_certificate.this[0].subject_alternative_names == toset(["api.spinnaker.example.com", "x509.spinnaker.example.com"]) &&
      aws_acm_certificate.this[0].validation_method == "DNS"
    )
    error_message = "One DNS-validated certificate covers the three names."
  }

  assert {
    condition     = sort(keys(aws_route53_record.validation)) == tolist(["api.spinnaker.example.com", "spinnaker.example.com", "x509.spinnaker.example.com"])
    error_message = "One validation record per name."
  }

  assert {
    condition     = { for k, r in aws_route53_record.this : k => "${r.name} ${r.type}" } == { deck = "spinnaker.example.com A", gate = "api.spinnaker.example.com A", gate_x509 = "x509.spinnaker.example.com A" }
    error_message = "Alias records for Deck, Gate and Gate x509."
  }
}

run "records_point_at_the_right_load_balancer" {
  command = apply

  override_resource {
    target = aws_acm_certificate.this
    values = {
      arn = "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
      domain_validation_options = [
        { domain_name = "spinnaker.example.com", resource_record_name = "_a.spinnaker.example.com.", resource_record_type = "CNAME", resource_record_value = "_a.acm-validations.aws." },
        { domain_name = "api.spinnaker.example.com", resource_record_name = "_b.api.spinnaker.example.com.", resource_record_type = "CNAME", resource_record_value = "_b.acm-validations.aws." },
        { domain_name = "x509.spinnaker.example.com", resource_record_name = "_c.x509.spinnaker.example.com.", resource_record_type = "CNAME", resource_record_value = "_c.acm-validations.aws." },
      ]
    }
  }

  override_resource {
    target = aws_lb.this
    values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/spin-alb/1", dns_name = "spin-alb-1.eu-west-1.elb.amazonaws.com" }
  }

  override_resource {
    target = aws_lb_listener.https
    values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/spin-alb/1/6" }
  }

  override_resource {
    target = aws_lb.x509
    values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/spin-x509/2", dns_name = "spin-x509-2.elb.eu-west-1.amazonaws.com" }
  }

  override_resource {
    target = aws_lb_target_group.deck
    values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-deck/3" }
  }

  override_resource {
    target = aws_lb_target_group.gate
    values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-gate/4" }
  }

  override_resource {
    target = aws_lb_target_group.gate_x509
    values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-gate-x509/5" }
  }

  # aws_acm_certificate_validation is not overridden: its certificate_arn
  # is configured (the certificate's, above), and tofu refuses an override
  # of a configured value.

  assert {
    condition     = aws_route53_record.this["deck"].alias[0].name == aws_lb.this.dns_name && aws_route53_record.this["gate"].alias[0].name == aws_lb.this.dns_name
    error_message = "Deck and Gate point at the ALB."
  }

  assert {
    condition     = aws_route53_record.this["gate_x509"].alias[0].name == aws_lb.x509.dns_name
    error_message = "Gate x509 points at the NLB."
  }

  assert {
    condition     = aws_route53_record.validation["api.spinnaker.example.com"].records == toset(["_b.acm-validations.aws."]) && aws_route53_record.validation["api.spinnaker.example.com"].type == "CNAME"
    error_message = "Validation records carry ACM's values."
  }

  assert {
    condition     = aws_lb_listener.https.certificate_arn == "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
    error_message = "The HTTPS listener uses the validated certificate."
  }

  assert {
    condition     = aws_lb_listener_rule.deck.action[0].target_group_arn == aws_lb_target_group.deck.arn && aws_lb_listener_rule.gate.action[0].target_group_arn == aws_lb_target_group.gate.arn
    error_message = "Host rules forward to the right target groups."
  }

  assert {
    condition     = aws_lb_listener.gate_x509.default_action[0].target_group_arn == aws_lb_target_group.gate_x509.arn
    error_message = "The x509 listener forwards to Gate's x509 target group."
  }
}

run "existing_certificate" {
  command = plan

  variables {
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/existing"
  }

  assert {
    condition     = length(aws_acm_certificate.this) == 0 && length(aws_route53_record.validation) == 0
    error_message = "With a certificate given, none is requested."
  }

  assert {
    condition     = aws_lb_listener.https.certificate_arn == "arn:aws:acm:eu-west-1:123456789012:certificate/existing"
    error_message = "The given certificate is used."
  }
}

run "x509_port_outside_the_security_group_is_refused" {
  command = plan

  variables {
    gate_x509_listener_port = 8085
  }

  expect_failures = [var.gate_x509_listener_port]
}

run "same_name_for_deck_and_gate_is_refused" {
  command = plan

  variables {
    gate_domain = "spinnaker.example.com"
  }

  expect_failures = [var.gate_domain]
}

run "one_subnet_is_refused" {
  command = plan

  variables {
    subnet_ids = ["subnet-pub-a"]
  }

  expect_failures = [var.subnet_ids]
}

run "bridge_is_off_by_default" {
  command = plan

  assert {
    condition = (
      length(aws_lb.bridge) == 0 && length(aws_lb_listener.bridge) == 0 && length(aws_lb_target_group.bridge) == 0 &&
      length(aws_security_group.bridge) == 0 && length(aws_vpc_security_group_ingress_rule.bridge) == 0 && length(aws_route53_record.bridge) == 0
    )
    error_message = "Without bridge.enabled, nothing of the bridge's NLB is created."
  }

  assert {
    condition     = output.bridge_address == null && output.bridge_nlb_arn == null && output.bridge_target_group_arn == null
    error_message = "The bridge outputs are null when it is off."
  }
}

run "bridge_nlb_passes_tls_through_to_the_bridge" {
  command = plan

  variables {
    bridge = {
      enabled            = true
      allowed_cidrs      = ["198.51.100.0/24", "203.0.113.7/32", "198.51.100.0/24"]
      security_group_ids = ["sg-internal"]
      domain             = "bridge.spinnaker.example.com"
    }
  }

  assert {
    condition     = aws_lb.bridge["this"].load_balancer_type == "network" && aws_lb.bridge["this"].internal == false && aws_lb.bridge["this"].name == "spin-bridge"
    error_message = "An internet-facing NLB of its own."
  }

  assert {
    condition     = aws_lb_listener.bridge["this"].protocol == "TCP" && aws_lb_listener.bridge["this"].port == 443 && aws_lb_listener.bridge["this"].certificate_arn == null
    error_message = "The listener is plain TCP on 443 with no certificate: TLS (and the agent's client certificate) reaches the bridge."
  }

  assert {
    condition     = aws_lb_listener.bridge["this"].tcp_idle_timeout_seconds == 350
    error_message = "The TCP idle timeout defaults to AWS's 350 s, far above the agents' 10 s heartbeats and 20 s keepalive pings."
  }

  assert {
    condition = (
      aws_lb_target_group.bridge["this"].protocol == "TCP" && aws_lb_target_group.bridge["this"].port == 9091 &&
      aws_lb_target_group.bridge["this"].target_type == "ip" && aws_lb_target_group.bridge["this"].connection_termination &&
      aws_lb_target_group.bridge["this"].preserve_client_ip == "false"
    )
    error_message = "The target group forwards TCP to the bridge pods' gRPC port 9091 and closes streams of deregistered replicas."
  }

  assert {
    condition = (
      aws_lb_target_group.bridge["this"].health_check[0].protocol == "HTTP" &&
      aws_lb_target_group.bridge["this"].health_check[0].port == "8080" &&
      aws_lb_target_group.bridge["this"].health_check[0].path == "/readyz"
    )
    error_message = "Targets are checked on the bridge's ops port, /readyz."
  }

  assert {
    condition = (
      { for k, r in aws_vpc_security_group_ingress_rule.bridge : k => "${r.ip_protocol} ${r.from_port}-${r.to_port} ${r.cidr_ipv4}" } ==
      { "198.51.100.0/24" = "tcp 443-443 198.51.100.0/24", "203.0.113.7/32" = "tcp 443-443 203.0.113.7/32" }
    )
    error_message = "The bridge's group admits the agents' ranges on the listener port only, once each."
  }

  assert {
    condition     = aws_route53_record.bridge["this"].name == "bridge.spinnaker.example.com" && aws_route53_record.bridge["this"].type == "A"
    error_message = "An alias record for the bridge's name."
  }

  assert {
    condition     = output.bridge_address == "bridge.spinnaker.example.com:443"
    error_message = "Agents dial the bridge's name on the listener port."
  }

  assert {
    condition     = length(aws_lb.x509.security_groups) == 2 && aws_lb_listener.gate_x509.port == 8084
    error_message = "The bridge leaves Gate's x509 NLB as it was."
  }
}

run "bridge_wiring" {
  command = apply

  variables {
    bridge = {
      enabled              = true
      allowed_cidrs        = ["198.51.100.0/24"]
      security_group_ids   = ["sg-internal"]
      listener_port        = 9091
      idle_timeout_seconds = 1200
      internal             = true
    }
  }

  override_resource {
    target = aws_acm_certificate.this
    values = {
      arn = "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
      domain_validation_options = [
        { domain_name = "spinnaker.example.com", resource_record_name = "_a.spinnaker.example.com.", resource_record_type = "CNAME", resource_record_value = "_a.acm-validations.aws." },
        { domain_name = "api.spinnaker.example.com", resource_record_name = "_b.api.spinnaker.example.com.", resource_record_type = "CNAME", resource_record_value = "_b.acm-validations.aws." },
        { domain_name = "x509.spinnaker.example.com", resource_record_name = "_c.x509.spinnaker.example.com.", resource_record_type = "CNAME", resource_record_value = "_c.acm-validations.aws." },
      ]
    }
  }

  override_resource {
    target = aws_security_group.bridge
    values = { id = "sg-bridge" }
  }

  override_resource {
    target = aws_lb.bridge
    values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/spin-bridge/7", dns_name = "spin-bridge-7.elb.eu-west-1.amazonaws.com" }
  }

  override_resource {
    target = aws_lb_target_group.bridge
    values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-bridge/8" }
  }

  assert {
    condition     = aws_lb.bridge["this"].security_groups == toset(["sg-bridge", "sg-internal"]) && aws_lb.bridge["this"].internal
    error_message = "The NLB carries its own group and the internal one (to reach the pods), and is internal when asked."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.bridge["198.51.100.0/24"].security_group_id == "sg-bridge" && aws_vpc_security_group_ingress_rule.bridge["198.51.100.0/24"].from_port == 9091
    error_message = "The agents' rule belongs to the bridge's group, on the listener port."
  }

  assert {
    condition     = aws_lb_listener.bridge["this"].default_action[0].target_group_arn == output.bridge_target_group_arn && aws_lb_listener.bridge["this"].tcp_idle_timeout_seconds == 1200
    error_message = "The listener forwards to the bridge's target group with the given idle timeout."
  }

  assert {
    condition     = output.bridge_address == "spin-bridge-7.elb.eu-west-1.amazonaws.com:9091" && length(aws_route53_record.bridge) == 0
    error_message = "Without a domain, agents dial the NLB's own name and no record is made."
  }
}

run "bridge_without_agent_ranges_is_refused" {
  command = plan

  variables {
    bridge = { enabled = true, security_group_ids = ["sg-internal"] }
  }

  expect_failures = [var.bridge]
}

run "bridge_without_the_internal_group_is_refused" {
  command = plan

  variables {
    bridge = { enabled = true, allowed_cidrs = ["198.51.100.0/24"] }
  }

  expect_failures = [var.bridge]
}

run "bridge_idle_timeout_outside_aws_range_is_refused" {
  command = plan

  variables {
    bridge = { enabled = true, allowed_cidrs = ["198.51.100.0/24"], security_group_ids = ["sg-internal"], idle_timeout_seconds = 30 }
  }

  expect_failures = [var.bridge]
}

run "bridge_name_of_another_service_is_refused" {
  command = plan

  variables {
    bridge = { enabled = true, allowed_cidrs = ["198.51.100.0/24"], security_group_ids = ["sg-internal"], domain = "x509.spinnaker.example.com" }
  }

  expect_failures = [var.bridge]
}

run "waf_guards_the_alb_by_default" {
  command = apply

  variables {
    waf = {}
  }

  # The NLBs get ARNs of their own (the mock gives every aws_lb the ALB's),
  # so the association below can only match by naming the ALB.
  override_resource {
    target = aws_lb.x509
    values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/spin-x509/2" }
  }

  assert {
    condition     = length(aws_wafv2_web_acl.this) == 1 && aws_wafv2_web_acl.this["this"].scope == "REGIONAL" && one(aws_wafv2_web_acl.this["this"].default_action).allow != null
    error_message = "A REGIONAL web ACL (the scope an ALB takes) that allows what no rule blocks."
  }

  assert {
    condition = [for r in sort([for r in aws_wafv2_web_acl.this["this"].rule : format("%03d %s", r.priority, r.name)]) : r] == [
      "001 rate-limit-per-ip",
      "010 AWSManagedRulesCommonRuleSet",
      "011 AWSManagedRulesKnownBadInputsRuleSet",
      "012 AWSManagedRulesAmazonIpReputationList",
    ]
    error_message = "The rate rule first, then the core rule set, known bad inputs and IP reputation, in that order."
  }

  assert {
    condition = alltrue([for r in aws_wafv2_web_acl.this["this"].rule : (
      r.name == "rate-limit-per-ip" ?
      one(one(r.statement).rate_based_statement).limit == 2000 && one(one(r.statement).rate_based_statement).aggregate_key_type == "IP" && one(r.action).block != null :
      one(one(r.statement).managed_rule_group_statement).vendor_name == "AWS" && one(r.override_action).none != null
    )])
    error_message = "The rate rule blocks an IP over 2,000 requests in 5 minutes; the managed groups keep their own actions (override none)."
  }

  assert {
    condition = [for r in aws_wafv2_web_acl.this["this"].rule : [for o in one(one(r.statement).managed_rule_group_statement).rule_action_override : o.name] if r.name == "AWSManagedRulesCommonRuleSet"] == [["SizeRestrictions_BODY"]] && alltrue([
      for r in aws_wafv2_web_acl.this["this"].rule : alltrue([for o in one(one(r.statement).managed_rule_group_statement).rule_action_override : one(o.action_to_use).count != null]) if r.name == "AWSManagedRulesCommonRuleSet"
    ])
    error_message = "The core rule set counts SizeRestrictions_BODY (a pipeline save is over 8 KB) instead of blocking it; nothing else is overridden."
  }

  assert {
    condition     = length(aws_wafv2_web_acl_association.this) == 1 && length(aws_wafv2_web_acl_logging_configuration.this) == 0
    error_message = "The ACL is associated with the ALB; no logging unless a destination is given."
  }

  assert {
    condition     = aws_wafv2_web_acl_association.this["this"].resource_arn == aws_lb.this.arn && aws_wafv2_web_acl_association.this["this"].web_acl_arn == aws_wafv2_web_acl.this["this"].arn && output.web_acl_arn == aws_wafv2_web_acl.this["this"].arn
    error_message = "The association joins this ACL to this ALB, and web_acl_arn names it."
  }
}

run "waf_existing_web_acl" {
  command = plan

  variables {
    waf = { web_acl_arn = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/org-baseline/0f3c" }
  }

  assert {
    condition     = length(aws_wafv2_web_acl.this) == 0 && aws_wafv2_web_acl_association.this["this"].web_acl_arn == "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/org-baseline/0f3c"
    error_message = "A given web ACL is associated with the ALB and none is created."
  }

  assert {
    condition     = output.web_acl_arn == "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/org-baseline/0f3c"
    error_message = "web_acl_arn reports the ACL in use."
  }
}

run "waf_off" {
  command = plan

  variables {
    waf = { enabled = false }
  }

  assert {
    condition     = length(aws_wafv2_web_acl.this) == 0 && length(aws_wafv2_web_acl_association.this) == 0 && output.web_acl_arn == null
    error_message = "waf.enabled = false attaches nothing."
  }
}

run "waf_logs_redact_credentials" {
  command = plan

  variables {
    waf = { logging = { destination_arn = "arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-spin" }, rate_limit = 0 }
  }

  assert {
    condition     = aws_wafv2_web_acl_logging_configuration.this["this"].log_destination_configs == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-spin"])
    error_message = "The WAF logs to the given destination."
  }

  assert {
    condition     = sort([for f in aws_wafv2_web_acl_logging_configuration.this["this"].redacted_fields : one(f.single_header).name]) == tolist(["authorization", "cookie"])
    error_message = "The Authorization header and the session cookie are redacted from the logs."
  }

  assert {
    condition     = length([for r in aws_wafv2_web_acl.this["this"].rule : r if r.name == "rate-limit-per-ip"]) == 0
    error_message = "rate_limit = 0 leaves the rate rule out."
  }
}

run "waf_cloudfront_acl_is_refused" {
  command = plan

  variables {
    waf = { web_acl_arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/cdn/0f3c" }
  }

  expect_failures = [var.waf]
}

run "waf_count_rules_of_an_unused_group_is_refused" {
  command = plan

  variables {
    waf = { managed_rule_groups = ["AWSManagedRulesKnownBadInputsRuleSet"], count_rules = { AWSManagedRulesCommonRuleSet = ["SizeRestrictions_BODY"] } }
  }

  expect_failures = [var.waf]
}

run "waf_other_groups_without_the_core_rule_set" {
  command = plan

  variables {
    waf = { managed_rule_groups = ["AWSManagedRulesKnownBadInputsRuleSet"] }
  }

  assert {
    condition     = [for r in aws_wafv2_web_acl.this["this"].rule : r.name] == ["rate-limit-per-ip", "AWSManagedRulesKnownBadInputsRuleSet"] || [for r in aws_wafv2_web_acl.this["this"].rule : r.name] == ["AWSManagedRulesKnownBadInputsRuleSet", "rate-limit-per-ip"]
    error_message = "Another choice of groups works with the default count_rules (which applies only to the core rule set)."
  }
}

run "waf_log_group_without_the_waf_prefix_is_refused" {
  command = plan

  variables {
    waf = { logging = { destination_arn = "arn:aws:logs:eu-west-1:123456789012:log-group:spinnaker" } }
  }

  expect_failures = [var.waf]
}

run "waf_rate_limit_out_of_range_is_refused" {
  command = plan

  variables {
    waf = { rate_limit = 5 }
  }

  expect_failures = [var.waf]
}

run "target_group_bindings_name_the_zone_services" {
  command = apply

  variables {
    target_group_bindings = { namespace = "spinnaker-green" }
  }

  # ARNs of their own (the mock gives every target group the same one), so
  # that each binding can only match by naming its own target group.
  override_resource {
    target = aws_lb_target_group.deck
    values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-deck/3" }
  }

  override_resource {
    target = aws_lb_target_group.gate
    values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-gate/4" }
  }

  override_resource {
    target = aws_lb_target_group.gate_x509
    values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-gate-x509/5" }
  }

  assert {
    condition = [for b in output.target_group_bindings : [b.kind, b.metadata.namespace, b.spec.serviceRef.name, tostring(b.spec.serviceRef.port), b.spec.targetType]] == [
      ["TargetGroupBinding", "spinnaker-green", "spin-deck", "9000", "ip"],
      ["TargetGroupBinding", "spinnaker-green", "spin-gate", "8084", "ip"],
    ]
    error_message = "One binding each for Deck and Gate, on Halyard's Deck and Gate Services (IP targets); none for the x509 port, which Halyard's spin-gate lacks."
  }

  assert {
    condition     = [for b in output.target_group_bindings : b.spec.targetGroupARN] == [aws_lb_target_group.deck.arn, aws_lb_target_group.gate.arn]
    error_message = "Each binding names its own target group."
  }

  assert {
    condition     = length(split("---\n", output.target_group_bindings_yaml)) == 2 && length(regexall("elbv2.k8s.aws/v1beta1", output.target_group_bindings_yaml)) == 2
    error_message = "The YAML output holds the two bindings."
  }
}

run "target_group_bindings_x509_when_its_service_is_named" {
  command = apply

  variables {
    target_group_bindings = { namespace = "spinnaker-green", gate_x509 = { service = "green-gate-x509", port = 8085 } }
  }

  # ARNs of their own (the mock gives every target group the same one), so
  # that each binding can only match by naming its own target group.
  override_resource {
    target = aws_lb_target_group.deck
    values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-deck/3" }
  }

  override_resource {
    target = aws_lb_target_group.gate
    values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-gate/4" }
  }

  override_resource {
    target = aws_lb_target_group.gate_x509
    values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-gate-x509/5" }
  }

  assert {
    condition     = [for b in output.target_group_bindings : "${b.metadata.name} ${b.spec.serviceRef.name}:${b.spec.serviceRef.port} ${b.spec.targetGroupARN == aws_lb_target_group.gate_x509.arn}"][2] == "${var.name}-gate-x509 green-gate-x509:8085 true"
    error_message = "Gate's x509 target group is bound to the Service named for it."
  }
}

run "target_group_bindings_bad_service_is_refused" {
  command = plan

  variables {
    target_group_bindings = { gate = { service = "Spin_Gate", port = 8084 } }
  }

  expect_failures = [var.target_group_bindings]
}

# examples/basic, the module's usage example, plans with this file's mock
# providers: an example that no longer fits the module fails here.
run "example_basic" {
  command = plan

  module {
    source = "./examples/basic"
  }
}
