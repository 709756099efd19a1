package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"math/big"
	"sort"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// configRevisionAttributes are the arguments of spinops_managed_spinnaker
// that reach the zones' rendering (the shared configuration and the
// versions of its write-only secrets). Operator and promotion settings do
// not change what a zone runs.
var configRevisionAttributes = []string{
	"spinnaker_version", "persistence", "sql", "redis", "auth",
	"features", "profiles", "service_settings", "config_overrides",
}

// configRevision hashes the shared-configuration arguments of a
// spinops_managed_spinnaker plan. It is known at plan time whenever they
// are, so a zone that references it is planned for update in the same run
// as the change of the shared configuration. false: something is unknown.
func configRevision(raw tftypes.Value) (string, bool) {
	var attrs map[string]tftypes.Value
	if err := raw.As(&attrs); err != nil {
		return "", false
	}
	h := sha256.New()
	for _, k := range configRevisionAttributes {
		v, ok := attrs[k]
		if !ok {
			continue
		}
		if !v.IsFullyKnown() {
			return "", false
		}
		fmt.Fprintf(h, "%s=", k)
		writeCanonical(h, v)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))[:16], true
}

// writeCanonical writes a value deterministically: object and map keys
// sorted, primitives by value.
func writeCanonical(h hash.Hash, v tftypes.Value) {
	if v.IsNull() {
		h.Write([]byte("null"))
		return
	}
	t := v.Type()
	switch {
	case t.Is(tftypes.String):
		var s string
		_ = v.As(&s)
		fmt.Fprintf(h, "%q", s)
	case t.Is(tftypes.Number):
		var n big.Float
		_ = v.As(&n)
		h.Write([]byte(n.Text('g', -1)))
	case t.Is(tftypes.Bool):
		var b bool
		_ = v.As(&b)
		fmt.Fprintf(h, "%t", b)
	case t.Is(tftypes.Object{}), t.Is(tftypes.Map{}):
		var m map[string]tftypes.Value
		_ = v.As(&m)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		h.Write([]byte{'{'})
		for _, k := range keys {
			fmt.Fprintf(h, "%q:", k)
			writeCanonical(h, m[k])
			h.Write([]byte{','})
		}
		h.Write([]byte{'}'})
	default: // list, set, tuple
		var l []tftypes.Value
		_ = v.As(&l)
		h.Write([]byte{'['})
		for _, e := range l {
			writeCanonical(h, e)
			h.Write([]byte{','})
		}
		h.Write([]byte{']'})
	}
}
