package bridge

import (
	"bytes"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/spinops/terraform-provider-spinops/internal/scope"
)

func isSecret(gvr schema.GroupVersionResource) bool {
	return gvr.Group == "" && gvr.Resource == "secrets"
}

// scrubSecret removes data, stringData, managedFields and the last-applied
// annotation from a Secret's JSON. Agents watch Secrets metadata-only, so
// this is a second line of defence: whatever an agent sends, the cache
// holds no secret data. It always parses (an escaped key such as
// "d\u0061ta" is the key data); what does not parse becomes {}.
func scrubSecret(raw []byte) []byte {
	out, err := scope.ScrubSecrets(raw)
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return []byte(`{}`)
	}
	return bytes.TrimRight(out, "\n")
}
