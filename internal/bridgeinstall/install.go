// Package bridgeinstall renders and applies the spinops bridge as it runs
// next to Spinnaker: a Deployment of `spinops bridge`, its Services, the
// Secrets it reads (key ring, admin token, TLS), RBAC for withdrawing
// SpinnakerAccounts, a PodDisruptionBudget and a NetworkPolicy. The
// spinops_bridge resource drives it; it holds no Terraform types.
package bridgeinstall

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// Ports the bridge listens on in its pod, and the Services' ports.
const (
	GRPCPort     = 9091
	EndpointPort = 8443
	OpsPort      = 8080

	// Keys of the Secrets the bridge reads.
	KeyRingKey    = "bridge.keys"
	AdminTokenKey = "admin-token"
	// TLS Secret keys, as cert-manager and `kubectl create secret tls`
	// write them (ca.crt only from cert-manager or the generated CA).
	TLSCertKey = corev1.TLSCertKey
	TLSKeyKey  = corev1.TLSPrivateKeyKey
	TLSCAKey   = "ca.crt"

	keysMount  = "/var/run/spinops/keys"
	adminMount = "/var/run/spinops/admin"
	tlsMount   = "/var/run/spinops/tls"
	dataMount  = "/var/lib/spinops"

	// AnnotationBridge marks every object (and a namespace the install
	// created) with the bridge it belongs to.
	AnnotationBridge = "spinops.io/bridge"
	// AnnotationExternalAddress on the Deployment records external_address
	// (nothing in the cluster says it otherwise), for import.
	AnnotationExternalAddress = "spinops.io/bridge-external-address"
	// AnnotationAdminTokenVersion on the admin token Secret records the
	// admin_token_wo_version it was written with (the token itself is
	// write-only), so an import knows which version the cluster holds.
	AnnotationAdminTokenVersion = "spinops.io/admin-token-version"
	// annotationChecksum on the pod template rolls the bridge when its
	// admin token or TLS source changes.
	annotationChecksum = "spinops.io/bridge-checksum"

	runAsUser = int64(65532)
)

// TLSSource is where the serving certificate comes from: exactly one of
// an existing Secret, a cert-manager issuer, or a CA the install makes.
type TLSSource struct {
	// SecretName is an existing kubernetes.io/tls Secret in the namespace.
	SecretName string
	// IssuerName/IssuerKind ("Issuer" or "ClusterIssuer") make a
	// cert-manager Certificate whose Secret the bridge mounts.
	IssuerName, IssuerKind string
	// Generate makes a CA and a serving certificate into a Secret once
	// (never again while it exists; delete it to renew).
	Generate bool
}

// MySQL is the store shared by replicas: the DSN is read from a Secret the
// user made (it never passes through Terraform).
type MySQL struct {
	SecretName, SecretKey string
}

// Install is one bridge.
type Install struct {
	Name      string
	Namespace string
	Image     string
	Replicas  int32
	Resources corev1.ResourceRequirements

	// SQLite store (when MySQL is nil): a PersistentVolumeClaim.
	StorageSize  string
	StorageClass string
	MySQL        *MySQL

	TLS TLSSource
	// DNSNames are extra names on a generated or cert-manager certificate
	// (the name agents outside the cluster use, e.g. the edge's).
	DNSNames []string

	// ExternalAddress is host:port agents outside the cluster dial (the
	// edge's load balancer); empty: the gRPC Service's cluster DNS name.
	ExternalAddress string
	// SpinnakerNamespace is where the zone's SpinnakerAccounts live; the
	// bridge withdraws the accounts of agents gone past their grace period
	// there. Empty: no withdrawal and no Role.
	SpinnakerNamespace string
	GracePeriod        time.Duration
	// Refresh bounds the on-demand re-cache requests the bridge sends to
	// Clouddriver (its --refresh-* flags); zero fields keep the bridge's
	// defaults.
	Refresh RefreshBounds

	// GRPCAllowedCIDRs may reach the gRPC port (agents and the provider's
	// admin calls); empty: from anywhere (every call is authenticated).
	GRPCAllowedCIDRs []string
	// MetricsNamespaces may scrape the ops port besides the bridge's own
	// namespace.
	MetricsNamespaces []string
	// HealthCheckCIDRs may reach the ops port (a load balancer's health
	// checks of /readyz, from its subnets).
	HealthCheckCIDRs []string
	// AWSTargetGroupARN binds the bridge pods' gRPC port to an NLB target
	// group (modules/aws/edge's bridge_target_group_arn) with a
	// TargetGroupBinding, which the AWS Load Balancer Controller serves.
	AWSTargetGroupARN string
	// GRPCService shapes the agent-facing Service (ClusterIP by default).
	GRPCService GRPCService
}

