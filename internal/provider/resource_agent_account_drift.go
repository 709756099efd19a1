package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// agentDrift is drifted_objects of an account: the objects the last apply
// made for its agent — the install in the target cluster (in, through
// target) and the credential Secret — rendered as an apply renders them now
// and compared by kube.Client.Drift.
//
// Rendering them takes what the apply takes: the watched kinds resolved
// against the target cluster (so a ClusterRole that no longer grants
// exactly those is drift: the apply would change it) and the agent
// credential, read from the bridge as the apply reads it, held in memory
// for the dry run only. What cannot be reached or read skips the check
// with a warning, keeping the last value, as the objects' existence check
// (agent_installed) does.
func (r *agentAccountResource) agentDrift(ctx context.Context, admin *attach.Admin, m *agentAccountModel, in *attach.AgentInstall, target *kube.Client, diags *diag.Diagnostics) types.List {
	const what = "the agent's objects"
	if m.InstallAgent == nil && m.CredentialSecret == nil {
		return noDrift()
	}
	prior := priorDrift(m.DriftedObjects)
	skip := func(reason string, err error) types.List {
		diags.AddWarning("Drift not checked", fmt.Sprintf("Checking %s for changes made outside Terraform %s, which failed: %v. drifted_objects keeps its last value.", what, reason, err))
		return prior
	}
	if m.InstallAgent != nil && (in == nil || target == nil) {
		return prior // the install's settings or cluster: diagnosed by the caller
	}
	credential, err := admin.Credential(ctx, m.Name.ValueString())
	if err == nil && credential == "" {
		err = errors.New("the bridge holds no agent credential for the account")
	}
	if err != nil {
		return skip("renders them with the agent credential the bridge holds", err)
	}
	type part struct {
		c    *kube.Client
		objs []*unstructured.Unstructured
	}
	var parts []part
	if m.InstallAgent != nil {
		rules, err := attach.ResolveRules(ctx, target, in.Filter)
		if err != nil {
			return skip("resolves the watched kinds in the target cluster", err)
		}
		objs, err := in.Objects(rules, credential)
		if err != nil {
			diags.AddError("Checking "+what+" for drift failed", fmt.Sprintf("rendering the agent install: %v", err))
			return prior
		}
		if rules.Incomplete != nil {
			// Some API group did not answer discovery: the ClusterRoles
			// rendered now lack its kinds, which nobody removed. They are
			// compared again once it answers.
			diags.AddWarning("Drift of the agent's ClusterRole not checked", fmt.Sprintf("The watched kinds could not all be resolved in the target "+
				"cluster (%v), so the agent's ClusterRole is not compared this time; its other objects are. Note that an apply now would grant "+
				"only the kinds that were discovered.", rules.Incomplete))
			objs = slices.DeleteFunc(objs, func(u *unstructured.Unstructured) bool { return u.GetKind() == "ClusterRole" })
		}
		parts = append(parts, part{target, objs})
	}
	if m.CredentialSecret != nil {
		ep, err := r.bridgeEndpoint(nil)
		if err != nil {
			return skip("renders the credential Secret with the bridge's address", err)
		}
		c := kubeClientAt(ctx, r.data, m.CredentialSecret.Kubernetes, path.Root("credential_secret").AtName("kubernetes"), diags)
		if c == nil {
			return prior
		}
		parts = append(parts, part{c, []*unstructured.Unstructured{credentialSecret(m, ep).Object(credential)}})
	}
	var drifted []string
	for _, p := range parts {
		d, ok := driftOf(ctx, p.c, what, diags, p.objs)
		if !ok {
			return prior
		}
		drifted = append(drifted, d...)
	}
	return driftList(ctx, what, drifted)
}
