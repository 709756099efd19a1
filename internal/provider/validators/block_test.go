package validators

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestPlaceholder(t *testing.T) {
	typ := map[string]attr.Type{"bucket": types.StringType, "region": types.StringType}
	obj := func(bucket, region types.String) types.Object {
		return types.ObjectValueMust(typ, map[string]attr.Value{"bucket": bucket, "region": region})
	}
	cases := map[string]struct {
		v    attr.Value
		want bool
	}{
		"null block":                      {types.ObjectNull(typ), false},
		"unknown block":                   {types.ObjectUnknown(typ), true},
		"dynamic block, for_each unknown": {obj(types.StringUnknown(), types.StringNull()), true},
		"every attribute unknown":         {obj(types.StringUnknown(), types.StringUnknown()), true},
		"a known attribute: a real block": {obj(types.StringValue("b"), types.StringUnknown()), false},
		"all null: a real, empty block":   {obj(types.StringNull(), types.StringNull()), false},
		"a string is not a block":         {types.StringUnknown(), true},
		"a known string is not a block":   {types.StringValue("x"), false},
	}
	for name, c := range cases {
		if got := Placeholder(c.v); got != c.want {
			t.Errorf("%s: Placeholder = %v, want %v", name, got, c.want)
		}
	}
}