// GRPCService is the agent-facing Service's exposure: a LoadBalancer
// Service is a passthrough network load balancer on GKE (and on clouds
// without an edge module), TLS still terminated by the bridge.
type GRPCService struct {
	// Type is ClusterIP (default) or LoadBalancer.
	Type string
	// Port is the Service's port (default 9091); 443 suits a load balancer.
	Port int32
	// LoadBalancerIP is a reserved address for the load balancer.
	LoadBalancerIP string
	// SourceRanges limit who reaches the load balancer (the cloud's
	// firewall enforces them).
	SourceRanges []string
	Annotations  map[string]string
}

func (g GRPCService) port() int32 {
	if g.Port == 0 {
		return GRPCPort
	}
	return g.Port
}

// Validate reports what is wrong with the install before anything is
// applied.
func (in *Install) Validate() error {
	var errs []error
	if in.Name == "" || in.Namespace == "" {
		errs = append(errs, errors.New("a bridge needs a name and a namespace"))
	}
	n := 0
	for _, b := range []bool{in.TLS.SecretName != "", in.TLS.IssuerName != "", in.TLS.Generate} {
		if b {
			n++
		}
	}
	if n != 1 {
		errs = append(errs, errors.New("give exactly one TLS source: an existing Secret, a cert-manager issuer, or generate = true"))
	}
	if in.TLS.IssuerName != "" && in.TLS.IssuerKind != "Issuer" && in.TLS.IssuerKind != "ClusterIssuer" {
		errs = append(errs, fmt.Errorf("cert-manager issuer kind %q: use Issuer or ClusterIssuer", in.TLS.IssuerKind))
	}
	if in.MySQL == nil && in.Replicas > 1 {
		errs = append(errs, fmt.Errorf("%d replicas need the MySQL store: replicas share the registry and fence account leases in it; "+
			"SQLite is one file on one volume, so use replicas = 1 with SQLite, or configure mysql", in.Replicas))
	}
	if in.Replicas < 1 {
		errs = append(errs, errors.New("replicas must be at least 1"))
	}
	if in.ExternalAddress != "" {
		if _, port, err := net.SplitHostPort(in.ExternalAddress); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("external address %q is not host:port (e.g. bridge.example.com:443)", in.ExternalAddress))
		}
	}
	for _, c := range append(append([]string{}, in.GRPCAllowedCIDRs...), in.HealthCheckCIDRs...) {
		if _, _, err := net.ParseCIDR(c); err != nil {
			errs = append(errs, fmt.Errorf("CIDR %q is not a CIDR block (e.g. 10.0.0.0/8)", c))
		}
	}
	switch in.GRPCService.Type {
	case "", "ClusterIP":
		if in.GRPCService.LoadBalancerIP != "" || len(in.GRPCService.SourceRanges) > 0 {
			errs = append(errs, errors.New("a load balancer IP and source ranges need the gRPC Service's type to be LoadBalancer"))
		}
	case "LoadBalancer":
	default:
		errs = append(errs, fmt.Errorf("gRPC Service type %q: use ClusterIP or LoadBalancer", in.GRPCService.Type))
	}
	for _, c := range in.GRPCService.SourceRanges {
		if _, _, err := net.ParseCIDR(c); err != nil {
			errs = append(errs, fmt.Errorf("source range %q is not a CIDR block (e.g. 203.0.113.0/24)", c))
		}
	}
	if in.AWSTargetGroupARN != "" && !strings.HasPrefix(in.AWSTargetGroupARN, "arn:") {
		errs = append(errs, fmt.Errorf("AWS target group %q is not an ARN (arn:aws:elasticloadbalancing:...:targetgroup/...)", in.AWSTargetGroupARN))
	}
	if in.MySQL == nil && in.StorageSize != "" {
		if _, err := resource.ParseQuantity(in.StorageSize); err != nil {
			errs = append(errs, fmt.Errorf("storage size %q is not a Kubernetes quantity (e.g. 1Gi)", in.StorageSize))
		}
	}
	return errors.Join(errs...)
}

func (in *Install) labels() map[string]string {
	return map[string]string{"app.kubernetes.io/name": "spinops-bridge", "app.kubernetes.io/instance": in.Name, "app.kubernetes.io/managed-by": "spinops"}
}

func (in *Install) selector() map[string]string {
	return map[string]string{"app.kubernetes.io/name": "spinops-bridge", "app.kubernetes.io/instance": in.Name}
}

func (in *Install) meta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: in.labels(), Annotations: map[string]string{AnnotationBridge: in.Namespace + "/" + in.Name}}
}

// Names of the objects.
func (in *Install) KeysSecret() string      { return in.Name + "-keys" }
func (in *Install) AdminSecret() string     { return in.Name + "-admin" }
func (in *Install) EndpointService() string { return in.Name + "-endpoint" }
func (in *Install) OpsService() string      { return in.Name + "-ops" }
func (in *Install) dataClaim() string       { return in.Name + "-data" }

// TLSSecret is the Secret the bridge's serving certificate is read from.
func (in *Install) TLSSecret() string {
	if in.TLS.SecretName != "" {
		return in.TLS.SecretName
	}
	return in.Name + "-tls"
}

