// Command providertrim prepares a source tree of hashicorp/terraform-provider-aws
// or -google that registers only the services this project's HCL uses, for
// the module tests' provider builds.
//
// Each provider compiles every service of its cloud (aws: ~250 provider
// packages and as many SDK clients; google: ~175 service packages): on this
// project's 2-core machine the aws build alone was half of a cold `make
// test`. The modules use about ten AWS services and six Google ones. Their
// resources and data sources are compiled from the provider's own,
// unmodified sources; the tree differs from the module proxy's only in
// generated registration files:
//
//   - aws: internal/provider/sdkv2/service_packages_gen.go lists only the
//     service packages that register a type named in the scanned HCL, and
//     internal/conns/awsclient_gen.go keeps only the SDK client accessors the
//     kept packages call, so the other SDK clients are not compiled; each
//     kept package's service_package_gen.go registers only the named types
//     (types.go), and names/data/names_data.hcl, the service table every
//     start of the provider parses, keeps only the kept services (names.go);
//   - google: google/provider/provider_register_services.go imports (and so
//     registers, from each package's init) only the services that register a
//     type named in the scanned HCL.
//
// A type the HCL names is kept by construction; a type the provider does not
// know at all is reported by terraform itself, as with the real provider.
//
// Usage:
//
//	providertrim -provider aws|google -src MODDIR -out DIR -scan DIR[,DIR...]
//	providertrim -tofu -src MODDIR -out DIR -scan DIR[,DIR...]
//
// -tofu trims OpenTofu's remote-state backends and state-encryption key
// providers the same way (see tofu.go).
//
// It copies MODDIR (the module cache's read-only copy) to DIR, rewrites the
// files, and prints the kept service packages, one per line, so the caller
// can key its build cache by them (-list prints them without writing).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

const (
	awsModPath          = "github.com/hashicorp/terraform-provider-aws"
	awsServicePkgPrefix = awsModPath + "/internal/service/"
	awsServicesFile     = "internal/provider/sdkv2/service_packages_gen.go"
	awsClientFile       = "internal/conns/awsclient_gen.go"

	googleServicePkgPrefix = "github.com/hashicorp/terraform-provider-google/google/services/"
	googleServicesFile     = "google/provider/provider_register_services.go"
)

// flavour is what differs between the two providers.
type flavour struct {
	typePrefix string         // aws_ or google_
	registry   string         // glob of the files that register type names
	nameRE     *regexp.Regexp // a registered type name, in those files
	trim       func(out string, keep map[string]bool) error
}

var flavours = map[string]flavour{
	"aws": {
		typePrefix: "aws_",
		registry:   "internal/service/*/service_package_gen.go",
		nameRE:     regexp.MustCompile(`TypeName:\s*"(aws_[a-z0-9_]+)"`),
		trim:       trimAWS,
	},
	"google": {
		typePrefix: "google_",
		registry:   "google/services/*/*.go",
		nameRE:     regexp.MustCompile(`Name:\s*"(google_[a-z0-9_]+)"`),
		trim:       trimGoogle,
	},
}

