package bridge_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestReplicasShareAccounts: two bridge replicas on one MariaDB. An agent
// connected to replica B is seen, with its status, through replica A; reads
// and writes of its endpoint through A are forwarded to B; a second agent
// dialing A for the same account is refused; registrations and
// deregistrations made through one replica reach the other; when B goes
// away the agent's account moves to A.
func TestReplicasShareAccounts(t *testing.T) {
	c := testenv.SharedCluster(t)
	m := testenv.SharedMariaDB(t)
	dsn := m.DSN(m.Database(t))
	ctx := context.Background()
	p := newPKI(t)
	replica := func(id string) bridgeOption {
		return func(cfg *bridge.Config) {
			st, err := store.OpenMySQL(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			cfg.Store, cfg.BridgeID, cfg.PeerURL = st, id, peerURLIsEndpoint
			cfg.HeartbeatInterval, cfg.HoldTTL, cfg.SyncInterval = 300*time.Millisecond, 1500*time.Millisecond, 100*time.Millisecond
		}
	}
	// Replicas of one installation share the key file: a credential
	// derived by one must verify at the other.
	keys := newKeyRing(t)
	a := startBridgeWithKeys(t, p, keys, filepath.Join(t.TempDir(), "unused-a.db"), replica("replica-a"))
	b := startBridgeWithKeys(t, p, keys, filepath.Join(t.TempDir(), "unused-b.db"), replica("replica-b"))

	ns := c.Namespace(t)
	for _, n := range []string{"one", "two", "three"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: ns}}
		if _, err := c.Clientset().CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Registered through A; the agent dials B.
	cred := a.register(t, &bridgev1.AccountSpec{Name: "shared", Kinds: []string{"ConfigMap"}, Namespaces: []string{ns}, Permissions: &bridgev1.Permissions{Write: []string{"ops"}}})
	cfgPath := filepath.Join(t.TempDir(), "agent.yaml")
	b.agentConfig("agent-1", agentAccount{Name: "shared", KubeconfigFile: c.Kubeconfig, Credential: cred, Kinds: []string{"ConfigMap"}, Namespaces: []string{ns}, Permissions: &agentPermissions{Write: []string{"ops"}}}).write(t, cfgPath)
	agent1 := startAgent(t, cfgPath)
	b.waitSynced(t, "shared")

	// A reports B's account as B published it.
	a.waitSynced(t, "shared")
	if st := a.account(t, "shared").GetStatus(); !st.GetConnected() || st.GetAgentId() != "agent-1" || st.GetObjectCounts()["configmaps"] != 3 {
		t.Fatalf("replica A's view of the account: %+v", st)
	}

	// Reads and writes through A's endpoint are served by B.
	kc, err := a.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(kc.GetServer(), "https://"+a.epAddr) {
		t.Fatalf("A's kubeconfig points at %s", kc.GetServer())
	}
	var list struct{ Items []json.RawMessage }
	if err := json.Unmarshal(endpointGet(t, a, kc, "/api/v1/namespaces/"+ns+"/configmaps"), &list); err != nil || len(list.Items) != 3 {
		t.Fatalf("listing through replica A: %v, %d items", err, len(list.Items))
	}
	// The holder's answer, passed on by A, says Cache-Control once.
	ep := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsTo(a)}}
	if _, h, _ := apiDo(t, ep, http.MethodGet, kc.GetServer()+"/api/v1/namespaces/"+ns+"/configmaps", kc.GetToken(), ""); fmt.Sprint(h.Values("Cache-Control")) != "[no-cache, private]" {
		t.Errorf("an answer through replica A says Cache-Control %q, want it once", h.Values("Cache-Control"))
	}
	body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"via-a","namespace":"` + ns + `"},"data":{"k":"v"}}`
	if code := endpointDo(t, a, kc, http.MethodPost, "/api/v1/namespaces/"+ns+"/configmaps", body); code != http.StatusCreated {
		t.Fatalf("creating through replica A: %d", code)
	}
	if _, err := c.Clientset().CoreV1().ConfigMaps(ns).Get(ctx, "via-a", metav1.GetOptions{}); err != nil {
		t.Fatalf("the write forwarded A → B → agent did not reach the cluster: %v", err)
	}

	// A second agent for the account, through A, is refused.
	hello := &bridgev1.Hello{AgentId: "agent-2", InstanceId: "agent-2", Accounts: []*bridgev1.AccountHello{{Name: "shared", Credential: cred}}}
	_, err = rawHello(t, a, nil, hello)
	if st, _ := status.FromError(err); st.Code() != codes.AlreadyExists || !strings.Contains(st.Message(), `served by agent "agent-1" through bridge replica replica-b`) {
		t.Fatalf("a second agent through replica A: %v", err)
	}

	// Registered through B, deregistered through A: B forgets it.
	b.register(t, &bridgev1.AccountSpec{Name: "short-lived"})
	waitFor(t, 5*time.Second, "A to learn of short-lived", func() bool {
		_, err := a.admin.GetAccount(adminCtx(), &bridgev1.GetAccountRequest{Name: "short-lived"})
		return err == nil
	})
	if _, err := a.admin.DeregisterAccount(adminCtx(), &bridgev1.DeregisterAccountRequest{Name: "short-lived"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "B to forget short-lived", func() bool {
		_, err := b.admin.GetAccount(adminCtx(), &bridgev1.GetAccountRequest{Name: "short-lived"})
		return status.Code(err) == codes.NotFound
	})

	// B goes away; the agent comes back through A, which now serves the
	// account itself.
	agent1.stop()
	b.Stop()
	a.agentConfig("agent-1", agentAccount{Name: "shared", KubeconfigFile: c.Kubeconfig, Credential: cred, Kinds: []string{"ConfigMap"}, Namespaces: []string{ns}}).write(t, cfgPath)
	startAgent(t, cfgPath)
	waitFor(t, 20*time.Second, "A to serve the account from its own cache", func() bool {
		return a.cached("shared", configMaps, ns, "via-a") != nil
	})
	if err := json.Unmarshal(endpointGet(t, a, kc, "/api/v1/namespaces/"+ns+"/configmaps"), &list); err != nil || len(list.Items) != 4 {
		t.Fatalf("listing through replica A after the move: %v, %d items", err, len(list.Items))
	}
}

func endpointDo(t *testing.T, tb *testBridge, kc *bridgev1.GetKubeconfigResponse, method, path, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, kc.GetServer()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+kc.GetToken())
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsTo(tb)}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode
}

func tlsTo(tb *testBridge) *tls.Config {
	return &tls.Config{RootCAs: tb.pki.ca.Pool(), MinVersion: tls.VersionTLS12}
}
