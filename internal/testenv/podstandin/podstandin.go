// Package podstandin stands in for the kubelet for the pods of the spinops
// binary that spinops resources install (the bridge's, the monitor's, an
// agent's): no kubelet runs beside the local API servers of the tests, so
// each stand-in reads what the resource installed (the Deployment, its
// Secrets and ConfigMaps, its ServiceAccount) and runs the real `spinops`
// binary from it. TEST DOUBLES, named as such; used by the provider's
// acceptance tests and by internal/modtest.
package podstandin

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func freePort(t testing.TB) int {
	t.Helper()
	p, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// DeploymentPod stands in for the one pod of a Deployment a spinops
// resource installs (spinops_bridge's, spinops_monitor's) and that runs
// the spinops binary.
//
// TEST DOUBLE, named as such: no kubelet runs here. It does what the
// kubelet does for that pod spec and nothing more: it "mounts" every Secret
// and ConfigMap volume of the pod template at a directory of its own (files
// with the volume's defaultMode, as the kubelet writes them), expands
// $(POD_NAME) and $(POD_IP) in the arguments from the env the spec
// declares, gives the process a token of the installed ServiceAccount
// instead of the in-cluster one (so it runs with exactly the RBAC the
// resource installed), and runs the real binary with the Deployment's
// arguments. Only the listen addresses are moved to loopback ports, the way
// a pod's ports are reached through its IP, and the mount paths (in the
// arguments and in mounted configuration files) to the stand-in's
// directories. It restarts the process when
// the pod template changes (a rollout) and stops it when the Deployment is
// deleted.
type DeploymentPod struct {
	t        testing.TB
	cluster  *testenv.Cluster
	ns, name string
	dir      string
	// listen maps a listen-address flag to the loopback port it gets.
	listen map[string]int
	// identityFlag takes the kubeconfig of the ServiceAccount's token;
	// identityWhen, when set, is a flag that must be present for it.
	identityFlag, identityWhen string
	podProcess
	template string
	starts   int
}

// BridgePod is the bridge's pod: gRPC on the port agents dial.
type BridgePod struct {
	*DeploymentPod
	opsPort int
}

// StartBridgePod runs the stand-in of Deployment ns/name's bridge pod, its
// gRPC listener on the loopback port grpcPort.
func StartBridgePod(t testing.TB, c *testenv.Cluster, ns, name string, grpcPort int) *BridgePod {
	t.Helper()
	ops, ep := freePort(t), freePort(t)
	p := StartDeploymentPod(t, c, ns, name, map[string]int{"--grpc-addr": grpcPort, "--ops-addr": ops, "--endpoint-addr": ep},
		"--spinnaker-kubeconfig", "--spinnaker-namespace")
	return &BridgePod{DeploymentPod: p, opsPort: ops}
}

// StartDeploymentPod runs the stand-in of Deployment ns/name's pod until
// the test ends: each listen-address flag gets its loopback port, and
// identityFlag (when identityWhen is "" or among the arguments) the
// kubeconfig of the pod's ServiceAccount.
func StartDeploymentPod(t testing.TB, c *testenv.Cluster, ns, name string, listen map[string]int, identityFlag, identityWhen string) *DeploymentPod {
	t.Helper()
	p := &DeploymentPod{t: t, cluster: c, ns: ns, name: name, dir: t.TempDir(), listen: listen, identityFlag: identityFlag, identityWhen: identityWhen}
	bin := SpinopsBinary(t)
	RunStandIn(t, func(ctx context.Context) { p.step(ctx, bin) }, func() {
		p.kill()
		if t.Failed() {
			t.Logf("pod stand-in of Deployment %s/%s (%d starts) log:\n%s", ns, name, p.starts, p.tail())
		}
	})
	return p
}

// Serving reports whether the bridge answers /readyz now: its readiness
// probe, which is what a kubelet marks the pod Ready on.
func (p *BridgePod) Serving() bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", p.opsPort))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Ready waits for the bridge's /readyz.
func (p *BridgePod) Ready(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", p.opsPort))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the bridge stand-in never became ready; log:\n%s", p.tail())
}

