package agent

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An Armory agent config, keys as its reference documents them
// (docs.armory.io, Scale Agent service options), with a Clouddriver account
// block pasted as is and two typos.
const armoryConfig = `
server:
  port: 8099
logging:
  level: debug
prometheus:
  enabled: true
clouddriver:
  grpc: spin-clouddriver-grpc:9091
  insecure: false
  noProxy: true
  keepAliveHeartbeatSeconds: 30
  keepAliveTimeOutSeconds: 15
  keepAliveOperationSeconds: 600
  backoff: {baseDelay: 2000000000, multiplier: 1.6, jitter: 0.2, maxDelay: 60000000000}
  tls:
    cacertFile: /etc/ca.pem
    serverName: bridge.example.com
    clientKeyPassword: hunter2
  auth:
    token: spa_x
kubernetes:
  accounts:
  - name: prod-east
    kubeConfigFile: /k/east
    insecure: false
    oAuthScopes: [x]
    metrics: true
    onlySpinnakerManaged: true
    providerVersion: V2
    cacheThreads: 4
    cachingPolicies: [{kubernetesKind: pod, maxEntriesPerAgent: 1}]
    dockerRegistries: [{accountName: dockerhub}]
    requiredGroupMembership: [ops]
    kinds: [Deployment]
    permissions: {READ: [dev], WRITE: [ops]}
    kindz: [Pod]
  cachThreads: 2
`

func TestArmoryConfigIsAccepted(t *testing.T) {
	c, err := ParseConfig([]byte(armoryConfig))
	if err != nil {
		t.Fatalf("an Armory agent config was refused: %v", err)
	}
	b := c.BridgeSettings()
	every, timeout := b.KeepAlive()
	a := c.Kubernetes.Accounts[0]
	switch {
	case b.TLS.CACertFile != "/etc/ca.pem":
		t.Errorf("clouddriver.tls.cacertFile not mapped: %+v", b.TLS)
	case every != 30*time.Second || timeout != 15*time.Second:
		t.Errorf("keepalive %s/%s, want 30s/15s", every, timeout)
	case !b.NoProxy:
		t.Error("noProxy not mapped")
	case b.ReconnectMin.Duration != 2*time.Second || b.ReconnectMax.Duration != time.Minute:
		t.Errorf("backoff (nanoseconds) mapped to %s..%s, want 2s..1m", b.ReconnectMin, b.ReconnectMax)
	case a.KubeconfigFile != "/k/east" || c.Mode != ModeInfrastructure:
		t.Errorf("kubernetes.accounts[].kubeConfigFile not mapped: %+v mode %s", a, c.Mode)
	case c.Server.Port != 8099:
		t.Errorf("server.port = %d", c.Server.Port)
	case !a.Rules().Writable():
		t.Error("permissions not read")
	}
	wantNoMeaning := []string{
		"clouddriver.keepAliveOperationSeconds", "clouddriver.backoff.multiplier", "clouddriver.backoff.jitter", "clouddriver.tls.clientKeyPassword",
		"logging", "prometheus", "kubernetes.accounts[].insecure", "kubernetes.accounts[].oAuthScopes", "kubernetes.accounts[].metrics",
		"kubernetes.accounts[].onlySpinnakerManaged", "kubernetes.accounts[].providerVersion", "kubernetes.accounts[].cacheThreads",
		"kubernetes.accounts[].cachingPolicies", "kubernetes.accounts[].dockerRegistries", "kubernetes.accounts[].requiredGroupMembership",
	}
	for _, k := range wantNoMeaning {
		if c.Notices.NoMeaning[k] == "" {
			t.Errorf("%s: not noted as having no meaning here (notices %+v)", k, c.Notices)
		}
	}
	if len(c.Notices.NoMeaning) != len(wantNoMeaning) {
		t.Errorf("noted %d keys without meaning, want %d: %v", len(c.Notices.NoMeaning), len(wantNoMeaning), c.Notices.NoMeaning)
	}
	if got := strings.Join(c.Notices.Unknown, ","); got != "kubernetes.accounts[].kindz,kubernetes.cachThreads" {
		t.Errorf("unknown keys %q", got)
	}
	// One warning names every unknown key; no value is logged.
	var logs bytes.Buffer
	c.Notices.Log(slog.New(slog.NewTextHandler(&logs, nil)))
	warn := 0
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "level=WARN") {
			warn++
			if !strings.Contains(l, "kubernetes.accounts[].kindz") || !strings.Contains(l, "kubernetes.cachThreads") {
				t.Errorf("the warning does not name the unknown keys: %s", l)
			}
		}
	}
	if warn != 1 || strings.Contains(logs.String(), "hunter2") || strings.Contains(logs.String(), "spa_x") {
		t.Errorf("want one warning and no values:\n%s", logs.String())
	}
	// keepAliveHeartbeatSeconds: 0 sends no pings.
	c, err = ParseConfig([]byte("clouddriver: {grpc: 'b:1', keepAliveHeartbeatSeconds: 0}\nkubernetes: {accounts: [{name: a}]}"))
	if err != nil {
		t.Fatal(err)
	}
	if every, _ := c.BridgeSettings().KeepAlive(); every != 0 {
		t.Errorf("keepAliveHeartbeatSeconds 0: pings every %s", every)
	}
	if c.Server.Port != DefaultHealthPort {
		t.Errorf("server.port default %d", c.Server.Port)
	}
}

func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "token.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho '{\"token\": \"spa_from_command\"}'\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig([]byte("clouddriver: {grpc: 'b:1', auth: {tokenCommand: {command: " + script + "}}}\nkubernetes: {accounts: [{name: a}]}"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.credential(&c.Kubernetes.Accounts[0])
	if err != nil || got != "spa_from_command" {
		t.Fatalf("credential %q %v", got, err)
	}
	c.BridgeSettings().Auth.TokenCommand = &TokenCommand{Command: "/bin/echo", Args: []string{"spa_raw"}, Format: "raw"}
	if got, err := c.credential(&c.Kubernetes.Accounts[0]); err != nil || got != "spa_raw" {
		t.Fatalf("raw credential %q %v", got, err)
	}
	c.BridgeSettings().Auth.TokenCommand = &TokenCommand{Command: "/bin/echo", Args: []string{"not json spa_secret"}}
	if _, err := c.credential(&c.Kubernetes.Accounts[0]); err == nil || strings.Contains(err.Error(), "spa_secret") {
		t.Fatalf("a bad json token: %v (the output must not be in the error)", err)
	}
}