// ServiceDNSNames are the cluster names of the gRPC and endpoint Services,
// every one the serving certificate must hold.
func (in *Install) ServiceDNSNames() []string {
	var out []string
	for _, s := range []string{in.Name, in.EndpointService()} {
		out = append(out, s, s+"."+in.Namespace, s+"."+in.Namespace+".svc", s+"."+in.Namespace+".svc.cluster.local")
	}
	if in.ExternalAddress != "" {
		if h, _, err := net.SplitHostPort(in.ExternalAddress); err == nil {
			out = append(out, h)
		}
	}
	return dedupe(append(out, in.DNSNames...))
}

// Address is what agents and the provider dial.
func (in *Install) Address() string {
	if in.ExternalAddress != "" {
		return in.ExternalAddress
	}
	return fmt.Sprintf("%s.%s.svc:%d", in.Name, in.Namespace, in.GRPCService.port())
}

// EndpointURL is the per-account Kubernetes endpoint Clouddriver reaches,
// written into the kubeconfigs the bridge hands out.
func (in *Install) EndpointURL() string {
	return fmt.Sprintf("https://%s.%s.svc:%d", in.EndpointService(), in.Namespace, EndpointPort)
}

// RefreshBounds are the bridge's push rate bounds: per account and
// overall, each a token bucket of Rate requests/s and Burst.
type RefreshBounds struct {
	AccountRate  float64
	AccountBurst int64
	GlobalRate   float64
	GlobalBurst  int64
}

// Args are the bridge's command line in its pod.
func (in *Install) Args() []string {
	args := []string{"bridge",
		"--grpc-addr", ":" + strconv.Itoa(GRPCPort),
		"--endpoint-addr", ":" + strconv.Itoa(EndpointPort),
		"--endpoint-url", in.EndpointURL(),
		"--ops-addr", ":" + strconv.Itoa(OpsPort),
		"--tls-cert", tlsMount + "/" + TLSCertKey,
		"--tls-key", tlsMount + "/" + TLSKeyKey,
		"--key-file", keysMount + "/" + KeyRingKey,
		"--admin-token-file", adminMount + "/" + AdminTokenKey,
	}
	if in.TLS.Generate || in.TLS.IssuerName != "" {
		args = append(args, "--tls-ca", tlsMount+"/"+TLSCAKey)
	}
	if in.GracePeriod > 0 {
		args = append(args, "--grace-period", in.GracePeriod.String())
	}
	if in.SpinnakerNamespace != "" {
		args = append(args, "--spinnaker-namespace", in.SpinnakerNamespace)
	}
	r := in.Refresh
	for _, f := range []struct {
		flag  string
		set   bool
		value string
	}{
		{"--refresh-account-rate", r.AccountRate > 0, strconv.FormatFloat(r.AccountRate, 'g', -1, 64)},
		{"--refresh-account-burst", r.AccountBurst > 0, strconv.FormatInt(r.AccountBurst, 10)},
		{"--refresh-global-rate", r.GlobalRate > 0, strconv.FormatFloat(r.GlobalRate, 'g', -1, 64)},
		{"--refresh-global-burst", r.GlobalBurst > 0, strconv.FormatInt(r.GlobalBurst, 10)},
	} {
		if f.set {
			args = append(args, f.flag, f.value)
		}
	}
	if in.MySQL != nil {
		// $(VAR) is expanded by the kubelet from the container's env.
		args = append(args, "--mysql-dsn-env", "SPINOPS_BRIDGE_MYSQL_DSN", "--replica-id", "$(POD_NAME)",
			"--peer-url", fmt.Sprintf("https://$(POD_IP):%d", EndpointPort))
	} else {
		args = append(args, "--sqlite", dataMount+"/bridge.db")
	}
	return args
}

