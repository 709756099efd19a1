package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Action is what a notification does to an alert.
type Action string

const (
	ActionTrigger Action = "trigger"
	ActionResolve Action = "resolve"
)

// Notification is one alert transition.
type Notification struct {
	Action Action
	// DedupKey is stable for one alert (installation, zone, rule): a trigger
	// and its resolve carry the same key, and a re-sent trigger is a
	// duplicate the receiver can drop.
	DedupKey     string
	Installation string
	Zone         string
	Tier         Tier
	Rule         Rule
	Severity     Severity
	At           time.Time
	LongBurn     float64
	ShortBurn    float64
	SLO          float64
	// BudgetRemaining is the error budget left over the SLO window.
	BudgetRemaining float64
	LastFailure     *Failure
}

// Summary is one line for people.
func (n Notification) Summary() string {
	if n.Action == ActionResolve {
		return fmt.Sprintf("RESOLVED %s: zone %s (%s) of %s is back within its %.3g%% SLO (%s)",
			strings.ToUpper(string(n.Severity)), n.Zone, n.Tier, n.Installation, n.SLO*100, n.Rule.Name)
	}
	return fmt.Sprintf("%s: zone %s (%s) of %s burns its %.3g%% SLO error budget at %.1f× over %s and %.1f× over %s (%s, threshold %g×); %.1f%% of the 30-day budget left",
		strings.ToUpper(string(n.Severity)), n.Zone, n.Tier, n.Installation, n.SLO*100,
		n.LongBurn, n.Rule.Long, n.ShortBurn, n.Rule.Short, n.Rule.Name, n.Rule.BurnRate, n.BudgetRemaining*100)
}

// Notifier delivers notifications. Errors never contain the endpoint's URL
// or key: they are secrets.
type Notifier interface {
	// Name identifies the notifier in logs and errors ("pagerduty", "slack",
	// "webhook#1"): never its URL.
	Name() string
	Notify(ctx context.Context, n Notification) error
}

// Retry is how often and how patiently a notifier retries.
type Retry struct {
	Attempts int
	Backoff  time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.Attempts < 1 {
		r.Attempts = 4
	}
	if r.Backoff <= 0 {
		r.Backoff = 500 * time.Millisecond
	}
	return r
}

// errPermanent marks an answer that retrying cannot change.
type errPermanent struct{ error }

func (e errPermanent) Unwrap() error { return e.error }

// post sends body as JSON to url, retrying network errors, 429 and 5xx with
// exponential backoff (honouring Retry-After), not other 4xx. The error names
// the notifier and the status, never url, body or response.
func post(ctx context.Context, client *http.Client, name, url string, body []byte, accept func(int) bool, r Retry) error {
	r = r.withDefaults()
	c := http.Client{Timeout: 10 * time.Second}
	if client != nil {
		c = *client
	}
	// Never follow a redirect: a 307/308 would re-send the body (the
	// PagerDuty routing key) to wherever the endpoint points.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client = &c
	var last error
	wait := r.Backoff
	for attempt := 1; attempt <= r.Attempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("notifying %s: %w (last attempt: %w)", name, ctx.Err(), last)
			case <-t.C:
			}
			wait *= 2
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("notifying %s: the endpoint is not a valid URL: check its configuration", name)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			last = scrubURLError(err)
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if accept(resp.StatusCode) {
			return nil
		}
		last = fmt.Errorf("HTTP %d", resp.StatusCode)
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
			return fmt.Errorf("notifying %s: %w", name, errPermanent{fmt.Errorf("the endpoint refused the notification with HTTP %d: check its URL or key", resp.StatusCode)})
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			wait = max(wait, time.Duration(s)*time.Second)
		}
	}
	return fmt.Errorf("notifying %s: %d attempts failed, last: %w", name, r.Attempts, last)
}

func ok2xx(code int) bool { return code >= 200 && code < 300 }

// Webhook posts the generic JSON payload (WebhookPayload).
type Webhook struct {
	ID     string
	URL    string
	Client *http.Client
	Retry  Retry
}

// WebhookPayload is the generic JSON body: stable field names, version
// "spinops.monitor/v1".
type WebhookPayload struct {
	Version         string    `json:"version"`
	Action          Action    `json:"action"`
	Status          string    `json:"status"`
	DedupKey        string    `json:"dedup_key"`
	Installation    string    `json:"installation"`
	Zone            string    `json:"zone"`
	Tier            Tier      `json:"tier"`
	Rule            string    `json:"rule"`
	Severity        Severity  `json:"severity"`
	Summary         string    `json:"summary"`
	At              time.Time `json:"at"`
	BurnRate        float64   `json:"burn_rate_threshold"`
	LongWindow      string    `json:"long_window"`
	LongBurn        float64   `json:"long_window_burn_rate"`
	ShortWindow     string    `json:"short_window"`
	ShortBurn       float64   `json:"short_window_burn_rate"`
	SLO             float64   `json:"slo"`
	BudgetRemaining float64   `json:"error_budget_remaining"`
	LastFailure     *Failure  `json:"last_failure,omitempty"`
}

// Payload is the generic JSON body of n.
func (Webhook) Payload(n Notification) WebhookPayload {
	status := "firing"
	if n.Action == ActionResolve {
		status = "resolved"
	}
	return WebhookPayload{Version: "spinops.monitor/v1", Action: n.Action, Status: status, DedupKey: n.DedupKey,
		Installation: n.Installation, Zone: n.Zone, Tier: n.Tier, Rule: n.Rule.Name, Severity: n.Severity,
		Summary: n.Summary(), At: n.At.UTC(), BurnRate: n.Rule.BurnRate, LongWindow: n.Rule.Long.String(), LongBurn: n.LongBurn,
		ShortWindow: n.Rule.Short.String(), ShortBurn: n.ShortBurn, SLO: n.SLO, BudgetRemaining: n.BudgetRemaining, LastFailure: n.LastFailure}
}

