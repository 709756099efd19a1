package attach_test

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"
)

// TestResolveRulesReportsIncompleteDiscovery: an aggregated API whose
// server is down (an APIService pointing at a Service with no endpoints,
// as a crashed metrics-server leaves it) makes discovery of its group
// fail. ResolveRules still grants the kinds it found, and says that the
// rules may miss some (Rules.Incomplete, naming the group): a drift check
// must not take the shorter ClusterRole as an edit someone made.
func TestResolveRulesReportsIncompleteDiscovery(t *testing.T) {
	c := testenv.StartCluster(t) // private: the broken group would reach every test of a shared one
	kc, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	filter := attach.AccountFilter{Kinds: []string{"ConfigMap"}}
	r, err := attach.ResolveRules(ctx, kc, filter)
	if err != nil || r.Incomplete != nil || r.Kinds != 1 {
		t.Fatalf("before: rules %+v, %v", r, err)
	}
	apiService := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1beta1.metrics.example.com"},
		"spec": map[string]any{
			"group": "metrics.example.com", "version": "v1beta1",
			"service":              map[string]any{"namespace": "default", "name": "no-such-metrics-server", "port": int64(443)},
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100), "insecureSkipTLSVerify": true,
		},
	}}
	gvr := schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	if _, err := kc.Dynamic.Resource(gvr).Create(ctx, apiService, metav1.CreateOptions{}); err != nil {
		t.Fatalf("registering the aggregated API: %v", err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		r, err = attach.ResolveRules(ctx, kc, filter)
		if err != nil {
			t.Fatalf("with one group failing, ResolveRules failed instead of resolving the others: %v", err)
		}
		if r.Incomplete != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("discovery of the unavailable group never failed: the test proves nothing")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(r.Incomplete.Error(), "metrics.example.com") {
		t.Errorf("Incomplete does not name the group that failed: %v", r.Incomplete)
	}
	if r.Kinds != 1 || len(r.Namespaced) != 1 || strings.Join(r.Namespaced[0].Resources, ",") != "configmaps" {
		t.Errorf("the kinds that were discovered are no longer granted: %+v", r)
	}

	// The apply's check says so too (spinops_agent_account warns with it):
	// every kind (kinds unset) is what an agent watches by default, and the
	// unavailable group's are the ones it cannot grant.
	a := &attach.Attachment{
		Spec:    &bridgev1.AccountSpec{Name: "incomplete"},
		Install: &attach.AgentInstall{Account: "incomplete", Namespace: "spinops-agent", Image: "spinops:test", Replicas: 1},
		Target:  kc,
	}
	if err := a.Prepare(ctx); err != nil {
		t.Fatalf("Prepare with one group failing: %v", err)
	}
	if err := a.Incomplete(); err == nil || !strings.Contains(err.Error(), "metrics.example.com") {
		t.Errorf("Prepare's Incomplete = %v, want it to name metrics.example.com", err)
	}
}

// TestPrepareCompleteDiscovery: with every group answering, Prepare reports
// nothing incomplete (the apply's warning is not given for nothing).
func TestPrepareCompleteDiscovery(t *testing.T) {
	kc, err := kube.NewClient(testenv.SharedCluster(t).RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	a := &attach.Attachment{
		Spec:    &bridgev1.AccountSpec{Name: "complete"},
		Install: &attach.AgentInstall{Account: "complete", Namespace: "spinops-agent", Image: "spinops:test", Replicas: 1},
		Target:  kc,
	}
	if err := a.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := a.Incomplete(); err != nil {
		t.Errorf("Incomplete = %v with every group answering", err)
	}
}
