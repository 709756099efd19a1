package attach_test

import (
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
)

// Remove takes the SpinnakerAccount away before the agent: Spinnaker stops
// using the account first, then the agent goes, then the registration.
func TestAttachmentRemoveStopsSpinnakerFirst(t *testing.T) {
	f := setup(t)
	a := f.applied(t)
	f.deletes.reset()
	if err := a.Remove(t.Context(), f.admin); err != nil {
		t.Fatal(err)
	}
	spin, dep := f.deletes.first("/spinnakeraccounts/"+a.Name()), f.deletes.first("/deployments/"+a.Install.Name())
	if spin < 0 || dep < 0 || spin > dep {
		t.Fatalf("the SpinnakerAccount (delete #%d) must go before the agent's Deployment (delete #%d); deletes: %v", spin, dep, f.deletes.paths)
	}
	if f.exists(t, "SpinnakerAccount", f.spinNS, a.Name()) || f.exists(t, "Deployment", a.Install.Namespace, a.Install.Name()) || f.registered(t, a.Name()) {
		t.Fatal("Remove left something behind")
	}
}

// When Spinnaker cannot be told to stop using the account, the agent stays
// and the account stays registered (the account keeps working), and the
// error says which step failed.
func TestAttachmentRemoveKeepsTheAgentWhileSpinnakerUsesTheAccount(t *testing.T) {
	f := setup(t)
	a := f.applied(t)
	admin := a.SpinnakerCluster
	a.SpinnakerCluster = f.nobody(t) // may not delete the SpinnakerAccount
	err := a.Remove(t.Context(), f.admin)
	var se *attach.StepError
	if !errors.As(err, &se) || se.Step != attach.StepDetach || !apierrors.IsForbidden(se.Err) {
		t.Fatalf("want a forbidden detach step, got %v", err)
	}
	if !f.exists(t, "SpinnakerAccount", f.spinNS, a.Name()) || !f.exists(t, "Deployment", a.Install.Namespace, a.Install.Name()) || !f.registered(t, a.Name()) {
		t.Fatal("the agent or the registration went while Spinnaker still uses the account")
	}
	// Once it may, Remove finishes.
	a.SpinnakerCluster = admin
	if err := a.Remove(t.Context(), f.admin); err != nil {
		t.Fatal(err)
	}
	if f.registered(t, a.Name()) {
		t.Fatal("still registered")
	}
}
