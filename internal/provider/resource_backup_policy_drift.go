package provider

import (
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// writeOnlyPlaceholder stands for a write-only value when the objects are
// rendered to check them for drift: only the Secret holds the value, and
// the Secret is not compared.
const writeOnlyPlaceholder = "write-only"

// backupPolicyDrift renders the policy's objects from applied (the state as
// the last apply left it, or, just after an import, as read back from the
// cluster) and asks the API server which differ from what an apply would
// make them (kube.Client.Drift): an edit of
// the configuration in the ConfigMap, a CronJob suspended or its pod changed,
// the archiver scaled to 0 or deleted. Its own Secret is checked for the
// keys the write-only values put there, never for their values; which keys
// it holds also says how the pods reference it, so an imported policy (no
// *_wo_version in state yet) renders as the apply did.
func backupPolicyDrift(ctx context.Context, c *kube.Client, state *backupPolicyModel, prior types.List, diags *diag.Diagnostics) types.List {
	fail := func(err error) types.List {
		diags.AddError("Checking the backup policy for drift failed", err.Error())
		return prior
	}
	pol, err := expandBackupPolicy(state)
	if err != nil {
		return fail(fmt.Errorf("rendering the policy from state: %w", err))
	}
	ns, name := state.Namespace.ValueString(), backup.ObjectName(state.Name.ValueString())
	want := map[string]bool{
		backup.SecretPasswordKey: state.Sources != nil && state.Sources.MySQL != nil && !state.Sources.MySQL.PasswordWOVersion.IsNull(),
		backup.SecretSigningKey:  !state.SigningKeyWOVersion.IsNull(),
	}
	have, exists, ok := secretKeysForDrift(ctx, c, "the backup policy", ns, name, diags)
	if !ok {
		return prior
	}
	var found []string
	switch {
	case !exists && (want[backup.SecretPasswordKey] || want[backup.SecretSigningKey]):
		found = append(found, fmt.Sprintf("Secret %s/%s: deleted", ns, name))
	case exists && (want[backup.SecretPasswordKey] && !have[backup.SecretPasswordKey] || want[backup.SecretSigningKey] && !have[backup.SecretSigningKey]):
		found = append(found, fmt.Sprintf("Secret %s/%s: changed: data", ns, name))
	}
	if want[backup.SecretPasswordKey] || have[backup.SecretPasswordKey] {
		pol.Password = writeOnlyPlaceholder
	}
	if want[backup.SecretSigningKey] || have[backup.SecretSigningKey] {
		pol.SigningKey = writeOnlyPlaceholder
	}
	objs, err := pol.Objects()
	if err != nil {
		return fail(fmt.Errorf("rendering the policy from state: %w", err))
	}
	objs = slices.DeleteFunc(objs, func(u *unstructured.Unstructured) bool { return u.GetKind() == "Secret" })
	return driftedObjects(ctx, c, "the backup policy", prior, diags, objs, found...)
}
