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
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
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
// failing the plan, and are planned as updates that apply them again with
// the connection known by then, which changes nothing on the same cluster
// and, when the connection now names a new cluster, makes them there in
// that one apply (before, the plan was a no-op: the new cluster stayed
// empty while the state said the zone ran, until a second apply).
// The write-only values of the bridge and the monitor in
// TestAccProvider_connectionKnownOnlyAfterApply.
const (
	pendingBridgeToken     = "pending-bridge-admin-token-0123456789abcdef"
	pendingMonitorPassword = "pending-monitor-gate-password"
)

func TestAccProvider_connectionKnownOnlyAfterApply(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test: -short leaves out what starts an API server, the operator stand-in and terraform")
	}
	zc := startZoneAccCluster(t, accOpNamespace)
	factories, _ := clockedFactories()
	cfgOn := func(kubeconfig, cluster string, replicas int) string {
		c := zoneAccConfig{redVersion: "1.35.3"}.render(kubeconfig)
		c = strings.Replace(c, fmt.Sprintf("config_path = %q", kubeconfig), "config_path = terraform_data.cluster.output", 1)
		c = strings.Replace(c, "replicas = 2", fmt.Sprintf("replicas = %d", replicas), 1)
		return fmt.Sprintf(`
# The cluster: known only once it is made (again).
resource "terraform_data" "cluster" {
  input            = %[1]q
  triggers_replace = %[2]q
}

# On the same connection, with write-only values whose Secrets a new
# cluster lacks.
resource "spinops_bridge" "this" {
  namespace              = "tf-acc-test-bridge"
  image                  = "ghcr.io/spinops/spinops:test"
  spinnaker_namespace    = spinops_managed_spinnaker.this.id
  admin_token_wo         = %[3]q
  admin_token_wo_version = 1
  wait                   = false
}

resource "spinops_monitor" "this" {
  namespace          = spinops_managed_spinnaker.this.id
  installation       = "tf-acc-test"
  image              = "ghcr.io/spinops/spinops:test"
  wait               = false
  secrets_wo_version = 1
  gate_auth {
    username    = "monitor"
    password_wo = %[4]q
  }
  # (In the operator's namespace: the zone's may not exist yet, and the
  # steps that take the zone out of the configuration keep the monitor.)
  zone {
    name      = "red"
    namespace = spinops_managed_spinnaker.this.id
    tier      = "sandbox"
  }
}
`, kubeconfig, cluster, pendingBridgeToken, pendingMonitorPassword) + c
	}
	cfg := func(cluster string, replicas int) string { return cfgOn(zc.kubeconfig, cluster, replicas) }
	// The cluster that replaces the first in the last steps: its own API
	// server, operator stand-in and kubelet, nothing of spinops on it.
	newCluster := startZoneAccCluster(t, accOpNamespace)
	secretHolds := func(cs kubernetes.Interface, ns, name, key, want string) error {
		sec, err := cs.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := string(sec.Data[key]); got != want {
			return fmt.Errorf("Secret %s/%s: %s holds %d bytes, not the configuration's write-only value", ns, name, key, len(got))
		}
		return nil
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
				// changed: both are applied again once the connection is
				// known (it may be another cluster), and the plan says so;
				// on the same cluster that changes nothing.
				Config: cfg("second", 2),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("terraform_data.cluster", plancheck.ResourceActionReplace),
					plancheck.ExpectResourceAction("spinops_managed_spinnaker.this", plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue("spinops_managed_spinnaker.this", tfjsonpath.New("drifted_objects")),
					plancheck.ExpectResourceAction("spinops_zone.red", plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue("spinops_zone.red", tfjsonpath.New("status")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{replicas(2), statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("status"), knownvalue.StringExact("OK"))},
			},
			{
				// Replaced again, and the zone changed: planned without the
				// cluster, applied with it.
				Config: cfg("third", 3),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_managed_spinnaker.this", plancheck.ResourceActionUpdate),
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
					plancheck.ExpectResourceAction("spinops_zone.red", plancheck.ResourceActionUpdate),
				}},
			},
			{
				// The cluster replaced by a new, empty one: one apply makes
				// the installation and the zone there (the empty plan after
				// it, which the test framework requires, shows the refresh
				// found both).
				Config: cfgOn(newCluster.kubeconfig, "sixth", 3),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_managed_spinnaker.this", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("spinops_zone.red", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("spinops_bridge.this", plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue("spinops_bridge.this", tfjsonpath.New("ca_certificate")),
					plancheck.ExpectResourceAction("spinops_monitor.this", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{replicas(3), statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("status"), knownvalue.StringExact("OK"))},
				Check: func(*terraform.State) error {
					ctx := context.Background()
					if _, err := spinnaker.LoadInstallation(ctx, newCluster.cs, accOpNamespace); err != nil {
						return fmt.Errorf("the installation on the new cluster: %w", err)
					}
					if _, err := newCluster.cs.CoreV1().Services(accRedNS).Get(ctx, "spin-gate", metav1.GetOptions{}); err != nil {
						return fmt.Errorf("zone red on the new cluster (its Gate Service, made by the operator from the SpinnakerService): %w", err)
					}
					// The write-only values' versions did not change: their
					// Secrets, missing there, are written from this apply's
					// configuration all the same.
					if err := secretHolds(newCluster.cs, "tf-acc-test-bridge", "spinops-bridge-admin", "admin-token", pendingBridgeToken); err != nil {
						return fmt.Errorf("the bridge on the new cluster: %w", err)
					}
					if err := secretHolds(newCluster.cs, accOpNamespace, "spinops-monitor", "gate-password", pendingMonitorPassword); err != nil {
						return fmt.Errorf("the monitor on the new cluster: %w", err)
					}
					return nil
				},
			},
		},
	})
}
