package provider

import (
	"fmt"
	"maps"
	"regexp"
	"strings"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ktypes "k8s.io/apimachinery/pkg/types"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

const (
	accDeckTG  = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/acc-deck/0123456789abcdef"
	accGateTG  = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/acc-gate/1123456789abcdef"
	accGateTG2 = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/acc-gate-2/3123456789abcdef"
	accX509TG  = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/acc-x509/2123456789abcdef"
)

// TestAccZone_awsTargetGroups: a zone behind modules/aws/edge's load
// balancers (expose type aws-target-groups) keeps one TargetGroupBinding
// per target group, so that the AWS Load Balancer Controller registers
// Deck's and Gate's pods without a hand-applied manifest: refused at plan
// time when misconfigured; refused before anything is applied on a cluster
// without the controller's kind; then the bindings and Gate's x509 Service
// made, owned by the SpinnakerService, validated by the CRD's schema; a
// binding deleted or repointed out of band is a planned change that the
// apply puts back; a target group left out, or the expose removed, deletes
// its binding; import reads the target groups back; destroy leaves none.
func TestAccZone_awsTargetGroups(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test")
	}
	// Its own API server: installing the controller's CRD would change
	// what the other tests' clusters serve.
	c := testenv.StartCluster(t)
	opNS, ns := c.Namespace(t), c.Namespace(t)
	kc := mustKube(t, c)
	tgbs := kc.Dynamic.Resource(kube.TargetGroupBindingGVK.GroupVersion().WithResource("targetgroupbindings")).Namespace(ns)

	config := func(expose string) string {
		return fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %[1]q
  }
}

resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = "1.35.3"
  operator {
    namespace = %[2]q
  }
}

