package bridgeinstall

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func mysqlInstall() *Install {
	return &Install{Name: "spinops-bridge", Namespace: "spinops", Image: "ghcr.io/spinops/spinops:1.0.0", Replicas: 3,
		MySQL: &MySQL{SecretName: "bridge-db", SecretKey: "dsn"}, TLS: TLSSource{IssuerName: "internal-ca", IssuerKind: "ClusterIssuer"},
		ExternalAddress: "bridge.example.com:443", SpinnakerNamespace: "spinnaker", GRPCAllowedCIDRs: []string{"10.0.0.0/8"},
		MetricsNamespaces: []string{"monitoring"}, HealthCheckCIDRs: []string{"10.20.0.0/16"},
		AWSTargetGroupARN: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spinops-bridge/73e2d6bc24d8a067"}
}

func byKind(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind {
			return o
		}
	}
	return nil
}

// TestMySQLReplicas: replicas on MySQL roll one at a time with a budget,
// read the DSN from the user's Secret and reach each other as peers.
func TestMySQLReplicas(t *testing.T) {
	in := mysqlInstall()
	objs, err := in.Objects("sum")
	if err != nil {
		t.Fatal(err)
	}
	if byKind(t, objs, "PersistentVolumeClaim") != nil {
		t.Error("a MySQL bridge got a SQLite volume")
	}
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(byKind(t, objs, "Deployment").Object, &d); err != nil {
		t.Fatal(err)
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("replicas on MySQL should roll, got %s", d.Spec.Strategy.Type)
	}
	args := strings.Join(d.Spec.Template.Spec.Containers[0].Args, " ")
	for _, want := range []string{"--mysql-dsn-env SPINOPS_BRIDGE_MYSQL_DSN", "--replica-id $(POD_NAME)", "--peer-url https://$(POD_IP):8443", "--tls-ca /var/run/spinops/tls/ca.crt"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	if strings.Contains(args, "--sqlite") {
		t.Errorf("a MySQL bridge was given --sqlite: %q", args)
	}
	env := d.Spec.Template.Spec.Containers[0].Env
	i := slices.IndexFunc(env, func(e corev1.EnvVar) bool { return e.Name == "SPINOPS_BRIDGE_MYSQL_DSN" })
	if i < 0 || env[i].ValueFrom == nil || env[i].ValueFrom.SecretKeyRef.Name != "bridge-db" || env[i].Value != "" {
		t.Errorf("the DSN must come from the Secret bridge-db, never a literal: %+v", env)
	}
	pdb := byKind(t, objs, "PodDisruptionBudget")
	if pdb == nil {
		t.Fatal("three replicas got no PodDisruptionBudget")
	}
	if v, _, _ := unstructured.NestedFieldNoCopy(pdb.Object, "spec", "minAvailable"); v != int64(2) {
		t.Errorf("PDB minAvailable = %v, want 2 (one replica at a time)", v)
	}
	cert := byKind(t, objs, "Certificate")
	if cert == nil {
		t.Fatal("a cert-manager issuer made no Certificate")
	}
	names, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	for _, want := range []string{"bridge.example.com", "spinops-bridge.spinops.svc", "spinops-bridge-endpoint.spinops.svc"} {
		if !slices.Contains(names, want) {
			t.Errorf("the Certificate's dnsNames %v lack %s", names, want)
		}
	}
	if k, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "kind"); k != "ClusterIssuer" {
		t.Errorf("issuerRef.kind = %q", k)
	}
	tgb := byKind(t, objs, "TargetGroupBinding")
	if tgb == nil {
		t.Fatal("a target group ARN made no TargetGroupBinding")
	}
	if n, _, _ := unstructured.NestedString(tgb.Object, "spec", "serviceRef", "name"); n != "spinops-bridge" {
		t.Errorf("TargetGroupBinding serviceRef.name = %q, want the gRPC Service", n)
	}
	if p, _, _ := unstructured.NestedInt64(tgb.Object, "spec", "serviceRef", "port"); p != GRPCPort {
		t.Errorf("TargetGroupBinding serviceRef.port = %d, want %d", p, GRPCPort)
	}
	if tt, _, _ := unstructured.NestedString(tgb.Object, "spec", "targetType"); tt != "ip" {
		t.Errorf("targetType = %q, want ip (the edge's target group has IP targets)", tt)
	}
	np := byKind(t, objs, "NetworkPolicy")
	ingress, _, _ := unstructured.NestedSlice(np.Object, "spec", "ingress")
	ops := ingress[2].(map[string]any)["from"].([]any)
	if last := ops[len(ops)-1].(map[string]any); last["ipBlock"] == nil || last["ipBlock"].(map[string]any)["cidr"] != "10.20.0.0/16" {
		t.Errorf("the load balancer's health checks may not reach /readyz: ops ingress %v", ops)
	}
	if got := in.Address(); got != "bridge.example.com:443" {
		t.Errorf("Address() = %q, want the external address", got)
	}
}

