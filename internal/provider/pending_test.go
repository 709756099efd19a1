package provider

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// configureWith runs the provider's Configure on a configuration whose
// attributes at the given paths hold the given values (the rest null).
func configureWith(t *testing.T, getenv func(string) string, values map[string]any) *providerData {
	t.Helper()
	ctx := context.Background()
	p := &spinopsProvider{version: "test", getenv: getenv}
	var sresp provider.SchemaResponse
	p.Schema(ctx, provider.SchemaRequest{}, &sresp)
	plan := tfsdk.Plan{Schema: sresp.Schema, Raw: tftypes.NewValue(sresp.Schema.Type().TerraformType(ctx), nil)}
	for at, v := range values {
		var p path.Path
		for i, step := range strings.Split(at, ".") {
			if i == 0 {
				p = path.Root(step)
			} else {
				p = p.AtName(step)
			}
		}
		if d := plan.SetAttribute(ctx, p, v); d.HasError() {
			t.Fatalf("setting %s: %v", at, d)
		}
	}
	var resp provider.ConfigureResponse
	p.Configure(ctx, provider.ConfigureRequest{Config: tfsdk.Config{Schema: sresp.Schema, Raw: plan.Raw}}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatalf("configure: %v", resp.Diagnostics)
	}
	return resp.ResourceData.(*providerData)
}

// TestConfigureKeepsUnknownConnectionsPending: a provider configured with a
// cluster or bridge value not known yet reaches neither, and never fills
// the unknown value from an environment variable (which would name another
// cluster or bridge): what needs them says which attribute is not known.
func TestConfigureKeepsUnknownConnectionsPending(t *testing.T) {
	env := envMap(map[string]string{
		envKubeConfigPath: "/home/someone/.kube/config", envKubeHost: "https://other-cluster:6443", envKubeToken: "env-token",
		envBridgeAddress: "other-bridge:9091", envBridgeToken: "env-bridge-token",
	})
	data := configureWith(t, env, map[string]any{
		"kubernetes.host":                   types.StringUnknown(),
		"kubernetes.cluster_ca_certificate": types.StringValue("ca"),
		"bridge.address":                    types.StringUnknown(),
	})
	if !connectionIsEmpty(data.kube) || data.kube.Token != "" || data.bridge.Address != "" || data.bridge.Token != "" {
		t.Errorf("an unknown connection was filled in: kube %+v, bridge %+v", data.kube, data.bridge)
	}
	if !slices.Equal(data.kubePending, []string{"kubernetes.host"}) || !slices.Equal(data.bridgePending, []string{"bridge.address"}) {
		t.Errorf("pending: kubernetes %q, bridge %q", data.kubePending, data.bridgePending)
	}
	_, diags := data.restConfig(context.Background(), nil, path.Root("kubernetes"))
	if !diags.HasError() || diags.Errors()[0].Summary() != "Kubernetes connection not known yet" || !strings.Contains(diags.Errors()[0].Detail(), "kubernetes.host depends on values known only after apply") {
		t.Errorf("restConfig with the provider's connection pending: %v", diags)
	}
	if _, err := data.bridgeSettings(); err == nil || !strings.Contains(err.Error(), "bridge.address depends on values known only after apply") {
		t.Errorf("bridgeSettings with the bridge pending: %v", err)
	}
	own := &kubernetesModel{ConfigPath: types.StringValue("/etc/own-kubeconfig")}
	if got := data.pendingFor(false, own); len(got) != 0 {
		t.Errorf("an object with its own connection does not wait for the provider's: %q", got)
	}
	if got := data.pendingFor(true, own); !slices.Equal(got, []string{"bridge.address"}) {
		t.Errorf("an object that uses the bridge: %q", got)
	}
	if got := data.pendingFor(false, own, nil); !slices.Equal(got, []string{"kubernetes.host"}) {
		t.Errorf("an object with a part on the provider's connection: %q", got)
	}

	// Known: the environment fills what the block leaves out, as before.
	data = configureWith(t, env, map[string]any{"kubernetes.host": types.StringValue("https://cluster:6443")})
	if len(data.kubePending) != 0 || len(data.bridgePending) != 0 || data.kube.Host != "https://cluster:6443" || data.kube.Token != "env-token" ||
		data.bridge.Address != "other-bridge:9091" {
		t.Errorf("known configuration: pending %q %q, kube %+v, bridge %+v", data.kubePending, data.bridgePending, data.kube, data.bridge)
	}
}