func main() {
	provider := flag.String("provider", "", "aws or google")
	src := flag.String("src", "", "the provider's module directory (read-only is fine)")
	out := flag.String("out", "", "directory to write the trimmed tree to (must not exist)")
	scan := flag.String("scan", "", "comma-separated directories whose .tf/.hcl files name the aws_* types to keep")
	listOnly := flag.Bool("list", false, "only print the service packages the scanned HCL needs")
	listTypes := flag.Bool("list-types", false, "aws: only print the types the trimmed provider registers (every registered type the scanned files name)")
	tofu := flag.Bool("tofu", false, "trim an OpenTofu module tree instead: drop the remote-state backends and key providers the scanned HCL does not name")
	flag.Parse()
	if *tofu {
		if *src == "" || *scan == "" || (*out == "" && !*listOnly) {
			fmt.Fprintln(os.Stderr, "usage: providertrim -tofu -src MODDIR -out DIR -scan DIR[,DIR...] [-list]")
			os.Exit(2)
		}
		if err := runTofu(*src, *out, strings.Split(*scan, ","), *listOnly); err != nil {
			fmt.Fprintln(os.Stderr, "providertrim:", err)
			os.Exit(1)
		}
		return
	}
	fl, ok := flavours[*provider]
	if !ok || *src == "" || *scan == "" || (*out == "" && !*listOnly && !*listTypes) {
		fmt.Fprintln(os.Stderr, "usage: providertrim -provider aws|google -src MODDIR -out DIR -scan DIR[,DIR...] [-list]")
		os.Exit(2)
	}
	if *listTypes {
		if err := printTypes(fl, *src, strings.Split(*scan, ",")); err != nil {
			fmt.Fprintln(os.Stderr, "providertrim:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(fl, *src, *out, strings.Split(*scan, ","), *listOnly); err != nil {
		fmt.Fprintln(os.Stderr, "providertrim:", err)
		os.Exit(1)
	}
}

func run(fl flavour, src, out string, scanDirs []string, listOnly bool) error {
	registry, err := typeRegistry(fl, src)
	if err != nil {
		return err
	}
	names, err := hclTypeNames(fl.typePrefix, scanDirs)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, n := range names {
		if svc, ok := registry[n]; ok {
			keep[svc] = true
		}
	}
	if len(keep) == 0 {
		return fmt.Errorf("no %s* type in %s is registered by the provider in %s: refusing to build an empty provider", fl.typePrefix, strings.Join(scanDirs, ", "), src)
	}
	kept := make([]string, 0, len(keep))
	for s := range keep {
		kept = append(kept, s)
	}
	sort.Strings(kept)
	if listOnly {
		fmt.Println(strings.Join(kept, "\n"))
		return nil
	}

	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("output directory %s already exists", out)
	}
	if err := copyTree(src, out); err != nil {
		return fmt.Errorf("copying %s to %s: %w", src, out, err)
	}
	if err := fl.trim(out, keep); err != nil {
		return err
	}
	if fl.typePrefix == "aws_" {
		types := map[string]bool{}
		for _, t := range keptTypes(registry, names) {
			types[t] = true
		}
		if _, err := trimAWSTypes(out, keep, types); err != nil {
			return err
		}
	}
	fmt.Println(strings.Join(kept, "\n"))
	return nil
}

// printTypes prints the types a trimmed provider registers, one per line.
func printTypes(fl flavour, src string, scanDirs []string) error {
	registry, err := typeRegistry(fl, src)
	if err != nil {
		return err
	}
	names, err := hclTypeNames(fl.typePrefix, scanDirs)
	if err != nil {
		return err
	}
	fmt.Println(strings.Join(keptTypes(registry, names), "\n"))
	return nil
}

// typeRegistry maps every type name the provider registers to the service
// package directory that registers it.
func typeRegistry(fl flavour, src string) (map[string]string, error) {
	files, err := filepath.Glob(filepath.Join(src, fl.registry))
	if err != nil {
		return nil, err
	}
	reg := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading the service registry: %w", err)
		}
		svc := filepath.Base(filepath.Dir(f))
		for _, m := range fl.nameRE.FindAllSubmatch(b, -1) {
			reg[string(m[1])] = svc
		}
	}
	if len(reg) == 0 {
		return nil, fmt.Errorf("no type registrations in %s: not a provider tree this tool knows", filepath.Join(src, fl.registry))
	}
	return reg, nil
}

// hclTypeNames returns every prefix* word in the .tf, .tftest.hcl and .hcl files
// under dirs (and in the .go files, whose tests write Terraform of their
// own, e.g. internal/modtest's root modules): resource and data blocks,
// mock and override targets, and references. Words that are not type names
// (a variable called aws_region) only keep a service more, never one less.
func hclTypeNames(prefix string, dirs []string) ([]string, error) {
	hclTypeRE := regexp.MustCompile(`\b` + prefix + `[a-z0-9_]+\b`)
	seen := map[string]bool{}
	if err := scanFiles(dirs, []string{".tf", ".hcl", ".go"}, func(b []byte) {
		for _, m := range hclTypeRE.FindAll(b, -1) {
			seen[string(m)] = true
		}
	}); err != nil {
		return nil, fmt.Errorf("looking for %s* types: %w", prefix, err)
	}
	return sortedKeys(seen), nil
}

