//go:build modules

package modtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// TestGCPEdgeTakesOverTheBridgeAddress: examples/gcp-complete reserved the
// bridge's address itself before modules/gcp/edge took the bridge's edge
// over; its moved.tf moves that address into module.edge. Compute Engine
// cannot change an address's description in place, and the module gives
// its own addresses one, so without the module's ignore_changes the move
// would replace the address and the bridge would get a new IP. The real
// hashicorp/google provider plans (offline: -refresh=false, nothing is
// called) the example's moved block against a state holding the address
// as the earlier example reserved it (no description): the address must
// be moved, and at most updated in place.
func TestGCPEdgeTakesOverTheBridgeAddress(t *testing.T) {
	t.Parallel()
	terraform, mirror := terraformAndMirror(t, "google")
	moved, err := os.ReadFile(filepath.Join(repo(t), "examples", "gcp-complete", "moved.tf"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?m)^moved \{\n\s*from\s*=\s*google_compute_address\.bridge\n[^}]*\}`).Find(moved)
	if block == nil {
		t.Fatal("examples/gcp-complete/moved.tf has no moved block for google_compute_address.bridge")
	}

	dir := t.TempDir()
	env := terraformEnv(t, dir, mirror)
	src := copyModule(t, filepath.Join(repo(t), "modules", "gcp", "edge"), filepath.Join(dir, "edge"), nil)
	writeFile(t, filepath.Join(dir, "main.tf"), `
provider "google" {
  project      = "acme-spinnaker"
  region       = "europe-west1"
  access_token = "offline"
}

module "edge" {
  source             = "`+src+`"
  project_id         = "acme-spinnaker"
  name               = "spinnaker"
  network            = "projects/acme-spinnaker/global/networks/spinnaker"
  target_tags        = ["spinnaker-internal"]
  deck_domain        = "spinnaker.example.com"
  gate_domain        = "api.spinnaker.example.com"
  user_source_ranges = ["0.0.0.0/0"]
  neg_zones          = ["europe-west1-b"]
  bridge = {
    enabled       = true
    region        = "europe-west1"
    allowed_cidrs = ["198.51.100.0/24"]
  }
}

`+string(block)+"\n")
	// The address as the earlier examples/gcp-complete reserved it
	// (name, region, EXTERNAL, PREMIUM, no description, no labels).
	state := map[string]any{
		"version": 4, "terraform_version": "1.14.0", "serial": 1, "lineage": "5f0c1a2e-0000-4000-8000-000000000001", "outputs": map[string]any{},
		"resources": []any{map[string]any{
			"mode": "managed", "type": "google_compute_address", "name": "bridge",
			"provider": `provider["registry.terraform.io/hashicorp/google"]`,
			"instances": []any{map[string]any{"schema_version": 0, "sensitive_attributes": []any{}, "attributes": map[string]any{
				"address": "34.77.1.2", "address_id": "1234567890", "address_type": "EXTERNAL", "creation_timestamp": "2026-11-30T10:00:00.000-08:00",
				"deletion_policy": "DELETE", "description": "", "effective_labels": map[string]any{"goog-terraform-provisioned": "true"},
				"id": "projects/acme-spinnaker/regions/europe-west1/addresses/spinnaker-bridge", "ip_collection": "", "ip_version": "", "ipv6_endpoint_type": "",
				"label_fingerprint": "42WmSpB8rSM=", "labels": nil, "name": "spinnaker-bridge", "network": "", "network_tier": "PREMIUM", "prefix_length": 0,
				"project": "acme-spinnaker", "purpose": "", "region": "europe-west1",
				"self_link":  "https://www.googleapis.com/compute/v1/projects/acme-spinnaker/regions/europe-west1/addresses/spinnaker-bridge",
				"subnetwork": "", "terraform_labels": map[string]any{"goog-terraform-provisioned": "true"}, "timeouts": nil, "users": []any{},
			}}},
		}},
	}
	raw, _ := json.Marshal(state)
	writeFile(t, filepath.Join(dir, "terraform.tfstate"), string(raw))

	tf := terraformIn(t, terraform, dir, env, "examples/gcp-complete's move of the bridge address")
	initMu.Lock()
	tf("init", "-no-color", "-input=false")
	initMu.Unlock()
	tf("plan", "-refresh=false", "-no-color", "-input=false", "-out=plan")
	var plan struct {
		ResourceChanges []struct {
			Address         string `json:"address"`
			PreviousAddress string `json:"previous_address"`
			Change          struct {
				Actions      []string `json:"actions"`
				ReplacePaths [][]any  `json:"replace_paths"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(tf("show", "-json", "plan"), &plan); err != nil {
		t.Fatal(err)
	}
	const to = `module.edge.google_compute_address.bridge["this"]`
	found := false
	for _, rc := range plan.ResourceChanges {
		if rc.Address == "google_compute_address.bridge" {
			t.Errorf("the old address %s is still planned (%v): the moved block did not apply", rc.Address, rc.Change.Actions)
		}
		if rc.Address != to {
			continue
		}
		found = true
		if rc.PreviousAddress != "google_compute_address.bridge" {
			t.Errorf("%s: previous address %q, want google_compute_address.bridge (moved)", to, rc.PreviousAddress)
		}
		if slices.Contains(rc.Change.Actions, "delete") || slices.Contains(rc.Change.Actions, "create") {
			t.Errorf("%s is %v (replaced because of %v): the bridge would get a new IP", to, rc.Change.Actions, rc.Change.ReplacePaths)
		}
	}
	if !found {
		t.Fatalf("%s is not in the plan", to)
	}
}
