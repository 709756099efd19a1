package provider

import (
	"context"
	"os"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// testAccProtoV6ProviderFactories serves the provider in-process; the real
// terraform binary (TF_ACC_TERRAFORM_PATH) talks to it over the plugin
// protocol.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"spinops": providerserver.NewProtocol6WithError(New("test")()),
}

// testingOpenTofu reports whether the acceptance tests run OpenTofu (as the
// make test lane go-test-tofu does: its provider host is OpenTofu's
// registry), for the few steps where the two differ by design.
func testingOpenTofu() bool {
	return os.Getenv("TF_ACC_PROVIDER_HOST") == "registry.opentofu.org"
}

// TestMain stops the shared local services (kube-apiserver, ...) after the
// package's tests.
func TestMain(m *testing.M) {
	testenv.Main(m)
}

func TestProviderSchemaIsValid(t *testing.T) {
	var resp provider.SchemaResponse
	New("test")().Schema(context.Background(), provider.SchemaRequest{}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatalf("schema diagnostics: %v", resp.Diagnostics)
	}
	if diags := resp.Schema.ValidateImplementation(context.Background()); diags.HasError() {
		t.Fatalf("schema implementation: %v", diags)
	}
}
