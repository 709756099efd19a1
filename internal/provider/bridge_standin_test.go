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
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// deploymentPod stands in for the one pod of a Deployment a spinops
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
type deploymentPod struct {
	t        *testing.T
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

// bridgePod is the bridge's pod: gRPC on the port agents dial.
type bridgePod struct {
	*deploymentPod
	opsPort int
}

func startBridgePod(t *testing.T, c *testenv.Cluster, ns, name string, grpcPort int) *bridgePod {
	t.Helper()
	ops, ep := freePort(t), freePort(t)
	p := startDeploymentPod(t, c, ns, name, map[string]int{"--grpc-addr": grpcPort, "--ops-addr": ops, "--endpoint-addr": ep},
		"--spinnaker-kubeconfig", "--spinnaker-namespace")
	return &bridgePod{deploymentPod: p, opsPort: ops}
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func startDeploymentPod(t *testing.T, c *testenv.Cluster, ns, name string, listen map[string]int, identityFlag, identityWhen string) *deploymentPod {
	t.Helper()
	p := &deploymentPod{t: t, cluster: c, ns: ns, name: name, dir: t.TempDir(), listen: listen, identityFlag: identityFlag, identityWhen: identityWhen}
	bin := spinopsBinary(t)
	runStandIn(t, func(ctx context.Context) { p.step(ctx, bin) }, func() {
		p.kill()
		if t.Failed() {
			t.Logf("pod stand-in of Deployment %s/%s (%d starts) log:\n%s", ns, name, p.starts, p.tail())
		}
	})
	return p
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

func (p *deploymentPod) step(ctx context.Context, bin string) {
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
		args = append(args, p.identityFlag, writeTokenKubeconfig(p.t, p.cluster, tr.Status.Token))
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
