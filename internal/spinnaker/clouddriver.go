package spinnaker

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// clouddriverPort is the port of Clouddriver's Services (Halyard's
// ClouddriverService: `Integer port = 7002`).
const clouddriverPort = 7002

// ClouddriverURL is the base URL of the Clouddriver that runs the caching
// agents of the Spinnaker in namespace ns, read from its SpinnakerService.
//
// Halyard, which the Operator runs on the SpinnakerService's
// spec.spinnakerConfig.config, names each service's Kubernetes Service
// "spin-" + its canonical name (SpinnakerService.Type): spin-clouddriver,
// and with deploymentEnvironment.haServices.clouddriver.enabled the split
// services spin-clouddriver-caching / -rw / -ro / -ro-deck instead
// (KubernetesV2ClouddriverService.isEnabled is !haServices.clouddriver
// .enabled; KubernetesV2ClouddriverCachingService.isEnabled is its value).
// Only the caching service runs the caching agents, which the on-demand
// re-cache request needs.
//
// ha reports whether any SpinnakerService in ns turns Clouddriver HA on
// (there is one per namespace: two would create the same Services), and
// deployed whether ns has a SpinnakerService at all: without one (a zone
// made later in the same apply) the URL is not decided yet. With no
// SpinnakerService, or no SpinnakerService CRD (Spinnaker installed without
// the Operator), the result is spin-clouddriver. An error (no permission to
// list SpinnakerServices) comes with that same default.
func ClouddriverURL(ctx context.Context, c *kube.Client, ns string) (url string, ha, deployed bool, err error) {
	def := fmt.Sprintf("http://spin-clouddriver.%s:%d", ns, clouddriverPort)
	list, err := c.Dynamic.Resource(SpinnakerServiceGVK.GroupVersion().WithResource("spinnakerservices")).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return def, false, false, nil
		}
		return def, false, false, fmt.Errorf("listing the SpinnakerServices in %s to tell whether Clouddriver runs in HA mode: %w", ns, err)
	}
	for i := range list.Items {
		if ClouddriverHA(&list.Items[i]) {
			return fmt.Sprintf("http://spin-clouddriver-caching.%s:%d", ns, clouddriverPort), true, true, nil
		}
	}
	return def, false, len(list.Items) > 0, nil
}

// ClouddriverHA reports whether a SpinnakerService splits Clouddriver
// (spec.spinnakerConfig.config.deploymentEnvironment.haServices.clouddriver.enabled).
func ClouddriverHA(obj *unstructured.Unstructured) bool {
	on, _, _ := unstructured.NestedBool(obj.Object, "spec", "spinnakerConfig", "config", "deploymentEnvironment", "haServices", "clouddriver", "enabled")
	return on
}
