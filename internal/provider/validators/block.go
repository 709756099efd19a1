package validators

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
)

// Placeholder reports whether v is not known yet as a block: unknown, or
// an object whose attributes are all null or not known yet, at least one
// of them unknown.
//
// A `dynamic` block whose for_each is not known yet (a module input during
// `terraform validate`, where every input is unknown; a value known only
// after apply) reaches the provider as such an object for a single nested
// block: present, with the attributes its content sets unknown and the
// others null. Whether the block will exist is then not known, so a check
// that two blocks exclude each other must wait until the values are known
// (Terraform validates again then; the framework's own validators wait for
// an unknown value, not for an object of unknowns).
func Placeholder(v attr.Value) bool {
	if v == nil || v.IsNull() {
		return false
	}
	if v.IsUnknown() {
		return true
	}
	o, ok := v.(basetypes.ObjectValue)
	if !ok {
		return false
	}
	vals := make([]attr.Value, 0, len(o.Attributes()))
	for _, a := range o.Attributes() {
		vals = append(vals, a)
	}
	return PlaceholderValues(vals...)
}

// PlaceholderValues is Placeholder for a block decoded into a struct: its
// attributes' values.
func PlaceholderValues(vals ...attr.Value) bool {
	unknown := false
	for _, a := range vals {
		switch {
		case a == nil || a.IsNull():
		case a.IsUnknown() || Placeholder(a):
			unknown = true
		default:
			return false
		}
	}
	return unknown
}

// Unknown reports whether v is not known yet: unknown, or a placeholder
// block.
func Unknown(v attr.Value) bool { return v != nil && !v.IsNull() && (v.IsUnknown() || Placeholder(v)) }

// ConflictsWithBlock is objectvalidator.ConflictsWith for single nested
// blocks that may be written as `dynamic` blocks: a block (this one or one
// of paths) that is a Placeholder is treated as not known yet, and the
// check waits for it.
func ConflictsWithBlock(paths ...path.Expression) validator.Object { return conflictsWithBlock{paths} }

type conflictsWithBlock struct{ paths []path.Expression }

func (v conflictsWithBlock) Description(context.Context) string {
	return fmt.Sprintf("cannot be set together with %v", v.paths)
}

func (v conflictsWithBlock) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v conflictsWithBlock) ValidateObject(ctx context.Context, req validator.ObjectRequest, resp *validator.ObjectResponse) {
	if req.ConfigValue.IsNull() || Unknown(req.ConfigValue) {
		return
	}
	for _, expr := range req.PathExpression.MergeExpressions(v.paths...) {
		matched, diags := req.Config.PathMatches(ctx, expr)
		resp.Diagnostics.Append(diags...)
		if diags.HasError() {
			continue
		}
		for _, p := range matched {
			if p.Equal(req.Path) {
				continue
			}
			var other attr.Value
			diags := req.Config.GetAttribute(ctx, p, &other)
			resp.Diagnostics.Append(diags...)
			if diags.HasError() || other == nil || other.IsNull() || Unknown(other) {
				continue
			}
			resp.Diagnostics.AddAttributeError(req.Path, "Invalid Attribute Combination",
				fmt.Sprintf("%s and %s cannot both be set: set one of them.", req.Path, p))
		}
	}
}