// Objects renders everything Apply applies, in apply order, except the
// Secrets the install generates (key ring, admin token, generated TLS),
// which GeneratedSecrets and AdminTokenSecret make. checksum rolls the pods
// when the admin token or the TLS source changes.
func (in *Install) Objects(checksum string) ([]*unstructured.Unstructured, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	ns, name := in.Namespace, in.Name
	var objs []runtime.Object
	objs = append(objs, &corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: in.meta(ns, name)})
	if in.SpinnakerNamespace != "" {
		rbacGV := rbacv1.SchemeGroupVersion.String()
		objs = append(objs,
			&rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: rbacGV, Kind: "Role"}, ObjectMeta: in.meta(in.SpinnakerNamespace, name),
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{"spinnaker.io"}, Resources: []string{"spinnakeraccounts"}, Verbs: []string{"get", "patch"}}}},
			&rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: rbacGV, Kind: "RoleBinding"}, ObjectMeta: in.meta(in.SpinnakerNamespace, name),
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}}})
	}
	if in.TLS.IssuerName != "" {
		objs = append(objs, in.certificate())
	}
	if in.MySQL == nil {
		size := in.StorageSize
		if size == "" {
			size = "1Gi"
		}
		pvc := &corev1.PersistentVolumeClaim{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"}, ObjectMeta: in.meta(ns, in.dataClaim()),
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}}}
		if in.StorageClass != "" {
			pvc.Spec.StorageClassName = &in.StorageClass
		}
		objs = append(objs, pvc)
	}
	objs = append(objs, in.deployment(checksum))
	svc := func(n string, port int32, portName string) *corev1.Service {
		return &corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: in.meta(ns, n),
			Spec: corev1.ServiceSpec{Selector: in.selector(), Ports: []corev1.ServicePort{{Name: portName, Port: port, TargetPort: intstr.FromString(portName), Protocol: corev1.ProtocolTCP,
				AppProtocol: appProtocol(portName)}}}}
	}
	grpc := svc(name, in.GRPCService.port(), "grpc")
	if g := in.GRPCService; g.Type == "LoadBalancer" {
		grpc.Spec.Type = corev1.ServiceTypeLoadBalancer
		grpc.Spec.LoadBalancerIP = g.LoadBalancerIP
		grpc.Spec.LoadBalancerSourceRanges = g.SourceRanges
		for k, v := range g.Annotations {
			grpc.Annotations[k] = v
		}
	}
	objs = append(objs, grpc, svc(in.EndpointService(), EndpointPort, "endpoint"), svc(in.OpsService(), OpsPort, "ops"))
	if in.Replicas > 1 {
		// One replica may go at a time; a single replica gets no budget, so
		// that draining its node is never blocked for good.
		minAvail := intstr.FromInt32(in.Replicas - 1)
		objs = append(objs, &policyv1.PodDisruptionBudget{TypeMeta: metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"}, ObjectMeta: in.meta(ns, name),
			Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvail, Selector: &metav1.LabelSelector{MatchLabels: in.selector()}}})
	}
	if in.AWSTargetGroupARN != "" {
		objs = append(objs, in.targetGroupBinding())
	}
	objs = append(objs, in.networkPolicy())
	return kube.ToUnstructured(objs...)
}

func appProtocol(portName string) *string {
	var p string
	switch portName {
	case "grpc":
		p = "grpc" // HTTP/2 inside TLS the bridge terminates itself
	case "endpoint":
		p = "https"
	default:
		p = "http"
	}
	return &p
}

// certificate is the cert-manager Certificate (cert-manager.io/v1).
func (in *Install) certificate() runtime.Object {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
		"spec": map[string]any{
			"secretName": in.TLSSecret(),
			"dnsNames":   toAny(in.ServiceDNSNames()),
			"usages":     []any{"server auth", "digital signature", "key encipherment"},
			"privateKey": map[string]any{"algorithm": "ECDSA", "size": int64(256), "rotationPolicy": "Always"},
			"issuerRef":  map[string]any{"name": in.TLS.IssuerName, "kind": in.TLS.IssuerKind, "group": "cert-manager.io"},
		},
	}}
	return in.withMeta(u)
}

// withMeta gives an object of a custom kind the install's name, namespace,
// labels and annotations.
func (in *Install) withMeta(u *unstructured.Unstructured) *unstructured.Unstructured {
	m := in.meta(in.Namespace, in.Name)
	u.SetName(m.Name)
	u.SetNamespace(m.Namespace)
	u.SetLabels(m.Labels)
	u.SetAnnotations(m.Annotations)
	return u
}

// DeploymentGVK is the bridge's Deployment.
var DeploymentGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}

// TargetGroupBindingGVK is the AWS Load Balancer Controller's
// TargetGroupBinding (kube.TargetGroupBindingGVK).
var TargetGroupBindingGVK = kube.TargetGroupBindingGVK

// targetGroupBinding registers the bridge pods' IPs (the gRPC Service's
// endpoints) in the NLB's IP target group.
func (in *Install) targetGroupBinding() runtime.Object {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
		"spec": map[string]any{
			"serviceRef":     map[string]any{"name": in.Name, "port": int64(in.GRPCService.port())},
			"targetGroupARN": in.AWSTargetGroupARN,
			"targetType":     "ip",
		},
	}}
	return in.withMeta(u)
}

// CertificateGVK is cert-manager's Certificate.
var CertificateGVK = schema.GroupVersionKind{Group: "cert-manager.io", Version: "v1", Kind: "Certificate"}

