package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ktypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	awscloud "github.com/spinops/terraform-provider-spinops/internal/cloud/aws"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
	"github.com/spinops/terraform-provider-spinops/internal/testenv/podstandin"
)

// spinnakerCluster is the shared cluster with the Spinnaker Operator's
// CRDs, standing for the cluster Spinnaker runs in.
func spinnakerCluster(t *testing.T) (*testenv.Cluster, string) {
	t.Helper()
	c := testenv.SharedCluster(t)
	kc, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := spinnaker.InstallCRDs(t.Context(), kc, time.Minute); err != nil {
		t.Fatal(err)
	}
	return c, c.Namespace(t)
}

// seedConfigMaps creates n ConfigMaps in a new namespace of c.
func seedConfigMaps(t *testing.T, c *testenv.Cluster, ns string, n int) {
	t.Helper()
	cs := c.Clientset()
	if _, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for i := range n {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i), Namespace: ns}, Data: map[string]string{"i": fmt.Sprint(i)}}
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

func countAll(t *testing.T, cs kubernetes.Interface, kind string) int {
	t.Helper()
	switch kind {
	case "configmaps":
		l, err := cs.CoreV1().ConfigMaps("").List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return len(l.Items)
	case "secrets":
		l, err := cs.CoreV1().Secrets("").List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return len(l.Items)
	}
	t.Fatalf("countAll: %s", kind)
	return 0
}

// stateHoldsNo fails when any attribute of any resource in state contains
// one of the secrets (or an agent-credential / endpoint-token prefix).
func stateHoldsNo(secrets func() []string) tfresource.TestCheckFunc {
	return func(s *terraform.State) error {
		want := append(secrets(), "spa_", "spe_")
		for addr, rs := range s.RootModule().Resources {
			for k, v := range rs.Primary.Attributes {
				for _, sec := range want {
					if sec != "" && strings.Contains(v, sec) {
						return fmt.Errorf("state of %s holds a secret in %s", addr, k)
					}
				}
			}
		}
		return nil
	}
}

func agentAccountConfig(tb *testBridge, spin *testenv.Cluster, spinNS string, target *testenv.Cluster, name, kinds string, extra ...string) string {
	return tb.providerBlock(spin) + fmt.Sprintf(`
resource "spinops_agent_account" "this" {
  name         = %q
  kinds        = %s
  grace_period = "30s"
  `+strings.Join(extra, "\n  ")+`

  permissions {
    read  = ["dev", "ops"]
    write = ["ops"]
  }

  install_agent {
    namespace = "agent-%s"
    image     = "ghcr.io/spinops/spinops:test"
    requests  = { cpu = "50m", memory = "64Mi" }
    kubernetes {
      config_path = %q
    }
  }

  spinnaker {
    namespace = %q
  }

  timeouts {
    create = "3m"
    update = "3m"
  }
}

data "spinops_agent_accounts" "all" {
  depends_on = [spinops_agent_account.this]
}
`, name, kinds, name, target.Kubeconfig, spinNS)
}

