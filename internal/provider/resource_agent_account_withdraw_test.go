package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
	"github.com/spinops/terraform-provider-spinops/internal/testenv/podstandin"
)

// TestAccAgentAccount_withdrawnFromSpinnaker: the agent goes away for
// longer than the account's grace period; the bridge disables the
// SpinnakerAccount. Terraform sees the account as withdrawn and plans
// nothing (enabled is the bridge's), an apply does not enable it again,
// and the account is enabled when the agent is back.
func TestAccAgentAccount_withdrawnFromSpinnaker(t *testing.T) {
	spin, spinNS := spinnakerCluster(t)
	target := testenv.StartCluster(t)
	spinKube, err := kube.NewClient(spin.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	tb := startTestBridge(t, func(c *bridge.Config) {
		c.Spinnaker = &bridge.SpinnakerAccounts{Client: spinKube.Dynamic, Namespace: spinNS, Resync: time.Minute}
	})
	const name = "tf-acc-withdrawn"
	const addr = "spinops_agent_account.this"
	pod := podstandin.StartAgentPod(t, target, "agent-"+name, name)
	config := strings.Replace(agentAccountConfig(tb, spin, spinNS, target, name, `["ConfigMap"]`), `grace_period = "30s"`, `grace_period = "2s"`, 1)
	noWait := strings.Replace(strings.Replace(agentAccountConfig(tb, spin, spinNS, target, name, `["ConfigMap"]`, "wait_for_sync = false"),
		`grace_period = "30s"`, `grace_period = "2s"`, 1), "spinnaker {\n", "spinnaker {\n    cache_interval_seconds = 20\n", 1)

	enabled := func() (bool, error) {
		u, err := spinKube.Get(context.Background(), attach.SpinnakerAccountGVK, spinNS, name)
		if err != nil {
			return false, err
		}
		on, _, _ := unstructured.NestedBool(u.Object, "spec", "enabled")
		return on, nil
	}
	waitEnabled := func(want bool) {
		t.Helper()
		err := kube.WaitFor(t.Context(), 200*time.Millisecond, 2*time.Minute, func(context.Context) (bool, string, error) {
			on, err := enabled()
			if err != nil {
				return false, err.Error(), nil
			}
			return on == want, "spec.enabled is still " + map[bool]string{true: "true", false: "false"}[on], nil
		})
		if err != nil {
			t.Fatalf("waiting for the SpinnakerAccount's spec.enabled = %t: %v", want, err)
		}
	}
	status := func(want string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact(want))
	}

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config:            config,
				ConfigStateChecks: []statecheck.StateCheck{status("connected")},
			},
			{
				// The agent's pod goes away; past the grace period the
				// bridge disables the SpinnakerAccount. The refresh reads
				// "withdrawn", and the plan is empty.
				PreConfig: func() {
					waitEnabled(true)
					pod.Paused.Store(true)
					waitEnabled(false)
				},
				Config:            config,
				ConfigStateChecks: []statecheck.StateCheck{status("withdrawn")},
			},
			{
				Config: config,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				// An apply that changes the attachment keeps the bridge's
				// decision: the account stays disabled while its agent is
				// gone (no wait: the agent is away).
				Config: noWait,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
				},
				Check: func(*terraform.State) error {
					if on, err := enabled(); err != nil || on {
						return fmt.Errorf("after an apply, the withdrawn SpinnakerAccount has spec.enabled=%t (%v), want false", on, err)
					}
					return nil
				},
			},
			{
				// The agent is back: the bridge enables the account again.
				PreConfig: func() {
					pod.Paused.Store(false)
					waitEnabled(true)
				},
				Config:            noWait,
				ConfigStateChecks: []statecheck.StateCheck{status("connected")},
			},
		},
	})
}