func (in *Install) deployment(checksum string) *appsv1.Deployment {
	replicas := in.Replicas
	nonRoot, noEsc, roFS := true, false, true
	uid := runAsUser
	keyMode, tokenMode := int32(0o440), int32(0o440)
	env := []corev1.EnvVar{
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
	}
	mounts := []corev1.VolumeMount{
		{Name: "keys", MountPath: keysMount, ReadOnly: true},
		{Name: "admin", MountPath: adminMount, ReadOnly: true},
		{Name: "tls", MountPath: tlsMount, ReadOnly: true},
	}
	vols := []corev1.Volume{
		// The key ring must not be readable by others: the bridge refuses
		// a key file with any bit for others (0440 with the pod's fsGroup).
		{Name: "keys", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: in.KeysSecret(), DefaultMode: &keyMode}}},
		{Name: "admin", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: in.AdminSecret(), DefaultMode: &tokenMode}}},
		{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: in.TLSSecret(), DefaultMode: &keyMode}}},
	}
	strategy := appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType}
	if in.MySQL != nil {
		env = append(env, corev1.EnvVar{Name: "SPINOPS_BRIDGE_MYSQL_DSN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: in.MySQL.SecretName}, Key: in.MySQL.SecretKey}}})
	} else {
		// One pod owns the SQLite file: the old pod must be gone before the
		// new one opens it (a ReadWriteOnce claim enforces the same).
		strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
		mounts = append(mounts, corev1.VolumeMount{Name: "data", MountPath: dataMount})
		vols = append(vols, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: in.dataClaim()}}})
	}
	probe := func(path string) corev1.ProbeHandler {
		return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("ops")}}
	}
	podLabels := in.labels()
	spec := corev1.PodSpec{
		ServiceAccountName: in.Name,
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &nonRoot, RunAsUser: &uid, RunAsGroup: &uid, FSGroup: &uid,
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{
			Name: "bridge", Image: in.Image, Args: in.Args(), Env: env, Resources: in.Resources,
			Ports: []corev1.ContainerPort{
				{Name: "grpc", ContainerPort: GRPCPort, Protocol: corev1.ProtocolTCP},
				{Name: "endpoint", ContainerPort: EndpointPort, Protocol: corev1.ProtocolTCP},
				{Name: "ops", ContainerPort: OpsPort, Protocol: corev1.ProtocolTCP},
			},
			LivenessProbe:  &corev1.Probe{ProbeHandler: probe("/healthz"), InitialDelaySeconds: 10, PeriodSeconds: 10, FailureThreshold: 3},
			ReadinessProbe: &corev1.Probe{ProbeHandler: probe("/readyz"), PeriodSeconds: 5},
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &noEsc, ReadOnlyRootFilesystem: &roFS,
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			VolumeMounts: mounts,
		}},
		Volumes: vols,
	}
	if in.Replicas > 1 {
		// Spread replicas over nodes where the cluster can.
		spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "kubernetes.io/hostname",
			WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: &metav1.LabelSelector{MatchLabels: in.selector()}}}
	}
	meta := in.meta(in.Namespace, in.Name)
	if in.ExternalAddress != "" {
		meta.Annotations[AnnotationExternalAddress] = in.ExternalAddress
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas, Strategy: strategy,
			Selector: &metav1.LabelSelector{MatchLabels: in.selector()},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: map[string]string{annotationChecksum: checksum}}, Spec: spec},
		},
	}
}

// networkPolicy admits only what the bridge serves: gRPC from the allowed
// CIDRs (agents, the provider), the endpoint from Spinnaker's namespace
// (Clouddriver) and from the other replicas (peers forward to the lease
// holder), and the ops port from the bridge's namespace and the metrics
// namespaces.
func (in *Install) networkPolicy() *networkingv1.NetworkPolicy {
	port := func(p int32) []networkingv1.NetworkPolicyPort {
		tcp := corev1.ProtocolTCP
		v := intstr.FromInt32(p)
		return []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &v}}
	}
	nsPeer := func(n string) networkingv1.NetworkPolicyPeer {
		return networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: n}}}
	}
	grpcFrom := []networkingv1.NetworkPolicyPeer{}
	cidrs := in.GRPCAllowedCIDRs
	if len(cidrs) == 0 {
		cidrs = []string{"0.0.0.0/0", "::/0"}
	}
	for _, c := range cidrs {
		grpcFrom = append(grpcFrom, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: c}})
	}
	endpointFrom := []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: in.selector()}}}
	if in.SpinnakerNamespace != "" {
		endpointFrom = append(endpointFrom, nsPeer(in.SpinnakerNamespace))
	}
	opsFrom := []networkingv1.NetworkPolicyPeer{nsPeer(in.Namespace)}
	for _, n := range dedupe(in.MetricsNamespaces) {
		opsFrom = append(opsFrom, nsPeer(n))
	}
	for _, c := range dedupe(in.HealthCheckCIDRs) {
		opsFrom = append(opsFrom, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: c}})
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: in.meta(in.Namespace, in.Name),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: in.selector()},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				{Ports: port(GRPCPort), From: grpcFrom},
				{Ports: port(EndpointPort), From: endpointFrom},
				{Ports: port(OpsPort), From: opsFrom},
			},
		},
	}
}

// Checksum is what rolls the pods: the admin token's version and the TLS
// source (the bridge re-reads its key file itself).
func Checksum(adminTokenVersion int64, tls TLSSource) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%d\x00%s\x00%s/%s\x00%t", adminTokenVersion, tls.SecretName, tls.IssuerKind, tls.IssuerName, tls.Generate)))
	return hex.EncodeToString(h[:])[:16]
}

