package migrate

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dns "google.golang.org/api/dns/v1"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
	"github.com/spinops/terraform-provider-spinops/internal/testenv/clouddnstest"
)

// The Cloud DNS tests run the cutover on the Cloud DNS stand-in (see
// internal/testenv/clouddnstest for what it copies from the real API and
// where from), through the real client library over HTTP.

const cloudDNSProject = "spinops-test"

// cloudDNSZone is a managed zone on the stand-in with deck and gate CNAMEs
// pointing at the old installation's load balancer; every change stays
// pending for two reads of its status, so each Replace waits.
func cloudDNSZone(t *testing.T) (*CloudDNS, *clouddnstest.Server, []string) {
	t.Helper()
	s := clouddnstest.Start(t, cloudDNSProject)
	s.SetPendingGets(2)
	domain := testenv.UniqueName("tf-acc-test-", 8) + ".example.com"
	zone := strings.ReplaceAll(domain, ".", "-")
	s.AddZone(zone, domain+".")
	c, err := NewCloudDNS(t.Context(), cloudDNSProject, zone, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.PollInterval = 5 * time.Millisecond
	ns := []string{"spinnaker." + domain, "gate." + domain}
	for _, n := range ns {
		if err := c.Replace(t.Context(), nil, []DNSRecord{{Name: n, Target: "old-lb.elb.example.com", TTL: 60}}); err != nil {
			t.Fatal(err)
		}
	}
	return c, s, ns
}

// rawZone is every record set of the zone as the stand-in holds it, in a
// form that compares everything Cloud DNS compares a deletion on.
func rawZone(s *clouddnstest.Server, zone string) []string {
	var out []string
	for _, rs := range s.RRSets(zone) {
		out = append(out, canonicalRecordSet(rs))
	}
	slices.Sort(out)
	return out
}

// TestCutoverCloudDNS moves the names in steps on a Cloud DNS zone:
// nothing changes while the new installation fails verification; 10 % as
// one weighted round robin record set; 100 % as a plain CNAME; a rollback
// puts back exactly what the first switch found; each step is one atomic
// change; each phase is in the ledger on a real API server.
func TestCutoverCloudDNS(t *testing.T) {
	dnsz, s, ns := cloudDNSZone(t)
	cluster := testenv.SharedCluster(t)
	ledgerNS := cluster.Namespace(t)
	var healthy atomic.Bool
	newGate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			http.Error(w, "clouddriver not ready", http.StatusServiceUnavailable)
		}
	}))
	defer newGate.Close()
	clock := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	o := CutoverOptions{DNS: dnsz, Names: ns, Target: "new-lb.elb.example.com", Weight: 10,
		Checks: spinnaker.ExposedChecks(newGate.URL, newGate.URL), VerifyOpts: spinnaker.VerifyOptions{Attempts: 2, Interval: 10 * time.Millisecond},
		Ledger: cluster.Clientset(), LedgerNamespace: ledgerNS, Now: func() time.Time { clock = clock.Add(time.Second); return clock }}
	old, oldRaw := targets(t, dnsz, ns), rawZone(s, dnsz.Zone)
	changes := len(s.Changes(dnsz.Zone))

	if _, err := Cutover(t.Context(), o); err == nil || !strings.Contains(err.Error(), "DNS is unchanged") || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("cutover to an unhealthy installation: %v", err)
	}
	if got := rawZone(s, dnsz.Zone); !slices.Equal(got, oldRaw) || len(s.Changes(dnsz.Zone)) != changes {
		t.Fatalf("DNS changed although verification failed: %v", got)
	}

	healthy.Store(true)
	if _, err := Cutover(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if got := targets(t, dnsz, ns)[n]; got != "old-lb.elb.example.com@90,new-lb.elb.example.com@10" {
			t.Errorf("%s after 10%%: %s", n, got)
		}
	}
	// As Cloud DNS holds it: one CNAME record set per name, weighted.
	for _, rs := range s.RRSets(dnsz.Zone) {
		if rs.Type != "CNAME" {
			continue
		}
		if rs.Rrdatas != nil || rs.RoutingPolicy == nil || rs.RoutingPolicy.Wrr == nil || len(rs.RoutingPolicy.Wrr.Items) != 2 || rs.Ttl != 60 ||
			rs.RoutingPolicy.Wrr.Items[1].Rrdatas[0] != "new-lb.elb.example.com." {
			t.Errorf("%s after 10%%: %s", rs.Name, canonicalRecordSet(rs))
		}
	}
	// Each name was switched by one change that deleted exactly the plain
	// CNAME and added the weighted one.
	all := s.Changes(dnsz.Zone)
	if got := all[changes:]; len(got) != len(ns) {
		t.Fatalf("%d changes for %d names", len(got), len(ns))
	}
	for _, ch := range all[changes:] {
		if len(ch.Deletions) != 1 || len(ch.Additions) != 1 || ch.Deletions[0].Rrdatas[0] != "old-lb.elb.example.com." || ch.Additions[0].RoutingPolicy == nil {
			t.Errorf("the switch's change: %+v", ch)
		}
	}

	o.Weight = 100
	rec, err := Cutover(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if got := targets(t, dnsz, ns)[n]; got != "new-lb.elb.example.com" {
			t.Errorf("%s after 100%%: %s", n, got)
		}
	}
	checkPhases(t, rec, "verify verify-failed verify verified switch verify verified switch done")

	if _, err := Rollback(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	if got := targets(t, dnsz, ns); !maps.Equal(got, old) {
		t.Fatalf("after the rollback: %v, want %v", got, old)
	}
	if got := rawZone(s, dnsz.Zone); !slices.Equal(got, oldRaw) {
		t.Fatalf("after the rollback the zone holds\n%v\nwant\n%v", got, oldRaw)
	}
	if _, err := Rollback(t.Context(), o); err == nil || !strings.Contains(err.Error(), "nothing to roll back") {
		t.Errorf("a second rollback: %v", err)
	}
	var stored MigrationRecord
	if err := spinnaker.ReadLedgerKey(context.Background(), cluster.Clientset(), ledgerNS, ledgerKeyMigration, &stored); err != nil {
		t.Fatal(err)
	}
	if n := len(stored.Phases); n == 0 || stored.Phases[n-1].Phase != "rollback" {
		t.Errorf("the ledger does not end with the rollback: %+v", stored.Phases)
	}

	// A name that is already weighted by someone else is refused.
	if _, err := s.Apply(dnsz.Zone, &dns.Change{
		Deletions: []*dns.ResourceRecordSet{{Name: ns[0] + ".", Type: "CNAME", Ttl: 60, Rrdatas: []string{"old-lb.elb.example.com."}}},
		Additions: []*dns.ResourceRecordSet{{Name: ns[0] + ".", Type: "CNAME", Ttl: 60, RoutingPolicy: &dns.RRSetRoutingPolicy{Wrr: &dns.RRSetRoutingPolicyWrrPolicy{
			Items: []*dns.RRSetRoutingPolicyWrrPolicyWrrPolicyItem{{Weight: 50, Rrdatas: []string{"a.example.com."}}, {Weight: 50, Rrdatas: []string{"b.example.com."}}}}}}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := Cutover(t.Context(), o); err == nil || !strings.Contains(err.Error(), "plain CNAME") {
		t.Errorf("a name weighted by someone else: %v", err)
	}
}

// racingDNS lets someone else edit a name right after the cutover read it.
type racingDNS struct {
	DNS
	edit func(name string)
}

func (r racingDNS) Records(ctx context.Context, name string) ([]DNSRecord, error) {
	recs, err := r.DNS.Records(ctx, name)
	r.edit(name)
	return recs, err
}

// TestCutoverCloudDNSConcurrentEdit: someone else repoints gate between
// the cutover's read and its change. Cloud DNS refuses the change (its
// deletion no longer matches), gate keeps the other writer's record, the
// name switched before it is put back exactly, and the failure is in the
// ledger.
func TestCutoverCloudDNSConcurrentEdit(t *testing.T) {
	dnsz, s, ns := cloudDNSZone(t)
	cluster := testenv.SharedCluster(t)
	ledgerNS := cluster.Namespace(t)
	gate := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer gate.Close()
	oldRaw := rawZone(s, dnsz.Zone)
	theirs := &dns.ResourceRecordSet{Name: ns[1] + ".", Type: "CNAME", Ttl: 300, Rrdatas: []string{"someone-else.example.com."}}
	edit := func(name string) {
		if name != ns[1] {
			return
		}
		if _, err := s.Apply(dnsz.Zone, &dns.Change{
			Deletions: []*dns.ResourceRecordSet{{Name: ns[1] + ".", Type: "CNAME", Ttl: 60, Rrdatas: []string{"old-lb.elb.example.com."}}},
			Additions: []*dns.ResourceRecordSet{theirs}}); err != nil {
			t.Errorf("the other writer's edit: %v", err)
		}
	}
	o := CutoverOptions{DNS: racingDNS{DNS: dnsz, edit: edit}, Names: ns, Target: "new-lb.elb.example.com", Weight: 10,
		Checks: spinnaker.ExposedChecks("", gate.URL), VerifyOpts: spinnaker.VerifyOptions{Attempts: 1},
		Ledger: cluster.Clientset(), LedgerNamespace: ledgerNS}
	_, err := Cutover(t.Context(), o)
	if err == nil || !strings.Contains(err.Error(), "the records changed since they were read") || !strings.Contains(err.Error(), "412") ||
		!strings.Contains(err.Error(), "put back") {
		t.Fatalf("cutover racing another writer: %v", err)
	}
	want := slices.DeleteFunc(slices.Clone(oldRaw), func(s string) bool { return strings.HasPrefix(s, ns[1]+". ") })
	want = append(want, canonicalRecordSet(theirs))
	slices.Sort(want)
	if got := rawZone(s, dnsz.Zone); !slices.Equal(got, want) {
		t.Fatalf("after the refused switch the zone holds\n%v\nwant\n%v", got, want)
	}
	rec, err := (&o).read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Phases); n == 0 || rec.Phases[n-1].Phase != "switch-failed" {
		t.Errorf("the ledger does not end with switch-failed: %+v", rec.Phases)
	}
}

// TestCloudDNSReplaceIsOneChange: another writer claims a name the moment
// it has no CNAME (as a controller creating records for free names does).
// Replace is one change, so the name is never free and the writer gets
// nothing; a Replace made of a deletion and then an addition would leave the
// name to the other writer, without either installation's record.
func TestCloudDNSReplaceIsOneChange(t *testing.T) {
	dnsz, s, ns := cloudDNSZone(t)
	claimed := 0
	s.AfterChange(func(zone string) {
		if _, err := s.Apply(zone, &dns.Change{Additions: []*dns.ResourceRecordSet{{Name: ns[0] + ".", Type: "A", Ttl: 60, Rrdatas: []string{"192.0.2.66"}}}}); err == nil {
			claimed++
		}
	})
	cur, err := dnsz.Records(t.Context(), ns[0])
	if err != nil {
		t.Fatal(err)
	}
	w90, w10 := int64(90), int64(10)
	next := []DNSRecord{{Name: ns[0], Target: "old-lb.elb.example.com", TTL: 60, SetIdentifier: setOld, Weight: &w90},
		{Name: ns[0], Target: "new-lb.elb.example.com", TTL: 60, SetIdentifier: setNew, Weight: &w10}}
	before := len(s.Changes(dnsz.Zone))
	if err := dnsz.Replace(t.Context(), cur, next); err != nil {
		t.Fatal(err)
	}
	if claimed != 0 {
		t.Fatal("the name was free for another writer during Replace")
	}
	if got := targets(t, dnsz, ns[:1])[ns[0]]; got != "old-lb.elb.example.com@90,new-lb.elb.example.com@10" {
		t.Errorf("after Replace: %s", got)
	}
	if n := len(s.Changes(dnsz.Zone)) - before; n != 1 {
		t.Errorf("Replace made %d changes, want 1", n)
	}
}

// TestCloudDNSReplaceWaitsUntilDone: Replace returns only once Cloud DNS
// says the change is done, and says so when it gives up waiting.
func TestCloudDNSReplaceWaitsUntilDone(t *testing.T) {
	dnsz, s, ns := cloudDNSZone(t)
	s.SetPendingGets(1 << 30)
	dnsz.WaitTimeout = 200 * time.Millisecond
	cur, err := dnsz.Records(t.Context(), ns[0])
	if err != nil {
		t.Fatal(err)
	}
	err = dnsz.Replace(t.Context(), cur, []DNSRecord{{Name: ns[0], Target: "new-lb.elb.example.com", TTL: 60}})
	if err == nil || !strings.Contains(err.Error(), "to be done (it is pending") || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("a change that stays pending: %v", err)
	}
	s.SetPendingGets(3)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := dnsz.Replace(ctx, nil, []DNSRecord{{Name: "x." + strings.TrimPrefix(ns[0], "spinnaker."), Target: "y.example.com", TTL: 60}}); err == nil {
		t.Error("Replace with a cancelled context succeeded")
	}
}

// TestCloudDNSReplaceDeadlineDuringARead: the wait's deadline passing while
// a read of the change is in flight (a slow answer, or a loaded machine)
// says the same as between reads — the change was accepted, run again —
// not a bare "reading change: context deadline exceeded" (a CI run of
// eebe495 failed TestCloudDNSReplaceWaitsUntilDone that way under load).
func TestCloudDNSReplaceDeadlineDuringARead(t *testing.T) {
	dnsz, s, ns := cloudDNSZone(t)
	s.SetPendingGets(1 << 30)
	s.SetGetDelay(2 * time.Second)
	dnsz.WaitTimeout, dnsz.PollInterval = 300*time.Millisecond, 10*time.Millisecond
	cur, err := dnsz.Records(t.Context(), ns[0])
	if err != nil {
		t.Fatal(err)
	}
	err = dnsz.Replace(t.Context(), cur, []DNSRecord{{Name: ns[0], Target: "new-lb.elb.example.com", TTL: 60}})
	if err == nil || !strings.Contains(err.Error(), "to be done (it is pending") || !strings.Contains(err.Error(), "run the command again") ||
		!strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("the deadline during a read: %v", err)
	}
}

