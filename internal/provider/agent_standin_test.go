package provider

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/bridgetest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
	"github.com/spinops/terraform-provider-spinops/internal/testenv/podstandin"
)

// testBridge is a real bridge (TLS, SQLite) run by the test in this
// process; the provider reaches its admin API like any other.
type testBridge struct {
	*bridge.Server
	Addr   string
	CAPEM  string
	Token  string
	admin  bridgev1.AdminServiceClient
	caPath string
	ca     *bridge.CA
}

func startTestBridge(t *testing.T, opts ...func(*bridge.Config)) *testBridge {
	t.Helper()
	short := func(c *bridge.Config) { c.GracePeriod, c.HeartbeatInterval = 2*time.Second, time.Second }
	b := bridgetest.Start(t, append([]func(*bridge.Config){short}, opts...)...)
	return &testBridge{Server: b.Server, Addr: b.Addr, CAPEM: b.CAPEM, Token: bridgetest.AdminToken, admin: b.Admin, caPath: b.CAFile, ca: b.CA}
}

func (b *testBridge) ctx() context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+b.Token)
}

// providerBlock configures the provider for the bridge and the
// "Spinnaker" cluster.
func (b *testBridge) providerBlock(spin *testenv.Cluster) string {
	return bridgeProviderBlock(spin.Kubeconfig, b.Addr, b.Token, b.CAPEM)
}

// bridgeProviderBlock is a provider block with a kubeconfig and a bridge.
func bridgeProviderBlock(kubeconfig, address, token, caPEM string) string {
	return fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %q
  }
  bridge {
    address = %q
    token   = %q
    tls {
      ca_certificate = %q
    }
  }
}
`, kubeconfig, address, token, caPEM)
}

// infraAgent stands in for an agent in infrastructure mode, deployed by the
// platform team on its own (not by the resource): one `spinops agent`
// process serving several clusters from kubeconfigs, each account's
// credential read from the Secret credential_secret wrote.
type infraAgent struct {
	t     *testing.T
	cmd   *exec.Cmd
	mu    sync.Mutex
	logMu sync.Mutex
	log   bytes.Buffer
}

type infraAccount struct {
	name       string
	kubeconfig string
}

func startInfraAgent(t *testing.T, secrets *testenv.Cluster, ns string, tb *testBridge, accounts ...infraAccount) *infraAgent {
	a := &infraAgent{t: t}
	bin := podstandin.SpinopsBinary(t)
	dir := t.TempDir()
	written := map[string]string{}
	step := func(ctx context.Context) {
		changed := false
		var list []any
		for _, acct := range accounts {
			sec, err := secrets.Clientset().CoreV1().Secrets(ns).Get(ctx, "spinops-agent-"+acct.name, metav1.GetOptions{})
			if err != nil {
				continue
			}
			cred := string(sec.Data[attach.SecretCredentialKey])
			f := filepath.Join(dir, acct.name+".credential")
			if written[acct.name] != cred {
				_ = os.WriteFile(f, []byte(cred), 0o600)
				written[acct.name] = cred
				changed = true
			}
			list = append(list, map[string]any{"name": acct.name, "kubeconfigFile": acct.kubeconfig, "credentialFile": f})
		}
		if !changed || len(list) == 0 {
			return
		}
		cfg := map[string]any{"mode": "infrastructure", "agentId": "infra-standin",
			"bridge":     map[string]any{"grpc": tb.Addr, "tls": map[string]any{"caCertFile": tb.caPath}},
			"kubernetes": map[string]any{"accounts": list},
			// No health listener: it would share the host's 8082
			// with every other stand-in (a pod has its own).
			"server": map[string]any{"port": -1}}
		out, _ := yaml.Marshal(cfg)
		p := filepath.Join(dir, "agent.yaml")
		_ = os.WriteFile(p+".tmp", out, 0o600)
		_ = os.Rename(p+".tmp", p)
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.cmd != nil {
			// A credential changed: restart, as a rollout would.
			_ = a.cmd.Process.Signal(syscall.SIGTERM)
			_ = a.cmd.Wait()
		}
		cmd := exec.Command(bin, "agent", "--config", p)
		cmd.Stdout, cmd.Stderr = &infraWriter{a}, &infraWriter{a}
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := testenv.StartCommand(cmd); err != nil {
			t.Errorf("infra stand-in: %v", err)
		}
		a.cmd = cmd
	}
	podstandin.RunStandIn(t, step, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.cmd != nil {
			_ = a.cmd.Process.Signal(syscall.SIGTERM)
			_ = a.cmd.Wait()
		}
		if t.Failed() {
			a.logMu.Lock()
			t.Logf("infrastructure agent stand-in log:\n%s", a.log.String())
			a.logMu.Unlock()
		}
	})
	return a
}

type infraWriter struct{ a *infraAgent }

func (w *infraWriter) Write(b []byte) (int, error) {
	w.a.logMu.Lock()
	defer w.a.logMu.Unlock()
	return w.a.log.Write(b)
}
