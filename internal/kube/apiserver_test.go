package kube

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes/scheme"
)

// fakeAPIServer is a unit-level test double of kube-apiserver: an in-process
// TLS server that answers just enough of /version, legacy discovery,
// SelfSubjectAccessReviews, server-side apply (PATCH) and DELETE for this
// package's unit tests. It proves what the client sends, not how a real
// API server reacts; the integration tests against a real kube-apiserver
// live in internal/provider.
type fakeAPIServer struct {
	*httptest.Server
	CA *testCA

	mu sync.Mutex
	// authenticate decides whether a request is authenticated; nil lets
	// every request through.
	authenticate func(*http.Request) bool
	// allowed answers SelfSubjectAccessReviews; nil allows everything.
	allowed func(authorizationv1.ResourceAttributes) bool
	// resources is the discovery document: group/version ("v1",
	// "apps/v1") to resources.
	resources map[string][]metav1.APIResource

	requests []recordedRequest
	reviews  []authorizationv1.ResourceAttributes
}

type recordedRequest struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   string
}

// newFakeAPIServer starts the double with a server certificate from a
// fresh CA; presentCA adds the CA certificate to the presented chain. It
// asks for (but does not require) client certificates signed by the CA.
func newFakeAPIServer(t *testing.T, presentCA bool) *fakeAPIServer {
	t.Helper()
	ca := newTestCA(t)
	_, _, pair := ca.issue(t, "kube-apiserver", true)
	if presentCA {
		pair.Certificate = append(pair.Certificate, ca.cert.Raw)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)

	s := &fakeAPIServer{
		CA: ca,
		resources: map[string][]metav1.APIResource{
			"v1": {
				{Name: "namespaces", Kind: "Namespace", Namespaced: false, Verbs: verbs},
				{Name: "configmaps", Kind: "ConfigMap", Namespaced: true, Verbs: verbs},
			},
			"apps/v1": {{Name: "deployments", Kind: "Deployment", Namespaced: true, Verbs: verbs}},
		},
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	// Handshakes refused on purpose (untrusted-CA tests) are not news.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.TLS = &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    pool,
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

var verbs = metav1.Verbs{"create", "delete", "get", "list", "patch", "update", "watch"}

func (s *fakeAPIServer) setAuthenticate(f func(*http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authenticate = f
}

func (s *fakeAPIServer) setAllowed(f func(authorizationv1.ResourceAttributes) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allowed = f
}

func (s *fakeAPIServer) addResource(groupVersion string, r metav1.APIResource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resources[groupVersion] = append(s.resources[groupVersion], r)
}

func (s *fakeAPIServer) recorded() []recordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recordedRequest(nil), s.requests...)
}

// lastHeader returns header of the last request for path.
func (s *fakeAPIServer) lastHeader(path, header string) string {
	reqs := s.recorded()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Path == path {
			return reqs[i].Header.Get(header)
		}
	}
	return ""
}

func (s *fakeAPIServer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, recordedRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)})
	authenticate, allowed := s.authenticate, s.allowed
	s.mu.Unlock()

	if authenticate != nil && !authenticate(r) {
		writeStatus(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized")
		return
	}

	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/version":
		writeJSON(w, http.StatusOK, version.Info{Major: "1", Minor: "33", GitVersion: "v1.33.1", Platform: "linux/amd64"})

	case r.Method == http.MethodPost && r.URL.Path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
		// Clientsets may send protobuf; decode whatever the client chose.
		var review authorizationv1.SelfSubjectAccessReview
		if _, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, &review); err != nil || review.Spec.ResourceAttributes == nil {
			writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, fmt.Sprintf("bad review (%s): %v", r.Header.Get("Content-Type"), err))
			return
		}
		attrs := *review.Spec.ResourceAttributes
		s.mu.Lock()
		s.reviews = append(s.reviews, attrs)
		s.mu.Unlock()
		review.Status.Allowed = allowed == nil || allowed(attrs)
		writeJSON(w, http.StatusCreated, review)

	case r.Method == http.MethodGet && r.URL.Path == "/api":
		writeJSON(w, http.StatusOK, metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}})

	case r.Method == http.MethodGet && r.URL.Path == "/apis":
		writeJSON(w, http.StatusOK, s.groupList())

	case r.Method == http.MethodGet && (r.URL.Path == "/api/v1" || strings.Count(r.URL.Path, "/") == 3 && strings.HasPrefix(r.URL.Path, "/apis/")):
		gv := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api/"), "/apis/")
		s.mu.Lock()
		resources, ok := s.resources[gv]
		s.mu.Unlock()
		if !ok {
			writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, "no such group version")
			return
		}
		writeJSON(w, http.StatusOK, metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList"}, GroupVersion: gv, APIResources: resources})

	case r.Method == http.MethodPatch:
		// Server-side apply: echo the applied object back as stored.
		var obj map[string]any
		if err := json.Unmarshal(body, &obj); err != nil {
			writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
			return
		}
		obj["metadata"].(map[string]any)["resourceVersion"] = "1"
		writeJSON(w, http.StatusOK, obj)

	case r.Method == http.MethodDelete:
		if strings.HasSuffix(r.URL.Path, "/missing") {
			writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, "not found")
			return
		}
		writeJSON(w, http.StatusOK, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess})

	default:
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource")
	}
}

func (s *fakeAPIServer) groupList() metav1.APIGroupList {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
	for gv := range s.resources {
		group, ver, ok := strings.Cut(gv, "/")
		if !ok {
			continue
		}
		v := metav1.GroupVersionForDiscovery{GroupVersion: gv, Version: ver}
		list.Groups = append(list.Groups, metav1.APIGroup{Name: group, Versions: []metav1.GroupVersionForDiscovery{v}, PreferredVersion: v})
	}
	return list
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	writeJSON(w, code, metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Message:  msg,
		Reason:   reason,
		Code:     int32(code),
	})
}

// bearer accepts requests carrying exactly "Bearer <token>".
func bearer(token string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+token }
}
