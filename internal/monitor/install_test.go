package monitor

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// The installation applies on a real API server (server-side apply checks
// every field against the built-in schemas), its ServiceAccount can do what
// the monitor does — record a zone's state, read it back — and nothing
// more: no Secret, no ConfigMap outside the zones' namespaces. Secrets are
// only in the Secret.
func TestInstallObjectsLeastRBAC(t *testing.T) {
	cluster := testenv.SharedCluster(t)
	home, green, other := cluster.Namespace(t), cluster.Namespace(t), cluster.Namespace(t)
	const hook = "https://hooks.example.com/SECRET-HOOK-TOKEN"
	spec := InstallSpec{Name: "spinops-monitor", Namespace: home, Image: "ghcr.io/spinops/spinops:0.1.0",
		Config: Config{Installation: "prod", Zones: []ZoneConfig{
			{Name: "green", Namespace: green, Tier: TierProduction, GateURL: "https://gate", DeckURL: "https://deck"},
			{Name: "red", Namespace: green, Tier: TierSandbox, ServiceProxy: true},
		}, Notify: []NotifyConfig{{Type: "webhook", SecretFile: SecretMountPath + "/webhook-url"}}},
		Secrets: map[string]string{"webhook-url": hook}}
	objs, err := InstallObjects(spec)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := kube.NewClient(cluster.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: m}
		if _, err := kc.Apply(t.Context(), u); err != nil {
			t.Fatalf("applying %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		if u.GetKind() != "Secret" {
			b, _ := json.Marshal(u)
			if strings.Contains(string(b), "SECRET-HOOK-TOKEN") {
				t.Errorf("%s holds the webhook URL", u.GetKind())
			}
		}
	}
	sec, err := cluster.Clientset().CoreV1().Secrets(home).Get(t.Context(), "spinops-monitor", metav1.GetOptions{})
	if err != nil || string(sec.Data["webhook-url"]) != hook {
		t.Fatalf("secret: %v", err)
	}

	// Act as the monitor's ServiceAccount.
	exp := int64(600)
	tok, err := cluster.Clientset().CoreV1().ServiceAccounts(home).CreateToken(t.Context(), "spinops-monitor",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	as, err := kubernetes.NewForConfig(cluster.RESTConfigWithToken(tok.Status.Token))
	if err != nil {
		t.Fatal(err)
	}
	store := &ConfigMapStore{Client: as}
	shape := RingShape{Width: time.Minute, Len: 60}
	for i := range 2 { // create, then update
		if _, err := store.Update(t.Context(), ZoneRef{Name: "green", Namespace: green}, shape, func(st *ZoneState) error {
			st.Record(t0.Add(time.Duration(i)*time.Minute), Counts{Good: 1}, nil, nil, 0.999, TierProduction)
			return nil
		}); err != nil {
			t.Fatalf("the monitor's ServiceAccount cannot record a round (%d): %v", i, err)
		}
	}
	if st, err := store.Load(t.Context(), ZoneRef{Name: "green", Namespace: green}); err != nil || st == nil {
		t.Fatalf("load as the monitor: %v", err)
	}
	if _, err := as.CoreV1().Secrets(green).List(t.Context(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the monitor may list Secrets in a zone namespace: %v", err)
	}
	if _, err := as.CoreV1().Secrets(home).Get(t.Context(), "spinops-monitor", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the monitor may read its Secret through the API (it is mounted): %v", err)
	}
	if _, err := store.Update(t.Context(), ZoneRef{Name: "x", Namespace: other}, shape, func(*ZoneState) error { return nil }); !apierrors.IsForbidden(err) {
		t.Errorf("the monitor may write ConfigMaps outside the zones' namespaces: %v", err)
	}
	if err := as.CoreV1().ConfigMaps(green).Delete(t.Context(), ConfigMapName("green"), metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the monitor may delete ConfigMaps: %v", err)
	}
}

func TestInstallObjectsNeedNameNamespaceImage(t *testing.T) {
	if _, err := InstallObjects(InstallSpec{Name: "m", Namespace: "n"}); err == nil || !strings.Contains(err.Error(), "image") {
		t.Fatalf("got %v", err)
	}
}