// TestAccAgentAccount_agentMode attaches a cluster in agent mode: the
// resource registers the account, installs the agent in the target cluster
// and the SpinnakerAccount in the Spinnaker cluster, and waits for the
// agent (the real binary, run by the stand-in from what was installed) to
// connect and sync. Then: update kinds, import, out-of-band deletion of the
// agent and of the registration, destroy.
func TestAccAgentAccount_agentMode(t *testing.T) {
	spin, spinNS := spinnakerCluster(t)
	target := testenv.StartCluster(t)
	tb := startTestBridge(t)
	seedConfigMaps(t, target, "apps", 7)
	const name = "target-one"
	const addr = "spinops_agent_account.this"
	agentNS := "agent-" + name
	podstandin.StartAgentPod(t, target, agentNS, name)
	tcs := target.Clientset()
	var rotated []string

	credential := func() []string {
		r, err := tb.admin.GetCredential(tb.ctx(), &bridgev1.GetCredentialRequest{Name: name})
		if err != nil {
			return nil
		}
		kc, _ := tb.admin.GetKubeconfig(tb.ctx(), &bridgev1.GetKubeconfigRequest{Name: name})
		return []string{r.GetCredential(), kc.GetToken(), tb.Token}
	}
	objectsMatch := func(kinds ...string) tfresource.TestCheckFunc {
		return func(s *terraform.State) error {
			attrs := s.RootModule().Resources[addr].Primary.Attributes
			for _, k := range kinds {
				want := countAll(t, tcs, k)
				if got := attrs["objects."+k]; got != fmt.Sprint(want) {
					return fmt.Errorf("objects.%s = %q, the cluster holds %d", k, got, want)
				}
			}
			return nil
		}
	}
	endpointReads := func(s *terraform.State) error {
		// Spinnaker's view: the kubeconfig in the Secret beside the
		// SpinnakerAccount reaches the account through the bridge.
		sec, err := spin.Clientset().CoreV1().Secrets(spinNS).Get(t.Context(), "spinops-account-"+name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cfg, err := clientcmd.RESTConfigFromKubeConfig(sec.Data["kubeconfig"])
		if err != nil {
			return err
		}
		if !strings.Contains(cfg.Host, "/accounts/"+name) {
			return fmt.Errorf("the kubeconfig points at %s, not the bridge endpoint", cfg.Host)
		}
		l, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().ConfigMaps("apps").List(t.Context(), metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing through the bridge endpoint: %w", err)
		}
		if len(l.Items) != 7 {
			return fmt.Errorf("the bridge endpoint lists %d ConfigMaps in apps, want 7", len(l.Items))
		}
		u, err := mustKube(t, spin).Get(t.Context(), attach.SpinnakerAccountGVK, spinNS, name)
		if err != nil {
			return err
		}
		perms, _, _ := unstructuredStrings(u.Object, "spec", "permissions", "WRITE")
		if fmt.Sprint(perms) != "[ops]" {
			return fmt.Errorf("SpinnakerAccount permissions.WRITE = %v", perms)
		}
		if v, _, _ := unstructured.NestedInt64(u.Object, "spec", "settings", "cacheIntervalSeconds"); v != 10 {
			return fmt.Errorf("SpinnakerAccount settings.cacheIntervalSeconds = %d, want 10 (cache_interval_seconds's default)", v)
		}
		return nil
	}
	rbacIs := func(resources ...string) tfresource.TestCheckFunc {
		return func(*terraform.State) error {
			cr, err := tcs.RbacV1().ClusterRoles().Get(t.Context(), "spinops-agent-"+name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			var got []string
			for _, r := range cr.Rules {
				got = append(got, r.Resources...)
				if !strings.Contains(strings.Join(r.Verbs, ","), "patch") {
					return fmt.Errorf("permissions.write is set but the agent may not patch: %v", r.Verbs)
				}
			}
			if strings.Join(got, ",") != strings.Join(resources, ",") {
				return fmt.Errorf("the agent's ClusterRole grants %v, want exactly %v", got, resources)
			}
			return nil
		}
	}

	// grants checks, for pairs of a resource and whether it is wanted, that
	// the agent's ClusterRole grants it or not.
	grants := func(want ...any) tfresource.TestCheckFunc {
		return func(*terraform.State) error {
			cr, err := tcs.RbacV1().ClusterRoles().Get(t.Context(), "spinops-agent-"+name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			granted := map[string]bool{}
			for _, r := range cr.Rules {
				for _, res := range r.Resources {
					granted[res] = true
				}
			}
			for i := 0; i+1 < len(want); i += 2 {
				res, on := want[i].(string), want[i+1].(bool)
				if granted[res] != on {
					return fmt.Errorf("the agent's ClusterRole grants %s: %v, want %v (rules %v)", res, granted[res], on, cr.Rules)
				}
			}
			return nil
		}
	}

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := tb.admin.GetAccount(tb.ctx(), &bridgev1.GetAccountRequest{Name: name}); err == nil {
				return fmt.Errorf("account %s is still registered", name)
			}
			in := &attach.AgentInstall{Account: name, Namespace: agentNS}
			for _, r := range in.Refs() {
				if _, err := mustKube(t, target).Get(t.Context(), r.GroupVersionKind(), r.GetNamespace(), r.GetName()); !apierrors.IsNotFound(err) {
					return fmt.Errorf("%s is still there (%v)", kube.Describe(r), err)
				}
			}
			if ns, err := tcs.CoreV1().Namespaces().Get(t.Context(), agentNS, metav1.GetOptions{}); err == nil && ns.DeletionTimestamp == nil {
				return fmt.Errorf("the namespace the install created is still there")
			}
			if _, err := mustKube(t, spin).Get(t.Context(), attach.SpinnakerAccountGVK, spinNS, name); !apierrors.IsNotFound(err) {
				return fmt.Errorf("the SpinnakerAccount is still there (%v)", err)
			}
			return nil
		},
		Steps: append([]tfresource.TestStep{
			{
				Config: agentAccountConfig(tb, spin, spinNS, target, name, `["ConfigMap"]`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("connected")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("kubernetes_version"), knownvalue.StringExact(testenv.KubernetesVersion)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("agent_installed"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("spinnaker_account_installed"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("api_server_fingerprint"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{64}$`))),
					statecheck.ExpectKnownValue("data.spinops_agent_accounts.all", tfjsonpath.New("accounts").AtSliceIndex(0).AtMapKey("status"), knownvalue.StringExact("connected")),
				},
				Check: tfresource.ComposeTestCheckFunc(
					objectsMatch("configmaps"),
					rbacIs("configmaps"),
					endpointReads,
					stateHoldsNo(credential),
					// The bridge pushes re-cache requests to the Clouddriver
					// the Operator runs in Spinnaker's namespace.
					func(*terraform.State) error {
						a, err := tb.admin.GetAccount(tb.ctx(), &bridgev1.GetAccountRequest{Name: name})
						if err != nil {
							return err
						}
						if got, want := a.GetSpec().GetClouddriverUrl(), "http://spin-clouddriver."+spinNS+":7002"; got != want {
							return fmt.Errorf("registered clouddriver_url %q, want %q", got, want)
						}
						return nil
					},
				),
			},
			{
				// More kinds: the registration, the agent's RBAC and config
				// change; the agent reloads and syncs Secrets (metadata only).
				Config: agentAccountConfig(tb, spin, spinNS, target, name, `["ConfigMap", "Secret"]`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("connected")),
				},
				Check: tfresource.ComposeTestCheckFunc(
					rbacIs("configmaps", "secrets"),
					func(*terraform.State) error {
						// The count converges once the agent's resync lands.
						deadline := time.Now().Add(30 * time.Second)
						for {
							a, err := tb.admin.GetAccount(tb.ctx(), &bridgev1.GetAccountRequest{Name: name})
							if err == nil && a.GetStatus().GetObjectCounts()["secrets"] == int64(countAll(t, tcs, "secrets")) {
								return nil
							}
							if time.Now().After(deadline) {
								return fmt.Errorf("secrets never reached the bridge cache: %v %v", a.GetStatus().GetObjectCounts(), err)
							}
							time.Sleep(200 * time.Millisecond)
						}
					},
					stateHoldsNo(credential),
				),
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateId:     name,
				ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"install_agent", "spinnaker", "timeouts", "agent_installed", "spinnaker_account_installed",
					"objects", "last_heartbeat", "status", "agent_id"},
				ImportStateVerifyIdentifierAttribute: "name",
			},
			{
				// The agent's Deployment is deleted out of band: the plan
				// reinstalls it.
				PreConfig: func() {
					if err := tcs.AppsV1().Deployments(agentNS).Delete(context.Background(), "spinops-agent-"+name, metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             agentAccountConfig(tb, spin, spinNS, target, name, `["ConfigMap", "Secret"]`),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: agentAccountConfig(tb, spin, spinNS, target, name, `["ConfigMap", "Secret"]`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("agent_installed"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("connected")),
				},
			},
			{
				// Edits made with kubectl to what the install made, each by
				// its own field manager: the agent's ClusterRole granted
				// more than its kinds (tokens of any ServiceAccount), its
				// Secret pointed at another bridge (the agent would hand
				// that one its credential), its Deployment scaled to 0 and
				// given another image, its configuration edited. Refresh
				// lists exactly those; the apply puts them back.
				PreConfig: func() {
					ctx, agentName := t.Context(), "spinops-agent-"+name
					edit := func(what string, err error) {
						if err != nil {
							t.Fatalf("%s outside Terraform: %v", what, err)
						}
					}
					_, err := tcs.RbacV1().ClusterRoles().Patch(ctx, agentName, ktypes.JSONPatchType,
						[]byte(`[{"op":"add","path":"/rules/-","value":{"apiGroups":[""],"resources":["serviceaccounts/token"],"verbs":["create"]}}]`),
						metav1.PatchOptions{FieldManager: "kubectl-edit"})
					edit("widening the agent's ClusterRole", err)
					_, err = tcs.CoreV1().Secrets(agentNS).Patch(ctx, agentName, ktypes.MergePatchType,
						[]byte(`{"stringData":{"`+attach.SecretAddressKey+`":"bridge.attacker.example:443"}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"})
					edit("pointing the agent's Secret at another bridge", err)
					edit("scaling the agent to 0", scaleToZeroByHand(ctx, tcs, agentNS, agentName))
					_, err = tcs.AppsV1().Deployments(agentNS).Patch(ctx, agentName, ktypes.StrategicMergePatchType,
						[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"agent","image":"registry.attacker.example/agent:1"}]}}}}`),
						metav1.PatchOptions{FieldManager: "kubectl-set"})
					edit("changing the agent's image", err)
					cm, err := tcs.CoreV1().ConfigMaps(agentNS).Get(ctx, agentName, metav1.GetOptions{})
					edit("reading the agent's configuration", err)
					cm.Data[attach.ConfigKey] += "\n# edited by hand\n"
					_, err = tcs.CoreV1().ConfigMaps(agentNS).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
					edit("editing the agent's configuration", err)
				},
				Config: agentAccountConfig(tb, spin, spinNS, target, name, `["ConfigMap", "Secret"]`),
				ConfigPlanChecks: driftPlanChecks(addr,
					"ClusterRole spinops-agent-"+name+": changed: rules",
					"ConfigMap "+agentNS+"/spinops-agent-"+name+": changed: data",
					"Deployment "+agentNS+"/spinops-agent-"+name+": changed: spec.replicas, spec.template",
					"Secret "+agentNS+"/spinops-agent-"+name+": changed: data",
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("drifted_objects"), knownvalue.ListExact(nil)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("connected")),
				},
				Check: tfresource.ComposeTestCheckFunc(
					rbacIs("configmaps", "secrets"),
					func(*terraform.State) error {
						ctx, agentName := t.Context(), "spinops-agent-"+name
						sec, err := tcs.CoreV1().Secrets(agentNS).Get(ctx, agentName, metav1.GetOptions{})
						if err != nil {
							return err
						}
						if got := string(sec.Data[attach.SecretAddressKey]); got != tb.Addr {
							return fmt.Errorf("the agent's Secret names bridge %q after the apply, want %q", got, tb.Addr)
						}
						d, err := tcs.AppsV1().Deployments(agentNS).Get(ctx, agentName, metav1.GetOptions{})
						if err != nil {
							return err
						}
						if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Template.Spec.Containers[0].Image != "ghcr.io/spinops/spinops:test" {
							return fmt.Errorf("the agent's Deployment was not put back: replicas %v, image %s", d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image)
						}
						cm, err := tcs.CoreV1().ConfigMaps(agentNS).Get(ctx, agentName, metav1.GetOptions{})
						if err != nil {
							return err
						}
						if strings.Contains(cm.Data[attach.ConfigKey], "edited by hand") {
							return fmt.Errorf("the agent's configuration was not put back")
						}
						return nil
					},
					stateHoldsNo(credential),
				),
			},
			{
				// The credential rotated at the bridge outside Terraform (an
				// operator's RotateCredential): the agent's credential stops
				// working. Refresh shows the Secret (and the Deployment,
				// whose pods roll on a new credential) as drift, and the
				// apply delivers the bridge's current credential: the agent
				// connects again.
				PreConfig: func() {
					if _, err := tb.admin.RotateCredential(tb.ctx(), &bridgev1.RotateCredentialRequest{Name: name}); err != nil {
						t.Fatal(err)
					}
				},
				Config: agentAccountConfig(tb, spin, spinNS, target, name, `["ConfigMap", "Secret"]`),
				ConfigPlanChecks: driftPlanChecks(addr,
					"Deployment "+agentNS+"/spinops-agent-"+name+": changed: spec.template",
					"Secret "+agentNS+"/spinops-agent-"+name+": changed: data",
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("connected")),
				},
				Check: tfresource.ComposeTestCheckFunc(
					func(*terraform.State) error {
						sec, err := tcs.CoreV1().Secrets(agentNS).Get(t.Context(), "spinops-agent-"+name, metav1.GetOptions{})
						if err != nil {
							return err
						}
						if now := credential(); len(now) == 0 || string(sec.Data[attach.SecretCredentialKey]) != now[0] {
							return fmt.Errorf("the agent's Secret does not hold the credential the bridge rotated to")
						}
						return nil
					},
					stateHoldsNo(credential),
				),
			},
			{
				// The registration is changed out of band (kinds narrowed):
				// refresh shows it and the plan puts it back.
				PreConfig: func() {
					a, err := tb.admin.GetAccount(tb.ctx(), &bridgev1.GetAccountRequest{Name: name})
					if err != nil {
						t.Fatal(err)
					}
					a.Spec.Kinds = []string{"ConfigMap"}
					if _, err := tb.admin.UpdateAccount(tb.ctx(), &bridgev1.UpdateAccountRequest{Spec: a.Spec}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             agentAccountConfig(tb, spin, spinNS, target, name, `["ConfigMap", "Secret"]`),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// The SpinnakerAccount's caching cycle slowed by hand and a
				// setting added (kubectl edit): refresh shows it, the plan
				// writes it back, and the apply leaves exactly the rendered
				// settings (endpointReads: the cycle is 10 again).
				PreConfig: func() {
					patch := `{"spec":{"settings":{"cacheIntervalSeconds":300,"cacheThreads":4}}}`
					gvr := attach.SpinnakerAccountGVK.GroupVersion().WithResource("spinnakeraccounts")
					if _, err := mustKube(t, spin).Dynamic.Resource(gvr).Namespace(spinNS).Patch(t.Context(), name, ktypes.MergePatchType, []byte(patch),
						metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
						t.Fatal(err)
					}
				},
				Config: agentAccountConfig(tb, spin, spinNS, target, name, `["ConfigMap", "Secret"]`),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("spinnaker_account_installed"), knownvalue.Bool(true)),
				},
				Check: tfresource.ComposeTestCheckFunc(endpointReads, func(*terraform.State) error {
					u, err := mustKube(t, spin).Get(t.Context(), attach.SpinnakerAccountGVK, spinNS, name)
					if err != nil {
						return err
					}
					if _, found, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "settings", "cacheThreads"); found {
						return fmt.Errorf("the hand-added settings.cacheThreads survived the apply")
					}
					return nil
				}),
			},
			{
				// Rotation: a new credential and endpoint token; the agent
				// rolls onto the new credential, Spinnaker's kubeconfig is
				// rewritten, and the old ones stop working.
				PreConfig: func() {
					rotated = credential()
				},
				Config: agentAccountConfig(tb, spin, spinNS, target, name, `["ConfigMap", "Secret"]`, `credential_rotation = "2026-11"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("connected")),
				},
				Check: tfresource.ComposeTestCheckFunc(
					func(*terraform.State) error {
						now := credential()
						if len(rotated) < 2 || len(now) < 2 || now[0] == rotated[0] || now[1] == rotated[1] {
							return fmt.Errorf("the credential and the endpoint token did not both change")
						}
						return nil
					},
					endpointReads, // through the rewritten kubeconfig
					stateHoldsNo(func() []string { return append(credential(), rotated...) }),
				),
			},
			{
				// Deregistered out of band: the plan registers it again (a
				// new id and credential, delivered to the cluster).
				PreConfig: func() {
					if _, err := tb.admin.DeregisterAccount(tb.ctx(), &bridgev1.DeregisterAccountRequest{Name: name}); err != nil {
						t.Fatal(err)
					}
				},
				Config: agentAccountConfig(tb, spin, spinNS, target, name, `["ConfigMap", "Secret"]`, `credential_rotation = "2026-11"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("connected")),
				},
				Check: tfresource.ComposeTestCheckFunc(objectsMatch("configmaps", "secrets"), stateHoldsNo(credential)),
			},
			{
				// Every kind (kinds unset): the ClusterRole grants what the
				// target cluster serves.
				Config:            agentAccountConfig(tb, spin, spinNS, target, name, `null`, `credential_rotation = "2026-11"`),
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("connected"))},
				Check:             grants("configmaps", true, "widgets", false),
			},
			{
				// A CRD installed in the target cluster afterwards: the
				// ClusterRole no longer grants every kind the agent
				// watches. Refresh lists it, the apply grants the new kind.
				PreConfig: func() { target.InstallCRD(t, widgetCRD(t)) },
				Config:    agentAccountConfig(tb, spin, spinNS, target, name, `null`, `credential_rotation = "2026-11"`),
				ConfigPlanChecks: driftPlanChecks(addr,
					"ClusterRole spinops-agent-"+name+": changed: rules"),
				Check: grants("configmaps", true, "widgets", true),
			},
		},
			// The agent's install and the SpinnakerAccount are in clusters
			// only their kubernetes blocks reach, which no import id
			// names: after an import block the first apply applies them
			// again (a server-side apply of what is there changes nothing).
			// No bridge records credential_rotation: it is adopted.
			append(importSteps(addr, name, []string{"install_agent", "spinnaker", "timeouts", "agent_installed", "spinnaker_account_installed", "credential_rotation"}, nil),
				// The account moved to another state as users do it: a
				// removed block forgets it (the account stays registered,
				// its agent connected), an import block beside the same
				// configuration takes it back. The apply adopts
				// credential_rotation: the agent's credential and the
				// endpoint token are kept, not revoked by a rotation.
				tfresource.TestStep{
					Config: tb.providerBlock(spin) + `
removed {
  from = spinops_agent_account.this
  lifecycle {
    destroy = false
  }
}
`,
					Check: func(*terraform.State) error {
						if rotated = credential(); len(rotated) < 2 {
							return fmt.Errorf("forgetting the account deregistered it")
						}
						return nil
					},
				},
				tfresource.TestStep{
					Config: agentAccountConfig(tb, spin, spinNS, target, name, `null`, `credential_rotation = "2026-11"`) + fmt.Sprintf(`
import {
  to = spinops_agent_account.this
  id = %q
}
`, name),
					ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					}},
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("connected")),
						statecheck.ExpectKnownValue(addr, tfjsonpath.New("credential_rotation"), knownvalue.StringExact("2026-11")),
					},
					Check: tfresource.ComposeTestCheckFunc(func(*terraform.State) error {
						if now := credential(); !slices.Equal(now, rotated) {
							return fmt.Errorf("the apply after the import rotated the account's credential: the agent's stops working")
						}
						return nil
					}, endpointReads),
				},
				tfresource.TestStep{
					// Rotation after the import works as before.
					Config: agentAccountConfig(tb, spin, spinNS, target, name, `null`, `credential_rotation = "2026-12"`),
					Check: func(*terraform.State) error {
						if now := credential(); len(now) < 2 || now[0] == rotated[0] || now[1] == rotated[1] {
							return fmt.Errorf("changing credential_rotation after the import did not rotate the credential and the endpoint token")
						}
						return nil
					},
				},
			)...),
	})
}

// widgetCRD writes a CustomResourceDefinition of a namespaced kind Widget
// (widgets.example.com) and returns its path.
func widgetCRD(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "widgets.yaml")
	const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`
	if err := os.WriteFile(p, []byte(crd), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAccAgentAccount_infrastructureMode attaches two clusters served by one
// agent in infrastructure mode, deployed by the platform team itself; the
// resources only register the accounts and write each credential into a
// Secret that agent mounts.
func TestAccAgentAccount_infrastructureMode(t *testing.T) {
	spin, spinNS := spinnakerCluster(t)
	one, two := testenv.StartCluster(t), testenv.StartCluster(t)
	tb := startTestBridge(t)
	seedConfigMaps(t, one, "apps", 3)
	seedConfigMaps(t, two, "apps", 5)
	startInfraAgent(t, spin, spinNS, tb, infraAccount{"infra-one", one.Kubeconfig}, infraAccount{"infra-two", two.Kubeconfig})
	acct := func(name string) string {
		return fmt.Sprintf(`
resource "spinops_agent_account" %q {
  name  = %q
  mode  = "infrastructure"
  kinds = ["ConfigMap"]

  credential_secret {
    namespace = %q
  }
  spinnaker {
    namespace = %q
  }
}
`, name, name, spinNS, spinNS)
	}
	var infraOneID string
	config := tb.providerBlock(spin) + acct("infra-one") + acct("infra-two") + `
ephemeral "spinops_agent_credential" "one" {
  name            = spinops_agent_account.infra-one.name
  registration_id = spinops_agent_account.infra-one.id
}
`
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("spinops_agent_account.infra-one", tfjsonpath.New("status"), knownvalue.StringExact("connected")),
				statecheck.ExpectKnownValue("spinops_agent_account.infra-two", tfjsonpath.New("status"), knownvalue.StringExact("connected")),
				statecheck.ExpectKnownValue("spinops_agent_account.infra-one", tfjsonpath.New("agent_id"), knownvalue.StringExact("infra-standin")),
				statecheck.ExpectKnownValue("spinops_agent_account.infra-two", tfjsonpath.New("agent_id"), knownvalue.StringExact("infra-standin")),
				statecheck.ExpectKnownValue("spinops_agent_account.infra-one", tfjsonpath.New("objects").AtMapKey("configmaps"), knownvalue.Int64Exact(int64(countAll(t, one.Clientset(), "configmaps")))),
				statecheck.ExpectKnownValue("spinops_agent_account.infra-two", tfjsonpath.New("objects").AtMapKey("configmaps"), knownvalue.Int64Exact(int64(countAll(t, two.Clientset(), "configmaps")))),
			},
			Check: stateHoldsNo(func() []string {
				var out []string
				for _, n := range []string{"infra-one", "infra-two"} {
					if r, err := tb.admin.GetCredential(tb.ctx(), &bridgev1.GetCredentialRequest{Name: n}); err == nil {
						out = append(out, r.GetCredential())
					}
				}
				return out
			}),
		}, {
			// The credential Secret of infra-two pointed at another bridge
			// by hand (an agent reading it would hand that bridge its
			// credential): refresh lists it, the apply puts it back, and
			// infra-one is left alone.
			PreConfig: func() {
				if _, err := spin.Clientset().CoreV1().Secrets(spinNS).Patch(t.Context(), "spinops-agent-infra-two", ktypes.MergePatchType,
					[]byte(`{"stringData":{"`+attach.SecretAddressKey+`":"bridge.attacker.example:443"}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
					t.Fatal(err)
				}
			},
			Config: config,
			ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: append(
				driftPlanChecks("spinops_agent_account.infra-two", "Secret "+spinNS+"/spinops-agent-infra-two: changed: data").PreApply,
				plancheck.ExpectResourceAction("spinops_agent_account.infra-one", plancheck.ResourceActionNoop))},
			Check: func(*terraform.State) error {
				sec, err := spin.Clientset().CoreV1().Secrets(spinNS).Get(t.Context(), "spinops-agent-infra-two", metav1.GetOptions{})
				if err != nil {
					return err
				}
				if got := string(sec.Data[attach.SecretAddressKey]); got != tb.Addr {
					return fmt.Errorf("the credential Secret names bridge %q after the apply, want %q", got, tb.Addr)
				}
				return nil
			},
		}, {
			// The removed mode is refused at plan time with what to write.
			Config:      strings.Replace(config, `mode  = "infrastructure"`, `mode  = "spinnaker_service"`, 1),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Removed value.*"spinnaker_service" is no longer accepted.*mode =\s+"infrastructure"`),
		}, {
			// An account registered with the removed mode (as an older
			// provider did) is moved to infrastructure in place: same
			// registration, credential and agent.
			PreConfig: func() {
				a, err := tb.admin.GetAccount(tb.ctx(), &bridgev1.GetAccountRequest{Name: "infra-one"})
				if err != nil {
					t.Fatal(err)
				}
				a.Spec.Mode = bridgev1.Mode_MODE_SPINNAKER_SERVICE
				if _, err := tb.admin.UpdateAccount(tb.ctx(), &bridgev1.UpdateAccountRequest{Spec: a.Spec}); err != nil {
					t.Fatal(err)
				}
				infraOneID = a.GetId()
			},
			Config: config,
			ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("spinops_agent_account.infra-one", plancheck.ResourceActionUpdate),
				plancheck.ExpectResourceAction("spinops_agent_account.infra-two", plancheck.ResourceActionNoop),
			}},
			Check: func(*terraform.State) error {
				a, err := tb.admin.GetAccount(tb.ctx(), &bridgev1.GetAccountRequest{Name: "infra-one"})
				if err != nil {
					return err
				}
				if a.GetSpec().GetMode() != bridgev1.Mode_MODE_INFRASTRUCTURE || a.GetId() != infraOneID {
					return fmt.Errorf("after the update: mode %v id %q, want infrastructure and the same id %q", a.GetSpec().GetMode(), a.GetId(), infraOneID)
				}
				return nil
			},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("spinops_agent_account.infra-one", tfjsonpath.New("mode"), knownvalue.StringExact("infrastructure")),
				statecheck.ExpectKnownValue("spinops_agent_account.infra-one", tfjsonpath.New("status"), knownvalue.StringExact("connected")),
			},
		}},
		CheckDestroy: func(*terraform.State) error {
			for _, n := range []string{"infra-one", "infra-two"} {
				if _, err := spin.Clientset().CoreV1().Secrets(spinNS).Get(t.Context(), "spinops-agent-"+n, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					return fmt.Errorf("credential Secret of %s still there (%v)", n, err)
				}
			}
			l, err := tb.admin.ListAccounts(tb.ctx(), &bridgev1.ListAccountsRequest{})
			if err != nil || len(l.GetAccounts()) != 0 {
				return fmt.Errorf("accounts left at the bridge: %v %v", l.GetAccounts(), err)
			}
			return nil
		},
	})
}

// TestAccAgentAccount_errors: each mistake is reported clearly, at plan time
// where it can be, and leaves nothing registered or installed.
func TestAccAgentAccount_errors(t *testing.T) {
	spin, spinNS := spinnakerCluster(t)
	tb := startTestBridge(t)
	if _, err := tb.admin.RegisterAccount(tb.ctx(), &bridgev1.RegisterAccountRequest{Spec: &bridgev1.AccountSpec{Name: "taken"}}); err != nil {
		t.Fatal(err)
	}
	nobody := podstandin.WriteTokenKubeconfig(t, spin, spin.NobodyToken)
	withBridge := func(address, token, body string) string {
		return bridgeProviderBlock(spin.Kubeconfig, address, token, tb.CAPEM) + body
	}
	simple := func(name string) string {
		return fmt.Sprintf("resource \"spinops_agent_account\" \"x\" {\n  name = %q\n  mode = \"infrastructure\"\n}\n", name)
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: withBridge(tb.Addr, tb.Token, `
resource "spinops_agent_account" "x" {
  name       = "both"
  kinds      = ["Pod"]
  omit_kinds = ["Secret"]
}`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Attribute "omit_kinds" cannot be specified when "kinds" is specified`),
			},
			{
				Config: withBridge(tb.Addr, tb.Token, `
resource "spinops_agent_account" "x" {
  name = "infra"
  mode = "infrastructure"
  install_agent {}
}`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`install_agent needs mode = "agent"`),
			},
			{
				Config: withBridge(tb.Addr, tb.Token, `
resource "spinops_agent_account" "x" {
  name = "cdurl"
  spinnaker {
    namespace       = "spinnaker"
    clouddriver_url = "http://admin:secret@spin-clouddriver:7002"
  }
}`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)must be Clouddriver's base URL.*without credentials`),
			},
			{
				Config:      withBridge(tb.Addr, tb.Token, simple("Not_A_Name")),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`must be a DNS-1123 label`),
			},
			{
				Config:      withBridge(tb.Addr, tb.Token, simple("taken")),
				ExpectError: wrappedRe(`account "taken" is already registered.*terraform import`),
			},
			{
				Config:      withBridge("127.0.0.1:1", tb.Token, simple("unreachable")),
				ExpectError: wrappedRe(`bridge 127.0.0.1:1: registering account "unreachable".*cannot be reached.*bridge.address`),
			},
			{
				Config:      withBridge(tb.Addr, "wrong-token", simple("badtoken")),
				ExpectError: wrappedRe(`registering account "badtoken".*refused the admin credentials.*bridge.token`),
			},
			{
				// No agent ever comes: the wait's timeout says which step is
				// missing.
				Config: withBridge(tb.Addr, tb.Token, fmt.Sprintf(`
resource "spinops_agent_account" "x" {
  name = "lonely"
  mode = "infrastructure"
  credential_secret {
    namespace = %q
  }
  timeouts {
    create = "4s"
  }
}`, spinNS)),
				ExpectError: wrappedRe(`did not become ready.*agent not connected: no agent has connected for account lonely.*credential Secret ` + spinNS + `/spinops-agent-lonely written`),
			},
			{
				Config: withBridge(tb.Addr, tb.Token, fmt.Sprintf(`
resource "spinops_agent_account" "x" {
  name = "norights"
  install_agent {
    namespace = %q
    kubernetes {
      config_path = %q
    }
  }
}`, spinNS, nobody)),
				PlanOnly:    true, // reported by terraform plan, before anything is made
				ExpectError: wrappedRe(`Missing permissions in the target cluster.*may not create serviceaccounts in namespace ` + spinNS + `.*create clusterroles.rbac.authorization.k8s.io cluster-wide`),
			},
		},
	})
	l, err := tb.admin.ListAccounts(tb.ctx(), &bridgev1.ListAccountsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// "taken" was registered by the test; "lonely" was created (its wait
	// failed, so it was tainted) and destroyed with the test's state.
	if len(l.GetAccounts()) != 1 || l.GetAccounts()[0].GetSpec().GetName() != "taken" {
		t.Fatalf("failed creates left registrations behind: %v", l.GetAccounts())
	}
}