// TestCloudDNSRecordsRefusesWhatItCannotMove: record sets the cutover did
// not write and cannot represent are refused by name, not misread.
func TestCloudDNSRecordsRefusesWhatItCannotMove(t *testing.T) {
	dnsz, s, ns := cloudDNSZone(t)
	domain := strings.TrimPrefix(ns[0], "spinnaker.")
	for name, rs := range map[string]*dns.ResourceRecordSet{
		"whole weights only": {Type: "CNAME", Ttl: 60, RoutingPolicy: &dns.RRSetRoutingPolicy{Wrr: &dns.RRSetRoutingPolicyWrrPolicy{
			Items: []*dns.RRSetRoutingPolicyWrrPolicyWrrPolicyItem{{Weight: 0.5, Rrdatas: []string{"a.example.com."}}}}}},
		"other than weighted round robin": {Type: "CNAME", Ttl: 60, RoutingPolicy: &dns.RRSetRoutingPolicy{Geo: &dns.RRSetRoutingPolicyGeoPolicy{
			Items: []*dns.RRSetRoutingPolicyGeoPolicyGeoPolicyItem{{Location: "us-east1", Rrdatas: []string{"a.example.com."}}}}}},
	} {
		rs.Name = testenv.UniqueName("r", 6) + "." + domain + "."
		if _, err := s.Apply(dnsz.Zone, &dns.Change{Additions: []*dns.ResourceRecordSet{rs}}); err != nil {
			t.Fatal(err)
		}
		if _, err := dnsz.Records(t.Context(), rs.Name); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if recs, err := dnsz.Records(t.Context(), "absent."+domain); err != nil || len(recs) != 0 {
		t.Errorf("a name without records: %v, %v", recs, err)
	}
}

// TestCloudDNSReplaceWhoseAnswerWasLost: the answer to a change is lost
// (the connection closes with no answer; neither the client library nor
// net/http sends a POST again). Applied by Cloud DNS, the name holds the
// new records and Replace succeeds; lost before it arrived, the name holds
// the old ones and the change is sent once more; either way exactly one
// change is applied. Changed by someone else meanwhile, Replace fails and
// their records stay.
func TestCloudDNSReplaceWhoseAnswerWasLost(t *testing.T) {
	s := clouddnstest.Start(t, cloudDNSProject)
	domain := testenv.UniqueName("tf-acc-test-", 8) + ".example.com"
	zone := strings.ReplaceAll(domain, ".", "-")
	s.AddZone(zone, domain+".")
	upstream, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(upstream)
	var mode atomic.Value // "applied", "unsent", "theirs" or ""
	mode.Store("")
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		m, _ := mode.Load().(string)
		if req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/changes") || m == "" || !mode.CompareAndSwap(m, "") {
			rp.ServeHTTP(w, req)
			return
		}
		switch m {
		case "applied":
			rp.ServeHTTP(httptest.NewRecorder(), req) // applied by Cloud DNS
		case "theirs":
			var cur []*dns.ResourceRecordSet
			for _, rs := range s.RRSets(zone) {
				if rs.Type == "CNAME" && rs.Name == "gate."+domain+"." {
					cur = append(cur, rs)
				}
			}
			if _, err := s.Apply(zone, &dns.Change{Deletions: cur, Additions: []*dns.ResourceRecordSet{
				{Name: "gate." + domain + ".", Type: "CNAME", Ttl: 60, Rrdatas: []string{"theirs.example.com."}}}}); err != nil {
				t.Error(err)
			}
		}
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close() // and the answer lost
		}
	}))
	defer proxy.Close()
	c, err := NewCloudDNS(t.Context(), cloudDNSProject, zone, proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.PollInterval = 5 * time.Millisecond
	gate := "gate." + domain
	old := []DNSRecord{{Name: gate, Target: "old-lb.elb.example.com", TTL: 60}}
	next := []DNSRecord{{Name: gate, Target: "new-lb.elb.example.com", TTL: 60}}

	mode.Store("applied")
	if err := c.Replace(t.Context(), nil, old); err != nil {
		t.Fatalf("creating the record, applied and its answer lost: %v", err)
	}
	if got := targets(t, c, []string{gate})[gate]; got != "old-lb.elb.example.com" || len(s.Changes(zone)) != 1 {
		t.Fatalf("after the lost answer: %s, %d changes; want the record, one change", got, len(s.Changes(zone)))
	}

	mode.Store("unsent")
	if err := c.Replace(t.Context(), old, next); err != nil {
		t.Fatalf("switching the record, the request lost: %v", err)
	}
	if got := targets(t, c, []string{gate})[gate]; got != "new-lb.elb.example.com" || len(s.Changes(zone)) != 2 {
		t.Fatalf("after the lost request: %s, %d changes; want the new record, two changes", got, len(s.Changes(zone)))
	}
	if m, _ := mode.Load().(string); m != "" {
		t.Fatal("the proxy lost nothing")
	}

	mode.Store("theirs")
	if err := c.Replace(t.Context(), next, old); err == nil || !strings.Contains(err.Error(), "someone else changed it") {
		t.Fatalf("switching back, someone else's change made meanwhile and the answer lost: %v; want it refused", err)
	}
	if got := targets(t, c, []string{gate})[gate]; got != "theirs.example.com" {
		t.Errorf("their record: %s", got)
	}
}
