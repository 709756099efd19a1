package testenv

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// A server in the test host is reachable from the root namespace at the
// test host's (non-loopback) address, and the namespace is gone afterwards.
func TestTestHostServesFromItsOwnAddress(t *testing.T) {
	var name string
	t.Run("serve", func(t *testing.T) {
		h := StartTestHost(t)
		name = h.Name
		l, err := h.Listen(0)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "from the test host")
		}), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { _ = srv.Close() })

		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get("http://" + l.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "from the test host" {
			t.Fatalf("body = %q", body)
		}
		if got := l.Addr().String(); got[:len(h.IP)] != h.IP {
			t.Fatalf("listener %s is not on the test host's IP %s", got, h.IP)
		}
	})
	if name == "" {
		return // skipped
	}
	out, err := runIP("netns", "list")
	if err != nil {
		t.Fatal(err)
	}
	if containsWord(out, name) {
		t.Fatalf("network namespace %s still exists after the test", name)
	}
}
