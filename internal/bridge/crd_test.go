package bridge_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/agent"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestCustomResources: a CRD installed after the agent started is found by
// discovery, watched through the dynamic client, cached, and served to
// kubectl from the cache.
func TestCustomResources(t *testing.T) {
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "crds"})
	cfgPath := filepath.Join(t.TempDir(), "agent.yaml")
	tb.agentConfig("crd-agent", agentAccount{Name: "crds", KubeconfigFile: c.Kubeconfig, Credential: cred, Kinds: []string{"ConfigMap", "Widget"}}).write(t, cfgPath)
	startAgentWith(t, cfgPath, agent.Options{RediscoverEvery: 500 * time.Millisecond})
	tb.waitSynced(t, "crds")

	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets.spinops-test.example.com"},
		"spec": map[string]any{
			"group": "spinops-test.example.com", "scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
		},
	}}
	if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = dyn.Resource(crdGVR).Delete(context.Background(), "widgets.spinops-test.example.com", metav1.DeleteOptions{})
	})

	widgets := schema.GroupVersionResource{Group: "spinops-test.example.com", Version: "v1", Resource: "widgets"}
	w := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "spinops-test.example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "gizmo", "namespace": ns}, "spec": map[string]any{"size": int64(3)},
	}}
	waitFor(t, 20*time.Second, "the CRD to be served", func() bool {
		_, err := dyn.Resource(widgets).Namespace(ns).Create(ctx, w, metav1.CreateOptions{})
		return err == nil
	})
	waitFor(t, 20*time.Second, "the custom resource in the cache", func() bool { return tb.cached("crds", widgets, ns, "gizmo") != nil })

	kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "crds"})
	if err != nil {
		t.Fatal(err)
	}
	kcPath := filepath.Join(t.TempDir(), "kubeconfig")
	writeFile(t, kcPath, []byte(kc.GetKubeconfig()))
	out, err := kubectl(t, kcPath, nil, "get", "widgets", "-n", ns, "-o", "name")
	if err != nil || strings.TrimSpace(out) != "widget.spinops-test.example.com/gizmo" {
		t.Fatalf("kubectl get widgets: %v\n%s", err, out)
	}
}
