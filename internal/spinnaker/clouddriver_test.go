package spinnaker

import (
	"strings"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestClouddriverURLWithoutOperatorOrPermission: a cluster without the
// SpinnakerService CRD (Spinnaker installed without the Operator) gets
// spin-clouddriver without an error; a caller that may not list
// SpinnakerServices gets the same URL with an error saying what it could
// not read (the provider turns it into a warning). The HA and non-HA
// SpinnakerServices are covered by the provider's
// TestAccAgentAccount_clouddriverURLFollowsHA.
func TestClouddriverURLWithoutOperatorOrPermission(t *testing.T) {
	// (A cluster of its own, a fresh one: no Spinnaker CRDs.)
	t.Parallel()
	c := testenv.StartCluster(t)
	ns := c.Namespace(t)
	kc, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	url, ha, _, err := ClouddriverURL(t.Context(), kc, ns)
	if err != nil || ha || url != "http://spin-clouddriver."+ns+":7002" {
		t.Fatalf("without the CRD: %q, %v, %v", url, ha, err)
	}
	if err := InstallCRDs(t.Context(), kc, time.Minute); err != nil {
		t.Fatal(err)
	}
	nobody, err := kube.NewClient(c.RESTConfigWithToken(c.NobodyToken))
	if err != nil {
		t.Fatal(err)
	}
	url, ha, _, err = ClouddriverURL(t.Context(), nobody, ns)
	if err == nil || !strings.Contains(err.Error(), "listing the SpinnakerServices in "+ns) || !strings.Contains(err.Error(), "forbidden") {
		t.Fatalf("without list permission: want an error naming what was not read, got %v", err)
	}
	if ha || url != "http://spin-clouddriver."+ns+":7002" {
		t.Fatalf("without list permission: %q, %v, want the non-HA default", url, ha)
	}
}