// TestAgentCredentialEphemeral opens the ephemeral resource directly and
// checks it returns the credential the bridge verifies, without rotating it.
func TestAgentCredentialEphemeral(t *testing.T) {
	tb := startTestBridge(t)
	reg, err := tb.admin.RegisterAccount(tb.ctx(), &bridgev1.RegisterAccountRequest{Spec: &bridgev1.AccountSpec{Name: "eph"}})
	if err != nil {
		t.Fatal(err)
	}
	e := &agentCredentialEphemeral{data: newProviderData("test", kube.Connection{}, BridgeSettings{Address: tb.Addr, Token: tb.Token, CACertificate: tb.CAPEM}, awscloud.Settings{}, GCPSettings{})}
	ctx := context.Background()
	var sr ephemeral.SchemaResponse
	e.Schema(ctx, ephemeral.SchemaRequest{}, &sr)
	typ := sr.Schema.Type().TerraformType(ctx)
	open := func(name string) (*ephemeral.OpenResponse, map[string]tftypes.Value) {
		raw := tftypes.NewValue(typ, map[string]tftypes.Value{
			"name": tftypes.NewValue(tftypes.String, name), "registration_id": tftypes.NewValue(tftypes.String, nil), "credential": tftypes.NewValue(tftypes.String, nil),
			"bridge_address": tftypes.NewValue(tftypes.String, nil), "ca_certificate": tftypes.NewValue(tftypes.String, nil),
			"endpoint": tftypes.NewValue(tftypes.String, nil),
		})
		resp := &ephemeral.OpenResponse{Result: tfsdk.EphemeralResultData{Schema: sr.Schema, Raw: tftypes.NewValue(typ, nil)}}
		e.Open(ctx, ephemeral.OpenRequest{Config: tfsdk.Config{Schema: sr.Schema, Raw: raw}}, resp)
		var out map[string]tftypes.Value
		if !resp.Diagnostics.HasError() {
			if err := resp.Result.Raw.As(&out); err != nil {
				t.Fatal(err)
			}
		}
		return resp, out
	}
	for range 2 {
		resp, out := open("eph")
		if resp.Diagnostics.HasError() {
			t.Fatal(resp.Diagnostics)
		}
		var cred string
		_ = out["credential"].As(&cred)
		if cred != reg.GetCredential() {
			t.Fatalf("the ephemeral credential is not the one issued at registration")
		}
	}
	resp, _ := open("missing")
	if !resp.Diagnostics.HasError() || !strings.Contains(fmt.Sprint(resp.Diagnostics), `account "missing" is not registered`) {
		t.Fatalf("an unknown account: %v", resp.Diagnostics)
	}
}