resource "spinops_zone" "green" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  name                 = "green"
  tier                 = "sandbox"
  namespace            = %[3]q
  wait                 = false
  profiles = {
    gate = yamlencode({ default = { apiPort = 8085 } })
  }
  %[4]s
}
`, c.Kubeconfig, opNS, ns, expose)
	}
	expose := func(targetGroups string) string {
		return fmt.Sprintf(`expose {
    type          = "aws-target-groups"
    deck_host     = "spinnaker.example.com"
    gate_host     = "api.spinnaker.example.com"
    target_groups = { %s }
  }`, targetGroups)
	}
	all := expose(fmt.Sprintf("deck = %q, gate = %q, gate_x509 = %q", accDeckTG, accGateTG, accX509TG))

	// bindings reads the zone's bindings: name → "ARN service:port".
	bindings := func() (map[string]string, error) {
		l, err := tgbs.List(t.Context(), metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		out := map[string]string{}
		for _, b := range l.Items {
			arn, _, _ := unstructured.NestedString(b.Object, "spec", "targetGroupARN")
			svc, _, _ := unstructured.NestedString(b.Object, "spec", "serviceRef", "name")
			port, _, _ := unstructured.NestedInt64(b.Object, "spec", "serviceRef", "port")
			tt, _, _ := unstructured.NestedString(b.Object, "spec", "targetType")
			owners := b.GetOwnerReferences()
			if tt != "ip" || len(owners) != 1 || owners[0].Kind != "SpinnakerService" || owners[0].Name != "green" || b.GetLabels()[spinnaker.LabelZone] != "green" {
				return nil, fmt.Errorf("binding %s: targetType %q, owners %v, labels %v", b.GetName(), tt, owners, b.GetLabels())
			}
			out[b.GetName()] = fmt.Sprintf("%s %s:%d", arn, svc, port)
		}
		return out, nil
	}
	expectBindings := func(want map[string]string, x509 bool) func(*terraform.State) error {
		return func(*terraform.State) error {
			got, err := bindings()
			if err != nil {
				return err
			}
			if !maps.Equal(got, want) {
				return fmt.Errorf("bindings %v, want %v", got, want)
			}
			svc, err := c.Clientset().CoreV1().Services(ns).Get(t.Context(), "green-gate-x509", metav1.GetOptions{})
			switch {
			case !x509 && !apierrors.IsNotFound(err):
				return fmt.Errorf("the x509 Service is still there (%v)", err)
			case x509 && err != nil:
				return err
			case x509 && (!maps.Equal(svc.Spec.Selector, map[string]string{"app": "spin", "cluster": "spin-gate"}) || len(svc.Spec.Ports) != 1 ||
				svc.Spec.Ports[0].Port != 8085 || svc.Spec.Ports[0].TargetPort.IntValue() != 8085 || len(svc.OwnerReferences) != 1):
				return fmt.Errorf("the x509 Service: selector %v, ports %v, owners %v", svc.Spec.Selector, svc.Spec.Ports, svc.OwnerReferences)
			}
			return nil
		}
	}
	allThree := map[string]string{
		"green-deck":      accDeckTG + " spin-deck:9000",
		"green-gate":      accGateTG + " spin-gate:8084",
		"green-gate-x509": accX509TG + " green-gate-x509:8085",
	}

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			// Plan-time refusals, each naming what to do.
			{Config: config(`expose {
    type = "aws-target-groups"
  }`), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)Missing target groups.*target_group_arns`)},
			{Config: config(fmt.Sprintf(`expose {
    type          = "service"
    target_groups = { deck = %q }
  }`, accDeckTG)), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)Target groups without their type.*aws-target-groups`)},
			{Config: config(expose(`deck = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/x/0123456789abcdef"`)), PlanOnly: true,
				ExpectError: regexp.MustCompile(`must be a target group ARN`)},
			{Config: config(strings.Replace(all, `type `, `tls_secret = "tls"
    type `, 1)), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)Settings of another exposure.*Remove\s+tls_secret`)},
			// No TargetGroupBinding kind: refused before anything is written.
			{Config: config(all), ExpectError: regexp.MustCompile(`(?s)does not serve TargetGroupBinding.*install the AWS\s+Load\s+Balancer\s+Controller`)},
			{
				PreConfig: func() {
					if _, err := kc.Get(t.Context(), spinnaker.SpinnakerServiceGVK, ns, "green"); !apierrors.IsNotFound(err) {
						t.Fatalf("the refused apply left the SpinnakerService behind (%v)", err)
					}
					c.InstallTargetGroupBindingCRD(t)
					// The CRD's schema is the controller's: a binding
					// without serviceRef, or of another target type, is
					// refused.
					for _, spec := range []map[string]any{
						{"targetGroupARN": accDeckTG, "targetType": "ip"},
						{"targetGroupARN": accDeckTG, "targetType": "pod", "serviceRef": map[string]any{"name": "spin-deck", "port": int64(9000)}},
						{"targetGroupARN": accDeckTG, "serviceRef": map[string]any{"name": "spin-deck"}},
					} {
						bad := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
						bad.SetGroupVersionKind(kube.TargetGroupBindingGVK)
						bad.SetName("bad")
						if _, err := tgbs.Create(t.Context(), bad, metav1.CreateOptions{}); err == nil {
							t.Fatalf("the CRD took %v", spec)
						}
					}
				},
				Config: config(all),
				Check: tfresource.ComposeTestCheckFunc(expectBindings(allThree, true), func(*terraform.State) error {
					obj, err := kc.Get(t.Context(), spinnaker.SpinnakerServiceGVK, ns, "green")
					if err != nil {
						return err
					}
					if e, ok, _ := unstructured.NestedMap(obj.Object, "spec", "expose"); ok {
						return fmt.Errorf("spec.expose %v: the operator would make load balancers of its own", e)
					}
					for path, want := range map[string]string{"uiSecurity": "https://spinnaker.example.com", "apiSecurity": "https://api.spinnaker.example.com"} {
						if got, _, _ := unstructured.NestedString(obj.Object, "spec", "spinnakerConfig", "config", "security", path, "overrideBaseUrl"); got != want {
							return fmt.Errorf("security.%s.overrideBaseUrl %q, want %q", path, got, want)
						}
					}
					return nil
				}),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("target_group_bindings"), knownvalue.MapExact(map[string]knownvalue.Check{
						"green-deck": knownvalue.StringExact(accDeckTG), "green-gate": knownvalue.StringExact(accGateTG), "green-gate-x509": knownvalue.StringExact(accX509TG),
					})),
				},
			},
			// Drift: one binding deleted, another repointed, out of band.
			{
				PreConfig: func() {
					if err := tgbs.Delete(t.Context(), "green-deck", metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
					patch := fmt.Sprintf(`{"spec":{"targetGroupARN":%q}}`, accGateTG2)
					if _, err := tgbs.Patch(t.Context(), "green-gate", ktypes.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             config(all),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config:           config(all),
				Check:            expectBindings(allThree, true),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			// Import reads the target groups back from the zone's settings.
			{
				ResourceName:            "spinops_zone.green",
				ImportState:             true,
				ImportStateId:           ns + "/green",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			// x509 left out: its binding and Service go; the gate repointed.
			// Another Service carrying the zone's labels is not the zone's
			// to delete.
			{
				PreConfig: func() {
					other := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "green-other", Namespace: ns,
						Labels: map[string]string{spinnaker.LabelManagedBy: "spinops", spinnaker.LabelZone: "green"}},
						Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
					if _, err := c.Clientset().CoreV1().Services(ns).Create(t.Context(), other, metav1.CreateOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config(expose(fmt.Sprintf("deck = %q, gate = %q", accDeckTG, accGateTG2))),
				Check: tfresource.ComposeTestCheckFunc(expectBindings(map[string]string{
					"green-deck": accDeckTG + " spin-deck:9000",
					"green-gate": accGateTG2 + " spin-gate:8084",
				}, false), func(*terraform.State) error {
					_, err := c.Clientset().CoreV1().Services(ns).Get(t.Context(), "green-other", metav1.GetOptions{})
					return err
				}),
			},
			// No expose: no bindings.
			{
				Config: config(""),
				Check:  expectBindings(map[string]string{}, false),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("target_group_bindings"), knownvalue.MapExact(map[string]knownvalue.Check{})),
				},
			},
			// Back, then destroyed: nothing left behind.
			{Config: config(all), Check: expectBindings(allThree, true)},
		},
		CheckDestroy: func(*terraform.State) error {
			return expectBindings(map[string]string{}, false)(nil)
		},
	})
}
