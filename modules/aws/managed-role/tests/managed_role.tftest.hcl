mock_provider "aws" {}

variables {
  trust_policy_json   = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111111111111:role/spin-managing\"},\"Action\":\"sts:AssumeRole\"}]}"
  policy_json         = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\"}]}"
  managed_policy_arns = ["arn:aws:iam::aws:policy/PowerUserAccess"]
}

run "role_with_the_given_documents" {
  command = plan

  assert {
    condition     = aws_iam_role.this.name == "spinnakerManaged" && aws_iam_role.this.assume_role_policy == var.trust_policy_json
    error_message = "The role is named spinnakerManaged and trusts exactly the given document."
  }

  assert {
    condition     = aws_iam_role_policy.this.policy == var.policy_json
    error_message = "The inline policy is the given document."
  }

  assert {
    condition     = toset(keys(aws_iam_role_policy_attachment.this)) == toset(["arn:aws:iam::aws:policy/PowerUserAccess"])
    error_message = "Exactly the given managed policies are attached."
  }
}

run "not_json_is_refused" {
  command = plan

  variables {
    trust_policy_json = "arn:aws:iam::111111111111:role/spin-managing"
  }

  expect_failures = [var.trust_policy_json]
}

# examples/basic, the module's usage example, plans with this file's mock
# providers: an example that no longer fits the module fails here.
run "example_basic" {
  command = plan

  module {
    source = "./examples/basic"
  }
}
