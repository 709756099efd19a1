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

  mock_resource "aws_iam_policy" {
    defaults = {
      arn = "arn:aws:iam::123456789012:policy/mock"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "eu-west-1"
    }
  }

  # ARNs the real provider's validation accepts, for every role and queue
  # (OpenTofu's mocks make up random strings at plan).
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:mock"
      url = "https://sqs.eu-west-1.amazonaws.com/123456789012/mock"
    }
  }
}

mock_provider "kubernetes" {}

run "example_basic" {
  command = plan

  module {
    source = "./examples/basic"
  }
}