// TestAccProvider_connectionKnownOnlyAfterApply: the provider's cluster
// connection comes from a resource (here terraform_data; in a landing zone
// module.eks's endpoint). Its first apply makes everything; a later plan
// in which that resource is replaced has the connection unknown: the zone
// and the installation keep what the last apply recorded instead of
// failing the plan, a change of theirs is planned and applied with the
// connection known by then.
func TestAccProvider_connectionKnownOnlyAfterApply(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test: -short leaves out what starts an API server, the operator stand-in and terraform")
	}
	zc := startZoneAccCluster(t, accOpNamespace)
	factories, _ := clockedFactories()
	cfg := func(cluster string, replicas int) string {
		c := zoneAccConfig{redVersion: "1.35.3"}.render(zc.kubeconfig)
		c = strings.Replace(c, fmt.Sprintf("config_path = %q", zc.kubeconfig), "config_path = terraform_data.cluster.output", 1)
		c = strings.Replace(c, "replicas = 2", fmt.Sprintf("replicas = %d", replicas), 1)
		return fmt.Sprintf(`
# The cluster: known only once it is made (again).
resource "terraform_data" "cluster" {
  input            = %q
  triggers_replace = %q
}
`, zc.kubeconfig, cluster) + c
	}
	const importZone = `
import {
  to = spinops_zone.red
  id = "` + accRedNS + `/red"
}
`
	withoutZone := func(c string) string { return c[:strings.Index(c, `resource "spinops_zone" "red"`)] }
	replicas := func(n int64) statecheck.StateCheck {
		return statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("services").AtMapKey("clouddriver-ro").AtMapKey("replicas"), knownvalue.Int64Exact(n))
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []tfresource.TestStep{
			{
				Config:            cfg("first", 2),
				ConfigStateChecks: []statecheck.StateCheck{replicas(2), statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("status"), knownvalue.StringExact("OK"))},
			},
			{
				// The cluster's resource replaced, nothing of Spinnaker's
				// changed: nothing to do for either, and the plan says so.
				Config: cfg("second", 2),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("terraform_data.cluster", plancheck.ResourceActionReplace),
					plancheck.ExpectResourceAction("spinops_managed_spinnaker.this", plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction("spinops_zone.red", plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{replicas(2)},
			},
			{
				// Replaced again, and the zone changed: planned without the
				// cluster, applied with it.
				Config: cfg("third", 3),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_managed_spinnaker.this", plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction("spinops_zone.red", plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue("spinops_zone.red", tfjsonpath.New("services")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{replicas(3), statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("status"), knownvalue.StringExact("OK"))},
			},
			{
				// Forgotten, to be imported again.
				Config: withoutZone(cfg("third", 3)) + `
removed {
  from = spinops_zone.red
  lifecycle {
    destroy = false
  }
}
`,
			},
			{
				// Imported while the connection is not known: the import id
				// alone says too little to plan (the zone would be
				// replaced), so the plan fails and says why.
				Config:      cfg("fourth", 3) + importZone,
				ExpectError: regexp.MustCompile(`(?s)Cannot import zone red yet.*kubernetes\.config_path\s+depends\s+on\s+values\s+known\s+only\s+after\s+apply`),
			},
			{
				// Imported with the connection known; then replaced again:
				// the imported zone, read once, is kept like any other.
				Config: cfg("third", 3) + importZone,
			},
			{
				Config: cfg("fifth", 3) + importZone,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_zone.red", plancheck.ResourceActionNoop),
				}},
			},
		},
	})
}
