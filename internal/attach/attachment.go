package attach

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/kube"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"
)

// Attachment is one account attached through the bridge: its registration
// and the parts installed for it, each with the client of the cluster it
// goes to. A part is nil when it is not wanted. It coordinates the
// sequence spinops_agent_account runs: check (Prepare), register and
// install with rollback (Apply), wait (Wait), remove in reverse order of
// use (Remove).
type Attachment struct {
	// Spec is the registration at the bridge.
	Spec *bridgev1.AccountSpec

	// Install is the agent installed in the target cluster (agent mode).
	Install *AgentInstall
	Target  *kube.Client

	// CredentialSecret receives the credential for an agent deployed
	// another way (infrastructure and spinnaker-service modes).
	CredentialSecret        *CredentialSecret
	CredentialSecretCluster *kube.Client

	// Spinnaker makes the account visible to Spinnaker.
	Spinnaker        *SpinnakerAccount
	SpinnakerCluster *kube.Client

	rules   Rules
	applied []string // what Apply did, for the wait's progress
}

// Name is the account's name.
func (a *Attachment) Name() string { return a.Spec.GetName() }

// FilterOf is what a registration watches and who may use it, as the
// installed objects need it.
func FilterOf(s *bridgev1.AccountSpec) AccountFilter {
	return AccountFilter{
		Kinds: s.GetKinds(), OmitKinds: s.GetOmitKinds(), Namespaces: s.GetNamespaces(), OmitNamespaces: s.GetOmitNamespaces(),
		OnlyNamespacedResources: s.GetOnlyNamespacedResources(), Read: s.GetPermissions().GetRead(), Write: s.GetPermissions().GetWrite(),
	}
}

// Part names a part of an attachment, so a caller can point an error at
// the configuration that describes it.
type Part string

// The parts of an attachment.
const (
	PartAgent            Part = "agent"             // the agent install and its target cluster
	PartKinds            Part = "kinds"             // the watched kinds, resolved against the target cluster
	PartCredentialSecret Part = "credential-secret" // the credential Secret and its cluster
	PartSpinnaker        Part = "spinnaker"         // the SpinnakerAccount and its cluster
)

// CheckError is a check Prepare ran before anything was registered.
type CheckError struct {
	Part Part
	// Summary is a short title of what failed.
	Summary string
	Err     error
}

func (e *CheckError) Error() string { return e.Summary + ": " + e.Err.Error() }
func (e *CheckError) Unwrap() error { return e.Err }

// Prepare checks, before anything is registered, that the install can
// succeed: the permissions in the target cluster, the watched kinds (which
// it resolves into the agent's RBAC rules), that the credential Secret may
// be written, and that the Spinnaker cluster serves the SpinnakerAccount
// kind. It stops at the first failed check, a *CheckError.
func (a *Attachment) Prepare(ctx context.Context) error {
	if a.Install != nil {
		if err := a.Install.Check(ctx, a.Target); err != nil {
			summary := "Checking the target cluster failed"
			var ma *MissingAccessError
			if errors.As(err, &ma) {
				summary = "Missing permissions in the target cluster"
			}
			return &CheckError{Part: PartAgent, Summary: summary, Err: err}
		}
		rules, err := ResolveRules(ctx, a.Target, a.Install.Filter)
		if err != nil {
			return &CheckError{Part: PartKinds, Summary: "Resolving the watched kinds failed", Err: err}
		}
		a.rules = rules
	}
	if a.CredentialSecret != nil {
		c := a.CredentialSecretCluster
		missing, err := c.MissingAccess(ctx, []kube.Access{{Verb: "create", Resource: "secrets", Namespace: a.CredentialSecret.Namespace}})
		if err == nil && len(missing) > 0 {
			err = &MissingAccessError{Host: c.Config.Host, Missing: missing}
		}
		if err != nil {
			return &CheckError{Part: PartCredentialSecret, Summary: "Cannot write the credential Secret", Err: err}
		}
	}
	if a.Spinnaker != nil {
		c := a.SpinnakerCluster
		if err := c.Serves(ctx, SpinnakerAccountGVK); err != nil {
			return &CheckError{Part: PartSpinnaker, Summary: "SpinnakerAccount kind not found",
				Err: fmt.Errorf("%s does not serve spinnaker.io/v1alpha2 SpinnakerAccount: install the Spinnaker Operator there first "+
					"(spinops_managed_spinnaker installs its CRDs), or point spinnaker.kubernetes at the Spinnaker cluster. (%w)", c.Config.Host, err)}
		}
	}
	return nil
}