func ref(apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

// Refs are every object an install may have made, for deletion (reverse
// apply order) and drift checks. The user's TLS Secret and MySQL Secret are
// not the install's and are never listed.
func (in *Install) Refs() []*unstructured.Unstructured {
	ns, name := in.Namespace, in.Name
	rbacGV := rbacv1.SchemeGroupVersion.String()
	refs := []*unstructured.Unstructured{
		ref("networking.k8s.io/v1", "NetworkPolicy", ns, name),
		ref("policy/v1", "PodDisruptionBudget", ns, name),
		ref("v1", "Service", ns, in.OpsService()),
		ref("v1", "Service", ns, in.EndpointService()),
		ref("v1", "Service", ns, name),
		ref("apps/v1", "Deployment", ns, name),
		ref("v1", "PersistentVolumeClaim", ns, in.dataClaim()),
	}
	if in.TLS.IssuerName != "" {
		refs = append(refs, ref("cert-manager.io/v1", "Certificate", ns, name))
	}
	if in.AWSTargetGroupARN != "" {
		refs = append(refs, ref("elbv2.k8s.aws/v1beta1", "TargetGroupBinding", ns, name))
	}
	if in.TLS.SecretName == "" {
		refs = append(refs, ref("v1", "Secret", ns, in.TLSSecret()))
	}
	if in.SpinnakerNamespace != "" {
		refs = append(refs, ref(rbacGV, "RoleBinding", in.SpinnakerNamespace, name), ref(rbacGV, "Role", in.SpinnakerNamespace, name))
	}
	return append(refs,
		ref("v1", "Secret", ns, in.AdminSecret()),
		ref("v1", "Secret", ns, in.KeysSecret()),
		ref("v1", "ServiceAccount", ns, name))
}

// Essential are the objects without which the bridge cannot run; Missing
// reports which of them are gone.
func (in *Install) Essential() []*unstructured.Unstructured {
	ns := in.Namespace
	out := []*unstructured.Unstructured{
		ref("apps/v1", "Deployment", ns, in.Name),
		ref("v1", "Service", ns, in.Name),
		ref("v1", "Service", ns, in.EndpointService()),
		ref("v1", "Secret", ns, in.KeysSecret()),
		ref("v1", "Secret", ns, in.AdminSecret()),
	}
	if in.TLS.SecretName == "" || in.TLS.Generate {
		out = append(out, ref("v1", "Secret", ns, in.TLSSecret()))
	}
	return out
}

// Missing lists the essential objects that are gone.
func (in *Install) Missing(ctx context.Context, c *kube.Client) ([]string, error) {
	return c.Missing(ctx, in.Essential())
}

var (
	namespaceGVK = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}
	secretGVK    = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
)

// AdminToken is the admin token an Apply is given: the configuration's
// write-only value (empty when the configuration leaves it out), its
// version, and whether it is new (a create, or a new version), which writes
// it over the Secret. A Secret that is missing (deleted, or a new cluster)
// is written from Value whatever New says: there is nothing to overwrite.
type AdminToken struct {
	Value   string
	Version int64
	New     bool
}

// Apply installs or updates the bridge, writing the admin token Secret as
// AdminToken says; the key ring and a generated certificate are made once,
// when missing, and never overwritten.
func (in *Install) Apply(ctx context.Context, c *kube.Client, token AdminToken) error {
	objs, err := in.Objects(Checksum(token.Version, in.TLS))
	if err != nil {
		return err
	}
	if err := in.preflight(ctx, c); err != nil {
		return err
	}
	if err := in.ensureNamespace(ctx, c); err != nil {
		return err
	}
	if err := in.ensureKeyRing(ctx, c); err != nil {
		return err
	}
	if in.TLS.Generate {
		if err := in.ensureGeneratedTLS(ctx, c); err != nil {
			return err
		}
	}
	write := token.New && token.Value != ""
	if !write {
		_, err := c.Get(ctx, secretGVK, in.Namespace, in.AdminSecret())
		switch {
		case apierrors.IsNotFound(err) && token.Value != "":
			write = true
		case apierrors.IsNotFound(err):
			return fmt.Errorf("the admin token Secret %s/%s is missing: set admin_token_wo, and an apply writes it again", in.Namespace, in.AdminSecret())
		case err != nil:
			return fmt.Errorf("reading the admin token Secret %s/%s: %w", in.Namespace, in.AdminSecret(), err)
		}
	}
	if write {
		s := in.secret(in.AdminSecret(), map[string]string{AdminTokenKey: token.Value})
		s.Annotations[AnnotationAdminTokenVersion] = strconv.FormatInt(token.Version, 10)
		u, err := kube.ToUnstructured(s)
		if err != nil {
			return err
		}
		if _, err := c.Apply(ctx, u[0]); err != nil {
			return fmt.Errorf("writing the admin token Secret %s/%s: %w", in.Namespace, in.AdminSecret(), err)
		}
	}
	// Objects of an earlier shape (no more PDB, no more PVC, another
	// Spinnaker namespace's Role is the caller's to remove) go first.
	want := map[string]bool{}
	for _, o := range objs {
		want[kube.Describe(o)] = true
	}
	for _, r := range []*unstructured.Unstructured{
		ref("policy/v1", "PodDisruptionBudget", in.Namespace, in.Name),
		ref("cert-manager.io/v1", "Certificate", in.Namespace, in.Name),
		ref("elbv2.k8s.aws/v1beta1", "TargetGroupBinding", in.Namespace, in.Name),
	} {
		// A kind the cluster does not serve has nothing to delete.
		if !want[kube.Describe(r)] {
			if err := c.Delete(ctx, r); err != nil {
				return fmt.Errorf("removing %s: %w", kube.Describe(r), err)
			}
		}
	}
	for _, o := range objs {
		if _, err := c.Apply(ctx, o); err != nil {
			return fmt.Errorf("applying %s: %w", kube.Describe(o), err)
		}
	}
	return nil
}

