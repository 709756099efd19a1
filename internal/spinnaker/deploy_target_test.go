package spinnaker

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// With operator.install = false, a zone's own cluster must serve
// SpinnakerService. The Deployer's client of that cluster may have cached
// discovery before the operator's CRDs were installed there (by another
// apply, or by hand during this one): the kind must still be found, and a
// cluster that really lacks it must get the message saying what to do.
func TestEnsureTargetOperator_findsCRDsInstalledAfterDiscovery(t *testing.T) {
	t.Parallel() // (a cluster of its own; the tests wait on it, so they run at once)
	c := testenv.StartCluster(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	control, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	target, err := kube.NewClient(c.RESTConfig()) // a client of its own, as for another cluster
	if err != nil {
		t.Fatal(err)
	}
	d := &Deployer{Control: control, Target: target, Operator: &OperatorRecord{Install: false}}
	inst := &Installation{Namespace: "spinnaker"}

	// No CRDs yet: refused, saying what to do. This also fills the target
	// client's discovery cache without spinnaker.io.
	err = d.ensureTargetOperator(ctx, inst, false)
	if err == nil || !strings.Contains(err.Error(), "does not serve SpinnakerService") || !strings.Contains(err.Error(), "install the Spinnaker Operator there first") {
		t.Fatalf("without the CRDs: err = %v; want the 'does not serve SpinnakerService … install the Spinnaker Operator there first' error", err)
	}
	if _, err := target.Get(ctx, schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, "", "default"); err != nil {
		t.Fatal(err)
	}

	if err := InstallCRDs(ctx, control, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := d.ensureTargetOperator(ctx, inst, false); err != nil {
		t.Fatalf("the CRDs were installed after the target's discovery was cached: %v", err)
	}
}
