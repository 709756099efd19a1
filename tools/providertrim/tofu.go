package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// OpenTofu (-tofu): the tests run `tofu test`, `tofu init` and `tofu
// apply` with local state, but the tofu binary compiles every remote-state
// backend (Azure, Tencent COS, Alibaba OSS, Kubernetes, Consul, Postgres,
// S3, GCS) and every state-encryption key provider (AWS/GCP KMS, Azure Key
// Vault, OpenBao), with their SDKs: about a third of its 1,549 dependency
// packages. -tofu copies the OpenTofu module and drops, from the two files
// that register them, the backends and key providers no HCL in the scanned
// directories names (a `backend "s3"` or `key_provider "aws_kms"` keeps
// it). Everything else is OpenTofu's own source, unmodified.
const (
	tofuBackendsFile     = "internal/backend/init/init.go"
	tofuKeyProvidersFile = "internal/encryption/default_registry.go"
	tofuRemoteState      = "github.com/opentofu/opentofu/internal/backend/remote-state/"
	tofuKeyProviders     = "github.com/opentofu/opentofu/internal/encryption/keyprovider/"
)

var (
	// Light and always kept: no cloud SDK behind them.
	tofuAlwaysBackends     = map[string]bool{"local": true, "remote": true, "cloud": true, "http": true, "inmem": true}
	tofuAlwaysKeyProviders = map[string]bool{"pbkdf2": true, "external": true}

	hclBackendRE     = regexp.MustCompile(`\bbackend\s+"([a-z0-9_]+)"`)
	hclKeyProviderRE = regexp.MustCompile(`\bkey_provider\s+"([a-z0-9_]+)"`)
)

// runTofu trims the OpenTofu tree and prints what it keeps (the caller keys
// its build by it).
func runTofu(src, out string, scanDirs []string, listOnly bool) error {
	backends, keyProviders := copyOf(tofuAlwaysBackends), copyOf(tofuAlwaysKeyProviders)
	if err := scanHCL(scanDirs, func(b []byte) {
		for _, m := range hclBackendRE.FindAllSubmatch(b, -1) {
			backends[string(m[1])] = true
		}
		for _, m := range hclKeyProviderRE.FindAllSubmatch(b, -1) {
			keyProviders[string(m[1])] = true
		}
	}); err != nil {
		return err
	}
	summary := "backends: " + strings.Join(sortedKeys(backends), ",") + "\nkey providers: " + strings.Join(sortedKeys(keyProviders), ",")
	if listOnly {
		fmt.Println(summary)
		return nil
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("output directory %s already exists", out)
	}
	if err := copyTree(src, out); err != nil {
		return fmt.Errorf("copying %s to %s: %w", src, out, err)
	}
	if err := trimTofuBackends(filepath.Join(out, tofuBackendsFile), backends); err != nil {
		return err
	}
	if err := trimTofuKeyProviders(filepath.Join(out, tofuKeyProvidersFile), keyProviders); err != nil {
		return err
	}
	fmt.Println(summary)
	return nil
}

// trimTofuBackends drops the entries of the `backends` map whose name is not
// kept and whose constructor comes from a remote-state package, then those
// packages' imports.
func trimTofuBackends(path string, keep map[string]bool) error {
	return trimRegistry(path, tofuRemoteState, "remote-state backend", keep, tofuAlwaysBackends,
		func(f *ast.File, remote map[string]string, found map[string]bool) {
			ast.Inspect(f, func(n ast.Node) bool {
				cl, ok := n.(*ast.CompositeLit)
				if !ok {
					return true
				}
				var elts []ast.Expr
				for _, e := range cl.Elts {
					kv, _ := e.(*ast.KeyValueExpr)
					var lit *ast.BasicLit
					if kv != nil {
						lit, _ = kv.Key.(*ast.BasicLit)
					}
					if lit == nil || lit.Kind != token.STRING || len(referencedIn(kv.Value, remote)) == 0 {
						elts = append(elts, e)
						continue
					}
					name, _ := strconv.Unquote(lit.Value)
					found[name] = true
					if keep[name] {
						elts = append(elts, e)
					}
				}
				cl.Elts = elts
				return true
			})
		})
}

