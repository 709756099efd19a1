package bridge_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

var (
	configMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	secrets     = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

// TestEndToEnd: two real API servers as two clusters, one agent in
// infrastructure mode serving both; objects created, changed and deleted in
// the clusters reach the bridge's cache, and kubectl through the per-account
// endpoint gets, applies and deletes.
func TestEndToEnd(t *testing.T) {
	east := testenv.SharedCluster(t)
	west := testenv.StartCluster(t)
	ctx := context.Background()
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	credEast := tb.register(t, &bridgev1.AccountSpec{Name: "east", OmitKinds: []string{"events"}})
	credWest := tb.register(t, &bridgev1.AccountSpec{Name: "west", Kinds: []string{"ConfigMap", "deployments.apps", "Secret", "Namespace", "ServiceAccount"}, Permissions: &bridgev1.Permissions{Write: []string{"ops"}}})

	cfgPath := filepath.Join(t.TempDir(), "agent.yaml")
	tb.agentConfig("infra-agent",
		agentAccount{Name: "east", KubeconfigFile: east.Kubeconfig, Credential: credEast, Kinds: []string{"ConfigMap", "Deployment", "Secret", "Namespace"}},
		agentAccount{Name: "west", KubeconfigFile: west.Kubeconfig, Credential: credWest, Kinds: []string{"ConfigMap", "Deployment", "Secret", "Namespace", "ServiceAccount"}, Permissions: &agentPermissions{Write: []string{"ops"}}},
	).write(t, cfgPath)
	startAgent(t, cfgPath)
	tb.waitSynced(t, "east")
	tb.waitSynced(t, "west")

	for _, c := range []struct {
		account string
		cluster *testenv.Cluster
	}{{"east", east}, {"west", west}} {
		ns := c.cluster.Namespace(t)
		cs := c.cluster.Clientset()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns, Labels: map[string]string{"tier": "web"}}, Data: map[string]string{"v": "1"}}
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, c.account+": configmap in the cache", func() bool {
			return bytes.Contains(tb.cached(c.account, configMaps, ns, "app"), []byte(`"v":"1"`))
		})
		cm.Data["v"] = "2"
		if _, err := cs.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, c.account+": changed configmap in the cache", func() bool {
			return bytes.Contains(tb.cached(c.account, configMaps, ns, "app"), []byte(`"v":"2"`))
		})
		if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, "app", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, c.account+": deleted configmap gone from the cache", func() bool {
			return tb.cached(c.account, configMaps, ns, "app") == nil
		})
	}

	acct := tb.account(t, "west")
	st := acct.GetStatus()
	if !st.GetConnected() || st.GetAgentId() != "infra-agent" || st.GetKubernetesVersion() != testenv.KubernetesVersion ||
		!strings.HasPrefix(st.GetApiServerHost(), "https://127.0.0.1:") || st.GetCaFingerprint() == "" || st.GetObjectCounts()["namespaces"] == 0 {
		t.Fatalf("west status: %+v", st)
	}

	t.Run("kubectl", func(t *testing.T) {
		kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "west"})
		if err != nil {
			t.Fatal(err)
		}
		kcPath := filepath.Join(t.TempDir(), "kubeconfig")
		writeFile(t, kcPath, []byte(kc.GetKubeconfig()))
		ns := west.Namespace(t)
		manifest := []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ` + ns + `
  labels: {app: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx:1.27}]}
`)
		out, err := kubectl(t, kcPath, manifest, "apply", "-f", "-")
		if err != nil || !strings.Contains(out, "deployment.apps/web created") {
			t.Fatalf("apply: %v\n%s", err, out)
		}
		// The cache answers once the watch delivered it.
		waitFor(t, 10*time.Second, "deployment in the cache", func() bool { return tb.cached("west", deployments, ns, "web") != nil })
		out, err = kubectl(t, kcPath, nil, "get", "deployments", "-n", ns, "-l", "app=web")
		if err != nil || !strings.Contains(out, "web") {
			t.Fatalf("get: %v\n%s", err, out)
		}
		out, err = kubectl(t, kcPath, nil, "get", "deployment", "web", "-n", ns, "-o", "jsonpath={.spec.replicas}")
		if err != nil || out != "1" {
			t.Fatalf("get -o jsonpath: %v\n%q", err, out)
		}
		// Apply a change (3-way merge against what get returns), then delete.
		out, err = kubectl(t, kcPath, bytes.Replace(manifest, []byte("replicas: 1"), []byte("replicas: 2"), 1), "apply", "-f", "-")
		if err != nil || !strings.Contains(out, "configured") {
			t.Fatalf("apply (change): %v\n%s", err, out)
		}
		waitFor(t, 10*time.Second, "changed deployment in the cache", func() bool {
			return bytes.Contains(tb.cached("west", deployments, ns, "web"), []byte(`"replicas":2`))
		})
		out, err = kubectl(t, kcPath, nil, "delete", "deployment", "web", "-n", ns, "--timeout=30s")
		if err != nil || !strings.Contains(out, "deleted") {
			t.Fatalf("delete: %v\n%s", err, out)
		}
		if _, err := west.Clientset().AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); err == nil {
			t.Fatal("the deployment still exists in the cluster")
		}
		// What the cache cannot answer (a field selector it does not index,
		// the legacy /watch/ path) is forwarded to the API server, watches
		// too (streamed through the agent as they happen). Kinds outside the
		// account's kinds are refused, so ServiceAccount is among them.
		out, err = kubectl(t, kcPath, nil, "get", "serviceaccounts", "-n", "default", "--field-selector", "metadata.name!=x")
		if err != nil {
			t.Fatalf("get serviceaccounts (forwarded): %v\n%s", err, out)
		}
		events := make(chan string, 4)
		go func() {
			defer close(events)
			body := endpointStream(t, tb, kc, "/api/v1/watch/namespaces/"+ns+"/serviceaccounts?timeoutSeconds=20")
			if body == nil {
				return
			}
			defer body.Close()
			sc := bufio.NewScanner(body)
			for sc.Scan() {
				events <- sc.Text()
			}
		}()
		time.Sleep(300 * time.Millisecond)
		if _, err := west.Clientset().CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "watched"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-events:
			if !strings.Contains(ev, `"type":"ADDED"`) || !strings.Contains(ev, `"name":"watched"`) {
				t.Fatalf("forwarded watch event: %s", ev)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("no event on a forwarded watch")
		}
	})
	_ = os.Remove
}
