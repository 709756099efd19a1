package provider

import (
	"fmt"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestAccZone_onAnotherCluster: the installation (shared configuration,
// credentials, promotion ledger) lives on the control cluster; a zone runs
// on a second cluster given in its own kubernetes block. The zone's
// SpinnakerService and credentials land on the second cluster only, with
// the installation's operator installed there (only an operator in the same
// cluster reconciles a SpinnakerService); the ledger stays on the control
// cluster, and destroy removes the zone from the second cluster.
func TestAccZone_onAnotherCluster(t *testing.T) {
	control := testenv.SharedCluster(t)
	remote := testenv.StartCluster(t)
	opNS := control.Namespace(t)
	const zoneNS = "tf-acc-remote-zone"
	config := fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %q
  }
}

resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = "1.35.3"
  operator {
    namespace = %q
    wait      = false
  }
}

resource "spinops_zone" "red" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  name                 = "red"
  tier                 = "sandbox"
  namespace            = %q
  wait                 = false
  kubernetes {
    config_path = %q
  }
}
`, control.Kubeconfig, opNS, zoneNS, remote.Kubeconfig)
	inRemote := func() error {
		_, err := mustKube(t, remote).Get(t.Context(), spinnaker.SpinnakerServiceGVK, zoneNS, "red")
		return err
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{{
			Config: config,
			Check: func(*terraform.State) error {
				if err := inRemote(); err != nil {
					return fmt.Errorf("the zone's SpinnakerService is not on the second cluster: %w", err)
				}
				// Only an operator in the zone's own cluster reconciles it.
				if _, err := remote.Clientset().AppsV1().Deployments(opNS).Get(t.Context(), "spinnaker-operator", metav1.GetOptions{}); err != nil {
					return fmt.Errorf("the operator was not installed on the zone's cluster: %w", err)
				}
				if _, err := control.Clientset().CoreV1().Namespaces().Get(t.Context(), zoneNS, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					return fmt.Errorf("the zone's namespace was made on the control cluster too (%v)", err)
				}
				l, err := spinnaker.LoadLedger(t.Context(), control.Clientset(), opNS)
				if err != nil {
					return err
				}
				if z := l.Zones["red"]; z == nil || z.Namespace != zoneNS {
					return fmt.Errorf("the control cluster's ledger does not record the remote zone: %+v", l.Zones)
				}
				return nil
			},
		}},
		CheckDestroy: func(*terraform.State) error {
			if err := inRemote(); !apierrors.IsNotFound(err) {
				return fmt.Errorf("the zone's SpinnakerService survived destroy on the second cluster (%v)", err)
			}
			return nil
		},
	})
}
