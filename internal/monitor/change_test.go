package monitor

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type recorded struct {
	mu    sync.Mutex
	paths []string
	body  []map[string]any
}

func (r *recorded) server(t *testing.T, status int) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		r.mu.Lock()
		r.paths = append(r.paths, req.URL.Path)
		r.body = append(r.body, m)
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(s.Close)
	return s
}

// TestChangeAnnouncements: an upgrade is announced as a change, never as
// an alert: the webhook gets kind "change" with both versions and the
// result, Slack a line, and PagerDuty a Change Events body on
// /v2/change/enqueue (routing_key, payload.summary/source/timestamp/
// custom_details), which never opens an incident.
func TestChangeAnnouncements(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	done := Change{Installation: "prod", Zone: "green", Tier: TierProduction, Phase: ChangeFinished, From: "1.35.3", To: "1.36.1",
		Result: "rolled back", Detail: "verification failed: gate-health HTTP 503", At: at}
	var hook, slack, pd recorded
	ctx := context.Background()
	if err := (&Webhook{ID: "ops", URL: hook.server(t, 200).URL + "/hook"}).Announce(ctx, done); err != nil {
		t.Fatal(err)
	}
	if got := hook.body[0]; got["kind"] != "change" || got["phase"] != "finished" || got["from_version"] != "1.35.3" || got["to_version"] != "1.36.1" ||
		got["result"] != "rolled back" || got["action"] != nil || !strings.HasPrefix(got["summary"].(string), "UPGRADE ROLLED BACK: zone green") {
		t.Errorf("webhook body: %v", got)
	}
	if err := (&Slack{URL: slack.server(t, 200).URL}).Announce(ctx, Change{Zone: "red", Tier: TierSandbox, Phase: ChangeStarted, From: "1", To: "2", At: at}); err != nil {
		t.Fatal(err)
	}
	if txt := slack.body[0]["text"].(string); !strings.Contains(txt, "UPGRADE STARTED: zone red (sandbox)") {
		t.Errorf("slack text: %q", txt)
	}
	if err := (&Slack{URL: slack.server(t, 200).URL}).Announce(ctx, Change{Zone: "red", Tier: TierSandbox, Phase: ChangeVerifying, From: "1", To: "2", At: at}); err != nil {
		t.Fatal(err)
	}
	if txt := slack.body[1]["text"].(string); !strings.Contains(txt, "UPGRADE VERIFYING: zone red (sandbox)") || !strings.Contains(txt, "1 → 2: the new version is ready, post-upgrade verification is running") {
		t.Errorf("slack text while verifying: %q", txt)
	}
	srv := pd.server(t, http.StatusAccepted)
	if err := (&PagerDuty{URL: srv.URL + "/v2/enqueue", RoutingKey: "ROUTINGKEY0123456789abcdef012345"}).Announce(ctx, done); err != nil {
		t.Fatal(err)
	}
	if pd.paths[0] != "/v2/change/enqueue" {
		t.Errorf("PagerDuty change events go to /v2/change/enqueue, got %s", pd.paths[0])
	}
	body := pd.body[0]
	payload, _ := body["payload"].(map[string]any)
	if body["routing_key"] != "ROUTINGKEY0123456789abcdef012345" || body["event_action"] != nil || payload == nil ||
		payload["source"] != "spinnaker/prod/green" || payload["timestamp"] != "2026-12-01T10:00:00Z" || payload["severity"] != nil {
		t.Errorf("pagerduty change event: %v", body)
	}
	if d, _ := payload["custom_details"].(map[string]any); d["result"] != "rolled back" || d["to_version"] != "1.36.1" {
		t.Errorf("custom_details: %v", payload["custom_details"])
	}
	// A failing endpoint's error never names its URL or key.
	bad := (&recorded{}).server(t, 400)
	err := (&PagerDuty{URL: bad.URL + "/v2/enqueue", RoutingKey: "SECRETKEY-0000", Retry: Retry{Attempts: 1}}).Announce(ctx, done)
	if err == nil || strings.Contains(err.Error(), "SECRETKEY") || strings.Contains(err.Error(), bad.URL) {
		t.Errorf("error %v: want a refusal that names neither the URL nor the key", err)
	}
}
