mock_provider "aws" {}

variables {
  name               = "spin"
  vpc_id             = "vpc-0abc"
  subnet_ids         = ["subnet-pub-a", "subnet-pub-b", "subnet-pub-c"]
  security_group_ids = ["sg-user-facing", "sg-internal"]
  zone_id            = "Z0123456789ABC"
  deck_domain        = "spinnaker.example.com"
  gate_domain        = "api.spinnaker.example.com"
  gate_x509_domain   = "x509.spinnaker.example.com"
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

  override_resource {
    target = aws_acm_certificate_validation.this
    values = {
      certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
    }
  }

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
