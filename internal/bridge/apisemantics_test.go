package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestCachedReadsKeepResourceVersionSemantics: the cache answers a get,
// list or watch only as the API server would (kubernetes.io, "API
// concepts", "Semantics for get and list" and "Semantics for watch";
// k8s.io/apiserver v0.37.2 pkg/storage/cacher). A caller that holds a
// resourceVersion newer than the cache (from a write the API server
// answered through the bridge) must never be given older data:
//
//   - get or list with resourceVersion N ("not older than N"), N beyond the
//     cache: forwarded, so the API server answers; so is
//     resourceVersionMatch=Exact, a limit with a resourceVersion (the legacy
//     exact match), and what the API server refuses (resourceVersionMatch
//     without resourceVersion, a resourceVersion that is not a number);
//     resourceVersion "", "0" or one the cache has reached: the cache;
//   - a watch from N beyond the cache is sent only the changes after N (the
//     API server's cacheWatcher skips events not newer than the watch's
//     resourceVersion); changes up to N that reach the cache later would
//     take the caller back in time.
//
// The cache's state is set by a raw agent (two configmaps, the kind at
// resourceVersion 2); the reference behaviours are first checked against
// the real kube-apiserver.
func TestCachedReadsKeepResourceVersionSemantics(t *testing.T) {
	// The reference: an exact list at an older resourceVersion leaves out
	// what was created after it, which a cache holding only the current
	// state cannot do.
	c := testenv.SharedCluster(t)
	cs, ns := c.Clientset(), c.Namespace(t)
	first, err := cs.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "first"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "second"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	exact, err := cs.CoreV1().ConfigMaps(ns).List(t.Context(), metav1.ListOptions{ResourceVersion: first.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if err != nil {
		t.Fatalf("the real API server refused an exact list: %v", err)
	}
	for _, cm := range exact.Items {
		if cm.Name == "second" {
			t.Fatalf("the real API server's exact list at %s holds a configmap created after it; this test's reference is wrong", first.ResourceVersion)
		}
	}

	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "east"})
	ra := syncedRawAgent(t, tb, "east-agent", "east", cred, 2) // cm-0 at 1, cm-1 at 2
	kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "east"})
	if err != nil {
		t.Fatal(err)
	}
	ep := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsTo(tb)}}
	base := kc.GetServer() + "/api/v1/namespaces/default/configmaps"

	// read sends a get or list and reports whether it was forwarded (the
	// operation reached the agent, which answers 201 {} as the API server)
	// or answered by the cache (200), and what came back.
	read := func(path string) (forwarded bool, code int, body string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		type answer struct {
			code int
			body string
			err  error
		}
		answers := make(chan answer, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
			req.Header.Set("Authorization", "Bearer "+kc.GetToken())
			resp, err := ep.Do(req)
			if err != nil {
				answers <- answer{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			answers <- answer{resp.StatusCode, string(b), err}
		}()
		for {
			select {
			case <-ra.ops: // the raw agent answers it (201 {})
				forwarded = true
			case a := <-answers:
				if a.err != nil {
					t.Fatalf("GET %s: %v", path, a.err)
				}
				select {
				case <-ra.ops: // queued before the raw agent answered it
					forwarded = true
				default:
				}
				return forwarded, a.code, a.body
			}
		}
	}
	for _, tc := range []struct {
		query   string
		forward bool
	}{
		{"", false},
		{"?resourceVersion=0", false},
		{"?resourceVersion=1", false},
		{"?resourceVersion=2", false},
		{"?resourceVersion=2&resourceVersionMatch=NotOlderThan", false},
		{"?resourceVersion=0&limit=1", false},
		{"?resourceVersion=5", true},
		{"?resourceVersion=5&resourceVersionMatch=NotOlderThan", true},
		{"?resourceVersion=10", true}, // "10" is newer than "2", which a string comparison gets wrong
		{"?resourceVersion=2&resourceVersionMatch=Exact", true},
		{"?resourceVersion=1&limit=1", true},
		{"?resourceVersionMatch=NotOlderThan", true},
		{"?resourceVersion=abc", true},
		{"/cm-0", false},
		{"/cm-0?resourceVersion=2", false},
		{"/cm-0?resourceVersion=5", true},
	} {
		forwarded, code, body := read(base + tc.query)
		want := http.StatusOK
		if tc.forward {
			want = http.StatusCreated
		}
		if forwarded != tc.forward || code != want {
			t.Errorf("GET configmaps%s: forwarded=%v, HTTP %d %.200s; want forwarded=%v", tc.query, forwarded, code, body, tc.forward)
			continue
		}
		if !forwarded && tc.query != "" && tc.query[0] == '?' {
			var l struct {
				Metadata struct{ ResourceVersion string } `json:"metadata"`
			}
			if err := json.Unmarshal([]byte(body), &l); err != nil || l.Metadata.ResourceVersion != "2" {
				t.Errorf("GET configmaps%s from the cache: %.200s, want the list at resourceVersion 2", tc.query, body)
			}
		}
	}

	// A watch from 5, beyond the cache (at 2). Its answer starts once the
	// watcher is registered; then changes at 3, 5 and 6 reach the cache.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"?watch=1&resourceVersion=5&timeoutSeconds=3", nil)
	req.Header.Set("Authorization", "Bearer "+kc.GetToken())
	resp, err := ep.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch from 5: HTTP %d", resp.StatusCode)
	}
	modified := func(name string, rv int) *bridgev1.WatchEvent {
		ev := configMapEvent(name, rv)
		ev.Type = bridgev1.EventType_EVENT_TYPE_MODIFIED
		return ev
	}
	evs := []*bridgev1.WatchEvent{modified("cm-0", 3), configMapEvent("mine", 5), modified("cm-1", 6)}
	if err := ra.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Events{Events: &bridgev1.EventBatch{Account: "east", Seq: 2, Events: evs}}}); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	var got []string
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var l watchLine
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("a watch line is not JSON: %v: %.200s", err, line)
		}
		got = append(got, l.Type+" "+l.Object.Metadata.Name+"@"+l.Object.Metadata.ResourceVersion)
	}
	if fmt.Sprint(got) != "[MODIFIED cm-1@6]" {
		t.Fatalf("the watch from resourceVersion 5 was sent %v, want only the change after 5: [MODIFIED cm-1@6]", got)
	}
}

