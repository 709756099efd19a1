package provider

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// bridgePod stands in for the pod of the Deployment spinops_bridge
// installs.
//
// TEST DOUBLE, named as such: no kubelet runs here. It does what the
// kubelet does for that pod spec and nothing more: it "mounts" every Secret
// volume of the pod template at a directory of its own (files with the
// volume's defaultMode, as the kubelet writes them), expands $(POD_NAME) and
// $(POD_IP) in the arguments from the env the spec declares, gives the
// process a token of the installed ServiceAccount instead of the in-cluster
// one (so it runs with exactly the RBAC the resource installed), and runs
// the real `spinops bridge` binary with the Deployment's arguments. Only the
// listen addresses are moved to loopback ports, the way a pod's ports are
// reached through its IP. It restarts the process when the pod template
// changes (a rollout) and stops it when the Deployment is deleted.
type bridgePod struct {
	t        *testing.T
	cluster  *testenv.Cluster
	ns, name string
	dir      string
	grpcPort int
	opsPort  int
	epPort   int
	mu       sync.Mutex
	cmd      *exec.Cmd
	template string
	starts   int
	logMu    sync.Mutex
	log      bytes.Buffer
}

func startBridgePod(t *testing.T, c *testenv.Cluster, ns, name string, grpcPort int) *bridgePod {
	t.Helper()
	ops, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ep, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	p := &bridgePod{t: t, cluster: c, ns: ns, name: name, dir: t.TempDir(), grpcPort: grpcPort, opsPort: ops, epPort: ep}
	bin := spinopsBinary(t)
	runStandIn(t, func(ctx context.Context) { p.step(ctx, bin) }, func() {
		p.kill()
		if t.Failed() {
			t.Logf("bridge stand-in %s/%s (%d starts) log:\n%s", ns, name, p.starts, p.tail())
		}
	})
	return p
}

func (p *bridgePod) Write(b []byte) (int, error) {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	return p.log.Write(b)
}

func (p *bridgePod) tail() string {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	s := p.log.String()
	if len(s) > 6000 {
		s = s[len(s)-6000:]
	}
	return s
}

func (p *bridgePod) kill() {
	p.mu.Lock()
	cmd := p.cmd
	p.cmd = nil
	p.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
}

// serving reports whether the bridge answers /readyz now: its readiness
// probe, which is what a kubelet marks the pod Ready on.
func (p *bridgePod) serving() bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", p.opsPort))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// ready waits for the bridge's /readyz.
func (p *bridgePod) ready(t *testing.T) {
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

func (p *bridgePod) step(ctx context.Context, bin string) {
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
	p.mu.Lock()
	running := p.cmd != nil
	p.mu.Unlock()
	if tmpl == p.template && running {
		return
	}
	spec := d.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		p.t.Errorf("bridge stand-in: the pod has %d containers, want 1", len(spec.Containers))
		return
	}
	ctr := spec.Containers[0]
	// Mount the Secret volumes.
	mounts := map[string]string{}
	for _, v := range spec.Volumes {
		if v.Secret == nil {
			continue
		}
		sec, err := cs.CoreV1().Secrets(p.ns).Get(ctx, v.Secret.SecretName, metav1.GetOptions{})
		if err != nil {
			return // the kubelet waits for the Secret too
		}
		mode := os.FileMode(0o644)
		if v.Secret.DefaultMode != nil {
			mode = os.FileMode(*v.Secret.DefaultMode)
		}
		dir := filepath.Join(p.dir, "volumes", v.Name)
		_ = os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			p.t.Errorf("bridge stand-in: %v", err)
			return
		}
		for k, val := range sec.Data {
			f := filepath.Join(dir, k)
			if err := os.WriteFile(f, val, mode); err != nil {
				p.t.Errorf("bridge stand-in: %v", err)
				return
			}
			if err := os.Chmod(f, mode); err != nil { // WriteFile's mode is masked by the umask
				p.t.Errorf("bridge stand-in: %v", err)
				return
			}
		}
		mounts[v.Name] = dir
	}
	pathOf := map[string]string{}
	for _, m := range ctr.VolumeMounts {
		if dir, ok := mounts[m.Name]; ok {
			pathOf[m.MountPath] = dir
		} else {
			pathOf[m.MountPath] = filepath.Join(p.dir, "volumes", m.Name) // an emptyDir or a claim
			_ = os.MkdirAll(pathOf[m.MountPath], 0o700)
		}
	}
	env := map[string]string{"POD_NAME": p.name + "-standin", "POD_IP": "127.0.0.1"}
	for _, e := range ctr.Env {
		if e.Value != "" {
			env[e.Name] = e.Value
		}
	}
	listen := map[string]string{
		"--grpc-addr":     "127.0.0.1:" + strconv.Itoa(p.grpcPort),
		"--ops-addr":      "127.0.0.1:" + strconv.Itoa(p.opsPort),
		"--endpoint-addr": "127.0.0.1:" + strconv.Itoa(p.epPort),
	}
	var args []string
	for i := 0; i < len(ctr.Args); i++ {
		a := ctr.Args[i]
		if addr, ok := listen[a]; ok && i+1 < len(ctr.Args) {
			args = append(args, a, addr)
			i++
			continue
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
	for _, a := range args {
		if a == "--spinnaker-namespace" {
			args = append(args, "--spinnaker-kubeconfig", writeTokenKubeconfig(p.t, p.cluster, tr.Status.Token))
			break
		}
	}
	p.kill()
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	cmd.Stdout, cmd.Stderr = p, p
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := testenv.StartCommand(cmd); err != nil {
		p.t.Errorf("bridge stand-in: starting the bridge: %v", err)
		return
	}
	p.mu.Lock()
	p.cmd, p.template = cmd, tmpl
	p.starts++
	p.mu.Unlock()
}
