# The usage example (examples/basic) planned with the same mock providers as
# the module's own tests. In a file of its own: OpenTofu resolves the other
# file's override_resource targets in whichever module a run plans, and the
# example has those resources one module down.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "eu-west-1"
    }
  }

  mock_resource "aws_iam_policy" {
    defaults = {
      arn = "arn:aws:iam::123456789012:policy/mock"
    }
  }

  # The policy documents are rendered by the real provider on moto
  # (internal/modtest/aws_lb_controller_test.go); here their statements are
  # read from the configuration, and json is any valid document.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

run "example_basic" {
  command = plan

  module {
    source = "./examples/basic"
  }
}
