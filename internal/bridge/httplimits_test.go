package bridge_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEndpointHTTPLimits: the endpoint refuses request headers over 64 KiB
// (431, before any handler runs) and hangs up on a caller that never
// finishes its headers (a slowloris holds no connection past the 10 s
// header timeout), so unauthenticated callers cannot pin its memory or
// connections.
func TestEndpointHTTPLimits(t *testing.T) {
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsTo(tb)}, Timeout: 10 * time.Second}

	req, _ := http.NewRequest(http.MethodGet, "https://"+tb.EndpointAddr()+"/accounts/none/api", nil)
	req.Header.Set("X-Padding", strings.Repeat("p", 80<<10))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("80 KiB of request headers: HTTP %d, want 431", resp.StatusCode)
	}

	// Headers started and never finished.
	conn, err := tls.Dial("tcp", tb.EndpointAddr(), tlsTo(tb))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := io.WriteString(conn, "GET /accounts/none/api HTTP/1.1\r\nHost: bridge\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(30 * time.Second))
	_, err = io.ReadAll(conn) // ends when the bridge hangs up
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("a caller that never finished its headers was held for %s (%v), want the 10 s header timeout", d, err)
	}
}