// preflight refuses what would leave a half-made bridge: a user TLS Secret
// that does not exist or lacks its keys, cert-manager not installed.
func (in *Install) preflight(ctx context.Context, c *kube.Client) error {
	if in.TLS.SecretName != "" {
		s, err := c.Get(ctx, secretGVK, in.Namespace, in.TLS.SecretName)
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("the TLS Secret %s/%s does not exist: create it (kubectl -n %s create secret tls %s --cert=... --key=...), or use a cert-manager issuer or generate = true",
				in.Namespace, in.TLS.SecretName, in.Namespace, in.TLS.SecretName)
		}
		if err != nil {
			return fmt.Errorf("reading the TLS Secret %s/%s: %w", in.Namespace, in.TLS.SecretName, err)
		}
		data, _, _ := unstructured.NestedStringMap(s.Object, "data")
		for _, k := range []string{TLSCertKey, TLSKeyKey} {
			if data[k] == "" {
				return fmt.Errorf("the TLS Secret %s/%s has no %q: the bridge reads its certificate from tls.crt and its key from tls.key", in.Namespace, in.TLS.SecretName, k)
			}
		}
	}
	if in.TLS.IssuerName != "" {
		if err := c.Serves(ctx, CertificateGVK); err != nil {
			return fmt.Errorf("the cluster does not serve cert-manager's Certificate (cert-manager.io/v1): install cert-manager, or give tls.secret_name or tls.generate = true: %w", err)
		}
	}
	if in.AWSTargetGroupARN != "" {
		if err := c.Serves(ctx, TargetGroupBindingGVK); err != nil {
			return fmt.Errorf("the cluster does not serve TargetGroupBinding (elbv2.k8s.aws/v1beta1), which binds the bridge pods to the NLB's target group: "+
				"install the AWS Load Balancer Controller, or leave aws_target_group_arn unset and register the targets yourself: %w", err)
		}
	}
	if in.MySQL != nil {
		s, err := c.Get(ctx, secretGVK, in.Namespace, in.MySQL.SecretName)
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("the MySQL DSN Secret %s/%s does not exist: create it with the key %q holding user:password@tcp(host:3306)/database", in.Namespace, in.MySQL.SecretName, in.MySQL.SecretKey)
		}
		if err != nil {
			return fmt.Errorf("reading the MySQL DSN Secret %s/%s: %w", in.Namespace, in.MySQL.SecretName, err)
		}
		data, _, _ := unstructured.NestedStringMap(s.Object, "data")
		if data[in.MySQL.SecretKey] == "" {
			return fmt.Errorf("the MySQL DSN Secret %s/%s has no key %q", in.Namespace, in.MySQL.SecretName, in.MySQL.SecretKey)
		}
	}
	return nil
}

func (in *Install) secret(name string, data map[string]string) *corev1.Secret {
	return &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: in.meta(in.Namespace, name),
		Type: corev1.SecretTypeOpaque, StringData: data}
}