func (p *DeploymentPod) step(ctx context.Context, bin string) {
	cs := p.cluster.Clientset()
	d, err := cs.AppsV1().Deployments(p.ns).Get(ctx, p.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		p.kill()
		p.template = ""
		return
	}
	if err != nil {
		return
	}
	tmpl := d.Spec.Template.String()
	if running, backingOff := p.state(); tmpl == p.template && (running || backingOff) {
		return
	}
	spec := d.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		p.t.Errorf("pod stand-in: the pod has %d containers, want 1", len(spec.Containers))
		return
	}
	ctr := spec.Containers[0]
	// Where each mount path is "mounted": a directory of the stand-in per
	// volume.
	pathOf := map[string]string{}
	for _, m := range ctr.VolumeMounts {
		pathOf[m.MountPath] = filepath.Join(p.dir, "volumes", m.Name)
	}
	// relocate rewrites the pod's mount paths in a configuration file to
	// the stand-in's directories: a file a program reads at a mount path
	// (the monitor's config names its secret files) must find it there.
	relocate := func(b []byte) []byte {
		for mp, dir := range pathOf {
			b = bytes.ReplaceAll(b, []byte(mp+"/"), []byte(dir+"/"))
		}
		return b
	}
	for _, v := range spec.Volumes {
		var data map[string][]byte
		var defaultMode *int32
		switch {
		case v.Secret != nil:
			sec, err := cs.CoreV1().Secrets(p.ns).Get(ctx, v.Secret.SecretName, metav1.GetOptions{})
			if err != nil {
				return // the kubelet waits for the Secret too
			}
			data, defaultMode = sec.Data, v.Secret.DefaultMode
		case v.ConfigMap != nil:
			cm, err := cs.CoreV1().ConfigMaps(p.ns).Get(ctx, v.ConfigMap.Name, metav1.GetOptions{})
			if err != nil {
				return
			}
			data, defaultMode = map[string][]byte{}, v.ConfigMap.DefaultMode
			for k, val := range cm.Data {
				data[k] = relocate([]byte(val))
			}
		default:
			continue
		}
		mode := os.FileMode(0o644)
		if defaultMode != nil {
			mode = os.FileMode(*defaultMode)
		}
		dir := filepath.Join(p.dir, "volumes", v.Name)
		_ = os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			p.t.Errorf("pod stand-in: %v", err)
			return
		}
		for k, val := range data {
			f := filepath.Join(dir, k)
			if err := os.WriteFile(f, val, mode); err != nil {
				p.t.Errorf("pod stand-in: %v", err)
				return
			}
			if err := os.Chmod(f, mode); err != nil { // WriteFile's mode is masked by the umask
				p.t.Errorf("pod stand-in: %v", err)
				return
			}
		}
	}
	for _, dir := range pathOf {
		_ = os.MkdirAll(dir, 0o700) // an emptyDir or a claim
	}
	env := map[string]string{"POD_NAME": p.name + "-standin", "POD_IP": "127.0.0.1"}
	for _, e := range ctr.Env {
		if e.Value != "" {
			env[e.Name] = e.Value
		}
	}
	var args []string
	for i := 0; i < len(ctr.Args); i++ {
		a := ctr.Args[i]
		if port, ok := p.listen[a]; ok && i+1 < len(ctr.Args) {
			args = append(args, a, "127.0.0.1:"+strconv.Itoa(port))
			i++
			continue
		}
		if flag, _, ok := strings.Cut(a, "="); ok {
			if port, ok := p.listen[flag]; ok {
				args = append(args, flag+"=127.0.0.1:"+strconv.Itoa(port))
				continue
			}
		}
		for mp, dir := range pathOf {
			if strings.HasPrefix(a, mp+"/") {
				a = dir + strings.TrimPrefix(a, mp)
			}
		}
		for k, v := range env {
			a = strings.ReplaceAll(a, "$("+k+")", v)
		}
		args = append(args, a)
	}
	// The in-cluster identity: a token of the installed ServiceAccount.
	tr, err := cs.CoreV1().ServiceAccounts(p.ns).CreateToken(ctx, spec.ServiceAccountName,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptrInt64(3600)}}, metav1.CreateOptions{})
	if err != nil {
		return
	}
	needIdentity := p.identityWhen == ""
	for _, a := range args {
		if a == p.identityWhen {
			needIdentity = true
		}
	}
	if needIdentity && p.identityFlag != "" {
		args = append(args, p.identityFlag, WriteTokenKubeconfig(p.t, p.cluster, tr.Status.Token))
	}
	if tmpl != p.template {
		p.newPod() // a rollout
	}
	p.kill()
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	cmd.Stdout, cmd.Stderr = p, p
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.start(cmd); err != nil {
		p.t.Errorf("pod stand-in: starting the process: %v", err)
		return
	}
	p.mu.Lock()
	p.template = tmpl
	p.starts++
	p.mu.Unlock()
}

