# The usage example (examples/basic) planned with the same mock providers as
# the module's own tests. In a file of its own: OpenTofu resolves the other
# file's override_resource targets in whichever module a run plans, and the
# example has those resources one module down.

mock_provider "google" {}

run "example_basic" {
  command = plan

  module {
    source = "./examples/basic"
  }
}
