package operatortest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// WebhookConfigurationName is the one cluster-scoped
// ValidatingWebhookConfiguration every operator in cluster mode writes
// (pkg/controller/webhook/webhook.go, deployValidatingWebhookConfiguration).
const WebhookConfigurationName = "spinnakervalidatingwebhook"

// webhookServer is the operator's admission webhook, served from the test
// host over TLS with a certificate the stand-in makes (the real operator
// makes its own too, getCertContext).
type webhookServer struct {
	url    string
	caPEM  []byte
	server *http.Server
	op     *Operator
	mode   Mode
}

// ensureWebhook is webhook.Start of the real operator: the Service named
// OPERATOR_NAME selecting name: OPERATOR_NAME (port 443 → 9876), and the
// ValidatingWebhookConfiguration for spinnakerservices and
// spinnakeraccounts, CREATE and UPDATE, default failurePolicy (Fail).
//
// The one deviation: the configuration's clientConfig is a URL on the test
// host, not the Service, because without kube-proxy the API server cannot
// reach a ClusterIP here. The Service is still created, and the webhook
// answers as the API server would when that Service has no ready endpoint
// ("no endpoints available for service"), so a pod without the label is
// caught exactly as on a real cluster.
func (o *Operator) ensureWebhook(ctx context.Context, mode *Mode) error {
	if o.webhook == nil {
		if o.opts.Host == nil {
			o.t.Errorf("operator stand-in: the operator's Deployment runs in cluster mode (admission controller on), but OperatorOptions.Host is nil: the webhook cannot be served")
			return fmt.Errorf("no test host for the admission webhook")
		}
		ws, err := startWebhook(o)
		if err != nil {
			return err
		}
		o.webhook = ws
		o.t.Cleanup(func() { _ = ws.server.Close() })
	}
	o.mu.Lock()
	o.webhook.mode = *mode
	o.mu.Unlock()

	sel := map[string]string{"name": mode.Name}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: o.opts.Namespace, Name: mode.Name, Labels: sel},
		Spec:       corev1.ServiceSpec{Selector: sel, Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(9876)}}},
	}
	if _, err := o.cs.CoreV1().Services(o.opts.Namespace).Get(ctx, mode.Name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		if _, err := o.cs.CoreV1().Services(o.opts.Namespace).Create(ctx, svc, metav1.CreateOptions{FieldManager: standInManager}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating the webhook Service: %w", err)
		}
	} else if err != nil {
		return err
	}

	var hooks []admissionregistrationv1.ValidatingWebhook
	for _, res := range []string{"spinnakerservices", "spinnakeraccounts"} {
		kind := strings.TrimSuffix(res, "s")
		hooks = append(hooks, admissionregistrationv1.ValidatingWebhook{
			Name:         "webhook-" + res + "-v1alpha2.spinnaker.io",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To(o.webhook.url + "/validate-spinnaker-io-v1alpha2-" + kind), CABundle: o.webhook.caPEM},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{"spinnaker.io"}, APIVersions: []string{"v1alpha2"}, Resources: []string{res}},
			}},
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
		})
	}
	vwcs := o.cs.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	cur, err := vwcs.Get(ctx, WebhookConfigurationName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = vwcs.Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: WebhookConfigurationName}, Webhooks: hooks},
			metav1.CreateOptions{FieldManager: standInManager})
		if apierrors.IsAlreadyExists(err) {
			err = nil
		}
		return err
	case err != nil:
		return err
	}
	if len(cur.Webhooks) == 2 && ptr.Deref(cur.Webhooks[0].ClientConfig.URL, "") == ptr.Deref(hooks[0].ClientConfig.URL, "") {
		return nil
	}
	// Like CreateOrUpdateValidatingWebhookConfiguration: the last operator
	// to start owns the one configuration.
	cur.Webhooks = hooks
	_, err = vwcs.Update(ctx, cur, metav1.UpdateOptions{FieldManager: standInManager})
	return err
}