// Name implements Notifier.
func (w *Webhook) Name() string { return "webhook " + w.ID }

// Notify implements Notifier.
func (w *Webhook) Notify(ctx context.Context, n Notification) error {
	body, err := json.Marshal(w.Payload(n))
	if err != nil {
		return fmt.Errorf("encoding the %s payload: %w", w.Name(), err)
	}
	return post(ctx, w.Client, w.Name(), w.URL, body, ok2xx, w.Retry)
}

// Slack posts to a Slack incoming webhook (or a Slack-compatible one:
// Mattermost, Rocket.Chat): POST application/json {"text": "…"} to the
// webhook URL, as Slack's incoming-webhook documentation
// (docs.slack.dev, "Incoming webhooks") gives it; any 2xx is success.
type Slack struct {
	URL    string
	Client *http.Client
	Retry  Retry
}

// SlackPayload is the body Slack's incoming webhooks take.
type SlackPayload struct {
	Text string `json:"text"`
}

// Payload is the Slack body of n.
func (Slack) Payload(n Notification) SlackPayload {
	icon := ":rotating_light:"
	switch {
	case n.Action == ActionResolve:
		icon = ":white_check_mark:"
	case n.Severity == SeverityTicket:
		icon = ":warning:"
	}
	text := icon + " " + n.Summary()
	if n.Action == ActionTrigger && n.LastFailure != nil {
		text += fmt.Sprintf("\nLast failed check: %s at %s: %s", n.LastFailure.Check, n.LastFailure.At.UTC().Format(time.RFC3339), n.LastFailure.Reason)
	}
	return SlackPayload{Text: text}
}

// Name implements Notifier.
func (*Slack) Name() string { return "slack" }

// Notify implements Notifier.
func (s *Slack) Notify(ctx context.Context, n Notification) error {
	body, err := json.Marshal(s.Payload(n))
	if err != nil {
		return fmt.Errorf("encoding the slack payload: %w", err)
	}
	return post(ctx, s.Client, s.Name(), s.URL, body, ok2xx, s.Retry)
}

// PagerDutyEventsURL is the Events API v2 endpoint.
const PagerDutyEventsURL = "https://events.pagerduty.com/v2/enqueue"

// PagerDuty sends PagerDuty Events API v2 alert events (POST
// https://events.pagerduty.com/v2/enqueue): routing_key, event_action
// "trigger" or "resolve", dedup_key (at most 255 characters; the resolve
// carries the trigger's), and for a trigger a payload with summary (at most
// 1024 characters), source, severity (critical, error, warning or info),
// timestamp, component, group, class and custom_details. PagerDuty answers
// 202 when it accepted the event, 400 when the event is invalid (not
// retried), 429 when throttled and 5xx on its own errors (retried).
type PagerDuty struct {
	URL        string
	RoutingKey string
	Client     *http.Client
	Retry      Retry
}

// PagerDutyEvent is an Events API v2 body.
type PagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction Action            `json:"event_action"`
	DedupKey    string            `json:"dedup_key"`
	Payload     *PagerDutyPayload `json:"payload,omitempty"`
	Client      string            `json:"client,omitempty"`
}

// PagerDutyPayload is the "payload" object of a trigger.
type PagerDutyPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// Event is the Events API v2 body of n.
func (p *PagerDuty) Event(n Notification) PagerDutyEvent {
	ev := PagerDutyEvent{RoutingKey: p.RoutingKey, EventAction: n.Action, DedupKey: truncate(n.DedupKey, 255), Client: "spinops monitor"}
	if n.Action == ActionTrigger {
		sev := "critical"
		if n.Severity == SeverityTicket {
			sev = "warning"
		}
		details := map[string]any{
			"rule": n.Rule.Name, "tier": string(n.Tier), "slo": n.SLO, "burn_rate_threshold": n.Rule.BurnRate,
			"long_window": n.Rule.Long.String(), "long_window_burn_rate": n.LongBurn,
			"short_window": n.Rule.Short.String(), "short_window_burn_rate": n.ShortBurn,
			"error_budget_remaining": n.BudgetRemaining,
		}
		if n.LastFailure != nil {
			details["last_failed_check"] = n.LastFailure.Check
			details["last_failure_reason"] = n.LastFailure.Reason
		}
		ev.Payload = &PagerDutyPayload{Summary: truncate(n.Summary(), 1024), Source: "spinnaker/" + n.Installation + "/" + n.Zone,
			Severity: sev, Timestamp: n.At.UTC().Format(time.RFC3339), Component: "spinnaker", Group: n.Installation,
			Class: "slo-burn-rate", CustomDetails: details}
	}
	return ev
}

// Name implements Notifier.
func (*PagerDuty) Name() string { return "pagerduty" }

// Notify implements Notifier.
func (p *PagerDuty) Notify(ctx context.Context, n Notification) error {
	if p.RoutingKey == "" {
		return errors.New("notifying pagerduty: no routing key: set it in the monitor's secret")
	}
	body, err := json.Marshal(p.Event(n))
	if err != nil {
		return fmt.Errorf("encoding the pagerduty event: %w", err)
	}
	u := p.URL
	if u == "" {
		u = PagerDutyEventsURL
	}
	return post(ctx, p.Client, p.Name(), u, body, func(c int) bool { return c == http.StatusAccepted || c == http.StatusOK }, p.Retry)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
