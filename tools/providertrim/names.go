package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// awsNamesFile is the aws provider's table of every AWS service (~365
// `service` blocks, 200 KB of HCL). Package names embeds it and parses it
// in its init, so every start of the provider pays for it: in the modules'
// `terraform test` runs, which start the provider two or three times per run
// block, about a third of the provider's CPU (perf, aws 6.48.0).
const awsNamesFile = "names/data/names_data.hcl"

// awsCoreServices are kept in the table whatever the HCL names: the
// provider's own configuration calls STS (the caller identity) without a
// service package of its own in the trimmed build.
var awsCoreServices = map[string]bool{"sts": true}

// trimAWSNames keeps in the service table only the blocks of the kept
// service packages and awsCoreServices, each byte for byte as it was, and
// returns how many it kept. At run time the table is read only through
// package names' lookups by service package (the human-friendly names in
// diagnostics, names.HumanFriendly and names.FullHumanFriendly), which the
// kept packages make for themselves; its full list is used only by the
// provider's code generators, which the build does not run.
func trimAWSNames(out string, keep map[string]bool) (int, error) {
	path := filepath.Join(out, awsNamesFile)
	src, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("reading the aws service table: %w", err)
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return 0, fmt.Errorf("parsing the aws service table %s: %s", path, diags.Error())
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok || len(body.Attributes) > 0 || len(body.Blocks) == 0 {
		return 0, fmt.Errorf("%s is not a list of service blocks: the provider's layout changed, update tools/providertrim", path)
	}
	var b bytes.Buffer
	kept := 0
	for _, blk := range body.Blocks {
		if blk.Type != "service" || len(blk.Labels) != 1 {
			return 0, fmt.Errorf("%s: a %q block with %d labels where only `service \"NAME\"` blocks were expected: the provider's layout changed, update tools/providertrim",
				blk.Range(), blk.Type, len(blk.Labels))
		}
		names := []string{blk.Labels[0]}
		if a, ok := blk.Body.Attributes["provider_package_correct"]; ok {
			v, d := a.Expr.Value(nil)
			if d.HasErrors() || v.Type() != cty.String || v.IsNull() {
				return 0, fmt.Errorf("%s: provider_package_correct is not a string literal", a.Range())
			}
			names = append(names, v.AsString())
		}
		for _, n := range names {
			if keep[n] || awsCoreServices[n] {
				if kept > 0 {
					b.WriteString("\n")
				}
				b.Write(blk.Range().SliceBytes(src))
				b.WriteString("\n")
				kept++
				break
			}
		}
	}
	if kept == 0 {
		return 0, fmt.Errorf("%s: none of the kept services has a block: the provider's layout changed, update tools/providertrim", path)
	}
	if err := replaceFile(path, b.Bytes()); err != nil {
		return 0, fmt.Errorf("writing the trimmed aws service table: %w", err)
	}
	return kept, nil
}