func startWebhook(o *Operator) (*webhookServer, error) {
	cert, caPEM, err := testenv.SelfSignedServing("spinnaker-operator-standin", o.opts.Host.IP)
	if err != nil {
		return nil, err
	}
	l, err := o.opts.Host.Listen(0)
	if err != nil {
		return nil, fmt.Errorf("webhook: listening in test host: %w", err)
	}
	ws := &webhookServer{op: o, caPEM: caPEM,
		url: "https://" + l.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("/validate-spinnaker-io-v1alpha2-spinnakerservice", ws.handle(validateService))
	mux.HandleFunc("/validate-spinnaker-io-v1alpha2-spinnakeraccount", ws.handle(validateAccount))
	ws.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	go func() { _ = ws.server.Serve(tls.NewListener(l, ws.server.TLSConfig)) }()
	return ws, nil
}

func (ws *webhookServer) handle(validate func(obj *unstructured.Unstructured) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var review admissionv1.AdmissionReview
		if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
			http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
			return
		}
		resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
		deny := ""
		if msg := ws.noEndpoints(r.Context()); msg != "" {
			deny = msg
		} else {
			obj := &unstructured.Unstructured{}
			if err := obj.UnmarshalJSON(review.Request.Object.Raw); err != nil {
				deny = "decoding the object: " + err.Error()
			} else {
				deny = validate(obj)
			}
		}
		if deny != "" {
			resp.Allowed = false
			resp.Result = &metav1.Status{Status: metav1.StatusFailure, Message: deny, Code: http.StatusForbidden}
		}
		review.Response = resp
		review.Request = nil
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(review)
	}
}

// noEndpoints is the API server's view of the webhook Service: with no
// ready pod matching its selector, every call fails (failurePolicy Fail),
// with the API server's own wording.
func (ws *webhookServer) noEndpoints(ctx context.Context) string {
	ws.op.mu.Lock()
	mode := ws.mode
	ws.op.mu.Unlock()
	ns := ws.op.opts.Namespace
	pods, err := ws.op.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(map[string]string{"name": mode.Name}).String()})
	if err != nil {
		return "listing the webhook Service's pods: " + err.Error()
	}
	for i := range pods.Items {
		if pods.Items[i].DeletionTimestamp == nil && podReady(&pods.Items[i]) {
			return ""
		}
	}
	return fmt.Sprintf("failed calling webhook: Post \"https://%s.%s.svc:443/\": no endpoints available for service %q", mode.Name, ns, mode.Name)
}

// halyardFeatures are the fields of Halyard's Features node
// (spinnaker/halyard halyard-config/src/main/java/com/netflix/spinnaker/
// halyard/config/model/v1/node/Features.java). Kept apart from spinops'
// own list on purpose: the stand-in copies Halyard, not spinops.
var halyardFeatures = []string{"auth", "chaos", "entityTags", "fiat", "jobs", "pipelineTemplates"}

// validateService is the part of the operator's SpinnakerService
// validation (Halyard's strict parse and validators) the contract lists.
func validateService(obj *unstructured.Unstructured) string {
	config, _, _ := unstructured.NestedMap(obj.Object, "spec", "spinnakerConfig", "config")
	var problems []string
	if f, ok, _ := unstructured.NestedMap(config, "features"); ok {
		var unknown []string
		for k := range f {
			if !slices.Contains(halyardFeatures, k) {
				unknown = append(unknown, k)
			}
		}
		sort.Strings(unknown)
		for _, k := range unknown {
			problems = append(problems, fmt.Sprintf("Unrecognized field \"%s\" (class com.netflix.spinnaker.halyard.config.model.v1.node.Features)", k))
		}
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(config, "persistentStorage", "s3", "assumeRole"); found {
		problems = append(problems, "Unrecognized field \"assumeRole\" (class com.netflix.spinnaker.halyard.config.model.v1.persistentStorage.S3PersistentStore)")
	}
	if on, _, _ := unstructured.NestedBool(config, "security", "authn", "saml", "enabled"); on {
		for _, k := range []string{"keyStore", "keyStorePassword", "keyStoreAliasName"} {
			if v, _, _ := unstructured.NestedString(config, "security", "authn", "saml", k); v == "" {
				problems = append(problems, "SAML: "+k+" is required")
			}
		}
	}
	return strings.Join(problems, "; ")
}

// validateAccount copies the 1.3.1 account webhook's behaviour seen on a
// real API server: a kubeconfigFile given as an encryptedFile reference
// crashes the Kubernetes validator (pkg/accounts/kubernetes/validator.go)
// and the write is refused; spec.enabled and spec.type are required by the
// CRD itself.
func validateAccount(obj *unstructured.Unstructured) string {
	if f, _, _ := unstructured.NestedString(obj.Object, "spec", "kubernetes", "kubeconfigFile"); strings.HasPrefix(f, "encryptedFile:") {
		return "runtime error: invalid memory address or nil pointer dereference (pkg/accounts/kubernetes/validator.go)"
	}
	return ""
}
