package migrate

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// route53Zone is a hosted zone in moto with deck and gate CNAMEs pointing
// at the old installation's load balancer.
func route53Zone(t *testing.T) *Route53 {
	t.Helper()
	m := testenv.SharedMoto(t)
	cfg := aws.Config{Region: testenv.MotoRegion, Credentials: credentials.NewStaticCredentialsProvider(testenv.MotoAccessKeyID, testenv.MotoSecretAccessKey, "")}
	c := route53.NewFromConfig(cfg, func(o *route53.Options) { o.BaseEndpoint = aws.String(m.Endpoint) })
	zone := testenv.UniqueName("tf-acc-test-", 8) + ".example.com"
	out, err := c.CreateHostedZone(t.Context(), &route53.CreateHostedZoneInput{Name: aws.String(zone), CallerReference: aws.String(zone)})
	if err != nil {
		t.Fatal(err)
	}
	r := &Route53{Client: c, ZoneID: strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/")}
	var recs []DNSRecord
	for _, n := range []string{"spinnaker." + zone, "gate." + zone} {
		recs = append(recs, DNSRecord{Name: n, Target: "old-lb.elb.example.com", TTL: 60})
	}
	if err := r.Replace(t.Context(), nil, recs); err != nil {
		t.Fatal(err)
	}
	return r
}

// A change whose answer was lost (the connection reset after Route 53
// applied it): the SDK sends it again, and the second attempt of a batch
// the first applied is refused ("already exists"). Replace reads the
// names back and succeeds when they hold exactly what it asked for. Found
// by a fresh-clone CI run under load, where moto's answer to the test's
// own set-up was lost.
func TestRoute53ReplaceWhoseAnswerWasLost(t *testing.T) {
	m := testenv.SharedMoto(t)
	upstream, err := url.Parse(m.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(upstream)
	var drop, dropped atomic.Bool
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost && strings.Contains(req.URL.Path, "/rrset") && drop.CompareAndSwap(true, false) {
			rp.ServeHTTP(httptest.NewRecorder(), req) // applied by moto
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close() // and the answer lost
			}
			dropped.Store(true)
			return
		}
		rp.ServeHTTP(w, req)
	}))
	defer proxy.Close()
	cfg := aws.Config{Region: testenv.MotoRegion, Credentials: credentials.NewStaticCredentialsProvider(testenv.MotoAccessKeyID, testenv.MotoSecretAccessKey, "")}
	c := route53.NewFromConfig(cfg, func(o *route53.Options) { o.BaseEndpoint = aws.String(proxy.URL) })
	zone := testenv.UniqueName("tf-acc-test-", 8) + ".example.com"
	out, err := c.CreateHostedZone(t.Context(), &route53.CreateHostedZoneInput{Name: aws.String(zone), CallerReference: aws.String(zone)})
	if err != nil {
		t.Fatal(err)
	}
	r := &Route53{Client: c, ZoneID: strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/")}
	ns := []string{"spinnaker." + zone, "gate." + zone}
	old := []DNSRecord{{Name: ns[0], Target: "old-lb.elb.example.com", TTL: 60}, {Name: ns[1], Target: "old-lb.elb.example.com", TTL: 60}}
	drop.Store(true)
	if err := r.Replace(t.Context(), nil, old); err != nil {
		t.Fatalf("creating the records, the first answer lost: %v", err)
	}
	if !dropped.Load() {
		t.Fatal("the proxy lost no answer")
	}
	// A change someone else's made meanwhile is still refused: the names
	// do not hold what was asked for.
	if _, err := c.ChangeResourceRecordSets(t.Context(), &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(r.ZoneID),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String(ns[1]), Type: r53types.RRTypeCname, TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("theirs.example.com")}}}}}}}); err != nil {
		t.Fatal(err)
	}
	if err := r.Replace(t.Context(), nil, old); err == nil {
		t.Error("creating records that exist with other targets succeeded")
	}
	if got := targets(t, r, ns); got[ns[0]] != "old-lb.elb.example.com" || got[ns[1]] != "theirs.example.com" {
		t.Errorf("records: %v", got)
	}
}

func names(r *Route53, t *testing.T) []string {
	t.Helper()
	out, err := r.Client.GetHostedZone(t.Context(), &route53.GetHostedZoneInput{Id: aws.String(r.ZoneID)})
	if err != nil {
		t.Fatal(err)
	}
	zone := strings.TrimSuffix(aws.ToString(out.HostedZone.Name), ".")
	return []string{"spinnaker." + zone, "gate." + zone}
}

// targets is name → "target" or "target@weight,..." as the zone (Route 53
// or Cloud DNS) holds them, read through its Records.
func targets(t *testing.T, r DNS, ns []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range ns {
		recs, err := r.Records(t.Context(), n)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, rec := range recs {
			p := rec.Target
			if rec.Weight != nil {
				p += "@" + strconv.FormatInt(*rec.Weight, 10)
			}
			parts = append(parts, p)
		}
		out[n] = strings.Join(parts, ",")
	}
	return out
}