var (
	spinopsBinOnce sync.Once
	spinopsBin     string
	spinopsBinErr  error
)

// EnvSpinopsBinary names a cmd/spinops binary built from this tree for
// SpinopsBinary to use instead of building its own (make test links it once
// for every test process that runs one; a path that does not exist is
// ignored).
const EnvSpinopsBinary = "SPINOPS_TEST_SPINOPS_BINARY"

// SpinopsBinary builds cmd/spinops once per test binary (or takes the one
// EnvSpinopsBinary names): the stand-in runs the real agent process.
func SpinopsBinary(t testing.TB) string {
	t.Helper()
	spinopsBinOnce.Do(func() {
		if spinopsBin = prebuiltSpinops(); spinopsBin != "" {
			return
		}
		dir, err := os.MkdirTemp("", "spinops-bin-")
		if err != nil {
			spinopsBinErr = err
			return
		}
		testenv.AtExit(func() { _ = os.RemoveAll(dir) }) // about 130 MB a test binary
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

// prebuiltSpinops is the binary EnvSpinopsBinary names when it is a
// regular file, else "".
func prebuiltSpinops() string {
	p := os.Getenv(EnvSpinopsBinary)
	if p == "" {
		return ""
	}
	if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
		return ""
	}
	return p
}

// WriteTokenKubeconfig writes a kubeconfig for c that authenticates with
// token.
func WriteTokenKubeconfig(t testing.TB, c *testenv.Cluster, token string) string {
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

// AgentPod stands in for the agent pod of an install_agent Deployment.
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
type AgentPod struct {
	t        testing.TB
	cluster  *testenv.Cluster
	ns, name string
	dir      string
	podProcess
	cred   string
	config string
	starts int
	// healthPort is this stand-in's agent health port (server.port).
	healthPort int
	opts       AgentOptions
	// Paused stops the process and keeps it stopped (the pod gone, its
	// objects left in place), until cleared.
	Paused atomic.Bool
}

// AgentOptions is what the cluster gives an agent's pod beyond its
// objects.
type AgentOptions struct {
	// Services stands in for the cluster's DNS and Services: an address an
	// agent is installed to dial (its Secret's bridge address, such as the
	// bridge's in-cluster Service name:port) → the loopback address that
	// serves it. The agent dials the loopback address and still verifies
	// the bridge's certificate for the installed address's host (the
	// agent config's bridge.tls.serverName), as it would in the cluster.
	Services map[string]string
}

// StartAgentPod runs the stand-in of the agent pod of account's
// install_agent Deployment in ns until the test ends.
func StartAgentPod(t testing.TB, c *testenv.Cluster, ns, account string) *AgentPod {
	return StartAgentPodWith(t, c, ns, account, AgentOptions{})
}

// StartAgentPodWith is StartAgentPod with opts.
func StartAgentPodWith(t testing.TB, c *testenv.Cluster, ns, account string, opts AgentOptions) *AgentPod {
	p := &AgentPod{t: t, cluster: c, ns: ns, name: "spinops-agent-" + account, dir: t.TempDir(), opts: opts}
	bin := SpinopsBinary(t)
	RunStandIn(t, func(ctx context.Context) { p.step(ctx, bin) }, func() {
		p.kill()
		if t.Failed() {
			t.Logf("agent stand-in %s/%s (%d starts) log:\n%s", ns, p.name, p.starts, p.tail())
		}
	})
	return p
}

// RunStandIn runs a pod stand-in's step every 300 ms, as a kubelet's sync
// loop would, until the test ends; then stop runs (it kills the process).
func RunStandIn(t testing.TB, step func(ctx context.Context), stop func()) {
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
//
// Like a kubelet with the restartPolicy Always that a Deployment's pods
// have, it starts the process again when it exits on its own, after the
// kubelet's crash-loop back-off: 10 s, doubled after every exit up to five
// minutes, and back to 10 s once the process has run for ten minutes
// (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#restart-policy;
// kubelet's backOffPeriod and MaxContainerBackOff). Before, a process that
// exited stayed "running" for the stand-in and was never started again.
type podProcess struct {
	logMu sync.Mutex
	log   bytes.Buffer
	mu    sync.Mutex
	cmd   *exec.Cmd
	// exited is closed when cmd has exited (its Wait returned).
	exited chan struct{}
	// startedAt is when cmd started; backoff is the wait before the next
	// start after an exit of its own, and restartAt when that ends.
	startedAt time.Time
	backoff   time.Duration
	restartAt time.Time
}

const (
	crashBackOffInitial = 10 * time.Second
	crashBackOffMax     = 5 * time.Minute
	crashBackOffReset   = 10 * time.Minute
)

// start starts cmd (from the spawner thread) as the pod's process.
func (p *podProcess) start(cmd *exec.Cmd) error {
	if err := testenv.StartCommand(cmd); err != nil {
		return err
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited, p.startedAt = cmd, exited, time.Now()
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		if p.cmd == cmd { // exited on its own, not killed
			_, _ = fmt.Fprintf(p, "[pod stand-in] the process exited (%v); restarting it in %s, as the kubelet would\n", err, p.nextBackoff())
		}
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

// newPod forgets the back-off: the next process is a new pod's (a rollout),
// whose restarts the kubelet counts from the start.
func (p *podProcess) newPod() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backoff, p.restartAt = 0, time.Time{}
}

// nextBackoff sets when an exited process may start again; p.mu is held.
func (p *podProcess) nextBackoff() time.Duration {
	switch {
	case p.backoff == 0 || time.Since(p.startedAt) >= crashBackOffReset:
		p.backoff = crashBackOffInitial
	default:
		p.backoff = min(2*p.backoff, crashBackOffMax)
	}
	p.restartAt = time.Now().Add(p.backoff)
	return p.backoff
}

// state reports whether the process is up, and whether it exited on its
// own and its back-off has not ended yet (the stand-in then leaves it down).
func (p *podProcess) state() (running, backingOff bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false, false
	}
	select {
	case <-p.exited:
		return false, time.Now().Before(p.restartAt)
	default:
		return true, false
	}
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
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}
}

func (p *AgentPod) step(ctx context.Context, bin string) {
	if p.Paused.Load() {
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
	running, backingOff := p.state()
	if cred == p.cred && config == p.config && (running || backingOff) {
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
	kc := WriteTokenKubeconfig(p.t, p.cluster, tr.Status.Token)
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
	// The cluster's DNS and Service: the installed address is dialled at
	// the loopback address serving it, verified for the installed host.
	addr := string(sec.Data[attach.SecretAddressKey])
	if local, ok := p.opts.Services[addr]; ok {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			p.t.Errorf("stand-in: the installed bridge address %q: %v", addr, err)
			return
		}
		br, _ := parsed["bridge"].(map[string]any)
		if br == nil {
			br = map[string]any{}
		}
		tlsCfg, _ := br["tls"].(map[string]any)
		if tlsCfg == nil {
			tlsCfg = map[string]any{}
		}
		tlsCfg["serverName"] = host
		br["tls"], parsed["bridge"] = tlsCfg, br
		addr = local
	}
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
	if restart {
		p.newPod() // the credential's checksum rolls the Deployment
	}
	p.kill()
	cmd := exec.Command(bin, "agent", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "SPINOPS_BRIDGE_ADDRESS="+addr)
	cmd.Stdout, cmd.Stderr = &p.podProcess, &p.podProcess
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.start(cmd); err != nil {
		p.t.Errorf("stand-in: starting the agent: %v", err)
		return
	}
	p.mu.Lock()
	p.starts++
	p.mu.Unlock()
}

func ptrInt64(v int64) *int64 { return &v }
