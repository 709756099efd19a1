package provider

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/bridgetest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
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

var (
	spinopsBinOnce sync.Once
	spinopsBin     string
	spinopsBinErr  error
)

// spinopsBinary builds cmd/spinops once per test binary: the stand-in runs
// the real agent process.
func spinopsBinary(t *testing.T) string {
	t.Helper()
	spinopsBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "spinops-bin-")
		if err != nil {
			spinopsBinErr = err
			return
		}
		spinopsBin = filepath.Join(dir, "spinops")
		out, err := exec.Command("go", "build", "-o", spinopsBin, "github.com/spinops/terraform-provider-spinops/cmd/spinops").CombinedOutput()
		if err != nil {
			spinopsBinErr = fmt.Errorf("building cmd/spinops: %v\n%s", err, out)
		}
	})
	if spinopsBinErr != nil {
		t.Fatal(spinopsBinErr)
	}
	return spinopsBin
}

// writeTokenKubeconfig writes a kubeconfig for c that authenticates with
// token.
func writeTokenKubeconfig(t *testing.T, c *testenv.Cluster, token string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthorityData: []byte(c.CAPEM)}
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	cfg.CurrentContext = "c"
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// agentPod stands in for the agent pod of an install_agent Deployment.
//
// TEST DOUBLE, named as such: no kubelet runs here, so the Deployment that
// spinops_agent_account installs cannot start a pod. This does what the
// kubelet would: it waits for the Deployment, "mounts" its ConfigMap and
// Secret (files in a temp dir), sets SPINOPS_BRIDGE_ADDRESS from the Secret,
// gives the process a token of the installed ServiceAccount (TokenRequest, so
// the agent runs with exactly the RBAC the resource installed), and runs the
// real `spinops agent` binary. Like a rollout, it restarts the process when
// the credential changes; like a projected ConfigMap, it rewrites the config
// file when the ConfigMap changes; it stops the process when the Deployment
// is deleted.
type agentPod struct {
	t        *testing.T
	cluster  *testenv.Cluster
	ns, name string
	dir      string
	podProcess
	cred   string
	config string
	starts int
	// healthPort is this stand-in's agent health port (server.port).
	healthPort int
	// paused stops the process and keeps it stopped (the pod gone, its
	// objects left in place), until cleared.
	paused atomic.Bool
}

func startAgentPod(t *testing.T, c *testenv.Cluster, ns, account string) *agentPod {
	p := &agentPod{t: t, cluster: c, ns: ns, name: "spinops-agent-" + account, dir: t.TempDir()}
	bin := spinopsBinary(t)
	runStandIn(t, func(ctx context.Context) { p.step(ctx, bin) }, func() {
		p.kill()
		if t.Failed() {
			t.Logf("agent stand-in %s/%s (%d starts) log:\n%s", ns, p.name, p.starts, p.tail())
		}
	})
	return p
}

// runStandIn runs a pod stand-in's step every 300 ms, as a kubelet's sync
// loop would, until the test ends; then stop runs (it kills the process).
func runStandIn(t *testing.T, step func(ctx context.Context), stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			step(ctx)
			select {
			case <-ctx.Done():
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		stop()
	})
}

// podProcess is the process a pod stand-in runs, and its log.
type podProcess struct {
	logMu sync.Mutex
	log   bytes.Buffer
	mu    sync.Mutex
	cmd   *exec.Cmd
}

func (p *podProcess) Write(b []byte) (int, error) {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	return p.log.Write(b)
}

// tail is the end of the process's log.
func (p *podProcess) tail() string {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	s := p.log.String()
	if len(s) > 6000 {
		s = s[len(s)-6000:]
	}
	return s
}

// kill stops the process, as a pod's deletion does.
func (p *podProcess) kill() {
	p.mu.Lock()
	cmd := p.cmd
	p.cmd = nil
	p.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
}