func mustKube(t *testing.T, c *testenv.Cluster) *kube.Client {
	t.Helper()
	kc, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

func unstructuredStrings(obj map[string]any, fields ...string) ([]string, bool, error) {
	cur := any(obj)
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false, nil
		}
		cur = m[f]
	}
	l, ok := cur.([]any)
	if !ok {
		return nil, false, nil
	}
	out := make([]string, len(l))
	for i, v := range l {
		out[i], _ = v.(string)
	}
	return out, true, nil
}

// wrappedRe matches text Terraform may have wrapped: every space matches
// any run of whitespace, and "." crosses lines.
func wrappedRe(s string) *regexp.Regexp {
	return regexp.MustCompile("(?s)" + strings.ReplaceAll(s, " ", `\s+`))
}

// TestAccAgentAccounts_mTLSAdmin: the provider authenticates to the bridge's
// admin API with a client certificate (no token); a certificate of another
// identity is refused with a clear message.
func TestAccAgentAccounts_mTLSAdmin(t *testing.T) {
	tb := startTestBridge(t, func(c *bridge.Config) { c.AdminTokens, c.AdminIdentities = nil, []string{"terraform-admin"} })
	if _, err := tb.admin.RegisterAccount(tb.ctx(), &bridgev1.RegisterAccountRequest{Spec: &bridgev1.AccountSpec{Name: "seen-over-mtls"}}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("the admin token must not work on this bridge: %v", err)
	}
	withCert := func(identity string) string {
		_, certPEM, keyPEM, err := tb.ca.IssueClient(identity)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf(`
provider "spinops" {
  bridge {
    address = %q
    tls {
      ca_certificate     = %q
      client_certificate = %q
      client_key         = %q
    }
  }
}

resource "spinops_agent_account" "x" {
  name = "seen-over-mtls"
  mode = "infrastructure"
}

data "spinops_agent_accounts" "all" {
  depends_on = [spinops_agent_account.x]
}
`, tb.Addr, tb.CAPEM, string(certPEM), string(keyPEM))
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config:      withCert("someone-else"),
				ExpectError: wrappedRe(`registering account "seen-over-mtls".*refused the admin credentials`),
			},
			{
				Config: withCert("terraform-admin"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.spinops_agent_accounts.all", tfjsonpath.New("accounts").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("seen-over-mtls")),
					statecheck.ExpectKnownValue("data.spinops_agent_accounts.all", tfjsonpath.New("accounts").AtSliceIndex(0).AtMapKey("status"), knownvalue.StringExact("never_connected")),
					statecheck.ExpectKnownValue("spinops_agent_account.x", tfjsonpath.New("status"), knownvalue.StringExact("never_connected")),
				},
			},
		},
	})
}