// copyTree copies the non-test Go sources and everything else the build
// reads (go.mod, go.sum, embedded files), writable.
func copyTree(src, out string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(out, rel)
		if d.IsDir() {
			switch rel {
			case "website", "docs", "examples", "infrastructure", ".ci", ".github":
				return filepath.SkipDir
			}
			return os.MkdirAll(dst, 0o755)
		}
		if strings.HasSuffix(path, "_test.go") || !d.Type().IsRegular() {
			return nil
		}
		// A hard link where the file system allows it: the tree is tens of
		// thousands of files, of which the trim rewrites a handful, and a
		// copy of each cost more CPU (system calls) than all the rest. The
		// rewrites replace their file (replaceFile), never writing into
		// it, so the module cache the links share an inode with is never
		// changed.
		if os.Link(path, dst) == nil {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// replaceFile writes data to a new file renamed over path: copyTree's files
// may be hard links to the module cache, which a write into path would
// change.
func replaceFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".providertrim-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing there
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func trimAWS(out string, keep map[string]bool) error {
	if err := trimServicePackages(filepath.Join(out, awsServicesFile), keep); err != nil {
		return err
	}
	used, err := usedClientAccessors(out)
	if err != nil {
		return err
	}
	if err := trimClients(filepath.Join(out, awsClientFile), used); err != nil {
		return err
	}
	_, err = trimAWSNames(out, keep)
	return err
}

// trimGoogle drops the blank imports that register the services not in keep.
func trimGoogle(out string, keep map[string]bool) error {
	path := filepath.Join(out, googleServicesFile)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
	if err != nil {
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	var services int
	for _, s := range f.Imports {
		if p, _ := strconv.Unquote(s.Path.Value); strings.HasPrefix(p, googleServicePkgPrefix) {
			services++
		}
	}
	if services == 0 {
		return fmt.Errorf("%s imports no service packages: the provider's layout changed, update tools/providertrim", path)
	}
	if err := dropUnkeptServices(f, path, googleServicePkgPrefix, keep); err != nil {
		return err
	}
	f.Comments = headerComments(f)
	return writeFile(fset, f, path)
}

// trimServicePackages drops the imports and ServicePackage(ctx) entries of
// every service package not in keep.
func trimServicePackages(path string, keep map[string]bool) error {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
	if err != nil {
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	var entries int
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		var elts []ast.Expr
		for _, e := range lit.Elts {
			call, ok := e.(*ast.CallExpr)
			if !ok {
				elts = append(elts, e)
				continue
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			id, ok2 := func() (*ast.Ident, bool) {
				if !ok {
					return nil, false
				}
				id, ok := sel.X.(*ast.Ident)
				return id, ok
			}()
			if !ok2 || sel.Sel.Name != "ServicePackage" {
				elts = append(elts, e)
				continue
			}
			entries++
			if keep[id.Name] {
				elts = append(elts, e)
			}
		}
		lit.Elts = elts
		return true
	})
	if entries == 0 {
		return fmt.Errorf("%s lists no X.ServicePackage(ctx) entries: the provider's layout changed, update tools/providertrim", path)
	}
	if err := dropUnkeptServices(f, path, awsServicePkgPrefix, keep); err != nil {
		return err
	}
	return writeFile(fset, f, path)
}

// usedClientAccessors lists the FooClient method names that the packages the
// trimmed provider compiles call on *conns.AWSClient (every identifier ending
// in "Client" after a dot: more than needed is harmless).
func usedClientAccessors(dir string) (map[string]bool, error) {
	cmd := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if eq .Module.Path "`+awsModPath+`"}}{{.Dir}}{{"\t"}}{{join .GoFiles " "}}{{end}}{{end}}`, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the trimmed provider's packages: %w: %s", err, stderr.String())
	}
	if len(strings.TrimSpace(string(outb))) == 0 {
		return nil, fmt.Errorf("go list found none of %s's packages in %s", awsModPath, dir)
	}
	accessor := regexp.MustCompile(`\.([A-Z][A-Za-z0-9]*Client)\b`)
	used := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(outb)), "\n") {
		pkgDir, files, ok := strings.Cut(line, "\t")
		if !ok {
			continue // only the provider's own packages can call conns (internal)
		}
		for _, name := range strings.Fields(files) {
			p := filepath.Join(pkgDir, name)
			if strings.HasSuffix(p, awsClientFile) {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			for _, m := range accessor.FindAllSubmatch(b, -1) {
				used[string(m[1])] = true
			}
		}
	}
	return used, nil
}

// trimClients drops the *AWSClient accessor methods nobody calls, and the SDK
// imports only they used.
func trimClients(path string, used map[string]bool) error {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
	if err != nil {
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	var decls []ast.Decl
	var methods int
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if ok && fn.Recv != nil && strings.HasSuffix(fn.Name.Name, "Client") {
			methods++
			if !used[fn.Name.Name] {
				continue
			}
		}
		decls = append(decls, d)
	}
	if methods == 0 {
		return fmt.Errorf("%s has no *AWSClient accessor methods: the provider's layout changed, update tools/providertrim", path)
	}
	f.Decls = decls
	f.Comments = headerComments(f)
	referenced := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				referenced[id.Name] = true
			}
		}
		return true
	})
	removeImports(f, func(p string) bool {
		if !strings.HasPrefix(p, "github.com/aws/aws-sdk-go-v2/service/") {
			return false
		}
		return !referenced[importName(f, p)]
	})
	return writeFile(fset, f, path)
}

// headerComments keeps only the file's header (licence and "Code generated"
// lines): the comments of dropped declarations would be re-attached to what
// follows them.
func headerComments(f *ast.File) []*ast.CommentGroup {
	var header []*ast.CommentGroup
	for _, c := range f.Comments {
		if c.End() < f.Package {
			header = append(header, c)
		}
	}
	return header
}

// dropUnkeptServices checks that f imports every kept service package under
// prefix and removes the imports of the others.
func dropUnkeptServices(f *ast.File, path, prefix string, keep map[string]bool) error {
	for svc := range keep {
		if !importsPath(f, prefix+svc) {
			return fmt.Errorf("%s does not import the service package %s", path, svc)
		}
	}
	removeImports(f, func(p string) bool {
		return strings.HasPrefix(p, prefix) && !keep[strings.TrimPrefix(p, prefix)]
	})
	return nil
}

func importsPath(f *ast.File, p string) bool {
	for _, s := range f.Imports {
		if v, _ := strconv.Unquote(s.Path.Value); v == p {
			return true
		}
	}
	return false
}

func importName(f *ast.File, p string) string {
	for _, s := range f.Imports {
		if v, _ := strconv.Unquote(s.Path.Value); v == p {
			if s.Name != nil {
				return s.Name.Name
			}
		}
	}
	return filepath.Base(p)
}

func removeImports(f *ast.File, drop func(path string) bool) {
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		var specs []ast.Spec
		for _, s := range gd.Specs {
			p, _ := strconv.Unquote(s.(*ast.ImportSpec).Path.Value)
			if !drop(p) {
				specs = append(specs, s)
			}
		}
		gd.Specs = specs
	}
	var imps []*ast.ImportSpec
	for _, s := range f.Imports {
		p, _ := strconv.Unquote(s.Path.Value)
		if !drop(p) {
			imps = append(imps, s)
		}
	}
	f.Imports = imps
}

func writeFile(fset *token.FileSet, f *ast.File, path string) error {
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, f); err != nil {
		return fmt.Errorf("printing %s: %w", path, err)
	}
	return replaceFile(path, buf.Bytes())
}
