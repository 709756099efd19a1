package spinnaker

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// DeployedChecks verifies a deployed zone the way an upgrade is verified,
// from the cluster alone (no Terraform configuration): the services are
// those Halyard deploys for the SpinnakerService's spec (halyardServices,
// the set a deploy of that spec waits for and verifies); the
// SpinnakerService must report OK with each of them reported, ready (else
// an error naming what is not), and then each gets the upgrade's check
// through the API server's service proxy (Gate /health, Deck /, every
// other /health) on the port of its Service. What else the operator
// reports is not checked: its status lists every Deployment of the
// namespace with its managed-by label (armory/spinnaker-operator
// pkg/util/k8s_lookup.go), Halyard's spin-redis (no HTTP) and services
// the config no longer runs included. client is the HTTP client for those
// checks (it carries the cluster's credentials: never use it for other
// URLs).
func DeployedChecks(ctx context.Context, cfg *rest.Config, namespace, name string) ([]Check, *http.Client, error) {
	c, err := kube.NewClient(cfg)
	if err != nil {
		return nil, nil, err
	}
	obj, err := c.Get(ctx, SpinnakerServiceGVK, namespace, name)
	if err != nil {
		return nil, nil, fmt.Errorf("reading SpinnakerService %s/%s: %w", namespace, name, err)
	}
	st := ParseStatus(obj)
	if st.Status != StatusOK {
		return nil, nil, fmt.Errorf("SpinnakerService %s/%s reports status %s, not OK", namespace, name, st.Status)
	}
	if len(st.Services) == 0 {
		return nil, nil, fmt.Errorf("SpinnakerService %s/%s reports no services", namespace, name)
	}
	reported := map[string]ServiceStatus{}
	for _, s := range st.Services {
		reported[s.Name] = s
	}
	var services []Service
	var notReady []string
	for _, w := range halyardServices(specPart(obj, "config"), specPart(obj, "service-settings")) {
		s, ok := reported[w.ObjectName()]
		if !ok {
			notReady = append(notReady, w.ObjectName()+" (not reported)")
			continue
		}
		if s.Replicas < 1 || s.ReadyReplicas < s.Replicas {
			notReady = append(notReady, fmt.Sprintf("%s (%d/%d ready)", s.Name, s.ReadyReplicas, s.Replicas))
			continue
		}
		svc, err := c.Clientset.CoreV1().Services(namespace).Get(ctx, s.Name, metav1.GetOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("reading Service %s/%s: %w", namespace, s.Name, err)
		}
		if len(svc.Spec.Ports) == 0 {
			return nil, nil, fmt.Errorf("Service %s/%s has no port", namespace, s.Name)
		}
		services = append(services, Service{Name: s.Service, Port: int(svc.Spec.Ports[0].Port), HealthPath: HealthPathOf(s.Service)})
	}
	if len(notReady) > 0 {
		return nil, nil, fmt.Errorf("SpinnakerService %s/%s: not every service is ready: %s", namespace, name, strings.Join(notReady, ", "))
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("building the verification client: %w", err)
	}
	return ProxyChecks(cfg, namespace, services, nil), hc, nil
}
