package kube_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// convert answers a ConversionReview (apiextensions.k8s.io/v1) by
// relabelling each object with the desired apiVersion (the two versions of
// the test's kind have one schema).
func convert(w http.ResponseWriter, r *http.Request) {
	var review struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Request    *struct {
			UID               string           `json:"uid"`
			DesiredAPIVersion string           `json:"desiredAPIVersion"`
			Objects           []map[string]any `json:"objects"`
		} `json:"request"`
	}
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "not a ConversionReview", http.StatusBadRequest)
		return
	}
	converted := []map[string]any{}
	for _, obj := range review.Request.Objects {
		obj["apiVersion"] = review.Request.DesiredAPIVersion
		converted = append(converted, obj)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"apiVersion": review.APIVersion, "kind": review.Kind,
		"response": map[string]any{"uid": review.Request.UID, "result": map[string]any{"status": "Success"}, "convertedObjects": converted},
	})
}

// TestWaitForDeletedRetriesTheCRDFinalizer: a CRD whose deletion
// kube-apiserver's CRD finalizer failed is retried by that controller only
// after its exponential back-off; once the cause is gone, WaitForDeleted
// makes it try again at once instead of waiting out the back-off.
//
// The failure is a real one: a custom resource stored at v1, then the
// storage version moved to v2 with a conversion webhook whose server is
// down, so the finalizer cannot list the resources it must delete. The test
// watches the finalizer's tries (each writes the CRD's Terminating
// condition) until one comes 16 s or more after the one before — the next
// is then about twice as far — starts the webhook's server right after a
// try, and gives WaitForDeleted less time than the back-off has left.
// Without the nudge the CRD is still there when that time runs out — when
// the tries are seen up to such a gap. A try whose message repeats the one
// before changes nothing in the CRD and is not seen; when none is seen for
// 20 s the test goes on by the back-off's schedule, and such a run cannot
// always tell the nudge from the back-off (2026-12-06: with the nudge
// disabled, a run that went that way still passed: the finalizer had been
// re-queued more often than its back-off alone would). It never fails for
// not seeing the tries (session 36's CI did, 4 minutes on, under load).
func TestWaitForDeletedRetriesTheCRDFinalizer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an API server")
	}
	cl := testenv.SharedCluster(t)
	c, err := kube.NewClient(cl.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	group := strings.ToLower(testenv.UniqueName("n", 8)) + ".nudge.example.com"
	name := "widgets." + group
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cert, caPEM, err := testenv.SelfSignedServing("conversion-webhook", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	schemaOf := map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"group": group, "scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
			"versions": []any{
				map[string]any{"name": "v1", "served": true, "storage": true, "schema": schemaOf},
				map[string]any{"name": "v2", "served": true, "storage": false, "schema": schemaOf},
			},
		},
	}}
	crds := c.Dynamic.Resource(kube.CRDGVR)
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the CRD: %v", err)
	}
	t.Cleanup(func() { _ = crds.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	if err := kube.WaitFor(ctx, 200*time.Millisecond, time.Minute, func(ctx context.Context) (bool, string, error) {
		got, err := c.Get(ctx, kube.CRDGVK, "", name)
		return err == nil && kube.CRDEstablished(got), "not Established", nil
	}); err != nil {
		t.Fatal(err)
	}
	ns := cl.Namespace(t)
	widgets := c.Dynamic.Resource(schema.GroupVersionResource{Group: group, Version: "v1", Resource: "widgets"}).Namespace(ns)
	w := &unstructured.Unstructured{Object: map[string]any{"apiVersion": group + "/v1", "kind": "Widget", "metadata": map[string]any{"name": "stored-at-v1"}}}
	if err := kube.WaitFor(ctx, 200*time.Millisecond, time.Minute, func(ctx context.Context) (bool, string, error) {
		_, err := widgets.Create(ctx, w, metav1.CreateOptions{})
		return err == nil, fmt.Sprint(err), nil
	}); err != nil {
		t.Fatalf("creating a Widget: %v", err)
	}
	// Storage moves to v2, converted by a webhook that is down.
	cur, err := crds.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	versions, _, _ := unstructured.NestedSlice(cur.Object, "spec", "versions")
	for _, v := range versions {
		m := v.(map[string]any)
		m["storage"] = m["name"] == "v2"
	}
	_ = unstructured.SetNestedSlice(cur.Object, versions, "spec", "versions")
	_ = unstructured.SetNestedMap(cur.Object, map[string]any{
		"strategy": "Webhook",
		"webhook": map[string]any{
			"conversionReviewVersions": []any{"v1"},
			"clientConfig": map[string]any{
				"url":      "https://127.0.0.1:" + strconv.Itoa(port) + "/convert",
				"caBundle": base64.StdEncoding.EncodeToString(caPEM),
			},
		},
	}, "spec", "conversion")
	if _, err := crds.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("moving the storage version: %v", err)
	}

	// Every try of the finalizer writes the Terminating condition.
	watcher, err := crds.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Stop()
	if err := crds.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var tries []time.Time
	var lastMessage string
	unseen := false
tries:
	for {
		// A try whose message is the one before's changes nothing in the
		// CRD, so it is not seen: the last tries often look alike. After
		// 20 s with none seen (and 30 s of failures) the test goes by the
		// back-off's schedule instead (below).
		var quiet <-chan time.Time
		if n := len(tries); n > 0 {
			quiet = time.After(time.Until(maxTime(tries[n-1].Add(20*time.Second), tries[0].Add(30*time.Second))))
		}
		var ev watch.Event
		select {
		case ev = <-watcher.ResultChan():
		case <-quiet:
			unseen = true
			break tries
		case <-ctx.Done():
			t.Fatalf("the finalizer's tries: %v; last message %q", tries, lastMessage)
		}
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok {
			t.Fatalf("watch event %v: %v", ev.Type, ev.Object)
		}
		if ev.Type == watch.Deleted {
			t.Fatal("the CRD went: the finalizer never failed, and the test proves nothing")
		}
		cond := kube.TrueCondition(u, "Terminating")
		if cond == nil || cond["reason"] != "InstanceDeletionFailed" {
			continue
		}
		lastMessage, _ = cond["message"].(string)
		if n := len(tries); n > 0 && time.Since(tries[n-1]) < 50*time.Millisecond {
			continue // one try's writes
		}
		tries = append(tries, time.Now())
		if n := len(tries); n >= 2 && tries[n-1].Sub(tries[n-2]) >= 16*time.Second {
			break
		}
	}
	if unseen {
		// The back-off's schedule from the first try: 5 ms doubled per
		// failure, so tries about 20.5 s, 41 s and 82 s after it. Past 50 s
		// (room for tries run late under load) the next is about 30 s away.
		time.Sleep(time.Until(tries[0].Add(50 * time.Second)))
		t.Logf("the finalizer failed %d times that were seen (%q), none in the last 20 s; going on 50 s after the first, its next try about 30 s away", len(tries), lastMessage)
	} else {
		t.Logf("the finalizer failed %d times (%q); last gap %s", len(tries), lastMessage, tries[len(tries)-1].Sub(tries[len(tries)-2]))
	}

	// The cause goes away: the webhook's server starts.
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(convert), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	defer func() { _ = srv.Close() }()
	start := time.Now()
	// The finalizer's own next try is about 32 s away.
	if err := c.WaitForDeleted(ctx, kube.CRDGVK, "", name, 20*time.Second); err != nil {
		t.Fatalf("the CRD was not deleted within 20 s of the cause going away (%d tries of the finalizer seen): %v", len(tries), err)
	}
	t.Logf("deleted %s after the webhook came up", time.Since(start).Round(100*time.Millisecond))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