// TestAccAgentAccount_clouddriverURLFollowsHA: without clouddriver_url the
// bridge pushes to the Clouddriver the zone's SpinnakerService names:
// spin-clouddriver, or spin-clouddriver-caching with
// deploymentEnvironment.haServices.clouddriver.enabled (Halyard's service
// names, see internal/spinnaker/clouddriver.go). A set clouddriver_url wins.
// A zone switched to HA afterwards is a planned update of the account.
func TestAccAgentAccount_clouddriverURLFollowsHA(t *testing.T) {
	spin, plainNS := spinnakerCluster(t)
	haNS := spin.Namespace(t)
	tb := startTestBridge(t)
	kc, err := kube.NewClient(spin.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	services := kc.Dynamic.Resource(spinnaker.SpinnakerServiceGVK.GroupVersion().WithResource("spinnakerservices"))
	setHA := func(ns string, on bool) {
		t.Helper()
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": spinnaker.SpinnakerServiceGVK.GroupVersion().String(), "kind": "SpinnakerService",
			"metadata": map[string]any{"name": "spinnaker", "namespace": ns},
			"spec": map[string]any{"spinnakerConfig": map[string]any{"config": map[string]any{
				"version": "1.35.0",
				"deploymentEnvironment": map[string]any{"haServices": map[string]any{
					"clouddriver": map[string]any{"enabled": on, "disableClouddriverRoDeck": false},
					"echo":        map[string]any{"enabled": on},
				}},
			}}},
		}}
		cur, err := services.Namespace(ns).Get(t.Context(), "spinnaker", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = services.Namespace(ns).Create(t.Context(), obj, metav1.CreateOptions{})
		} else if err == nil {
			obj.SetResourceVersion(cur.GetResourceVersion())
			_, err = services.Namespace(ns).Update(t.Context(), obj, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	setHA(plainNS, false)
	setHA(haNS, true)
	laterNS := spin.Namespace(t) // its zone comes later (as one made in the same apply)
	acct := func(res, ns, extra string) string {
		return fmt.Sprintf(`
resource "spinops_agent_account" %q {
  name = %q
  spinnaker {
    namespace = %q
    %s
  }
}
`, res, res, ns, extra)
	}
	config := tb.providerBlock(spin) + acct("cd-plain", plainNS, "") + acct("cd-ha", haNS, "") +
		acct("cd-set", haNS, `clouddriver_url = "http://clouddriver.example:7002"`) + acct("cd-later", laterNS, "")
	registered := func(want map[string]string) tfresource.TestCheckFunc {
		return func(*terraform.State) error {
			for name, url := range want {
				a, err := tb.admin.GetAccount(tb.ctx(), &bridgev1.GetAccountRequest{Name: name})
				if err != nil {
					return err
				}
				if got := a.GetSpec().GetClouddriverUrl(); got != url {
					return fmt.Errorf("%s: registered clouddriver_url %q, want %q", name, got, url)
				}
			}
			return nil
		}
	}
	plain, caching := "http://spin-clouddriver."+plainNS+":7002", "http://spin-clouddriver-caching."+haNS+":7002"
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{{
			Config: config,
			// Known at plan time: the SpinnakerServices are read then.
			ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectKnownValue("spinops_agent_account.cd-plain", tfjsonpath.New("spinnaker").AtMapKey("clouddriver_url"), knownvalue.StringExact(plain)),
				plancheck.ExpectKnownValue("spinops_agent_account.cd-ha", tfjsonpath.New("spinnaker").AtMapKey("clouddriver_url"), knownvalue.StringExact(caching)),
				// No SpinnakerService yet: unknown, not a guess. A zone made
				// in the same apply (modules/spinops/platform: green with HA)
				// decides it, and a known spin-clouddriver here made
				// Terraform's final plan inconsistent.
				plancheck.ExpectUnknownValue("spinops_agent_account.cd-later", tfjsonpath.New("spinnaker").AtMapKey("clouddriver_url")),
			}},
			Check: registered(map[string]string{"cd-plain": plain, "cd-ha": caching, "cd-set": "http://clouddriver.example:7002",
				"cd-later": "http://spin-clouddriver." + laterNS + ":7002"}),
		}, {
			// The plain zone is switched to HA: the next plan updates that
			// account only, and the bridge then pushes to the caching service.
			PreConfig: func() { setHA(plainNS, true); setHA(laterNS, true) },
			Config:    config,
			ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("spinops_agent_account.cd-plain", plancheck.ResourceActionUpdate),
				plancheck.ExpectKnownValue("spinops_agent_account.cd-plain", tfjsonpath.New("spinnaker").AtMapKey("clouddriver_url"),
					knownvalue.StringExact("http://spin-clouddriver-caching."+plainNS+":7002")),
				plancheck.ExpectResourceAction("spinops_agent_account.cd-ha", plancheck.ResourceActionNoop),
				plancheck.ExpectResourceAction("spinops_agent_account.cd-set", plancheck.ResourceActionNoop),
				// Its zone has come, with HA.
				plancheck.ExpectKnownValue("spinops_agent_account.cd-later", tfjsonpath.New("spinnaker").AtMapKey("clouddriver_url"),
					knownvalue.StringExact("http://spin-clouddriver-caching."+laterNS+":7002")),
			}},
			Check: registered(map[string]string{"cd-plain": "http://spin-clouddriver-caching." + plainNS + ":7002", "cd-ha": caching,
				"cd-later": "http://spin-clouddriver-caching." + laterNS + ":7002"}),
		}, {
			// And back.
			PreConfig: func() { setHA(plainNS, false) },
			Config:    config,
			ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("spinops_agent_account.cd-plain", plancheck.ResourceActionUpdate),
			}},
			Check: registered(map[string]string{"cd-plain": plain}),
		}},
	})
}