// Incomplete is what Prepare could not discover in the target cluster (an
// API group whose aggregated server did not answer), nil when discovery was
// complete: the agent's ClusterRole then grants only the kinds that were
// discovered, and the next refresh after the group answers lists the
// ClusterRole as drifted.
func (a *Attachment) Incomplete() error { return a.rules.Incomplete }

// Step names a step of Apply or Remove.
type Step string

// The steps of Apply and Remove.
const (
	StepRegister   Step = "register"   // registering a new account
	StepUpdate     Step = "update"     // updating the registration
	StepRotate     Step = "rotate"     // rotating the credential
	StepAttach     Step = "attach"     // installing the parts
	StepDetach     Step = "detach"     // removing the parts
	StepDeregister Step = "deregister" // removing the registration
)

// StepError is a failed step of Apply or Remove.
type StepError struct {
	Step Step
	Err  error
	// RolledBack is set when Apply removed the registration and what it had
	// installed after a failed attach of a new account; Rollback is then
	// what went wrong while removing (nil when all is gone).
	RolledBack bool
	Rollback   error
}

func (e *StepError) Error() string { return fmt.Sprintf("%s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// ApplyOptions say what Apply changes.
type ApplyOptions struct {
	// Previous is the attachment as it was (nil: the account is new and is
	// registered). Its parts that moved away (another cluster, namespace or
	// name) or were dropped are removed from where they were.
	Previous *Attachment
	// Rotate issues a new credential (and endpoint token) and re-delivers it.
	Rotate bool
}

// Applied is what Apply did.
type Applied struct {
	Account *bridgev1.Account
	// Rotated is set when the credential was rotated.
	Rotated bool
	// Reregistered is set when an update found no registration on the
	// bridge (a new bridge, or one whose store was replaced) and registered
	// the account again: a new id and a new credential, delivered to the
	// agent like a rotated one.
	Reregistered bool
	// Warnings are parts of the previous attachment that could not be
	// removed; the new attachment is in place.
	Warnings []error
}

// Apply registers the account (or updates its registration, registering it
// again when the bridge has none), rotates the credential when asked,
// removes what moved away, and installs the parts:
// the agent, the credential Secret, then the SpinnakerAccount, so
// Spinnaker sees the account only once an agent can serve it. When a new
// account's parts fail to install, the registration and whatever was
// installed are removed again. Prepare must have succeeded. Errors are
// *StepError.
func (a *Attachment) Apply(ctx context.Context, admin *Admin, opts ApplyOptions) (*Applied, error) {
	out := &Applied{}
	credential := ""
	prev := opts.Previous
	if prev == nil {
		acct, c, err := admin.Register(ctx, a.Spec)
		if err != nil {
			return nil, &StepError{Step: StepRegister, Err: err}
		}
		out.Account, credential = acct, c
	} else {
		acct, err := admin.Update(ctx, a.Spec)
		switch {
		case IsNotFound(err):
			// The bridge knows no such account: registered again, so the
			// attachment ends as the configuration says in this apply.
			acct, c, rerr := admin.Register(ctx, a.Spec)
			if rerr != nil {
				return nil, &StepError{Step: StepRegister, Err: fmt.Errorf("the bridge has no registration of the account (%v), and registering it again failed: %w", err, rerr)}
			}
			out.Account, credential, out.Reregistered = acct, c, true
		case err != nil:
			return nil, &StepError{Step: StepUpdate, Err: err}
		default:
			out.Account = acct
		}
		if opts.Rotate && !out.Reregistered {
			c, err := admin.Rotate(ctx, a.Name())
			if err != nil {
				return nil, &StepError{Step: StepRotate, Err: err}
			}
			credential, out.Rotated = c, true
		}
		out.Warnings = a.removeMoved(ctx, prev)
	}
	if a.Spinnaker != nil {
		a.Spinnaker.RegistrationID = out.Account.GetId()
	}
	var previousNamespaces []string
	if prev != nil {
		previousNamespaces = prev.Spec.GetNamespaces()
	}
	if err := a.attach(ctx, admin, credential, previousNamespaces); err != nil {
		se := &StepError{Step: StepAttach, Err: err}
		if prev == nil {
			// Leave nothing behind: the account is new.
			ctx := context.WithoutCancel(ctx)
			se.RolledBack = true
			se.Rollback = a.detach(ctx, false)
			if derr := admin.Deregister(ctx, a.Name()); derr != nil && !IsNotFound(derr) {
				se.Rollback = errors.Join(se.Rollback, derr)
			}
		}
		return out, se
	}
	return out, nil
}

// removeMoved removes the parts of prev that a is not keeping in the same
// place.
func (a *Attachment) removeMoved(ctx context.Context, prev *Attachment) []error {
	var warnings []error
	if prev.Install != nil && prev.Target != nil &&
		(a.Install == nil || !sameCluster(prev.Target, a.Target) || prev.Install.Namespace != a.Install.Namespace) {
		if err := prev.Install.Remove(ctx, prev.Target); err != nil {
			warnings = append(warnings, fmt.Errorf("removing the previous agent install: %w", err))
		}
	}
	if prev.CredentialSecret != nil && prev.CredentialSecretCluster != nil &&
		(a.CredentialSecret == nil || !sameCluster(prev.CredentialSecretCluster, a.CredentialSecretCluster) ||
			prev.CredentialSecret.Namespace != a.CredentialSecret.Namespace || prev.CredentialSecret.Name != a.CredentialSecret.Name) {
		if err := prev.CredentialSecret.Remove(ctx, prev.CredentialSecretCluster); err != nil {
			warnings = append(warnings, fmt.Errorf("removing the previous credential Secret: %w", err))
		}
	}
	if prev.Spinnaker != nil && prev.SpinnakerCluster != nil &&
		(a.Spinnaker == nil || !sameCluster(prev.SpinnakerCluster, a.SpinnakerCluster) || prev.Spinnaker.Namespace != a.Spinnaker.Namespace) {
		if err := prev.Spinnaker.Remove(ctx, prev.SpinnakerCluster); err != nil {
			warnings = append(warnings, fmt.Errorf("removing the previous SpinnakerAccount: %w", err))
		}
	}
	return warnings
}

// sameCluster says whether two clients reach the same API server (the
// objects there are the same whatever the credentials).
func sameCluster(a, b *kube.Client) bool {
	return a != nil && b != nil && a.Config.Host == b.Config.Host
}

// attach installs the agent objects, the credential Secret and the
// SpinnakerAccount. credential is read from the bridge when empty.
func (a *Attachment) attach(ctx context.Context, admin *Admin, credential string, previousNamespaces []string) error {
	if (a.Install != nil || a.CredentialSecret != nil) && credential == "" {
		c, err := admin.Credential(ctx, a.Name())
		if err != nil {
			return err
		}
		credential = c
	}
	if a.Install != nil {
		if err := a.Install.Apply(ctx, a.Target, a.rules, credential); err != nil {
			return fmt.Errorf("installing the agent in %s: %w", a.Target.Config.Host, err)
		}
		if err := a.Install.RemoveStaleRoleBindings(ctx, a.Target, previousNamespaces); err != nil {
			return fmt.Errorf("removing RoleBindings of namespaces no longer watched in %s: %w", a.Target.Config.Host, err)
		}
		a.applied = append(a.applied, fmt.Sprintf("agent objects applied in %s namespace %s (%d kinds granted)", a.Target.Config.Host, a.Install.Namespace, a.rules.Kinds))
	}
	if a.CredentialSecret != nil {
		if err := a.CredentialSecret.Apply(ctx, a.CredentialSecretCluster, credential); err != nil {
			return fmt.Errorf("writing the credential Secret in %s: %w", a.CredentialSecretCluster.Config.Host, err)
		}
		a.applied = append(a.applied, fmt.Sprintf("credential Secret %s/%s written", a.CredentialSecret.Namespace, a.CredentialSecret.Name))
	}
	if a.Spinnaker != nil {
		kc, err := admin.Kubeconfig(ctx, a.Name())
		if err != nil {
			return err
		}
		if err := a.Spinnaker.Apply(ctx, a.SpinnakerCluster, kc.GetKubeconfig()); err != nil {
			return fmt.Errorf("creating the SpinnakerAccount in %s: %w", a.SpinnakerCluster.Config.Host, err)
		}
	}
	return nil
}

// detach removes the parts in reverse order of use: Spinnaker stops using
// the account first, then the agent (or its credential) goes. A part whose
// client is nil is skipped. With stop, the first failure ends it (a later
// part must not go while an earlier one still uses it); without, every
// part is tried (a rollback removes what it can).
func (a *Attachment) detach(ctx context.Context, stop bool) error {
	type part struct {
		wanted bool
		remove func() error
	}
	parts := []part{
		{a.Spinnaker != nil && a.SpinnakerCluster != nil, func() error { return a.Spinnaker.Remove(ctx, a.SpinnakerCluster) }},
		{a.Install != nil && a.Target != nil, func() error { return a.Install.Remove(ctx, a.Target) }},
		{a.CredentialSecret != nil && a.CredentialSecretCluster != nil, func() error { return a.CredentialSecret.Remove(ctx, a.CredentialSecretCluster) }},
	}
	var errs []error
	for _, p := range parts {
		if !p.wanted {
			continue
		}
		if err := p.remove(); err != nil {
			if stop {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Remove detaches the account: the SpinnakerAccount goes first (Spinnaker
// stops using the account), then the agent or its credential Secret, then
// the registration. It stops at the first failure, a *StepError, so
// nothing is removed while something that came before it still uses it;
// running it again continues (everything tolerates what is gone).
func (a *Attachment) Remove(ctx context.Context, admin *Admin) error {
	if err := a.detach(ctx, true); err != nil {
		return &StepError{Step: StepDetach, Err: err}
	}
	if err := admin.Deregister(ctx, a.Name()); err != nil && !IsNotFound(err) {
		return &StepError{Step: StepDeregister, Err: err}
	}
	return nil
}

// Remaining is what is left of the operation's time: until the context's
// deadline, or 10 minutes without one.
func Remaining(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d)
	}
	return 10 * time.Minute
}

// ended reports whether ctx is done or its deadline has passed. A call
// made just after the deadline fails at once (gRPC compares the deadline
// with the clock) while ctx.Err() may still be nil until ctx's timer has
// fired.
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// Wait asks the bridge every interval until an agent is connected and its
// first full sync is done, for the rest of ctx's time. On timeout the error
// names the missing step and what Apply did.
func (a *Attachment) Wait(ctx context.Context, admin *Admin, interval time.Duration) error {
	name := a.Name()
	err := kube.WaitFor(ctx, interval, Remaining(ctx), func(ctx context.Context) (bool, string, error) {
		acct, err := admin.Get(ctx, name)
		if err != nil {
			if ended(ctx) {
				// The wait's time ran out before or during the call: that
				// is the wait timing out, reported with the last progress
				// (the missing step), not the cut-off call's error.
				return false, "", nil
			}
			return false, "", err
		}
		done, progress := Progress(acct)
		if !done && len(a.applied) > 0 {
			progress = fmt.Sprintf("%s (done: %v)", progress, a.applied)
		}
		return done, progress, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for account %q to connect and sync: %w", name, err)
	}
	return nil
}
