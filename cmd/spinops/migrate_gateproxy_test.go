package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/migrate"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestMigrateGateProxy runs `spinops migrate gate-proxy` with the arguments
// the freeze writes into the read-only Gate's pod: a read reaches Gate, a change is refused with the
// freeze's time, and the command ends cleanly when its context does (the
// pod's SIGTERM).
func TestMigrateGateProxy(t *testing.T) {
	var seen []string
	var mu sync.Mutex
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		_, _ = io.WriteString(w, "gate")
	}))
	defer gate.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := newRootCommand()
	stderr := &testenv.SyncBuffer{}
	root.SetErr(stderr)
	// The arguments the freeze gives the proxy's pod (port 0: any free one).
	since := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	root.SetArgs(migrate.ReadOnlyGateArgs(map[int32]string{0: gate.URL}, since, []string{"/sso/callback"}))
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	addr := ""
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := regexp.MustCompile(`read-only on \[::\]:(\d+)`).FindStringSubmatch(stderr.String()); m != nil {
			addr = "http://127.0.0.1:" + m[1]
		}
	}
	if addr == "" {
		t.Fatalf("gate-proxy did not say where it listens: %s", stderr)
	}
	resp, err := http.Get(addr + "/applications")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "gate" || resp.Header.Get("X-Spinops-Frozen-Since") != "2026-12-05T09:30:00Z" {
		t.Errorf("read: %d %s %v", resp.StatusCode, b, resp.Header)
	}
	req, _ := http.NewRequest(http.MethodDelete, addr+"/pipelines/shop/deploy?token=s3cr3t-webhook-token", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(b), "frozen for its migration since 2026-12-05T09:30:00Z") {
		t.Errorf("change: %d %s", resp.StatusCode, b)
	}
	resp, err = http.Post(addr+"/sso/callback", "application/x-www-form-urlencoded", strings.NewReader("SAMLResponse=x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the --allow-post path: %d", resp.StatusCode)
	}
	// The refusal is logged, without the query (a webhook's token).
	if log := stderr.String(); !strings.Contains(log, `"msg":"refused"`) || !strings.Contains(log, `"method":"DELETE","path":"/pipelines/shop/deploy"`) || strings.Contains(log, "s3cr3t") {
		t.Errorf("the refusal's log line:\n%s", log)
	}
	mu.Lock()
	if strings.Join(seen, ",") != "GET /applications,POST /sso/callback" {
		t.Errorf("Gate saw %q", seen)
	}
	mu.Unlock()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("gate-proxy after its context ended: %v", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("gate-proxy did not stop")
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--since", "2026-12-05T09:30:00Z"}, "at least one --listen"},
		{[]string{"--listen", "0=" + gate.URL}, `--since ""`},
		{[]string{"--listen", "0=" + gate.URL, "--since", "yesterday"}, "RFC 3339"},
		{[]string{"--listen", "8084", "--since", "2026-12-05T09:30:00Z"}, "give PORT=URL"},
	} {
		root := newRootCommand()
		root.SetErr(io.Discard)
		root.SetArgs(append([]string{"migrate", "gate-proxy"}, tc.args...))
		if err := root.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}
