package agent

import (
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`
bridge:
  grpc: bridge.spinnaker:9091
  tls: {caCertFile: /ca.pem}
  auth: {token: spa_x}
kubernetes:
  accounts:
  - name: prod-east
    kubeconfigFile: /k/east
    omitNamespaces: [kube-system]
    kinds: [Deployment, services, configmaps.]
    permissions: {READ: [dev], WRITE: [ops]}
  - name: prod-west
    kubeconfigFile: /k/west
    onlyNamespacedResources: true
budget: {maxInFlightBytes: 4194304}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != ModeInfrastructure || len(c.Kubernetes.Accounts) != 2 || c.Budget.MaxBatchBytes != defaultMaxBatchBytes ||
		c.Kubernetes.Accounts[0].Permissions.Write[0] != "ops" || c.BridgeSettings().ReconnectMax.Duration != defaultReconnectMax {
		t.Fatalf("parsed %+v", c)
	}
	// Agent mode: one account, in-cluster service account; Armory's key.
	c, err = ParseConfig([]byte("clouddriver: {grpc: 'b:9091', insecure: true}\nkubernetes: {accounts: [{name: one}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != ModeAgent || !c.Kubernetes.Accounts[0].ServiceAccount {
		t.Fatalf("parsed %+v", c)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"no bridge":      {"kubernetes: {accounts: [{name: a}]}", "bridge.grpc"},
		"kinds and omit": {"bridge: {grpc: 'b:1'}\nkubernetes: {accounts: [{name: a, kubeconfigFile: k, kinds: [Pod], omitKinds: [Secret]}]}", "kinds and omitKinds are exclusive"},
		"ns and omit":    {"bridge: {grpc: 'b:1'}\nkubernetes: {accounts: [{name: a, kubeconfigFile: k, namespaces: [x], omitNamespaces: [y]}]}", "namespaces and omitNamespaces are exclusive"},
		"bad name":       {"bridge: {grpc: 'b:1'}\nkubernetes: {accounts: [{name: 'Not_Valid', kubeconfigFile: k}]}", "is not valid"},
		"duplicate":      {"bridge: {grpc: 'b:1'}\nkubernetes: {accounts: [{name: a, kubeconfigFile: k}, {name: a, kubeconfigFile: k}]}", "listed twice"},
		"bad duration":   {"bridge: {grpc: 'b:1', reconnectMin: soon}\nkubernetes: {accounts: [{name: a, kubeconfigFile: k}]}", "is not a duration"},
		"missing name":   {"bridge: {grpc: 'b:1'}\nkubernetes: {accounts: [{kubeconfigFile: k}]}", "name \"\" is not valid"},
		"wrong type":     {"clouddriver: {grpc: 'b:1', keepAliveHeartbeatSeconds: often}\nkubernetes: {accounts: [{name: a, kubeconfigFile: k}]}", "parsing"},
		"bad port":       {"server: {port: 70000}\nbridge: {grpc: 'b:1'}\nkubernetes: {accounts: [{name: a, kubeconfigFile: k}]}", "server.port 70000"},
		"token command":  {"clouddriver: {grpc: 'b:1', auth: {tokenCommand: {args: [x]}}}\nkubernetes: {accounts: [{name: a, kubeconfigFile: k}]}", "tokenCommand.command is required"},
		"two ca files":   {"clouddriver: {grpc: 'b:1', tls: {caCertFile: /a, cacertFile: /b}}\nkubernetes: {accounts: [{name: a, kubeconfigFile: k}]}", "name different files"},
		"agent mode two": {"mode: agent\nbridge: {grpc: 'b:1'}\nkubernetes: {accounts: [{name: a}, {name: b}]}", "exactly one account"},
		"bad mode":       {"mode: cloud\nbridge: {grpc: 'b:1'}\nkubernetes: {accounts: []}", "is not one of"},
		"not yaml":       {"bridge: [", "parsing"},
		"infra no kc":    {"mode: infrastructure\nbridge: {grpc: 'b:1'}\nkubernetes: {accounts: [{name: a}]}", "needs a kubeconfigFile"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// FuzzParseConfig: any input gives a config or an error, never a panic, and
// a config that parses satisfies the invariants the agent relies on.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("bridge: {grpc: 'b:1'}\nkubernetes: {accounts: [{name: a, kubeconfigFile: k}]}"))
	f.Add([]byte("clouddriver: {grpc: 'b:9091', insecure: true}\nkubernetes: {accounts: [{name: one}]}\n"))
	f.Add([]byte("mode: agent\nbridge: {grpc: 'b:1', heartbeatInterval: 5s}\nbudget: {maxBatchEvents: 3}\nkubernetes: {accounts: [{name: a, kinds: [Pod]}]}"))
	f.Add([]byte(`{"bridge":{"grpc":"x:1"},"kubernetes":{"accounts":[{"name":"a","kubeconfigFile":"k","namespaces":["n"]}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		if c.BridgeSettings() == nil || c.BridgeSettings().GRPC == "" {
			t.Fatalf("accepted a config without a bridge address: %q", b)
		}
		if c.Budget.MaxBatchBytes <= 0 || c.Budget.MaxBatchBytes > c.Budget.MaxInFlightBytes || c.Budget.MaxBatchEvents <= 0 {
			t.Fatalf("accepted a bad budget %+v", c.Budget)
		}
		seen := map[string]bool{}
		for _, a := range c.Kubernetes.Accounts {
			if a.Name == "" || seen[a.Name] {
				t.Fatalf("accepted account names %q", b)
			}
			seen[a.Name] = true
			if len(a.Kinds) > 0 && len(a.OmitKinds) > 0 || len(a.Namespaces) > 0 && len(a.OmitNamespaces) > 0 {
				t.Fatalf("accepted exclusive settings together: %q", b)
			}
			if a.KubeconfigFile == "" && !a.ServiceAccount {
				t.Fatalf("accepted an account without a cluster: %q", b)
			}
		}
	})
}