func (p *agentPod) step(ctx context.Context, bin string) {
	if p.paused.Load() {
		p.kill()
		p.cred, p.config = "", ""
		return
	}
	cs := p.cluster.Clientset()
	if _, err := cs.AppsV1().Deployments(p.ns).Get(ctx, p.name, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			p.kill() // the Deployment is gone: so is its pod
		}
		return
	}
	sec, err := cs.CoreV1().Secrets(p.ns).Get(ctx, p.name, metav1.GetOptions{})
	if err != nil {
		return
	}
	cm, err := cs.CoreV1().ConfigMaps(p.ns).Get(ctx, p.name, metav1.GetOptions{})
	if err != nil {
		return
	}
	// "Mount" the volumes at the stand-in's paths.
	config := cm.Data[attach.ConfigKey]
	config = strings.ReplaceAll(config, attach.SecretMountPath+"/", p.dir+"/secret/")
	cred := string(sec.Data[attach.SecretCredentialKey])
	p.mu.Lock()
	running := p.cmd != nil
	p.mu.Unlock()
	if cred == p.cred && config == p.config && running {
		return
	}
	_ = os.MkdirAll(filepath.Join(p.dir, "secret"), 0o700)
	for k, v := range sec.Data {
		if err := os.WriteFile(filepath.Join(p.dir, "secret", k), v, 0o600); err != nil {
			p.t.Errorf("stand-in: %v", err)
			return
		}
	}
	// In-cluster service account → a kubeconfig with a token of the
	// installed ServiceAccount.
	tr, err := cs.CoreV1().ServiceAccounts(p.ns).CreateToken(ctx, p.name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptrInt64(3600)}}, metav1.CreateOptions{})
	if err != nil {
		return
	}
	kc := writeTokenKubeconfig(p.t, p.cluster, tr.Status.Token)
	var parsed map[string]any
	if err := yaml.Unmarshal([]byte(config), &parsed); err != nil {
		p.t.Errorf("stand-in: the installed agent config is not YAML: %v", err)
		return
	}
	for _, a := range parsed["kubernetes"].(map[string]any)["accounts"].([]any) {
		acct := a.(map[string]any)
		if acct["serviceAccount"] == true {
			delete(acct, "serviceAccount")
			acct["kubeconfigFile"] = kc
		}
	}
	// A pod has its own network namespace, so its health port (8082)
	// never collides with another pod's; here every agent shares the
	// host's, so each stand-in gets a port of its own.
	if p.healthPort == 0 {
		if p.healthPort, err = testenv.FreePort(); err != nil {
			p.t.Errorf("stand-in: %v", err)
			return
		}
	}
	server, _ := parsed["server"].(map[string]any)
	if server == nil {
		server = map[string]any{}
	}
	server["port"] = p.healthPort
	parsed["server"] = server
	out, _ := yaml.Marshal(parsed)
	cfgPath := filepath.Join(p.dir, "agent.yaml")
	if err := os.WriteFile(cfgPath+".tmp", out, 0o600); err != nil {
		p.t.Errorf("stand-in: %v", err)
		return
	}
	if err := os.Rename(cfgPath+".tmp", cfgPath); err != nil {
		p.t.Errorf("stand-in: %v", err)
		return
	}
	restart := cred != p.cred
	p.cred, p.config = cred, config
	if !restart && running {
		return // the agent reloads its config file itself
	}
	p.kill()
	cmd := exec.Command(bin, "agent", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "SPINOPS_BRIDGE_ADDRESS="+string(sec.Data[attach.SecretAddressKey]))
	cmd.Stdout, cmd.Stderr = &p.podProcess, &p.podProcess
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := testenv.StartCommand(cmd); err != nil {
		p.t.Errorf("stand-in: starting the agent: %v", err)
		return
	}
	p.mu.Lock()
	p.cmd = cmd
	p.starts++
	p.mu.Unlock()
}

func ptrInt64(v int64) *int64 { return &v }

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
	bin := spinopsBinary(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		written := map[string]string{}
		for ctx.Err() == nil {
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
			if changed && len(list) > 0 {
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
				a.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		a.mu.Lock()
		if a.cmd != nil {
			_ = a.cmd.Process.Signal(syscall.SIGTERM)
			_ = a.cmd.Wait()
		}
		if t.Failed() {
			a.logMu.Lock()
			t.Logf("infrastructure agent stand-in log:\n%s", a.log.String())
			a.logMu.Unlock()
		}
		a.mu.Unlock()
	})
	return a
}

type infraWriter struct{ a *infraAgent }

func (w *infraWriter) Write(b []byte) (int, error) {
	w.a.logMu.Lock()
	defer w.a.logMu.Unlock()
	return w.a.log.Write(b)
}