// TestValidate: what cannot run is refused with the reason and the fix.
func TestValidate(t *testing.T) {
	for name, c := range map[string]struct {
		mod  func(*Install)
		want string
	}{
		"two replicas on SQLite": {func(in *Install) { in.MySQL, in.Replicas = nil, 2 }, "2 replicas need the MySQL store"},
		"two TLS sources":        {func(in *Install) { in.TLS.Generate = true }, "exactly one TLS source"},
		"no TLS source":          {func(in *Install) { in.TLS = TLSSource{} }, "exactly one TLS source"},
		"bad issuer kind":        {func(in *Install) { in.TLS.IssuerKind = "Vault" }, "use Issuer or ClusterIssuer"},
		"external not host:port": {func(in *Install) { in.ExternalAddress = "bridge.example.com" }, "is not host:port"},
		"bad CIDR":               {func(in *Install) { in.GRPCAllowedCIDRs = []string{"ten"} }, "is not a CIDR block"},
		"zero replicas":          {func(in *Install) { in.Replicas = 0 }, "at least 1"},
		"LB IP on ClusterIP":     {func(in *Install) { in.GRPCService.LoadBalancerIP = "203.0.113.7" }, "need the gRPC Service's type to be LoadBalancer"},
		"unknown Service type":   {func(in *Install) { in.GRPCService.Type = "NodePort" }, "use ClusterIP or LoadBalancer"},
	} {
		t.Run(name, func(t *testing.T) {
			in := mysqlInstall()
			c.mod(in)
			err := in.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v, want %q", err, c.want)
			}
		})
	}
	if err := mysqlInstall().Validate(); err != nil {
		t.Fatalf("a valid install was refused: %v", err)
	}
}

// TestRenderedObjectsPassTheAPIServer: every object of both shapes (SQLite
// with a generated certificate; MySQL replicas) is accepted by the real
// kube-apiserver's validation (a server-side dry run), and the Secrets the
// install generates are what the bridge's own loaders accept: a key ring
// LoadKeyRing takes from a file of the mode the Deployment mounts it with.
func TestRenderedObjectsPassTheAPIServer(t *testing.T) {
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	kc, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	sqlite := &Install{Name: "b1", Namespace: ns, Image: "img", Replicas: 1, TLS: TLSSource{Generate: true}, SpinnakerNamespace: ns,
		GRPCService: GRPCService{Type: "LoadBalancer", Port: 443, LoadBalancerIP: "203.0.113.7", SourceRanges: []string{"198.51.100.0/24"},
			Annotations: map[string]string{"cloud.google.com/l4-rbs": "enabled"}}}
	if got := sqlite.Address(); got != "b1."+ns+".svc:443" {
		t.Errorf("Address() = %q: the in-cluster address carries the Service's port", got)
	}
	multi := mysqlInstall()
	multi.Namespace, multi.SpinnakerNamespace = ns, ns
	for _, in := range []*Install{sqlite, multi} {
		objs, err := in.Objects("sum")
		if err != nil {
			t.Fatal(err)
		}
		if in == sqlite {
			svc := byKind(t, objs, "Service")
			if typ, _, _ := unstructured.NestedString(svc.Object, "spec", "type"); typ != "LoadBalancer" {
				t.Errorf("the gRPC Service is %q, want LoadBalancer", typ)
			}
			ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
			if p := ports[0].(map[string]any); p["port"] != int64(443) || p["targetPort"] != "grpc" {
				t.Errorf("the load balancer's port: %v, want 443 to the pods' grpc port", p)
			}
		}
		for _, o := range objs {
			if o.GetKind() == "Certificate" || o.GetKind() == "TargetGroupBinding" {
				continue // cert-manager's and the AWS Load Balancer Controller's CRDs are not installed here; their fields are checked in TestMySQLReplicas
			}
			m, err := kc.Mapper.RESTMapping(o.GroupVersionKind().GroupKind(), o.GroupVersionKind().Version)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := kc.Dynamic.Resource(m.Resource).Namespace(o.GetNamespace()).Apply(context.Background(), o.GetName(), o,
				metav1.ApplyOptions{FieldManager: kube.FieldManager, DryRun: []string{metav1.DryRunAll}}); err != nil {
				t.Fatalf("the API server refuses %s: %v", kube.Describe(o), err)
			}
		}
	}
	if err := sqlite.ensureKeyRing(t.Context(), kc); err != nil {
		t.Fatal(err)
	}
	first, err := c.Clientset().CoreV1().Secrets(ns).Get(t.Context(), sqlite.KeysSecret(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A second ensure never replaces the ring.
	if err := sqlite.ensureKeyRing(t.Context(), kc); err != nil {
		t.Fatal(err)
	}
	again, _ := c.Clientset().CoreV1().Secrets(ns).Get(t.Context(), sqlite.KeysSecret(), metav1.GetOptions{})
	if string(again.Data[KeyRingKey]) != string(first.Data[KeyRingKey]) {
		t.Fatal("ensureKeyRing replaced an existing key ring")
	}
	f := filepath.Join(t.TempDir(), KeyRingKey)
	if err := os.WriteFile(f, first.Data[KeyRingKey], 0o440); err != nil {
		t.Fatal(err)
	}
	if _, err := bridge.LoadKeyRing(f); err != nil {
		t.Fatalf("the bridge refuses the key ring the install generates (mounted 0440): %v", err)
	}
}

func TestMain(m *testing.M) { testenv.Main(m) }

// TestArgsRefreshBounds: the push bounds reach the bridge's command line
// only when set (the bridge's own defaults otherwise).
func TestArgsRefreshBounds(t *testing.T) {
	in := &Install{Name: "b", Namespace: "n"}
	if args := strings.Join(in.Args(), " "); strings.Contains(args, "--refresh-") {
		t.Errorf("unset bounds on the command line: %s", args)
	}
	in.Refresh = RefreshBounds{AccountRate: 200, AccountBurst: 400, GlobalRate: 12.5, GlobalBurst: 1000}
	args := strings.Join(in.Args(), " ")
	for _, want := range []string{"--refresh-account-rate 200", "--refresh-account-burst 400", "--refresh-global-rate 12.5", "--refresh-global-burst 1000"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
}
