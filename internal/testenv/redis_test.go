package testenv

import (
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestStartRedis: a private server on loopback that wants its password,
// gone with its files after Stop.
func TestStartRedis(t *testing.T) {
	r := StartRedis(t)
	ctx := t.Context()
	c := r.Client(t, 2)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v := r.Client(t, 0).Get(ctx, "k").Val(); v != "" {
		t.Errorf("database 0 sees database 2's key: %q", v)
	}
	anon := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer func() { _ = anon.Close() }()
	if err := anon.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("without the password: %v", err)
	}
	if !strings.HasPrefix(r.URL(1), "redis://127.0.0.1:") || !strings.HasSuffix(r.URL(1), "/1") {
		t.Errorf("URL %s", r.URL(1))
	}
	r.Stop()
	if _, err := os.Stat(r.Dir); !os.IsNotExist(err) {
		t.Errorf("%s left after Stop: %v", r.Dir, err)
	}
	if err := c.Ping(ctx).Err(); err == nil {
		t.Error("the server still answers after Stop")
	}
}