// TestDeletedEventMatchesTheAPIServer: through the real agent, a watch of
// the bridge sends a deletion exactly as the real kube-apiserver's watch
// does: DELETED with the object's last state at the deletion's
// resourceVersion (not the object's last one, from which a client that
// watches on would be sent again what it had seen).
func TestDeletedEventMatchesTheAPIServer(t *testing.T) {
	c := testenv.SharedCluster(t)
	cs, ns := c.Clientset(), c.Namespace(t)
	gone, err := cs.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "gone"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tb, _, kc, hc, ep := cachedAccount(t, c, "ConfigMap", ns)
	if err := cs.CoreV1().ConfigMaps(ns).Delete(t.Context(), "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the deletion to reach the cache", func() bool {
		return tb.cached("east", configMaps, ns, "gone") == nil
	})

	deletions := func(lines []watchLine) []string {
		var out []string
		for _, l := range lines {
			if l.Object.Metadata.Name == "gone" {
				out = append(out, l.Type+" gone@"+l.Object.Metadata.ResourceVersion)
			}
		}
		return out
	}
	code, real := watchFrom(t, hc, c.Host+"/api/v1/namespaces/"+ns+"/configmaps", "", gone.ResourceVersion)
	want := deletions(real)
	if code != http.StatusOK || len(want) != 1 || want[0] == "DELETED gone@"+gone.ResourceVersion {
		t.Fatalf("the real API server's watch from %s: HTTP %d %v; this test's reference is wrong", gone.ResourceVersion, code, want)
	}
	code, got := watchFrom(t, ep, kc.GetServer()+"/api/v1/namespaces/"+ns+"/configmaps", kc.GetToken(), gone.ResourceVersion)
	if code != http.StatusOK || fmt.Sprint(deletions(got)) != fmt.Sprint(want) {
		t.Fatalf("the bridge's watch from %s: HTTP %d %v, want what the API server sends: %v", gone.ResourceVersion, code, deletions(got), want)
	}
}

