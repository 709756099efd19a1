package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
)

// TestRefreshFlagsReachTheConfig: each --refresh-* flag sets its field of
// bridge.Config.Refresh and survives CheckAndSetDefaults; flags not given
// take the defaults.
func TestRefreshFlagsReachTheConfig(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, err := bridge.NewKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := bridge.NewKeyRing(k)
	if err != nil {
		t.Fatal(err)
	}
	parse := func(args ...string) bridge.RefreshConfig {
		t.Helper()
		var r bridge.RefreshConfig
		fl := pflag.NewFlagSet("bridge", pflag.ContinueOnError)
		addRefreshFlags(fl, &r)
		if err := fl.Parse(args); err != nil {
			t.Fatal(err)
		}
		cfg := bridge.Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", Refresh: r}
		if err := cfg.CheckAndSetDefaults(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return cfg.Refresh
	}
	r := parse("--refresh-account-rate", "12.5", "--refresh-account-burst", "7", "--refresh-global-rate", "900",
		"--refresh-global-burst", "1800", "--refresh-workers", "32", "--refresh-max-pending", "50000",
		"--refresh-coalesce", "75ms", "--refresh-timeout", "2s")
	if r.AccountRate != 12.5 || r.AccountBurst != 7 || r.GlobalRate != 900 || r.GlobalBurst != 1800 || r.Workers != 32 ||
		r.MaxPending != 50000 || r.Coalesce != 75*time.Millisecond || r.Timeout != 2*time.Second {
		t.Fatalf("flags not carried into the config: %+v", r)
	}
	r = parse()
	if r.AccountRate != 50 || r.AccountBurst != 100 || r.GlobalRate != 200 || r.GlobalBurst != 400 || r.Workers != 8 ||
		r.MaxPending != 10000 || r.Coalesce != 20*time.Millisecond || r.Timeout != 5*time.Second {
		t.Fatalf("defaults without flags: %+v", r)
	}
}

// TestBridgeRefusesRefreshFlagsOutOfRange: through the real command, a
// value out of range stops the bridge before it serves, with an error that
// names the flag and the allowed range.
func TestBridgeRefusesRefreshFlagsOutOfRange(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "bridge.keys")
	if err := runSpinopsCmd(t, "bridge", "keygen", "--out", keys); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flag, value, want string
	}{
		{"--refresh-account-rate", "-3", "must be above 0 and at most 10000 requests per second (got -3)"},
		{"--refresh-account-rate", "NaN", "must be above 0 and at most 10000 requests per second (got NaN)"},
		{"--refresh-global-rate", "20000", "must be above 0 and at most 10000 requests per second (got 20000)"},
		{"--refresh-account-burst", "-1", "must be between 1 and 100000 (got -1)"},
		{"--refresh-global-burst", "100001", "must be between 1 and 100000 (got 100001)"},
		{"--refresh-workers", "2000", "must be between 1 and 1024 (got 2000)"},
		{"--refresh-max-pending", "-5", "must be between 1 and 1000000 (got -5)"},
		{"--refresh-coalesce", "2h", "must be between 1ms and 1m0s (got 2h0m0s)"},
		{"--refresh-timeout", "10ms", "must be between 100ms and 5m0s (got 10ms)"},
	} {
		// A bridge that starts anyway (the flag did not reach the config)
		// is stopped after 10s and fails the case.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := newRootCommand()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs([]string{"bridge", "--key-file", keys, "--sqlite", filepath.Join(t.TempDir(), "b.db"), "--grpc-addr", "127.0.0.1:0",
			"--insecure-grpc", "--endpoint-addr", "", "--ops-addr", "", tc.flag, tc.value})
		err := cmd.ExecuteContext(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "("+tc.flag+")") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: got %v, want an error naming the flag and %q", tc.flag, tc.value, err, tc.want)
		}
	}
}