// trimTofuKeyProviders drops the RegisterKeyProvider statements of key
// providers not kept (named by their package, e.g. aws_kms), then their
// imports.
func trimTofuKeyProviders(path string, keep map[string]bool) error {
	return trimRegistry(path, tofuKeyProviders, "key provider", keep, tofuAlwaysKeyProviders,
		func(f *ast.File, providers map[string]string, found map[string]bool) {
			ast.Inspect(f, func(n ast.Node) bool {
				b, ok := n.(*ast.BlockStmt)
				if !ok {
					return true
				}
				var list []ast.Stmt
				for _, s := range b.List {
					refs := referencedIn(s, providers)
					if len(refs) != 1 {
						list = append(list, s)
						continue
					}
					pkg := providers[refs[0]]
					found[pkg] = true
					if keep[pkg] {
						list = append(list, s)
					}
				}
				b.List = list
				return true
			})
		})
}

// trimRegistry parses the Go file at path, lets drop remove the
// registrations that are not kept (recording in found every one it saw;
// names maps each import under prefix to its package), checks that the
// file registered such things at all and everything kept that is not
// always there, then removes the imports under prefix no longer used.
func trimRegistry(path, prefix, what string, keep, always map[string]bool, drop func(f *ast.File, names map[string]string, found map[string]bool)) error {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
	if err != nil {
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	found := map[string]bool{}
	drop(f, importNamesUnder(f, prefix), found)
	if len(found) == 0 {
		return fmt.Errorf("%s registers no %s: OpenTofu's layout changed, update tools/providertrim/tofu.go", path, what)
	}
	for name := range keep {
		if !always[name] && !found[name] {
			return fmt.Errorf("the HCL names the %s %q, which %s does not register", what, name, path)
		}
	}
	return dropUnreferencedImports(fset, f, path, prefix)
}

// importNamesUnder maps the name each import under prefix is used by to the
// last element of its path.
func importNamesUnder(f *ast.File, prefix string) map[string]string {
	m := map[string]string{}
	for _, s := range f.Imports {
		p, _ := strconv.Unquote(s.Path.Value)
		if strings.HasPrefix(p, prefix) {
			m[importName(f, p)] = filepath.Base(p)
		}
	}
	return m
}

// referencedIn returns the names of names that n refers to as pkg.X.
func referencedIn(n ast.Node, names map[string]string) []string {
	seen := map[string]bool{}
	ast.Inspect(n, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				if _, ok := names[id.Name]; ok {
					seen[id.Name] = true
				}
			}
		}
		return true
	})
	return sortedKeys(seen)
}

// dropUnreferencedImports removes the imports under prefix the file no
// longer refers to and writes it.
func dropUnreferencedImports(fset *token.FileSet, f *ast.File, path, prefix string) error {
	names := importNamesUnder(f, prefix)
	used := map[string]bool{}
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			continue
		}
		for _, n := range referencedIn(d, names) {
			used[n] = true
		}
	}
	removeImports(f, func(p string) bool {
		return strings.HasPrefix(p, prefix) && !used[importName(f, p)]
	})
	return writeFile(fset, f, path)
}

// scanHCL calls fn with every .tf and .hcl file under dirs.
func scanHCL(dirs []string, fn func([]byte)) error {
	return scanFiles(dirs, []string{".tf", ".hcl"}, fn)
}

// scanFiles calls fn with every file under dirs whose name ends in one of
// suffixes.
func scanFiles(dirs, suffixes []string, fn func([]byte)) error {
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if n := d.Name(); n == ".terraform" || (strings.HasPrefix(n, ".") && path != dir) {
					return filepath.SkipDir
				}
				return nil
			}
			if !slices.ContainsFunc(suffixes, func(s string) bool { return strings.HasSuffix(path, s) }) {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			fn(b)
			return nil
		})
		if err != nil {
			return fmt.Errorf("scanning %s: %w", dir, err)
		}
	}
	return nil
}

func copyOf(m map[string]bool) map[string]bool {
	c := make(map[string]bool, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