// TestCutover moves the names to the new installation in steps on a real
// (moto) Route 53 zone: nothing changes while the new installation fails
// verification; 10 % as weighted records; 100 % as one CNAME; a rollback
// puts back exactly what the first switch found; each phase is in the
// ledger on a real API server, timestamped.
func TestCutover(t *testing.T) {
	dns := route53Zone(t)
	ns := names(dns, t)
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
	o := CutoverOptions{DNS: dns, Names: ns, Target: "new-lb.elb.example.com", Weight: 10,
		Checks: spinnaker.ExposedChecks(newGate.URL, newGate.URL), VerifyOpts: spinnaker.VerifyOptions{Attempts: 2, Interval: 10 * time.Millisecond},
		Ledger: cluster.Clientset(), LedgerNamespace: ledgerNS, Now: func() time.Time { clock = clock.Add(time.Second); return clock }}
	old := targets(t, dns, ns)

	if _, err := Cutover(t.Context(), o); err == nil || !strings.Contains(err.Error(), "DNS is unchanged") || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("cutover to an unhealthy installation: %v", err)
	}
	if got := targets(t, dns, ns); !maps.Equal(got, old) {
		t.Fatalf("DNS changed although verification failed: %v", got)
	}

	healthy.Store(true)
	if _, err := Cutover(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if got := targets(t, dns, ns)[n]; got != "old-lb.elb.example.com@90,new-lb.elb.example.com@10" {
			t.Errorf("%s after 10%%: %s", n, got)
		}
	}
	o.Weight = 100
	rec, err := Cutover(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if got := targets(t, dns, ns)[n]; got != "new-lb.elb.example.com" {
			t.Errorf("%s after 100%%: %s", n, got)
		}
	}
	checkPhases(t, rec, "verify verify-failed verify verified switch verify verified switch done")

	if _, err := Rollback(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	if got := targets(t, dns, ns); !maps.Equal(got, old) {
		t.Fatalf("after the rollback: %v, want %v", got, old)
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
	w := int64(50)
	if err := dns.Replace(t.Context(), []DNSRecord{{Name: ns[0], Target: "old-lb.elb.example.com", TTL: 60}}, []DNSRecord{
		{Name: ns[0], Target: "a.example.com", TTL: 60, SetIdentifier: "a", Weight: &w}, {Name: ns[0], Target: "b.example.com", TTL: 60, SetIdentifier: "b", Weight: &w}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Cutover(t.Context(), o); err == nil || !strings.Contains(err.Error(), "plain CNAME") {
		t.Errorf("a name weighted by someone else: %v", err)
	}
}

// checkPhases: the ledger holds exactly these phases, each after the one
// before.
func checkPhases(t *testing.T, rec *MigrationRecord, want string) {
	t.Helper()
	var phases []string
	for _, p := range rec.Phases {
		phases = append(phases, p.Phase)
	}
	if got := strings.Join(phases, " "); got != want {
		t.Errorf("ledger phases: %s, want %s", got, want)
	}
	for i := 1; i < len(rec.Phases); i++ {
		if !rec.Phases[i].At.After(rec.Phases[i-1].At) {
			t.Errorf("phase %d is not after phase %d", i, i-1)
		}
	}
}

// TestCutoverVerifiesTheZone: with Zone (the CLI's --verify-zone) the new
// zone is verified as an upgrade is, at verify time: a zone that is not
// ready fails the cutover and leaves DNS as it was; its checks go with
// the zone's own client (the cluster's credentials), and only its checks
// do: the exposed URLs never see those credentials.
func TestCutoverVerifiesTheZone(t *testing.T) {
	dns := route53Zone(t)
	ns := names(dns, t)
	cluster := testenv.SharedCluster(t)
	var exposedAuth, proxiedAuth atomic.Value
	exposedAuth.Store("")
	proxiedAuth.Store("")
	exposed := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			exposedAuth.Store(a)
		}
	}))
	defer exposed.Close()
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxiedAuth.Store(r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") != "Bearer cluster-token" {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
		}
	}))
	defer proxy.Close()
	zoneClient := &http.Client{Transport: bearer{"cluster-token", http.DefaultTransport}}
	var zoneErr error
	o := CutoverOptions{DNS: dns, Names: ns, Target: "new-lb.elb.example.com", Weight: 100,
		Checks: spinnaker.ExposedChecks(exposed.URL, exposed.URL), VerifyOpts: spinnaker.VerifyOptions{Attempts: 1},
		Zone: func(context.Context) ([]spinnaker.Check, *http.Client, error) {
			if zoneErr != nil {
				return nil, nil, zoneErr
			}
			return []spinnaker.Check{{Name: "clouddriver /health", URL: proxy.URL + "/api/v1/namespaces/spin/services/spin-clouddriver:7002/proxy/health"}}, zoneClient, nil
		},
		Ledger: cluster.Clientset(), LedgerNamespace: cluster.Namespace(t)}
	old := targets(t, dns, ns)

	zoneErr = errors.New("SpinnakerService spin/green: not every service is ready: spin-orca (0/2 ready)")
	if _, err := Cutover(t.Context(), o); err == nil || !strings.Contains(err.Error(), "spin-orca (0/2 ready)") || !strings.Contains(err.Error(), "DNS is unchanged") {
		t.Fatalf("cutover to a zone that is not ready: %v", err)
	}
	if got := targets(t, dns, ns); !maps.Equal(got, old) {
		t.Fatalf("DNS changed although the zone was not ready: %v", got)
	}

	zoneErr = nil
	rec, err := Cutover(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if proxiedAuth.Load() != "Bearer cluster-token" {
		t.Errorf("the zone's check went without the zone's client: %q", proxiedAuth.Load())
	}
	if a := exposedAuth.Load(); a != "" {
		t.Errorf("the cluster's credentials reached the exposed URL: %q", a)
	}
	if !strings.Contains(rec.Phases[len(rec.Phases)-4].Detail, "clouddriver /health") {
		t.Errorf("the verify phase does not name the zone's checks: %+v", rec.Phases)
	}
}

type bearer struct {
	token string
	rt    http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.rt.RoundTrip(r)
}
