package validators_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// stringCase is one value and the error it must produce ("" for none).
type stringCase struct {
	val       types.String
	wantError string
}

// testString runs a string validator over a table: null and unknown
// values always pass.
func testString(t *testing.T, v validator.String, cases map[string]stringCase) {
	t.Helper()
	cases["null"] = stringCase{val: types.StringNull()}
	cases["unknown"] = stringCase{val: types.StringUnknown()}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp := validator.StringResponse{}
			v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("test"), ConfigValue: c.val}, &resp)
			checkDiags(t, c.val.String(), resp.Diagnostics.HasError(), diagText(resp.Diagnostics), c.wantError)
		})
	}
}

// mapCase is one map and the error it must produce ("" for none).
type mapCase struct {
	val       types.Map
	wantError string
}

func testMap(t *testing.T, v validator.Map, cases map[string]mapCase) {
	t.Helper()
	cases["null"] = mapCase{val: types.MapNull(types.StringType)}
	cases["unknown"] = mapCase{val: types.MapUnknown(types.StringType)}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp := validator.MapResponse{}
			v.ValidateMap(context.Background(), validator.MapRequest{Path: path.Root("test"), ConfigValue: c.val}, &resp)
			checkDiags(t, c.val.String(), resp.Diagnostics.HasError(), diagText(resp.Diagnostics), c.wantError)
		})
	}
}

func stringMap(kv map[string]attr.Value) types.Map { return types.MapValueMust(types.StringType, kv) }

func diagText[D interface {
	Summary() string
	Detail() string
}, S ~[]D](ds S) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.Summary() + ": " + d.Detail() + "\n")
	}
	return b.String()
}

func checkDiags(t *testing.T, val string, hasError bool, text, want string) {
	t.Helper()
	switch {
	case want == "" && hasError:
		t.Fatalf("%s: unexpected error:\n%s", val, text)
	case want != "" && !hasError:
		t.Fatalf("%s: no error, want one containing %q", val, want)
	case want != "" && !strings.Contains(text, want):
		t.Fatalf("%s: error\n%s\ndoes not contain %q", val, text, want)
	}
}
