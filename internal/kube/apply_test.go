package kube

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func newTestClient(t *testing.T) (*Client, *fakeAPIServer) {
	t.Helper()
	srv := newFakeAPIServer(t, false)
	c, err := NewClient(restConfig(t, Connection{Host: srv.URL, ClusterCACertificate: string(srv.CA.pem), Token: "t"}))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, srv
}

func object(apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind}}
	obj.SetNamespace(namespace)
	obj.SetName(name)
	return obj
}

// lastRequest returns the last request with method.
func lastRequest(t *testing.T, srv *fakeAPIServer, method string) recordedRequest {
	t.Helper()
	reqs := srv.recorded()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method == method {
			return reqs[i]
		}
	}
	t.Fatalf("no %s request was sent", method)
	return recordedRequest{}
}

func TestApply_serverSideApplyAsSpinops(t *testing.T) {
	c, srv := newTestClient(t)

	out, err := c.Apply(context.Background(), object("apps/v1", "Deployment", "spinnaker", "spinnaker-operator"))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if out.GetResourceVersion() == "" {
		t.Error("Apply did not return the stored object")
	}

	req := lastRequest(t, srv, http.MethodPatch)
	if req.Path != "/apis/apps/v1/namespaces/spinnaker/deployments/spinnaker-operator" {
		t.Errorf("path = %s", req.Path)
	}
	q, _ := url.ParseQuery(req.RawQuery)
	if q.Get("fieldManager") != "spinops" || q.Get("force") != "true" {
		t.Errorf("query = %s, want fieldManager=spinops&force=true", req.RawQuery)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/apply-patch+yaml" {
		t.Errorf("Content-Type = %s, want server-side apply", ct)
	}
}

func TestApply_clusterScopedDropsNamespace(t *testing.T) {
	c, srv := newTestClient(t)
	if _, err := c.Apply(context.Background(), object("v1", "Namespace", "stray", "spinnaker")); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	req := lastRequest(t, srv, http.MethodPatch)
	if req.Path != "/api/v1/namespaces/spinnaker" || strings.Contains(req.Body, "stray") {
		t.Errorf("PATCH %s %s: want the cluster-scoped path and no namespace", req.Path, req.Body)
	}
}

func TestApply_findsKindOfFreshCRD(t *testing.T) {
	c, srv := newTestClient(t)
	ctx := context.Background()
	// Fill the discovery cache before the CRD exists.
	if _, err := c.Apply(ctx, object("v1", "ConfigMap", "spinnaker", "warm")); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	srv.addResource("spinnaker.io/v1alpha2", metav1.APIResource{Name: "spinnakerservices", Kind: "SpinnakerService", Namespaced: true, Verbs: verbs})

	if _, err := c.Apply(ctx, object("spinnaker.io/v1alpha2", "SpinnakerService", "spinnaker", "spinnaker")); err != nil {
		t.Fatalf("Apply after the CRD appeared: %v", err)
	}
	if req := lastRequest(t, srv, http.MethodPatch); req.Path != "/apis/spinnaker.io/v1alpha2/namespaces/spinnaker/spinnakerservices/spinnaker" {
		t.Errorf("path = %s", req.Path)
	}
	discoveries := 0
	for _, r := range srv.recorded() {
		if r.Path == "/apis" {
			discoveries++
		}
	}
	if discoveries != 2 {
		t.Errorf("discovered %d times, want 2 (once, then once more for the unknown kind)", discoveries)
	}
}

func TestApply_errors(t *testing.T) {
	c, _ := newTestClient(t)
	for name, tc := range map[string]struct {
		obj  *unstructured.Unstructured
		want string
	}{
		"unknown kind":      {object("example.com/v1", "Widget", "spinnaker", "w"), "applying Widget spinnaker/w: the cluster does not serve example.com/v1, Kind=Widget (is its CustomResourceDefinition installed?)"},
		"missing namespace": {object("apps/v1", "Deployment", "", "d"), "applying Deployment d: Deployment is namespaced but has no metadata.namespace"},
		"missing name":      {object("apps/v1", "Deployment", "spinnaker", ""), "has no metadata.name"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Apply(context.Background(), tc.obj)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDelete_goneCountsAsDeleted(t *testing.T) {
	c, srv := newTestClient(t)
	ctx := context.Background()

	if err := c.Delete(ctx, object("v1", "ConfigMap", "spinnaker", "missing")); err != nil {
		t.Errorf("deleting a missing object: %v", err)
	}
	if err := c.Delete(ctx, object("example.com/v1", "Widget", "spinnaker", "w")); err != nil {
		t.Errorf("deleting an object of a kind no longer served: %v", err)
	}
	if err := c.Delete(ctx, object("apps/v1", "Deployment", "spinnaker", "spin-gate")); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if req := lastRequest(t, srv, http.MethodDelete); req.Path != "/apis/apps/v1/namespaces/spinnaker/deployments/spin-gate" || !strings.Contains(req.Body, "Background") {
		t.Errorf("DELETE %s %s: want background propagation", req.Path, req.Body)
	}
}

func TestGet_notFoundIsRecognisable(t *testing.T) {
	c, _ := newTestClient(t)
	_, err := c.Get(context.Background(), schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, "spinnaker", "absent")
	if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), "reading ConfigMap spinnaker/absent") {
		t.Fatalf("err = %v, want a NotFound naming the object", err)
	}
}

func TestWaitForDeleted_gone(t *testing.T) {
	c, _ := newTestClient(t)
	gvk := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	if err := c.WaitForDeleted(context.Background(), gvk, "spinnaker", "absent", time.Second); err != nil {
		t.Fatalf("WaitForDeleted: %v", err)
	}
}
