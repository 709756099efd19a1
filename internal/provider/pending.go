package provider

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// A provider configuration known only after apply.
//
// A configuration that makes a cluster and manages Spinnaker on it
// (examples/aws-complete) gives the provider `kubernetes.host =
// module.eks.cluster_endpoint`, and the fleet's provider alias the bridge's
// address and CA from spinops_bridge. While what such a value comes from is
// created or replaced, Terraform and OpenTofu configure the provider for the
// plan with the value unknown, refresh and plan every resource of that
// provider with it, and configure the provider again, with the value known,
// for the apply. Such a plan cannot reach the cluster or the bridge: a
// resource's Read keeps what the last apply recorded (keepUnread) and says
// so, a plan-time check that needs the cluster runs during the apply
// instead, and what must read during the plan (a data source) fails with
// the attribute that is not known yet. An unknown value is never filled
// from an environment variable: that would be another cluster.
//
// Such a value usually changes because the cluster (or the bridge) is new:
// what the last apply made is not there. A resource left unread is
// therefore planned as an update (recheckUnread): its ModifyPlan leaves
// what the apply reads back unknown, and its Update applies everything
// again once the connection is known, which makes anew what a new cluster
// lacks and changes nothing on the same one. Without it the plan was a
// no-op, the apply never reached the object, and a cluster replaced in one
// apply was left without the installation, its zones or its policies
// while the state said they were there, until a second apply.

// unknownPaths lists, as written in configuration, the attributes under
// block of the provider's configuration whose values are not known yet.
func unknownPaths(config tftypes.Value, block string) []string {
	var out []string
	_ = tftypes.Walk(config, func(p *tftypes.AttributePath, v tftypes.Value) (bool, error) {
		steps := p.Steps()
		if len(steps) > 0 && steps[0] != tftypes.AttributeName(block) {
			return false, nil
		}
		if !v.IsKnown() {
			out = append(out, configPath(steps))
			return false, nil
		}
		return true, nil
	})
	return out
}

// configPath writes an attribute path as configuration does:
// kubernetes.exec.args[0].
func configPath(steps []tftypes.AttributePathStep) string {
	var b strings.Builder
	for _, s := range steps {
		switch s := s.(type) {
		case tftypes.AttributeName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(s))
		case tftypes.ElementKeyInt:
			b.WriteString("[" + strconv.FormatInt(int64(s), 10) + "]")
		case tftypes.ElementKeyString:
			b.WriteString("[" + strconv.Quote(string(s)) + "]")
		default:
			b.WriteString("[...]")
		}
	}
	return b.String()
}

// pendingFor names what of the provider's configuration an object needs and
// is not known yet: the provider's kubernetes block when any of overrides
// (the object's own kubernetes blocks; nil or empty for the provider's) is
// not set, and its bridge block when the object uses the bridge. Empty when
// everything it uses is known.
func (d *providerData) pendingFor(bridge bool, overrides ...*kubernetesModel) []string {
	if d == nil {
		return nil
	}
	var out []string
	if bridge {
		out = append(out, d.bridgePending...)
	}
	for _, o := range overrides {
		if !o.isSet() {
			out = append(out, d.kubePending...)
			break
		}
	}
	return out
}

// pendingText is the sentence every diagnostic of a pending configuration
// starts with.
func pendingText(pending []string) string {
	verb := "depends"
	if len(pending) > 1 {
		verb = "depend"
	}
	return fmt.Sprintf("The provider's %s %s on values known only after apply (a resource this plan creates or replaces)", strings.Join(pending, ", "), verb)
}

// unreadKey marks, in private state, an object imported and not read
// since: its state holds only what the import id says. (The agent
// account's privateImported lasts until its first update.)
const unreadKey = "unread"

// markImported is what ImportState of every resource that keepUnread
// serves does.
func markImported(ctx context.Context, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, unreadKey, []byte("true"))...)
}

// notReadKey marks, in private state, an object whose last refresh could
// not reach it (keepUnread). Terraform and OpenTofu plan again during the
// apply from the state that refresh left, so the mark is what both plans
// see: the one shown to the user, with the connection unknown, and the
// final one, with it known, which must plan the same update (an update
// whose unknown values all turn out as they were is applied as no change).
// The next Read that reaches the object, or the update, clears it.
const notReadKey = "not_read"

// recheckUnread reports whether the object's last refresh left it unread
// (keepUnread): its ModifyPlan then plans an update whose apply makes
// everything again (see the top of this file).
func recheckUnread(ctx context.Context, private privateState, diags *diag.Diagnostics) bool {
	v, d := private.GetKey(ctx, notReadKey)
	diags.Append(d...)
	return len(v) > 0
}

// clearUnread is what an update that applied everything does to the mark.
func clearUnread(ctx context.Context, private privateState, diags *diag.Diagnostics) {
	diags.Append(private.SetKey(ctx, notReadKey, nil)...)
}

// keepUnread ends a Read that cannot reach what the object lives in because
// the provider's configuration of it is not known yet (pendingFor): the
// state stays as the last apply left it, marked (notReadKey) so the plan
// applies it again, with a warning saying so. An object being imported has
// no such state (a plan from its import id alone would replace it), so its
// import fails, saying why. It reports whether the Read is over.
func keepUnread(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse, what string, pending []string) bool {
	imported, d := req.Private.GetKey(ctx, unreadKey)
	resp.Diagnostics.Append(d...)
	switch {
	case resp.Diagnostics.HasError():
		return true
	case len(pending) == 0:
		if imported != nil {
			resp.Diagnostics.Append(resp.Private.SetKey(ctx, unreadKey, nil)...)
		}
		if recheckUnread(ctx, req.Private, &resp.Diagnostics) {
			clearUnread(ctx, resp.Private, &resp.Diagnostics)
		}
		return false
	case imported != nil:
		pendingError(&resp.Diagnostics, "Cannot import "+what+" yet", pending)
		return true
	}
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, notReadKey, []byte("true"))...)
	resp.Diagnostics.AddWarning("Not refreshed: the provider's connection is known only after apply",
		fmt.Sprintf("%s, so %s was not read during this plan: the plan uses what the last apply recorded, and plans an update that applies it "+
			"again once the connection is known. On a new cluster that makes it anew; on the same one it changes nothing. The first plan after "+
			"that reads it again and shows anything changed outside Terraform.", pendingText(pending), what))
	return true
}

// pendingError is the error of something that must reach a cluster or the
// bridge during the plan while the provider's configuration of it is not
// known yet.
func pendingError(diags *diag.Diagnostics, summary string, pending []string) {
	diags.AddError(summary, pendingText(pending)+", and this has to be read during the plan. Apply what the connection depends on first "+
		"(terraform apply -target=<that resource>), then plan again; or give the provider values known at plan time.")
}
