package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
)

func TestHealthCheck(t *testing.T) {
	var up atomic.Bool
	h, err := ListenHealth(0, up.Load)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Serve(ctx, slog.Default()) }()
	defer func() { cancel(); <-done }()
	get := func(method, path string) (int, map[string]any) {
		req, _ := http.NewRequestWithContext(ctx, method, "http://"+h.Addr()+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if code, m := get(http.MethodGet, HealthPath); code != 200 || m["status"] != "UP" || m["bridgeConnected"] != false {
		t.Fatalf("GET /health: %d %v", code, m)
	}
	up.Store(true)
	if _, m := get(http.MethodGet, HealthPath); m["bridgeConnected"] != true {
		t.Fatalf("GET /health while connected: %v", m)
	}
	if code, _ := get(http.MethodPost, HealthPath); code != http.StatusMethodNotAllowed {
		t.Fatalf("POST /health: %d", code)
	}
	if code, _ := get(http.MethodGet, "/metrics"); code != http.StatusNotFound {
		t.Fatalf("the health listener serves more than /health: %d", code)
	}
}
