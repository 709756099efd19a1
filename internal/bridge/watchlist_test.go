package bridge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// shape is the event types in order, with the initial-events-end mark.
// Progress bookmarks are left out: the API server's watch cache sends one
// 2 s before a watch's deadline when that time has not passed yet
// (k8s.io/apiserver storage/cacher cache_watcher.go, nextBookmarkTime), so
// a watch with timeoutSeconds=2 gets one or not depending on timing (seen
// once under CI load: "ADDED ADDED BOOKMARK(initial-events-end) BOOKMARK"),
// and clients may not rely on when they come.
func shape(evs []watchLine) string {
	var s []string
	for _, e := range evs {
		x := e.Type
		switch {
		case e.Object.Metadata.Annotations[metav1.InitialEventsAnnotationKey] == "true":
			x += "(initial-events-end)"
		case e.Type == "BOOKMARK":
			continue
		}
		s = append(s, x)
	}
	return strings.Join(s, " ")
}

// TestWatchList: client-go's reflector and kubectl from v1.34 on watch with
// sendInitialEvents=true instead of listing, and wait for the bookmark that
// ends the initial events (kubectl delete --wait gave up after its timeout
// against a bridge that ignored the parameter). The bridge's cache answers
// such a watch as the real kube-apiserver does, checked here against it:
// every current object as ADDED, then a BOOKMARK carrying the state's
// resourceVersion and k8s.io/initial-events-end, then the changes; and the
// same 422 Invalid for a sendInitialEvents without
// resourceVersionMatch=NotOlderThan, or a resourceVersionMatch without it.
func TestWatchList(t *testing.T) {
	const (
		watchList = "watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=2"
		noMatch   = "watch=1&sendInitialEvents=true&allowWatchBookmarks=true&timeoutSeconds=2"
		matchOnly = "watch=1&resourceVersionMatch=NotOlderThan&resourceVersion=1&timeoutSeconds=2"
	)

	// The reference: the real API server, a namespace with two configmaps.
	c := testenv.SharedCluster(t)
	cs := c.Clientset()
	ns := c.Namespace(t)
	for _, n := range []string{"cm-0", "cm-1"} {
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	hc, err := rest.HTTPClientFor(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	realURL := c.Host + "/api/v1/namespaces/" + ns + "/configmaps"
	code, _, real := watchQuery(t, hc, realURL, "", watchList)
	if code != http.StatusOK || shape(real) != "ADDED ADDED BOOKMARK(initial-events-end)" {
		t.Fatalf("the real API server answered a watch-list with HTTP %d %q; this test's reference is wrong", code, shape(real))
	}
	realBad := map[string]string{}
	for _, q := range []string{noMatch, matchOnly} {
		code, body, _ := watchQuery(t, hc, realURL, "", q)
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, `"reason":"Invalid"`) {
			t.Fatalf("the real API server answered %s with HTTP %d %s; this test's reference is wrong", q, code, body)
		}
		realBad[q] = body
	}

	// The bridge, an account with the same two configmaps.
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "east"})
	ra := syncedRawAgent(t, tb, "east-agent", "east", cred, 2)
	kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "east"})
	if err != nil {
		t.Fatal(err)
	}
	ep := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsTo(tb)}}
	url := kc.GetServer() + "/api/v1/namespaces/default/configmaps"

	code, body, got := watchQuery(t, ep, url, kc.GetToken(), watchList)
	if code != http.StatusOK || shape(got) != shape(real) {
		t.Fatalf("the bridge answered a watch-list with HTTP %d %q %s, want what the API server answers: %q", code, shape(got), body, shape(real))
	}
	if bm := got[2].Object; bm.Kind != "ConfigMap" || bm.Metadata.ResourceVersion != "2" {
		t.Fatalf("the bookmark is %+v, want kind ConfigMap at the listed state's resourceVersion 2", bm)
	}
	if names := got[0].Object.Metadata.Name + "," + got[1].Object.Metadata.Name; names != "cm-0,cm-1" && names != "cm-1,cm-0" {
		t.Fatalf("initial events for %s, want cm-0 and cm-1", names)
	}

	// A change made while a watch-list is open follows its bookmark.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"?"+strings.Replace(watchList, "timeoutSeconds=2", "timeoutSeconds=10", 1), nil)
	req.Header.Set("Authorization", "Bearer "+kc.GetToken())
	resp, err := ep.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var seen []watchLine
	for len(seen) < 3 && sc.Scan() {
		var e watchLine
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, e)
	}
	if shape(seen) != "ADDED ADDED BOOKMARK(initial-events-end)" {
		t.Fatalf("open watch-list began %q", shape(seen))
	}
	if err := ra.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Events{Events: &bridgev1.EventBatch{Account: "east", Seq: 2,
		Events: []*bridgev1.WatchEvent{paddedConfigMapEvent("cm-2", 3, 10)}}}}); err != nil {
		t.Fatal(err)
	}
	if !sc.Scan() {
		t.Fatalf("the watch-list ended without the change after its bookmark: %v", sc.Err())
	}
	var next watchLine
	if err := json.Unmarshal(sc.Bytes(), &next); err != nil {
		t.Fatal(err)
	}
	if next.Object.Metadata.Name != "cm-2" || next.Object.Metadata.ResourceVersion != "3" {
		t.Fatalf("after the bookmark: %s, want the change to cm-2 at 3", sc.Text())
	}

	// Invalid options: the API server's answer.
	for _, q := range []string{noMatch, matchOnly} {
		code, body, _ := watchQuery(t, ep, url, kc.GetToken(), q)
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, `"reason":"Invalid"`) {
			t.Errorf("the bridge answered %s with HTTP %d %s, want 422 Invalid as the API server: %s", q, code, body, realBad[q])
		}
		for _, want := range []string{"sendInitialEvents requires setting resourceVersionMatch to NotOlderThan", "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"} {
			if strings.Contains(realBad[q], want) && !strings.Contains(body, want) {
				t.Errorf("the bridge's answer to %s lacks the API server's %q: %s", q, want, body)
			}
		}
	}
}
