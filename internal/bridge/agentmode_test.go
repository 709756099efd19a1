package bridge_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/agent"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestAgentMode: the agent serves one account through the in-cluster
// service account (a real ServiceAccount token, mounted where the kubelet
// would mount it), with RBAC limited to what it watches.
func TestAgentMode(t *testing.T) {
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	cs := c.Clientset()
	sa, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "spinops-agent"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "spinops-agent", Namespace: ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}}},
	}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "spinops-agent", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "spinops-agent"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa.Name, Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Discovery needs no grant (system:discovery); the agent watches only
	// what it may.
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "token"), []byte(tr.Status.Token))
	writeFile(t, filepath.Join(dir, "ca.crt"), []byte(c.CAPEM))
	t.Setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
	t.Setenv("KUBERNETES_SERVICE_PORT", strconv.Itoa(c.Port))

	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "in-cluster", Mode: bridgev1.Mode_MODE_AGENT, Namespaces: []string{ns}})
	f := tb.agentConfig("in-cluster-agent", agentAccount{Name: "in-cluster", Credential: cred, Kinds: []string{"ConfigMap"}, Namespaces: []string{ns}})
	f.Mode = agent.ModeAgent
	cfgPath := filepath.Join(t.TempDir(), "agent.yaml")
	f.write(t, cfgPath)
	startAgentWith(t, cfgPath, agent.Options{ServiceAccountDir: dir})
	tb.waitSynced(t, "in-cluster")
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "from-agent-mode", Namespace: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "configmap cached", func() bool { return tb.cached("in-cluster", configMaps, ns, "from-agent-mode") != nil })
	_ = os.Getenv
}