// createIfMissing creates s unless it exists; an existing Secret is left
// exactly as it is (a key ring is never replaced by accident, and two
// concurrent applies cannot both write one: the second create fails with
// AlreadyExists and the first Secret stays).
func (in *Install) createIfMissing(ctx context.Context, c *kube.Client, s *corev1.Secret, what string) error {
	_, err := c.Clientset.CoreV1().Secrets(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading %s %s/%s: %w", what, s.Namespace, s.Name, err)
	}
	if _, err := c.Clientset.CoreV1().Secrets(s.Namespace).Create(ctx, s, metav1.CreateOptions{FieldManager: kube.FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating %s %s/%s: %w", what, s.Namespace, s.Name, err)
	}
	return nil
}

// ensureKeyRing makes the key ring that derives agent credentials and
// endpoint tokens: generated here, written only to its Secret (never to
// Terraform state), kept for as long as the Secret exists.
func (in *Install) ensureKeyRing(ctx context.Context, c *kube.Client) error {
	k, err := bridge.NewKey(bridge.NewKeyID())
	if err != nil {
		return err
	}
	return in.createIfMissing(ctx, c, in.secret(in.KeysSecret(), map[string]string{KeyRingKey: bridge.KeyLine(k) + "\n"}), "the key ring Secret")
}

// ensureGeneratedTLS makes a CA and a serving certificate for the
// Services' names into the TLS Secret once.
func (in *Install) ensureGeneratedTLS(ctx context.Context, c *kube.Client) error {
	if _, err := c.Get(ctx, secretGVK, in.Namespace, in.TLSSecret()); err == nil {
		return nil
	}
	ca, err := bridge.NewCA("spinops-bridge " + in.Namespace + "/" + in.Name)
	if err != nil {
		return err
	}
	_, certPEM, keyPEM, err := ca.IssueServer(in.ServiceDNSNames()...)
	if err != nil {
		return err
	}
	s := in.secret(in.TLSSecret(), map[string]string{TLSCertKey: string(certPEM), TLSKeyKey: string(keyPEM), TLSCAKey: string(ca.CertPEM)})
	s.Type = corev1.SecretTypeTLS
	return in.createIfMissing(ctx, c, s, "the generated TLS Secret")
}

// AdminTokenVersion reads the admin_token_wo_version the admin token Secret
// was last written with; ok is false when the Secret or its annotation is
// missing (written before the annotation, or by hand).
func (in *Install) AdminTokenVersion(ctx context.Context, c *kube.Client) (version int64, ok bool, err error) {
	s, err := c.Clientset.CoreV1().Secrets(in.Namespace).Get(ctx, in.AdminSecret(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("reading the admin token Secret %s/%s: %w", in.Namespace, in.AdminSecret(), err)
	}
	v, err := strconv.ParseInt(s.Annotations[AnnotationAdminTokenVersion], 10, 64)
	return v, err == nil, nil
}

// CA reads the CA agents verify the bridge with: ca.crt of the TLS Secret
// (cert-manager and the generated CA write it); empty when the Secret has
// none (a certificate from a public CA) or does not exist yet.
func (in *Install) CA(ctx context.Context, c *kube.Client) (string, error) {
	s, err := c.Get(ctx, secretGVK, in.Namespace, in.TLSSecret())
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the TLS Secret %s/%s: %w", in.Namespace, in.TLSSecret(), err)
	}
	data, _, _ := unstructured.NestedStringMap(s.Object, "data")
	b, err := base64.StdEncoding.DecodeString(data[TLSCAKey])
	if err != nil {
		return "", fmt.Errorf("the TLS Secret %s/%s: ca.crt is not base64: %w", in.Namespace, in.TLSSecret(), err)
	}
	return string(b), nil
}

// WaitForCertificate waits for cert-manager to write the TLS Secret.
func (in *Install) WaitForCertificate(ctx context.Context, c *kube.Client, timeout time.Duration) error {
	err := kube.WaitFor(ctx, time.Second, timeout, func(ctx context.Context) (bool, string, error) {
		s, err := c.Get(ctx, secretGVK, in.Namespace, in.TLSSecret())
		if apierrors.IsNotFound(err) {
			return false, "cert-manager has not written the Secret yet", nil
		}
		if err != nil {
			return false, "", err
		}
		data, _, _ := unstructured.NestedStringMap(s.Object, "data")
		return data[TLSCertKey] != "", "the Secret has no certificate yet", nil
	})
	if err != nil {
		return fmt.Errorf("waiting for cert-manager to issue the bridge's certificate into %s/%s (kubectl -n %s describe certificate %s): %w",
			in.Namespace, in.TLSSecret(), in.Namespace, in.Name, err)
	}
	return nil
}

func (in *Install) ensureNamespace(ctx context.Context, c *kube.Client) error {
	_, err := c.Get(ctx, namespaceGVK, "", in.Namespace)
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading namespace %s: %w", in.Namespace, err)
	}
	u := ref("v1", "Namespace", "", in.Namespace)
	u.SetLabels(map[string]string{"app.kubernetes.io/managed-by": "spinops"})
	u.SetAnnotations(map[string]string{AnnotationBridge: in.Namespace + "/" + in.Name})
	if _, err := c.Apply(ctx, u); err != nil {
		return fmt.Errorf("creating namespace %s: %w", in.Namespace, err)
	}
	return nil
}

// Remove deletes everything the install made, tolerating what is gone,
// and the namespace when the install created it. A user's TLS and MySQL
// Secrets stay.
func (in *Install) Remove(ctx context.Context, c *kube.Client) error {
	for _, r := range in.Refs() {
		if err := c.Delete(ctx, r); err != nil {
			return fmt.Errorf("deleting %s: %w", kube.Describe(r), err)
		}
	}
	ns, err := c.Get(ctx, namespaceGVK, "", in.Namespace)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading namespace %s: %w", in.Namespace, err)
	}
	if ns.GetAnnotations()[AnnotationBridge] == in.Namespace+"/"+in.Name {
		if err := c.Delete(ctx, ns); err != nil {
			return fmt.Errorf("deleting namespace %s (created for the bridge): %w", in.Namespace, err)
		}
	}
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
