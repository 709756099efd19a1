package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
)

// Type-level trimming (aws): a kept service package still registers every
// resource, data source, ephemeral resource and list resource of its
// service (608 types in the 15 services the modules use, of which they name
// 58). Each registered type costs at every provider start: the provider
// builds its schema for GetProviderSchema and terraform decodes it, once per
// plugin start, and `terraform test` starts the provider for every run block
// (measured 2026-12-03: one run of modules/aws/edge started hashicorp/aws
// three times, about 1.5 s of schema work each). trimAWSTypes removes, from
// each kept package's generated registration file
// (internal/service/*/service_package_gen.go, written by the provider's
// internal/generate/servicepackage), the entries whose TypeName the scanned
// sources do not name. The entries left, and every resource's code, are the
// provider's own, unmodified; the code of a dropped type is still compiled
// (it is in the same package) but never registered.

// typeNameKey is the registration entries' field naming the type.
const typeNameKey = "TypeName"

// trimAWSTypes rewrites the registration files of the kept service
// packages to register only the types in keepTypes, and returns how many
// entries it dropped.
func trimAWSTypes(out string, services, keepTypes map[string]bool) (int, error) {
	dropped := 0
	for svc := range services {
		file := filepath.Join(out, "internal", "service", svc, "service_package_gen.go")
		n, err := trimRegistrations(file, keepTypes)
		if err != nil {
			return 0, err
		}
		dropped += n
	}
	return dropped, nil
}

// trimRegistrations drops, from every slice literal of file whose elements
// are composite literals with a TypeName string, the elements whose type is
// not in keep; an import no longer referenced becomes a blank import (its
// package still compiles, as before).
func trimRegistrations(file string, keep map[string]bool) (int, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
	if err != nil {
		return 0, fmt.Errorf("parsing %s: %w", file, err)
	}
	dropped, entries := 0, 0
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		var kept []ast.Expr
		registration := false
		for _, e := range lit.Elts {
			name, ok := registeredType(e)
			if !ok {
				kept = append(kept, e)
				continue
			}
			registration = true
			entries++
			if keep[name] {
				kept = append(kept, e)
			} else {
				dropped++
			}
		}
		if registration {
			lit.Elts = kept
			return false
		}
		return true
	})
	if entries == 0 {
		return 0, fmt.Errorf("%s registers no type (no %s entries): the provider's layout changed, update tools/providertrim", file, typeNameKey)
	}
	if dropped == 0 {
		return 0, nil
	}
	blankUnusedImports(f)
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, f); err != nil {
		return 0, fmt.Errorf("formatting %s: %w", file, err)
	}
	if err := replaceFile(file, buf.Bytes()); err != nil {
		return 0, fmt.Errorf("writing %s: %w", file, err)
	}
	return dropped, nil
}

// registeredType is the TypeName of a registration entry ({..., TypeName:
// "aws_x", ...} or &T{...}).
func registeredType(e ast.Expr) (string, bool) {
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
		e = u.X
	}
	lit, ok := e.(*ast.CompositeLit)
	if !ok {
		return "", false
	}
	for _, el := range lit.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		if k, ok := kv.Key.(*ast.Ident); ok && k.Name == typeNameKey {
			if v, ok := kv.Value.(*ast.BasicLit); ok && v.Kind == token.STRING {
				s, err := strconv.Unquote(v.Value)
				return s, err == nil
			}
		}
	}
	return "", false
}

var majorVersionRE = regexp.MustCompile(`^v[0-9]+$`)

// blankUnusedImports turns every import whose name the file no longer
// uses into a blank import.
func blankUnusedImports(f *ast.File) {
	used := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				used[id.Name] = true
			}
		}
		return true
	})
	for _, imp := range f.Imports {
		if imp.Name != nil && (imp.Name.Name == "_" || imp.Name.Name == ".") {
			continue
		}
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		name := path.Base(p)
		if majorVersionRE.MatchString(name) {
			name = path.Base(path.Dir(p))
		}
		if imp.Name != nil {
			name = imp.Name.Name
		}
		if !used[name] {
			imp.Name = ast.NewIdent("_")
		}
	}
}

// keptTypes is the sorted list of the types in names the registry knows:
// what a type-trimmed provider registers (the build cache's key).
func keptTypes(registry map[string]string, names []string) []string {
	var out []string
	for _, n := range names {
		if _, ok := registry[n]; ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
