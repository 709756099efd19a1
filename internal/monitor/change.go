package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ChangePhase is where a zone upgrade is.
type ChangePhase string

// Phases of an upgrade the zone resource announces: before the new version
// is applied, when it is ready and post-upgrade verification runs, and
// after (verified, rolled back, or failed).
const (
	ChangeStarted   ChangePhase = "started"
	ChangeVerifying ChangePhase = "verifying"
	ChangeFinished  ChangePhase = "finished"
)

// Change is an upgrade of a zone, announced to the same endpoints as the
// alerts: not a problem, so PagerDuty gets a change event, never an
// incident.
type Change struct {
	Installation string
	Zone         string
	Tier         Tier
	Phase        ChangePhase
	From, To     string
	// Result is set when Phase is finished: "verified", "applied" (not
	// verified: the zone does not wait), "rolled back" or "failed".
	Result string
	// Detail is what went wrong, for a rollback or a failure.
	Detail string
	At     time.Time
}

// Summary is one line for people.
func (c Change) Summary() string {
	switch c.Phase {
	case ChangeStarted:
		return fmt.Sprintf("UPGRADE STARTED: zone %s (%s) of %s, Spinnaker %s → %s", c.Zone, c.Tier, c.Installation, c.From, c.To)
	case ChangeVerifying:
		return fmt.Sprintf("UPGRADE VERIFYING: zone %s (%s) of %s, Spinnaker %s → %s: the new version is ready, post-upgrade verification is running", c.Zone, c.Tier, c.Installation, c.From, c.To)
	}
	s := fmt.Sprintf("UPGRADE %s: zone %s (%s) of %s, Spinnaker %s → %s", strings.ToUpper(c.Result), c.Zone, c.Tier, c.Installation, c.From, c.To)
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// Announcer delivers change events; the notifiers of the monitor are
// announcers too.
type Announcer interface {
	Name() string
	Announce(ctx context.Context, c Change) error
}

// WebhookChange is the generic JSON body of a change: version
// "spinops.monitor/v1", kind "change".
type WebhookChange struct {
	Version      string      `json:"version"`
	Kind         string      `json:"kind"`
	Phase        ChangePhase `json:"phase"`
	Installation string      `json:"installation"`
	Zone         string      `json:"zone"`
	Tier         Tier        `json:"tier"`
	From         string      `json:"from_version"`
	To           string      `json:"to_version"`
	Result       string      `json:"result,omitempty"`
	Detail       string      `json:"detail,omitempty"`
	Summary      string      `json:"summary"`
	At           time.Time   `json:"at"`
}

// Announce implements Announcer.
func (w *Webhook) Announce(ctx context.Context, c Change) error {
	body, err := json.Marshal(WebhookChange{Version: "spinops.monitor/v1", Kind: "change", Phase: c.Phase, Installation: c.Installation,
		Zone: c.Zone, Tier: c.Tier, From: c.From, To: c.To, Result: c.Result, Detail: c.Detail, Summary: c.Summary(), At: c.At.UTC()})
	if err != nil {
		return fmt.Errorf("encoding the %s change: %w", w.Name(), err)
	}
	return post(ctx, w.Client, w.Name(), w.URL, body, ok2xx, w.Retry)
}

// Announce implements Announcer.
func (s *Slack) Announce(ctx context.Context, c Change) error {
	icon := ":arrows_counterclockwise:"
	switch c.Result {
	case "verified", "applied":
		icon = ":white_check_mark:"
	case "rolled back", "failed":
		icon = ":x:"
	}
	body, err := json.Marshal(SlackPayload{Text: icon + " " + c.Summary()})
	if err != nil {
		return fmt.Errorf("encoding the slack change: %w", err)
	}
	return post(ctx, s.Client, s.Name(), s.URL, body, ok2xx, s.Retry)
}

// PagerDutyChangeEventsURL is the Change Events endpoint of the Events
// API v2.
const PagerDutyChangeEventsURL = "https://events.pagerduty.com/v2/change/enqueue"

// PagerDutyChangeEvent is a Change Events body: routing_key and a payload
// with summary (at most 1024 characters), source, timestamp and
// custom_details, as PagerDuty's developer documentation ("Send a Change
// Event") gives it. PagerDuty answers 202; a change event never opens an
// incident.
type PagerDutyChangeEvent struct {
	RoutingKey string                 `json:"routing_key"`
	Payload    PagerDutyChangePayload `json:"payload"`
}

// PagerDutyChangePayload is the "payload" object of a change event.
type PagerDutyChangePayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source,omitempty"`
	Timestamp     string         `json:"timestamp,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// ChangeEvent is the change event of c.
func (p *PagerDuty) ChangeEvent(c Change) PagerDutyChangeEvent {
	details := map[string]any{"phase": string(c.Phase), "tier": string(c.Tier), "from_version": c.From, "to_version": c.To}
	if c.Result != "" {
		details["result"] = c.Result
	}
	if c.Detail != "" {
		details["detail"] = truncate(c.Detail, 1024)
	}
	return PagerDutyChangeEvent{RoutingKey: p.RoutingKey, Payload: PagerDutyChangePayload{Summary: truncate(c.Summary(), 1024),
		Source: "spinnaker/" + c.Installation + "/" + c.Zone, Timestamp: c.At.UTC().Format(time.RFC3339), CustomDetails: details}}
}

// Announce implements Announcer: a change event (the Events API's change
// endpoint next to p.URL when that is set, else PagerDuty's).
func (p *PagerDuty) Announce(ctx context.Context, c Change) error {
	if p.RoutingKey == "" {
		return fmt.Errorf("announcing to pagerduty: no routing key: set it in the monitor's secret")
	}
	body, err := json.Marshal(p.ChangeEvent(c))
	if err != nil {
		return fmt.Errorf("encoding the pagerduty change event: %w", err)
	}
	u := PagerDutyChangeEventsURL
	if p.URL != "" {
		u = strings.TrimSuffix(strings.TrimSuffix(p.URL, "/"), "/enqueue") + "/change/enqueue"
	}
	return post(ctx, p.Client, p.Name(), u, body, func(code int) bool { return code == http.StatusAccepted || code == http.StatusOK }, p.Retry)
}
