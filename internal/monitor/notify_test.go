package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a real HTTP server that records what it is sent and answers
// with the scripted status codes (then 2xx).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	codes  []int
	ok     int
}

func newReceiver(t *testing.T, ok int, codes ...int) *receiver {
	r := &receiver{codes: codes, ok: ok}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		code := r.ok
		if len(r.codes) > 0 {
			code, r.codes = r.codes[0], r.codes[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

func testNotification(a Action) Notification {
	return Notification{Action: a, DedupKey: DedupKey("prod", "green", "burn-rate-1h"), Installation: "prod", Zone: "green",
		Tier: TierProduction, Rule: WorkbookRules()[0], Severity: SeverityPage, At: t0, LongBurn: 20, ShortBurn: 100,
		SLO: 0.999, BudgetRemaining: 0.5, LastFailure: &Failure{At: t0, Check: "gate-health", Reason: "HTTP 503"}}
}

var fastRetry = Retry{Attempts: 3, Backoff: time.Millisecond}

// PagerDuty Events API v2: routing_key, event_action, dedup_key, and the
// payload's summary/source/severity on a trigger; a resolve carries the same
// dedup_key. PagerDuty answers 202.
func TestPagerDutyEventShape(t *testing.T) {
	rcv := newReceiver(t, http.StatusAccepted)
	key := "R0UT1NGKEY0123456789abcdefABCDEF"
	pd := &PagerDuty{URL: rcv.srv.URL + "/v2/enqueue", RoutingKey: key, Retry: fastRetry}
	for _, a := range []Action{ActionTrigger, ActionResolve} {
		if err := pd.Notify(t.Context(), testNotification(a)); err != nil {
			t.Fatal(err)
		}
	}
	got := rcv.received()
	if len(got) != 2 {
		t.Fatalf("%d events, want 2", len(got))
	}
	var trig, res map[string]any
	_ = json.Unmarshal(got[0], &trig)
	_ = json.Unmarshal(got[1], &res)
	if trig["routing_key"] != key || trig["event_action"] != "trigger" || trig["dedup_key"] != "spinops/prod/green/burn-rate-1h" {
		t.Errorf("trigger: %s", got[0])
	}
	p, _ := trig["payload"].(map[string]any)
	if p["severity"] != "critical" || p["source"] != "spinnaker/prod/green" || !strings.Contains(p["summary"].(string), "PAGE") || p["timestamp"] != "2026-01-01T00:00:00Z" {
		t.Errorf("trigger payload: %v", p)
	}
	if res["event_action"] != "resolve" || res["dedup_key"] != trig["dedup_key"] || res["payload"] != nil {
		t.Errorf("resolve: %s", got[1])
	}
	// A ticket is a "warning" in PagerDuty.
	n := testNotification(ActionTrigger)
	n.Severity = SeverityTicket
	if ev := pd.Event(n); ev.Payload.Severity != "warning" {
		t.Errorf("ticket severity %q", ev.Payload.Severity)
	}
	// Summary is at most 1024 characters, dedup_key 255.
	n.Installation = strings.Repeat("i", 2000)
	n.DedupKey = strings.Repeat("k", 300)
	if ev := pd.Event(n); len(ev.Payload.Summary) != 1024 || len(ev.DedupKey) != 255 {
		t.Errorf("summary %d, dedup_key %d characters", len(ev.Payload.Summary), len(ev.DedupKey))
	}
}

func TestSlackAndWebhookPayloads(t *testing.T) {
	slack := newReceiver(t, http.StatusOK)
	hook := newReceiver(t, http.StatusNoContent)
	s := &Slack{URL: slack.srv.URL, Retry: fastRetry}
	w := &Webhook{ID: "ops", URL: hook.srv.URL, Retry: fastRetry}
	for _, a := range []Action{ActionTrigger, ActionResolve} {
		if err := s.Notify(t.Context(), testNotification(a)); err != nil {
			t.Fatal(err)
		}
		if err := w.Notify(t.Context(), testNotification(a)); err != nil {
			t.Fatal(err)
		}
	}
	var st, sr SlackPayload
	_ = json.Unmarshal(slack.received()[0], &st)
	_ = json.Unmarshal(slack.received()[1], &sr)
	if !strings.Contains(st.Text, ":rotating_light: PAGE: zone green") || !strings.Contains(st.Text, "gate-health") {
		t.Errorf("slack trigger: %q", st.Text)
	}
	if !strings.HasPrefix(sr.Text, ":white_check_mark: RESOLVED PAGE") {
		t.Errorf("slack resolve: %q", sr.Text)
	}
	var wt, wr WebhookPayload
	_ = json.Unmarshal(hook.received()[0], &wt)
	_ = json.Unmarshal(hook.received()[1], &wr)
	if wt.Version != "spinops.monitor/v1" || wt.Status != "firing" || wt.Action != ActionTrigger || wt.LongWindow != "1h0m0s" || wt.LastFailure == nil {
		t.Errorf("webhook trigger: %s", hook.received()[0])
	}
	if wr.Status != "resolved" || wr.DedupKey != wt.DedupKey {
		t.Errorf("webhook resolve: %s", hook.received()[1])
	}
}

func TestNotifyRetriesTransientFailures(t *testing.T) {
	rcv := newReceiver(t, http.StatusAccepted, http.StatusInternalServerError, http.StatusTooManyRequests)
	pd := &PagerDuty{URL: rcv.srv.URL, RoutingKey: "k", Retry: fastRetry}
	if err := pd.Notify(t.Context(), testNotification(ActionTrigger)); err != nil {
		t.Fatalf("500 then 429 then 202: %v", err)
	}
	if n := len(rcv.received()); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
	// A 400 (invalid event) is not retried.
	bad := newReceiver(t, http.StatusBadRequest)
	pd.URL = bad.srv.URL
	err := pd.Notify(t.Context(), testNotification(ActionTrigger))
	if err == nil || !strings.Contains(err.Error(), "HTTP 400") {
		t.Fatalf("400: %v", err)
	}
	if n := len(bad.received()); n != 1 {
		t.Fatalf("a 400 was sent %d times", n)
	}
	// Attempts are bounded.
	down := newReceiver(t, http.StatusBadGateway)
	pd.URL = down.srv.URL
	if err := pd.Notify(t.Context(), testNotification(ActionTrigger)); err == nil || len(down.received()) != 3 {
		t.Fatalf("502 forever: %v after %d attempts", err, len(down.received()))
	}
}

// Webhook URLs (Slack's carries its token in the path) and the PagerDuty
// routing key are secrets: no error and no log line may contain them,
// whatever fails — an unreachable host, a refusal, a bad URL, a timeout.
func TestNotifierSecretsNeverInErrorsOrLogs(t *testing.T) {
	const secretPath = "/services/T000SECRET/B000SECRET/XXXXsecretTOKENxxxx"
	const secretQuery = "token=QUERYSECRET123"
	const routingKey = "PDROUTINGKEYSECRET0123456789abcd"
	refusing := newReceiver(t, http.StatusForbidden)
	failing := newReceiver(t, http.StatusServiceUnavailable)
	// A listener that accepts and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer func() { _ = c.Close() }()
		}
	}()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	slowClient := &http.Client{Timeout: 50 * time.Millisecond}
	secrets := []string{"T000SECRET", "XXXXsecretTOKENxxxx", "QUERYSECRET123", routingKey, "user:pa55w0rd"}
	var notifiers []Notifier
	for _, base := range []string{refusing.srv.URL, failing.srv.URL, "http://" + ln.Addr().String(), closed.URL, "http://user:pa55w0rd@" + strings.TrimPrefix(closed.URL, "http://"), "::not a url" + secretPath} {
		notifiers = append(notifiers,
			&Slack{URL: base + secretPath, Client: slowClient, Retry: fastRetry},
			&Webhook{ID: "w", URL: base + secretPath + "?" + secretQuery, Client: slowClient, Retry: fastRetry},
			&PagerDuty{URL: base + "/v2/enqueue?" + secretQuery, RoutingKey: routingKey, Client: slowClient, Retry: fastRetry})
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var errs []string
	for _, n := range notifiers {
		err := n.Notify(context.Background(), testNotification(ActionTrigger))
		if err == nil {
			t.Fatalf("%s: no error", n.Name())
		}
		log.Error("notification", "notifier", n.Name(), "error", err)
		errs = append(errs, err.Error())
	}
	all := strings.Join(errs, "\n") + logs.String()
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("secret %q leaked:\n%s", s, all)
		}
	}
	// The errors still say what went wrong.
	for _, want := range []string{"HTTP 403", "HTTP 503", "connection refused", "not a valid URL"} {
		if !strings.Contains(all, want) {
			t.Errorf("no error says %q:\n%s", want, all)
		}
	}
	// And the monitor's own log of a failed delivery holds no secret either.
	var mlogs bytes.Buffer
	mon := &Monitor{o: Options{Installation: "prod", Rules: WorkbookRules()[:1], SLO: 0.999, Windows: DefaultWindows(),
		Notifiers: notifiers[:3], Log: slog.New(slog.NewJSONHandler(&mlogs, nil)), Store: failingStore{}}}
	st := &ZoneState{Ring: NewRing(time.Minute, 10), Alerts: map[string]*AlertState{"burn-rate-1h": {Firing: true, Severity: SeverityPage}}}
	if err := mon.deliver(t.Context(), Zone{Name: "green", Tier: TierProduction}, st, t0); err == nil {
		t.Fatal("deliver to refusing endpoints returned no error")
	} else {
		mlogs.WriteString(err.Error())
	}
	for _, s := range secrets {
		if strings.Contains(mlogs.String(), s) {
			t.Errorf("secret %q in the monitor's log:\n%s", s, mlogs.String())
		}
	}
}

