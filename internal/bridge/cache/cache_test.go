package cache

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var cms = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

func obj(t *testing.T, ns, name, rv string, lbl string) *Object {
	t.Helper()
	o, err := NewObject([]byte(fmt.Sprintf(`{"metadata":{"name":%q,"namespace":%q,"resourceVersion":%q,"labels":{"app":%q}}}`, name, ns, rv, lbl)))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestSyncRemovesWhatTheListingDidNotHave(t *testing.T) {
	k := New(Options{}).Account("a", true).Kind(cms, &KindInfo{GVR: cms, Kind: "ConfigMap", Namespaced: true})
	k.BeginSync()
	k.Upsert(obj(t, "n", "keep", "1", "x"))
	k.Upsert(obj(t, "n", "gone", "2", "x"))
	k.EndSync("2")
	if !k.Synced() || k.Len() != 2 {
		t.Fatalf("after the first listing: synced=%v len=%d", k.Synced(), k.Len())
	}
	w, ok := k.Watch(Filter{}, "2")
	if !ok {
		t.Fatal("watch from the current resourceVersion refused")
	}
	defer w.Stop()
	k.BeginSync()
	k.Upsert(obj(t, "n", "keep", "1", "x")) // unchanged: no event
	k.Upsert(obj(t, "n", "new", "5", "y"))
	k.EndSync("5")
	if k.Get("n", "gone") != nil || k.Get("n", "new") == nil || k.Len() != 2 {
		t.Fatalf("relist did not converge: len=%d", k.Len())
	}
	got := []string{}
	for len(w.Events()) > 0 {
		ev := <-w.Events()
		got = append(got, string(ev.Type)+" "+ev.Object.Name)
	}
	if fmt.Sprint(got) != "[ADDED new DELETED gone]" {
		t.Fatalf("watch saw %v", got)
	}
}

func TestListFiltersAndWatchReplay(t *testing.T) {
	k := New(Options{}).Account("a", true).Kind(cms, &KindInfo{GVR: cms, Kind: "ConfigMap", Namespaced: true})
	k.BeginSync()
	k.Upsert(obj(t, "n1", "a", "10", "web"))
	k.Upsert(obj(t, "n2", "b", "11", "db"))
	k.EndSync("11")
	sel, _ := labels.Parse("app=web")
	items, rv := k.List(Filter{Labels: sel})
	if len(items) != 1 || items[0].Name != "a" || rv != "11" {
		t.Fatalf("label selector: %d items rv %s", len(items), rv)
	}
	items, _ = k.List(Filter{Namespace: "n2"})
	if len(items) != 1 || items[0].Name != "b" {
		t.Fatal("namespace filter")
	}
	items, _ = k.List(Filter{Fields: fields.OneTermEqualSelector("metadata.name", "b")})
	if len(items) != 1 || items[0].Name != "b" {
		t.Fatal("field selector")
	}
	// A watch from a list's resourceVersion replays what happened since.
	k.Delete("n1", "a", "12")
	k.Upsert(obj(t, "n2", "c", "13", "db"))
	w, ok := k.Watch(Filter{}, "11")
	if !ok {
		t.Fatal("replay refused")
	}
	defer w.Stop()
	if ev := <-w.Events(); ev.Type != Deleted || ev.Object.Name != "a" {
		t.Fatalf("first replayed event %v %s", ev.Type, ev.Object.Name)
	}
	if ev := <-w.Events(); ev.Type != Added || ev.Object.Name != "c" {
		t.Fatalf("second replayed event %v %s", ev.Type, ev.Object.Name)
	}
	// Too old: the caller answers 410 Gone.
	for i := 0; i < historySize+5; i++ {
		k.Upsert(obj(t, "n3", fmt.Sprintf("x%d", i), fmt.Sprint(100+i), "z"))
	}
	if _, ok := k.Watch(Filter{}, "11"); ok {
		t.Fatal("a resourceVersion older than the history was accepted")
	}
}

func TestSlowWatcherIsEndedNotBlocking(t *testing.T) {
	k := New(Options{}).Account("a", true).Kind(cms, &KindInfo{GVR: cms, Kind: "ConfigMap", Namespaced: true})
	w, _ := k.Watch(Filter{}, "")
	for i := 0; i < watchBuffer+10; i++ {
		k.Upsert(obj(t, "n", fmt.Sprintf("o%d", i), fmt.Sprint(i+1), "x"))
	}
	n := 0
	for range w.Events() {
		n++
	}
	if n != watchBuffer || !w.overflowed {
		t.Fatalf("a watcher that never read got %d events (overflowed=%v)", n, w.overflowed)
	}
}

// kubectl delete --wait lists, then watches from the list's resourceVersion.
// A deletion applied in between whose resourceVersion was unknown keeps the
// kind's resourceVersion; the watch must still see it.
func TestWatchFromListSeesDeletionWithoutResourceVersion(t *testing.T) {
	k := New(Options{}).Account("a", true).Kind(cms, &KindInfo{GVR: cms, Kind: "ConfigMap", Namespaced: true})
	k.Upsert(obj(t, "n", "web", "7", "x"))
	_, listRV := k.List(Filter{})
	k.Delete("n", "web", "")
	w, ok := k.Watch(Filter{}, listRV)
	if !ok {
		t.Fatalf("watch from the list's resourceVersion %s refused", listRV)
	}
	defer w.Stop()
	select {
	case ev := <-w.ch:
		if ev.Type != Deleted {
			t.Fatalf("first event = %s, want DELETED", ev.Type)
		}
	default:
		t.Fatal("the deletion was not replayed to a watch from the list's resourceVersion")
	}
}

// TestWatchFromANewerResourceVersionSkipsOlderChanges: a watch from a
// resourceVersion the cache has not reached yet (the caller read it from a
// write the API server answered) is sent only the changes after it, as the
// API server's watch cache sends them (k8s.io/apiserver v0.37.2,
// pkg/storage/cacher/cache_watcher.go process: an event is sent only when
// its resourceVersion is greater than the watch's). Changes up to it that
// reach the cache afterwards would take the caller back in time. A watch
// from the kind's own resourceVersion still sees a deletion whose
// resourceVersion is unknown.
func TestWatchFromANewerResourceVersionSkipsOlderChanges(t *testing.T) {
	k := New(Options{}).Account("a", true).Kind(cms, &KindInfo{GVR: cms, Kind: "ConfigMap", Namespaced: true})
	k.BeginSync()
	k.Upsert(obj(t, "n", "a", "10", "x"))
	k.EndSync("10")
	ahead, ok := k.Watch(Filter{}, "15")
	if !ok {
		t.Fatal("a watch from a newer resourceVersion was refused")
	}
	defer ahead.Stop()
	current, ok := k.Watch(Filter{}, "10")
	if !ok {
		t.Fatal("a watch from the current resourceVersion was refused")
	}
	defer current.Stop()
	k.Upsert(obj(t, "n", "a", "12", "x")) // a change before 15, arriving now
	k.Upsert(obj(t, "n", "b", "15", "x")) // the caller's own write, at 15
	k.Upsert(obj(t, "n", "c", "16", "x"))
	k.Delete("n", "a", "17")
	k.Delete("n", "c", "") // resourceVersion unknown: recorded at the kind's (17)
	drain := func(w *Watcher) string {
		var got []string
		for len(w.Events()) > 0 {
			ev := <-w.Events()
			got = append(got, string(ev.Type)+" "+ev.Object.Name+"@"+ev.Object.ResourceVersion)
		}
		return fmt.Sprint(got)
	}
	if got, want := drain(ahead), "[ADDED c@16 DELETED a@17 DELETED c@17]"; got != want {
		t.Errorf("the watch from 15 saw %s, want %s", got, want)
	}
	if got, want := drain(current), "[MODIFIED a@12 ADDED b@15 ADDED c@16 DELETED a@17 DELETED c@17]"; got != want {
		t.Errorf("the watch from 10 saw %s, want %s", got, want)
	}
}

// TestDeletedEventCarriesTheDeletionResourceVersion: a DELETED event
// carries the object's last state at the deletion's resourceVersion, as
// the API server sends it (k8s.io/apiserver v0.37.2
// pkg/storage/etcd3/watcher.go prepareObjs), in its JSON and its fields:
// a client that records the event's resourceVersion and watches on from it
// must not be sent again what it saw before the deletion. A deletion found
// by a relist carries the listing's resourceVersion. The object's other
// fields are kept.
func TestDeletedEventCarriesTheDeletionResourceVersion(t *testing.T) {
	k := New(Options{}).Account("a", true).Kind(cms, &KindInfo{GVR: cms, Kind: "ConfigMap", Namespaced: true})
	k.BeginSync()
	k.Upsert(obj(t, "n", "a", "3", "web"))
	k.Upsert(obj(t, "n", "b", "4", "db"))
	k.EndSync("4")
	k.Upsert(obj(t, "n", "c", "5", "db"))
	w, ok := k.Watch(Filter{}, "5")
	if !ok {
		t.Fatal("watch refused")
	}
	defer w.Stop()
	k.Delete("n", "a", "9")
	k.BeginSync()
	k.Upsert(obj(t, "n", "c", "5", "db"))
	k.EndSync("12") // b is gone
	var got []string
	for len(w.Events()) > 0 {
		ev := <-w.Events()
		var m struct {
			Metadata struct {
				Name            string            `json:"name"`
				ResourceVersion string            `json:"resourceVersion"`
				Labels          map[string]string `json:"labels"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(ev.Object.Raw, &m); err != nil {
			t.Fatalf("the %s event's object is not JSON: %v", ev.Type, err)
		}
		if m.Metadata.ResourceVersion != ev.Object.ResourceVersion {
			t.Errorf("%s %s: JSON at %s, field at %s", ev.Type, m.Metadata.Name, m.Metadata.ResourceVersion, ev.Object.ResourceVersion)
		}
		got = append(got, fmt.Sprintf("%s %s@%s app=%s", ev.Type, m.Metadata.Name, m.Metadata.ResourceVersion, m.Metadata.Labels["app"]))
	}
	if want := "[DELETED a@9 app=web DELETED b@12 app=db]"; fmt.Sprint(got) != want {
		t.Fatalf("watch saw %v, want %s", got, want)
	}
	// A watch from the deletion's resourceVersion is sent what followed it only.
	w2, ok := k.Watch(Filter{}, "9")
	if !ok {
		t.Fatal("a watch from the deletion's resourceVersion was refused")
	}
	defer w2.Stop()
	if n := len(w2.Events()); n != 1 {
		t.Fatalf("a watch from the deletion's resourceVersion replayed %d events, want 1 (b's deletion)", n)
	}
}

// TestLabelSelectorWatchSeesObjectsComeAndGo: a watch with a label
// selector is sent a change of an object's labels as the API server's
// cacheWatcher sends it (k8s.io/apiserver v0.37.2
// pkg/storage/cacher/cache_watcher.go convertToWatchEvent): ADDED when the
// object comes to match, DELETED (its previous state at the change's
// resourceVersion) when it stops matching, MODIFIED while it matches,
// nothing while it does not. Sent only what it matches now, an informer
// with a selector would keep an object that left it for ever.
func TestLabelSelectorWatchSeesObjectsComeAndGo(t *testing.T) {
	k := New(Options{}).Account("a", true).Kind(cms, &KindInfo{GVR: cms, Kind: "ConfigMap", Namespaced: true})
	k.BeginSync()
	k.Upsert(obj(t, "n", "x", "1", "web"))
	k.EndSync("1")
	web, err := labels.Parse("app=web")
	if err != nil {
		t.Fatal(err)
	}
	w, ok := k.Watch(Filter{Labels: web}, "1")
	if !ok {
		t.Fatal("watch refused")
	}
	defer w.Stop()
	all, _ := k.Watch(Filter{}, "1")
	defer all.Stop()
	k.Upsert(obj(t, "n", "x", "2", "web")) // still web
	k.Upsert(obj(t, "n", "x", "3", "db"))  // leaves
	k.Upsert(obj(t, "n", "x", "4", "db"))  // elsewhere
	k.Upsert(obj(t, "n", "x", "5", "web")) // comes back
	k.Delete("n", "x", "6")
	seen := func(w *Watcher) string {
		var got []string
		for len(w.Events()) > 0 {
			ev := <-w.Events()
			var m struct {
				Metadata struct {
					ResourceVersion string            `json:"resourceVersion"`
					Labels          map[string]string `json:"labels"`
				} `json:"metadata"`
			}
			if err := json.Unmarshal(ev.Object.Raw, &m); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s@%s(%s)", ev.Type, m.Metadata.ResourceVersion, m.Metadata.Labels["app"]))
		}
		return fmt.Sprint(got)
	}
	if got, want := seen(w), "[MODIFIED@2(web) DELETED@3(web) ADDED@5(web) DELETED@6(web)]"; got != want {
		t.Errorf("the app=web watch saw %s, want %s", got, want)
	}
	if got, want := seen(all), "[MODIFIED@2(web) MODIFIED@3(db) MODIFIED@4(db) MODIFIED@5(web) DELETED@6(web)]"; got != want {
		t.Errorf("the watch without a selector saw %s, want %s", got, want)
	}
	// A watch started later replays the same from the history.
	late, ok := k.Watch(Filter{Labels: web}, "1")
	if !ok {
		t.Fatal("replay refused")
	}
	defer late.Stop()
	if got, want := seen(late), "[MODIFIED@2(web) DELETED@3(web) ADDED@5(web) DELETED@6(web)]"; got != want {
		t.Errorf("the app=web watch replayed %s, want %s", got, want)
	}
}

// TestWatchNowReplaysNothing: a watch of the changes after the current
// state (sendInitialEvents=false from "" or "0") is sent none of what the
// state already holds, also when a change arrived out of order and was
// recorded at the kind's resourceVersion (as a watch from that
// resourceVersion would replay it); then the next change.
func TestWatchNowReplaysNothing(t *testing.T) {
	k := New(Options{}).Account("a", true).Kind(cms, &KindInfo{GVR: cms, Kind: "ConfigMap", Namespaced: true})
	k.BeginSync()
	k.EndSync("1")
	k.Upsert(obj(t, "n", "y", "101", "x"))
	k.Upsert(obj(t, "n", "x", "100", "x")) // out of order: recorded at 101
	w := k.WatchNow(Filter{})
	defer w.Stop()
	k.Upsert(obj(t, "n", "z", "102", "x"))
	var got []string
	for len(w.Events()) > 0 {
		ev := <-w.Events()
		got = append(got, string(ev.Type)+" "+ev.Object.Name)
	}
	if fmt.Sprint(got) != "[ADDED z]" {
		t.Fatalf("a watch from now saw %v, want only the change after it: [ADDED z]", got)
	}
}

// A relist re-sending an older, unchanged object must not move the kind's
// resourceVersion backwards.
func TestRelistDoesNotMoveResourceVersionBack(t *testing.T) {
	k := New(Options{}).Account("a", true).Kind(cms, &KindInfo{GVR: cms, Kind: "ConfigMap", Namespaced: true})
	k.Upsert(obj(t, "n", "old", "3", "x"))
	k.Upsert(obj(t, "n", "new", "9", "x"))
	k.Upsert(obj(t, "n", "old", "3", "x"))
	if got := k.ResourceVersion(); got != "9" {
		t.Fatalf("resourceVersion after a relist = %s, want 9", got)
	}
}

// TestResourceVersionNeverMovesBackwards: an event older than what the
// kind already reflects (a relist, a late delete) does not move its
// resourceVersion back, and resourceVersions compare as numbers: "10" is
// newer than "9", which a string comparison gets wrong.
func TestResourceVersionNeverMovesBackwards(t *testing.T) {
	k := New(Options{}).Account("a", true).Kind(cms, &KindInfo{GVR: cms, Kind: "ConfigMap", Namespaced: true})
	k.BeginSync()
	k.Upsert(obj(t, "n", "a", "9", "x"))
	k.EndSync("9")
	k.Upsert(obj(t, "n", "b", "10", "x"))
	if got := k.ResourceVersion(); got != "10" {
		t.Fatalf("after rv 10 the kind is at %q (a string comparison would keep \"9\")", got)
	}
	k.Upsert(obj(t, "n", "c", "8", "x")) // late
	if got := k.ResourceVersion(); got != "10" {
		t.Fatalf("an older object moved the kind back to %q", got)
	}
	k.Delete("n", "a", "7")
	if got := k.ResourceVersion(); got != "10" {
		t.Fatalf("an older deletion moved the kind back to %q", got)
	}
	k.BeginSync()
	k.Upsert(obj(t, "n", "b", "10", "x"))
	k.Upsert(obj(t, "n", "c", "8", "x"))
	k.EndSync("9")
	if got := k.ResourceVersion(); got != "10" {
		t.Fatalf("a listing at an older resourceVersion moved the kind back to %q", got)
	}
	k.Upsert(obj(t, "n", "d", "100", "x"))
	if got := k.ResourceVersion(); got != "100" {
		t.Fatalf("after rv 100 the kind is at %q", got)
	}
	// Opaque (non-numeric) resourceVersions have no order: the latest wins.
	k.Upsert(obj(t, "n", "e", "opaque-1", "x"))
	if got := k.ResourceVersion(); got != "opaque-1" {
		t.Fatalf("an opaque resourceVersion: the kind is at %q", got)
	}
}

func sized(t *testing.T, ns, name string, rv, size int) *Object {
	t.Helper()
	o, err := NewObject([]byte(fmt.Sprintf(`{"metadata":{"name":%q,"namespace":%q,"resourceVersion":"%d"},"data":{"v":%q}}`, name, ns, rv, strings.Repeat("x", size))))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestHistoryBytesBoundPerAccount: an account's watch history stays within
// Options.HistoryBytes over all its kinds, the oldest events (whatever
// their kind) are forgotten first, a watch from before them is refused
// (the caller answers 410 Expired) while one from a kept resourceVersion
// replays exactly what followed, and another account's history is
// untouched by the churn.
func TestHistoryBytesBoundPerAccount(t *testing.T) {
	const limit = 16 << 10
	evicted := map[string]int{}
	c := New(Options{HistoryBytes: limit, OnHistoryEvict: func(a string, n int) { evicted[a] += n }})
	svcs := schema.GroupVersionResource{Version: "v1", Resource: "services"}
	noisy := c.Account("noisy", true)
	cmK := noisy.Kind(cms, &KindInfo{GVR: cms, Kind: "ConfigMap", Namespaced: true})
	svcK := noisy.Kind(svcs, &KindInfo{GVR: svcs, Kind: "Service", Namespaced: true})
	calm := c.Account("calm", true).Kind(cms, &KindInfo{GVR: cms, Kind: "ConfigMap", Namespaced: true})
	calm.Upsert(sized(t, "n", "c0", 1, 1000))
	calm.Upsert(sized(t, "n", "c1", 2, 1000))

	// The services kind's only event is the account's oldest.
	svcK.Upsert(sized(t, "n", "s0", 1, 1000))
	for i := range 100 {
		cmK.Upsert(sized(t, "n", fmt.Sprintf("cm-%d", i%7), 10+i, 1000))
		if got := noisy.HistoryBytes(); got > limit {
			t.Fatalf("after %d events the account's history is %d bytes, over its limit of %d", i+1, got, limit)
		}
	}
	if svcK.HistoryLen() != 0 {
		t.Fatal("the oldest event of the account (another kind's) was kept while newer ones were forgotten")
	}
	if evicted["noisy"] == 0 || evicted["calm"] != 0 {
		t.Fatalf("evictions reported: %v", evicted)
	}
	// From before the forgotten events: too old. From a kept one: exactly
	// what followed.
	if _, ok := cmK.Watch(Filter{}, "10"); ok {
		t.Fatal("a watch from a resourceVersion whose events were forgotten was accepted")
	}
	if _, ok := svcK.Watch(Filter{}, "0"); !ok {
		t.Fatal("a watch from the current state (resourceVersion 0) was refused")
	}
	w, ok := cmK.Watch(Filter{}, "105")
	if !ok {
		t.Fatal("a watch from a resourceVersion still in the history was refused")
	}
	defer w.Stop()
	var got []string
	for len(w.Events()) > 0 {
		got = append(got, (<-w.Events()).Object.ResourceVersion)
	}
	if fmt.Sprint(got) != "[106 107 108 109]" {
		t.Fatalf("replayed %v, want the events after 105", got)
	}
	// The calm account kept everything.
	if _, ok := calm.Watch(Filter{}, "1"); !ok || c.Account("calm", false).HistoryBytes() == 0 {
		t.Fatal("another account's history was forgotten by the noisy account's churn")
	}
	// An event larger than the whole bound is not kept at all, and the
	// bytes of a dropped kind are no longer counted.
	cmK.Upsert(sized(t, "n", "huge", 200, 2*limit))
	if got := noisy.HistoryBytes(); got > limit {
		t.Fatalf("after an event larger than the bound: %d bytes", got)
	}
	noisy.Retain(map[schema.GroupVersionResource]bool{svcs: true})
	if got := noisy.HistoryBytes(); got != 0 {
		t.Fatalf("after dropping the kind that held the history: %d bytes counted", got)
	}
}
