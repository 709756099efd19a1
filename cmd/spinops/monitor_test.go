package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spinops/terraform-provider-spinops/internal/monitor"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// `spinops monitor` as deployed: configuration file without secrets, Gate
// password and webhook URL from files, state in a real kube-apiserver,
// /metrics served, a page delivered when Gate fails, a clean stop on
// cancellation, and `monitor status` reading the state back.
func TestMonitorCommand(t *testing.T) {
	cluster := testenv.StartCluster(t)
	ns := cluster.Namespace(t)
	const password, hookToken = "gate-pw-SECRET-1", "HOOK-SECRET-2"
	var down atomic.Bool
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path == "/health" {
			_, _ = w.Write([]byte(`{"status":"UP"}`))
			return
		}
		if u, p, ok := r.BasicAuth(); !ok || u != "monitor" || p != password {
			http.Redirect(w, r, "/login", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte(`[]`))
	}))
	defer gate.Close()
	deck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`<html></html>`))
	}))
	defer deck.Close()
	var hooks testenv.SyncBuffer
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+hookToken {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		b, _ := io.ReadAll(r.Body)
		_, _ = hooks.Write(append(b, '\n'))
	}))
	defer hook.Close()

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := map[string]any{
		"installation": "tf-acc-test", "interval": "1s", "check_timeout": "800ms",
		"zones":     []map[string]any{{"name": "green", "namespace": ns, "tier": "production", "gate_url": gate.URL, "deck_url": deck.URL}},
		"gate_auth": map[string]any{"username_file": write("user", "monitor\n"), "password_file": write("pw", password+"\n")},
		"notify":    []map[string]any{{"type": "webhook", "id": "ops", "secret_file": write("hook", hook.URL+"/"+hookToken)}},
	}
	b, _ := json.Marshal(cfg)
	cfgPath := write("config.json", string(b))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr testenv.SyncBuffer
	root := newRootCommand()
	root.SetErr(&stderr)
	root.SetArgs([]string{"monitor", "--config", cfgPath, "--kubeconfig", cluster.Kubeconfig, "--metrics-addr", addr})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	cms := cluster.Clientset().CoreV1().ConfigMaps(ns)
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; monitor log:\n%s", what, stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("three recorded rounds", func() bool {
		cm, err := cms.Get(ctx, monitor.ConfigMapName("green"), metav1.GetOptions{})
		return err == nil && strings.Contains(cm.Data["state.json"], "last_round") && time.Since(cm.CreationTimestamp.Time) > 2*time.Second
	})
	down.Store(true)
	waitFor("the page", func() bool { return strings.Contains(hooks.String(), `"action":"trigger"`) })
	down.Store(false)

	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, want := range []string{`spinops_check_success{check="gate-applications",zone="green"}`, `spinops_slo_availability_ratio{window="30d",zone="green"}`,
		`spinops_error_budget_remaining_ratio{zone="green"}`, `spinops_alert_firing{rule="burn-rate-1h",severity="page",zone="green"} 1`, `spinops_check_duration_seconds_bucket`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("monitor stopped with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the monitor did not stop after cancellation")
	}
	if !strings.Contains(stderr.String(), "monitor stopped") {
		t.Errorf("no clean stop in the log:\n%s", stderr.String())
	}

	var out bytes.Buffer
	st := newRootCommand()
	st.SetOut(&out)
	st.SetArgs([]string{"monitor", "status", "--config", cfgPath, "--kubeconfig", cluster.Kubeconfig, "--json"})
	if err := st.ExecuteContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	var status []monitor.ZoneStatus
	if err := json.Unmarshal(out.Bytes(), &status); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(status) != 1 || status[0].Counts["1h"].Bad == 0 || status[0].Counts["1h"].Good < 2 || status[0].LastFailure == nil {
		t.Errorf("status: %s", out.String())
	}

	cm, err := cms.Get(t.Context(), monitor.ConfigMapName("green"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	all := stderr.String() + out.String() + fmt.Sprint(cm.Data) + string(metrics)
	for _, s := range []string{password, hookToken} {
		if strings.Contains(all, s) {
			t.Errorf("secret %q in the logs, status, state or metrics", s)
		}
	}
}

func TestMonitorCommandRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.json")
	_ = os.WriteFile(p, []byte(`{"installation":"x","zones":[{"name":"green","namespace":"n","tier":"production","gate_url":"https://g"}],"notify":[{"type":"slack","url":"https://hooks.slack.com/services/SECRET"}],"interval":"30s","typo":1}`), 0o600)
	root := newRootCommand()
	root.SetArgs([]string{"monitor", "--config", p, "--kubeconfig", filepath.Join(dir, "none")})
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), `unknown field "typo"`) {
		t.Fatalf("got %v", err)
	}
}