// failingStore fails every write: deliver must not pretend it recorded a
// notification.
type failingStore struct{}

func (failingStore) Load(context.Context, ZoneRef) (*ZoneState, error) { return nil, nil }
func (failingStore) Update(context.Context, ZoneRef, RingShape, func(*ZoneState) error) (*ZoneState, error) {
	return nil, errors.New("store unavailable")
}

// An endpoint that redirects (307 keeps the method and body) must not get
// the routing key sent on to the redirect's target.
func TestNotifierNeverFollowsRedirects(t *testing.T) {
	elsewhere := newReceiver(t, http.StatusAccepted)
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.srv.URL+"/collect", http.StatusTemporaryRedirect)
	}))
	defer redirecting.Close()
	for _, n := range []Notifier{
		&PagerDuty{URL: redirecting.URL, RoutingKey: "ROUTINGKEY-NOT-FOR-ELSEWHERE", Retry: fastRetry},
		&Webhook{ID: "w", URL: redirecting.URL, Retry: fastRetry},
		&Slack{URL: redirecting.URL, Retry: fastRetry},
	} {
		err := n.Notify(t.Context(), testNotification(ActionTrigger))
		if err == nil || !strings.Contains(err.Error(), "HTTP 307") {
			t.Errorf("%s: %v, want a refusal with HTTP 307", n.Name(), err)
		}
	}
	if got := elsewhere.received(); len(got) != 0 {
		t.Fatalf("the redirect target received %d notifications, the first: %s", len(got), got[0])
	}
}