// TestLabelSelectorWatchMatchesTheAPIServer: through the real agent, a
// watch of the bridge with a label selector is sent an object's label
// changes exactly as the real kube-apiserver's watch sends them: ADDED when
// it comes to match, DELETED when it leaves, MODIFIED while it matches
// (an informer with a selector that was sent only what matches now would
// keep an object that left it).
func TestLabelSelectorWatchMatchesTheAPIServer(t *testing.T) {
	c := testenv.SharedCluster(t)
	cs, ns := c.Clientset(), c.Namespace(t)
	x, err := cs.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: map[string]string{"app": "web"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	from := x.ResourceVersion
	tb, _, kc, hc, ep := cachedAccount(t, c, "ConfigMap", ns)
	var last string
	for i, app := range []string{"web", "db", "db", "web"} {
		x.Labels = map[string]string{"app": app}
		x.Data = map[string]string{"step": fmt.Sprint(i)}
		if x, err = cs.CoreV1().ConfigMaps(ns).Update(t.Context(), x, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		last = x.ResourceVersion
		// One change at a time: the agent sends a key's latest state, so
		// changes in quick succession may reach the cache as one.
		waitFor(t, 30*time.Second, "change "+last+" to reach the cache", func() bool {
			return strings.Contains(string(tb.cached("east", configMaps, ns, "x")), `"resourceVersion":"`+last+`"`)
		})
	}
	if err := cs.CoreV1().ConfigMaps(ns).Delete(t.Context(), "x", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the changes to reach the cache", func() bool {
		return tb.cached("east", configMaps, ns, "x") == nil
	})

	events := func(lines []watchLine) string {
		var out []string
		for _, l := range lines {
			if l.Object.Metadata.Name == "x" {
				out = append(out, l.Type+"@"+l.Object.Metadata.ResourceVersion)
			}
		}
		return fmt.Sprint(out)
	}
	const query = "watch=1&timeoutSeconds=2&labelSelector=app%3Dweb&resourceVersion="
	code, _, real := watchQuery(t, hc, c.Host+"/api/v1/namespaces/"+ns+"/configmaps", "", query+from)
	want := events(real)
	if code != http.StatusOK || !strings.Contains(want, "DELETED") || !strings.Contains(want, "ADDED@"+last) {
		t.Fatalf("the real API server's app=web watch from %s: HTTP %d %s; this test's reference is wrong", from, code, want)
	}
	code, _, got := watchQuery(t, ep, kc.GetServer()+"/api/v1/namespaces/"+ns+"/configmaps", kc.GetToken(), query+from)
	if code != http.StatusOK || events(got) != want {
		t.Fatalf("the bridge's app=web watch from %s: HTTP %d %s, want what the API server sends: %s", from, code, events(got), want)
	}
	t.Logf("both sent %s", want)
}

// TestAlternateRepresentationsMatchTheAPIServer: what kubectl get
// (as=Table) and client-go's metadata client and metadata informers
// (as=PartialObjectMetadata, as=PartialObjectMetadataList) ask for, the
// bridge answers in the form the real kube-apiserver answers it: the same
// kind, and for a Table the same columns.
func TestAlternateRepresentationsMatchTheAPIServer(t *testing.T) {
	c := testenv.SharedCluster(t)
	cs, ns := c.Clientset(), c.Namespace(t)
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: map[string]string{"app": "web"}}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tb, ag, kc, hc, ep := cachedAccount(t, c, "ConfigMap", ns)
	// form reads an answer's kind, its columns (a Table) and its items' or
	// rows' kinds.
	form := func(hc *http.Client, url, token, accept string) string {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		req.Header.Set("Accept", accept)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var v struct {
			Kind       string `json:"kind"`
			APIVersion string `json:"apiVersion"`
			Columns    []struct {
				Name string `json:"name"`
			} `json:"columnDefinitions"`
			Items []struct {
				Kind string `json:"kind"`
			} `json:"items"`
			Rows []struct {
				Cells  []any `json:"cells"`
				Object struct {
					Kind string `json:"kind"`
				} `json:"object"`
			} `json:"rows"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Sprintf("HTTP %d, not JSON: %.100s", resp.StatusCode, b)
		}
		out := fmt.Sprintf("HTTP %d %s/%s name=%q", resp.StatusCode, v.APIVersion, v.Kind, v.Metadata.Name)
		for _, c := range v.Columns {
			out += " column:" + c.Name
		}
		for _, i := range v.Items {
			out += " item:" + i.Kind
		}
		for _, r := range v.Rows {
			out += fmt.Sprintf(" row:%d cells, %s", len(r.Cells), r.Object.Kind)
		}
		return out
	}
	for _, accept := range []string{
		"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", // kubectl get
		"application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",                               // client-go metadata client (list)
		"application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json",                                   // (get)
	} {
		for _, path := range []string{"/api/v1/namespaces/" + ns + "/configmaps", "/api/v1/namespaces/" + ns + "/configmaps/x"} {
			want := form(hc, c.Host+path, "", accept)
			if got := form(ep, kc.GetServer()+path, kc.GetToken(), accept); got != want {
				t.Errorf("GET %s, Accept %s:\n the bridge:     %s\n the API server: %s", path, accept, got, want)
			}
		}
	}

	// With the agent away, the cache still answers a Table (the columns
	// every kind has, and a warning that it may be stale); a metadata
	// form it does not render is refused, never answered with the objects.
	ag.cancel()
	<-ag.done
	waitFor(t, 30*time.Second, "the account to lose its agent", func() bool {
		return tb.syncState(t, "east") != bridgev1.SyncState_SYNC_STATE_SYNCED
	})
	list := kc.GetServer() + "/api/v1/namespaces/" + ns + "/configmaps"
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, list, nil)
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	req.Header.Set("Authorization", "Bearer "+kc.GetToken())
	resp, err := ep.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Warning"), "disconnected") {
		t.Errorf("a Table with the agent away: HTTP %d, Warning %q; want 200 from the cache with a warning", resp.StatusCode, resp.Header.Get("Warning"))
	}
	if got := form(ep, list, kc.GetToken(), "application/json;as=Table;v=v1;g=meta.k8s.io"); got != "HTTP 200 meta.k8s.io/v1/Table name=\"\" column:Name column:Age row:2 cells, PartialObjectMetadata" {
		t.Errorf("a Table with the agent away: %s", got)
	}
	if got := form(ep, list, kc.GetToken(), "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"); !strings.HasPrefix(got, "HTTP 503 v1/Status") {
		t.Errorf("metadata with the agent away: %s, want 503 (the agent is not connected)", got)
	}
}

// TestCachedQueriesMatchTheAPIServer: gets, lists and watches of a cached
// kind, with the query parameters clients send — selectors, limits,
// timeouts, resourceVersions, watch-lists, bookmarks, booleans written every
// way — and with what is malformed, answered by the bridge as the real
// kube-apiserver answers them: the same status, kind, objects, event types
// and error message. What the cache cannot answer exactly (a selector or a
// number that does not parse, a resourceVersion that is not a number) is
// forwarded, so the API server refuses it in its own words; a watch "from
// now" is a watch-list, as the API server defaults it (its bookmarks end the
// initial events); booleans read as the API server reads them ("abc" is
// true). Not compared: limit=1 (the cache answers every item and no
// continue token, which the API allows: "servers may choose not to support
// the limit argument").
func TestCachedQueriesMatchTheAPIServer(t *testing.T) {
	c := testenv.SharedCluster(t)
	cs, ns := c.Clientset(), c.Namespace(t)
	for _, n := range []string{"x", "y"} {
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"app": "web" + n}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Only x and y, whatever else the namespace gets meanwhile.
	const only = "labelSelector=app+in+(webx,weby)"
	_, _, kc, hc, ep := cachedAccount(t, c, "ConfigMap", ns)
	base := "/api/v1/namespaces/" + ns + "/configmaps"
	const w = "watch=1&timeoutSeconds=1&"
	for _, q := range []string{
		"?" + only, "/x", "/missing", "/x?resourceVersion=0", "/missing?resourceVersion=0", "/x?watch=1&timeoutSeconds=1",
		"?labelSelector=app%3Dwebx", "?labelSelector=app", "?labelSelector=!!bad", "?labelSelector=app+in+(webx",
		"?fieldSelector=metadata.name%3Dx", "?fieldSelector=metadata.name%21%3Dx&" + only, "?fieldSelector=bad",
		"?fieldSelector=metadata.name%3Dx,metadata.name%3Dy",
		"?resourceVersion=0&limit=1&" + only, "?limit=0&" + only, "?limit=abc", "?limit=1.5", "?pretty=true&" + only, "?resourceVersion=abc",
		"?" + w + only, "?" + w + "fieldSelector=metadata.name%3Dx", "?watch=true&timeoutSeconds=1&labelSelector=app%3Dwebx",
		"?watch=0&" + only, "?watch=false&" + only, "?watch=abc&timeoutSeconds=1&" + only, "?watch=&timeoutSeconds=1&" + only,
		"?watch=1&timeoutSeconds=abc", "?" + w + "resourceVersion=abc", "?" + w + "resourceVersion=-1",
		"?" + w + "allowWatchBookmarks=true&" + only, "?" + w + "allowWatchBookmarks=abc&" + only, "?" + w + "allowWatchBookmarks=0&" + only,
		"?" + w + "allowWatchBookmarks=true&resourceVersion=0&" + only,
		"?" + w + "sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&" + only,
		"?" + w + "sendInitialEvents=abc&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&" + only,
		"?" + w + "sendInitialEvents=false&resourceVersionMatch=NotOlderThan&" + only,
		"?" + w + "sendInitialEvents=false&resourceVersionMatch=NotOlderThan&resourceVersion=0&" + only,
		"?" + w + "sendInitialEvents=true&allowWatchBookmarks=true",
		"?" + w + "resourceVersionMatch=NotOlderThan",
		"/x?fieldSelector=metadata.name%3Dy", "/x?labelSelector=app%3Dnope",
		"?fieldSelector=metadata.namespace%3Dkube-system", "?fieldSelector=metadata.namespace%3D" + ns + "&" + only,
	} {
		sameAnswer(t, c, hc, ep, kc, base+q)
	}
	// Deliberately not as the API server: a path it reads another way than
	// it is written (a trailing slash as the list, %78 as x, "." and ".."
	// segments) is refused, so the account's rules and the API server never
	// read one request two ways; "//" too, which the API server answers
	// 404 and an http.ServeMux used to redirect to the object.
	// Its errors are marked as the API server marks its own (nosniff, not
	// to be cached).
	for _, q := range []string{"/", "/x/", "/%78", "//x", "/./x", "/y/../x"} {
		code, h, b := apiDo(t, ep, http.MethodGet, kc.GetServer()+base+q, kc.GetToken(), "")
		if got := jsonAnswer(code, b); !strings.HasPrefix(got, "HTTP 400 Status [] BadRequest") {
			t.Errorf("GET configmaps%s: the bridge answered %s, want 400 BadRequest (a path that is not canonical)", q, got)
		}
		if got := fmt.Sprint(h.Values("X-Content-Type-Options"), h.Values("Cache-Control")); got != "[nosniff] [no-cache, private]" {
			t.Errorf("GET configmaps%s: the bridge's error says X-Content-Type-Options and Cache-Control %s, want [nosniff] [no-cache, private]", q, got)
		}
	}
}

// TestCachedNamespacedKindAcrossNamespacesMatchesTheAPIServer: an account
// without namespace limits reads a namespaced kind across namespaces —
// lists and watches by label, by name and by namespace, answered by the
// cache as the real kube-apiserver answers them — and a get by name
// without a namespace, which is no path of the API (its 404).
func TestCachedNamespacedKindAcrossNamespacesMatchesTheAPIServer(t *testing.T) {
	c := testenv.SharedCluster(t)
	cs := c.Clientset()
	label := testenv.UniqueName("cm", 6)
	var namespaces []string
	for range 2 {
		ns := c.Namespace(t)
		namespaces = append(namespaces, ns)
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: label, Labels: map[string]string{"spinops-test": label}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	_, _, kc, hc, ep := cachedAccount(t, c, "ConfigMap")
	sel := "labelSelector=spinops-test%3D" + label
	for _, q := range []string{
		"/api/v1/configmaps?" + sel,
		"/api/v1/configmaps?fieldSelector=metadata.name%3D" + label,
		"/api/v1/configmaps?fieldSelector=metadata.namespace%3D" + namespaces[1] + "&" + sel,
		"/api/v1/configmaps?fieldSelector=metadata.namespace%3D" + namespaces[0] + ",metadata.name%3D" + label,
		"/api/v1/configmaps?watch=1&timeoutSeconds=1&" + sel,
		"/api/v1/configmaps?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3D" + label,
		"/api/v1/configmaps/" + label,
		"/api/v1/configmaps/" + label + "?resourceVersion=0",
		"/api/v1/namespaces/" + namespaces[0] + "/configmaps/" + label,
	} {
		sameAnswer(t, c, hc, ep, kc, q)
	}
}

// TestCachedMediaTypesMatchTheAPIServer: a get, list and watch of a cached
// kind asking for each encoding, answered by the bridge in the encoding the
// real kube-apiserver answers in (the same status and Content-Type, and
// the same objects, and "Cache-Control: no-cache, private" once): the
// cache, which writes JSON, answers only what the
// API server would answer in JSON (no Accept, */*, JSON preferred by order
// or q), and forwards what it would answer in YAML or protobuf, or refuse
// with 406 (an encoding it does not serve, "application/*", a conversion
// it does not know, YAML for a watch). Those the cache should answer are
// counted: it did. A HEAD is the API server's to refuse.
func TestCachedMediaTypesMatchTheAPIServer(t *testing.T) {
	c := testenv.SharedCluster(t)
	cs, ns := c.Clientset(), c.Namespace(t)
	createConfigMap(t, cs, ns, "x")
	tb, _, kc, hc, ep := cachedAccount(t, c, "ConfigMap", ns)
	base := "/api/v1/namespaces/" + ns + "/configmaps"
	// answer reads what came back as its status, media type and objects,
	// whatever the encoding.
	answer := func(code int, h http.Header, b []byte) string {
		ctype := h.Get("Content-Type")
		caching := fmt.Sprintf(" (Cache-Control %q)", h.Values("Cache-Control"))
		mt, _, _ := mime.ParseMediaType(ctype)
		switch mt {
		case "application/yaml":
			j, err := yaml.YAMLToJSON(b)
			if err != nil {
				return fmt.Sprintf("HTTP %d %s, not YAML: %.200s", code, ctype+caching, b)
			}
			b = j
		case "application/vnd.kubernetes.protobuf":
			return fmt.Sprintf("HTTP %d %s, kubernetes protobuf envelope: %v", code, ctype+caching, bytes.HasPrefix(b, []byte("k8s\x00")))
		}
		return ctype + caching + " " + jsonAnswer(code, b)
	}
	cached := func() float64 {
		return tb.metric(t, `spinops_bridge_operation_latency_seconds_count{source="cache",verb="get"}`)
	}
	for _, tc := range []struct {
		accept string
		cache  bool // the cache should answer (the API server answers JSON)
	}{
		{"", true},
		{"application/json", true},
		{"*/*", true},
		{"application/*", false},
		{"application/*, application/json", true},
		{"application/yaml, application/*", false},
		{"*/*;q=0.1, application/yaml", false},
		{"APPLICATION/JSON", false},
		{"application/json ; charset=utf-8", true},
		{"application/json, application/yaml", true},
		{"application/yaml;q=0.5, application/json", true},
		{"text/html, application/json;q=0.1", true},
		{"application/json;stream=watch", true},
		{"application/yaml", false},
		{"application/yaml, application/json", false},
		{"application/vnd.kubernetes.protobuf", false},
		{"application/vnd.kubernetes.protobuf, application/json", false},
		{"application/vnd.kubernetes.protobuf;q=0.5, application/json", true},
		{"text/html", false},
		{"application/json;as=Bogus", false},
	} {
		for _, q := range []string{"/x", "?fieldSelector=metadata.name%3Dx", "?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3Dx"} {
			code, h, b := apiDo(t, hc, http.MethodGet, c.Host+base+q, "", tc.accept)
			want := answer(code, h, b)
			before := cached()
			code, h, b = apiDo(t, ep, http.MethodGet, kc.GetServer()+base+q, kc.GetToken(), tc.accept)
			if got := answer(code, h, b); got != want {
				t.Errorf("GET configmaps%s, Accept %q\n the bridge:     %s\n the API server: %s", q, tc.accept, got, want)
			}
			answered := cached() > before
			for i := 0; tc.cache && !answered && i < 20; i++ {
				time.Sleep(100 * time.Millisecond) // observed as the handler returns
				answered = cached() > before
			}
			if answered != tc.cache {
				t.Errorf("GET configmaps%s, Accept %q: answered by the cache: %v, want %v", q, tc.accept, answered, tc.cache)
			}
		}
	}
	// The API server serves no HEAD of a resource (405), though it
	// authorizes one as a get.
	for _, q := range []string{"/x", "", "?watch=1&timeoutSeconds=1"} {
		wantCode, _, _ := apiDo(t, hc, http.MethodHead, c.Host+base+q, "", "")
		if code, _, _ := apiDo(t, ep, http.MethodHead, kc.GetServer()+base+q, kc.GetToken(), ""); code != wantCode {
			t.Errorf("HEAD configmaps%s: the bridge answered %d, the API server %d", q, code, wantCode)
		}
	}
}

// TestProtobufClientThroughTheBridge: a client-go clientset that speaks
// only protobuf (as kube components and many controllers are configured:
// ContentType and Accept application/vnd.kubernetes.protobuf) lists, gets
// and watches a cached kind through the bridge and sees a change made
// meanwhile — the bridge forwards what the cache cannot encode, streams
// included — and every answer it gets is protobuf. It used to be given the
// cache's JSON (which client-go decodes too, by the answer's Content-Type;
// a stricter client does not).
func TestProtobufClientThroughTheBridge(t *testing.T) {
	c := testenv.SharedCluster(t)
	cs, ns := c.Clientset(), c.Namespace(t)
	createConfigMap(t, cs, ns, "x")
	_, _, kc, _, _ := cachedAccount(t, c, "ConfigMap", ns)
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(kc.GetKubeconfig()))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ContentType, cfg.AcceptContentTypes = runtime.ContentTypeProtobuf, runtime.ContentTypeProtobuf
	var mu sync.Mutex
	var answered []string // each answer's Content-Type
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(r)
			if err == nil {
				mu.Lock()
				answered = append(answered, resp.Header.Get("Content-Type"))
				mu.Unlock()
			}
			return resp, err
		})
	}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, ct := range answered {
			if !strings.HasPrefix(ct, runtime.ContentTypeProtobuf) {
				t.Errorf("the bridge answered a protobuf-only client in %s (all: %q)", ct, answered)
			}
		}
	}()
	pb, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	list, err := pb.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 || list.Items[0].Name != "x" {
		t.Fatalf("a protobuf list through the bridge: %v, %+v", err, list)
	}
	if got, err := pb.CoreV1().ConfigMaps(ns).Get(ctx, "x", metav1.GetOptions{}); err != nil || got.Name != "x" {
		t.Fatalf("a protobuf get through the bridge: %v", err)
	}
	w, err := pb.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatalf("a protobuf watch through the bridge: %v", err)
	}
	defer w.Stop()
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "y"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case ev, open := <-w.ResultChan():
			if !open {
				t.Fatal("the protobuf watch ended before it told of y")
			}
			if cm, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type == watch.Added && cm.Name == "y" {
				return
			}
			t.Logf("event %s %T", ev.Type, ev.Object)
		case <-ctx.Done():
			t.Fatal("the protobuf watch through the bridge never told of y")
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestProgressBookmarksMatchTheAPIServer: a watch that allows bookmarks and
// sees no change of its own (its namespace is quiet while another one
// changes) is sent a BOOKMARK before its deadline at a resourceVersion
// past that change, by the bridge as by the real kube-apiserver (its
// cacheWatcher sends one about every minute and 2 s before the deadline):
// a client resumes from there, not from a resourceVersion the history may
// have forgotten by then (a 410 and a full relist). Without bookmarks
// allowed, none is sent.
func TestProgressBookmarksMatchTheAPIServer(t *testing.T) {
	c := testenv.SharedCluster(t)
	cs := c.Clientset()
	quiet, busy := c.Namespace(t), c.Namespace(t)
	cm, err := cs.CoreV1().ConfigMaps(quiet).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "still"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, kc, hc, ep := cachedAccount(t, c, "ConfigMap", quiet, busy)
	from := cm.ResourceVersion
	// watch follows the quiet namespace for 4 s while, after half a second,
	// the busy one changes; it returns the events and the change's
	// resourceVersion.
	watch := func(hc *http.Client, url, token, query string) ([]watchLine, uint64) {
		t.Helper()
		changed := make(chan uint64, 1)
		go func() {
			time.Sleep(500 * time.Millisecond)
			o, err := cs.CoreV1().ConfigMaps(busy).Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "change-"}}, metav1.CreateOptions{})
			if err != nil {
				t.Error(err)
				changed <- 0
				return
			}
			v, _ := strconv.ParseUint(o.ResourceVersion, 10, 64)
			changed <- v
		}()
		code, body, lines := watchQuery(t, hc, url, token, query)
		if code != http.StatusOK {
			t.Fatalf("watch %s: HTTP %d %s", query, code, body)
		}
		return lines, <-changed
	}
	check := func(who string, lines []watchLine, change uint64, bookmarks bool) {
		t.Helper()
		var got []string
		for _, l := range lines {
			rv, _ := strconv.ParseUint(l.Object.Metadata.ResourceVersion, 10, 64)
			e := fmt.Sprintf("%s past the change=%v annotated=%v", l.Type, rv >= change, len(l.Object.Metadata.Annotations) > 0)
			if len(got) == 0 || got[len(got)-1] != e {
				got = append(got, e) // the API server sometimes sends two
			}
		}
		want := "[]"
		if bookmarks {
			want = "[BOOKMARK past the change=true annotated=false]"
		}
		if fmt.Sprint(got) != want {
			t.Errorf("%s sent %v to a quiet watch (bookmarks allowed: %v), want %s", who, got, bookmarks, want)
		}
	}
	for _, bookmarks := range []bool{true, false} {
		query := fmt.Sprintf("watch=1&timeoutSeconds=4&allowWatchBookmarks=%v&resourceVersion=%s", bookmarks, from)
		lines, change := watch(hc, c.Host+"/api/v1/namespaces/"+quiet+"/configmaps", "", query)
		check("the real API server", lines, change, bookmarks)
		lines, change = watch(ep, kc.GetServer()+"/api/v1/namespaces/"+quiet+"/configmaps", kc.GetToken(), query)
		check("the bridge", lines, change, bookmarks)
	}
}

// cachedAccount starts a bridge with one account, "east", caching one
// kind (in the namespaces, when any are named), served by the real agent
// from c; it returns the bridge, the agent, the account's kubeconfig, a
// client of the API server itself and one of the bridge's endpoint.
func cachedAccount(t *testing.T, c *testenv.Cluster, kind string, namespaces ...string) (*testBridge, *runningAgent, *bridgev1.GetKubeconfigResponse, *http.Client, *http.Client) {
	t.Helper()
	tb := startBridge(t, newPKI(t), filepath.Join(t.TempDir(), "bridge.db"))
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "east", Namespaces: namespaces, Kinds: []string{kind}})
	cfgPath := filepath.Join(t.TempDir(), "agent.yaml")
	tb.agentConfig("east-agent", agentAccount{Name: "east", KubeconfigFile: c.Kubeconfig, Credential: cred, Kinds: []string{kind}, Namespaces: namespaces}).write(t, cfgPath)
	ag := startAgent(t, cfgPath)
	tb.waitSynced(t, "east")
	kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "east"})
	if err != nil {
		t.Fatal(err)
	}
	hc, err := rest.HTTPClientFor(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return tb, ag, kc, hc, &http.Client{Transport: &http.Transport{TLSClientConfig: tlsTo(tb)}}
}

// createConfigMap creates an empty ConfigMap.
func createConfigMap(t *testing.T, cs kubernetes.Interface, ns, name string) {
	t.Helper()
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// sameAnswer GETs the API path (and query) from the API server and through
// the bridge's endpoint and reports when the answers differ (apiAnswer).
func sameAnswer(t *testing.T, c *testenv.Cluster, hc, ep *http.Client, kc *bridgev1.GetKubeconfigResponse, path string) {
	t.Helper()
	want := apiAnswer(t, hc, c.Host+path, "")
	if got := apiAnswer(t, ep, kc.GetServer()+path, kc.GetToken()); got != want {
		t.Errorf("GET %s\n the bridge:     %s\n the API server: %s", path, got, want)
	}
}

// apiAnswer reads a reply as the status and, per JSON document (one, or
// one per watch event), its kind or event type, the names it holds, a
// bookmark's initial-events-end mark and a Status's reason and message.
func apiAnswer(t *testing.T, hc *http.Client, url, token string) string {
	t.Helper()
	code, _, b := apiDo(t, hc, http.MethodGet, url, token, "")
	return jsonAnswer(code, b)
}

// apiDo sends a request without a body, with the Accept header (none when
// ""), and returns the status, the header and the body.
func apiDo(t *testing.T, hc *http.Client, method, url, token, accept string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func jsonAnswer(code int, b []byte) string {
	type meta struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	}
	type doc struct {
		Kind     string `json:"kind"`
		Reason   string `json:"reason"`
		Message  string `json:"message"`
		Metadata meta   `json:"metadata"`
		Items    []struct {
			Metadata meta `json:"metadata"`
		} `json:"items"`
	}
	var parts []string
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var v struct {
			doc
			Type   string `json:"type"`
			Object doc    `json:"object"`
		}
		if err := dec.Decode(&v); err != nil {
			return fmt.Sprintf("HTTP %d, not JSON: %.200s", code, b)
		}
		d, what := v.doc, v.Kind
		if v.Type != "" {
			d, what = v.Object, v.Type
		}
		var names []string
		for _, i := range d.Items {
			names = append(names, i.Metadata.Name)
		}
		slices.Sort(names)
		part := fmt.Sprintf("%s %s%v", what, d.Metadata.Name, names)
		if d.Metadata.Annotations[metav1.InitialEventsAnnotationKey] == "true" {
			part += " (initial-events-end)"
		}
		if d.Kind == "Status" {
			part += fmt.Sprintf(" %s %q", d.Reason, d.Message)
		}
		parts = append(parts, part)
	}
	return fmt.Sprintf("HTTP %d %s", code, strings.Join(parts, "; "))
}

// TestCachedClusterScopedKindMatchesTheAPIServer: the same comparison for
// a cluster-scoped kind, Namespaces (the API server reads
// /api/v1/namespaces/x as the namespace x itself): lists and watches by
// label and by name, a get, a missing one, and a field the cache does not
// index (forwarded).
func TestCachedClusterScopedKindMatchesTheAPIServer(t *testing.T) {
	c := testenv.SharedCluster(t)
	cs := c.Clientset()
	label := testenv.UniqueName("ns", 6)
	var names []string
	for range 2 {
		ns, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "spinops-cluster-scoped-", Labels: map[string]string{"spinops-test": label}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, ns.Name)
		t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	}
	slices.Sort(names)
	_, _, kc, hc, ep := cachedAccount(t, c, "Namespace")
	sel := "labelSelector=spinops-test%3D" + label
	for _, q := range []string{
		"?" + sel, "/" + names[0], "/" + names[1] + "?resourceVersion=0", "/spinops-no-such-namespace",
		"?fieldSelector=metadata.name%3D" + names[1], "?fieldSelector=metadata.name%3D" + names[1] + "&" + sel,
		"?fieldSelector=status.phase%3DActive&" + sel,
		"?watch=1&timeoutSeconds=1&allowWatchBookmarks=true&" + sel,
		"?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3D" + names[0],
		"/" + names[0] + "?watch=1&timeoutSeconds=1",
	} {
		sameAnswer(t, c, hc, ep, kc, "/api/v1/namespaces"+q)
	}
}
