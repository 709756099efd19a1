package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// providerSource downloads (or finds in the module cache) the provider
// module scripts/providers.sh builds, at the same version.
func providerSource(t *testing.T, name string) string {
	t.Helper()
	var target string
	scriptLines(t, "../../scripts/providers.sh", func(line string) {
		if strings.HasPrefix(line, `"`+name+`|`) {
			target = strings.Split(strings.Trim(line, `"`), "|")[1]
		}
	})
	if target == "" {
		t.Fatalf("scripts/providers.sh has no %s line", name)
	}
	return moduleSource(t, target, "scripts/providers.sh")
}

// tofuSource is the OpenTofu module scripts/testenv.sh builds.
func tofuSource(t *testing.T) string {
	t.Helper()
	var version string
	scriptLines(t, "../../scripts/testenv.sh", func(line string) {
		if v, ok := strings.CutPrefix(line, "TOFU_VERSION="); ok {
			version = v
		}
	})
	if version == "" {
		t.Fatal("scripts/testenv.sh sets no TOFU_VERSION")
	}
	return moduleSource(t, "github.com/opentofu/opentofu@"+version, "scripts/testenv.sh")
}

func scriptLines(t *testing.T, path string, fn func(string)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fn(strings.TrimSpace(sc.Text()))
	}
}

func moduleSource(t *testing.T, target, neededBy string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", target)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		msg := fmt.Sprintf("cannot download %s from the Go module proxy (%v): %s needs it too", target, err, neededBy)
		if os.Getenv("SPINOPS_TESTENV") == "required" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (set SPINOPS_TESTENV=required to fail instead)")
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download -json %s: %v %s", target, err, out)
	}
	return mod.Dir
}

func hclDir(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func importPaths(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	if err != nil {
		t.Fatalf("the trimmed %s does not parse: %v", path, err)
	}
	got := map[string]bool{}
	for _, s := range f.Imports {
		p, _ := strconv.Unquote(s.Path.Value)
		got[p] = true
	}
	return got
}

// servicesIn lists the service packages under prefix among imports.
func servicesIn(imports map[string]bool, prefix string) []string {
	var kept []string
	for p := range imports {
		if strings.HasPrefix(p, prefix) {
			kept = append(kept, strings.TrimPrefix(p, prefix))
		}
	}
	return kept
}

// The services kept are exactly those registering a type the HCL names,
// found wherever the name appears (blocks, mock and override targets).
func TestKeepsTheServicesTheHCLNames(t *testing.T) {
	src := providerSource(t, "aws")
	dir := hclDir(t, `
resource "aws_sqs_queue" "q" {}
data "aws_caller_identity" "me" {}
run "x" {
  override_resource { target = aws_route53_zone.z }
}
variable "aws_not_a_type" {}
`)
	reg, err := typeRegistry(flavours["aws"], src)
	if err != nil {
		t.Fatal(err)
	}
	for typ, svc := range map[string]string{"aws_sqs_queue": "sqs", "aws_caller_identity": "sts", "aws_route53_zone": "route53"} {
		if reg[typ] != svc {
			t.Errorf("the registry maps %s to %q, want %q", typ, reg[typ], svc)
		}
	}
	out := filepath.Join(t.TempDir(), "tree")
	if err := run(flavours["aws"], src, out, []string{dir}, false); err != nil {
		t.Fatal(err)
	}
	imps := importPaths(t, filepath.Join(out, awsServicesFile))
	kept := servicesIn(imps, awsServicePkgPrefix)
	if len(kept) != 3 || !imps[awsServicePkgPrefix+"sqs"] || !imps[awsServicePkgPrefix+"sts"] || !imps[awsServicePkgPrefix+"route53"] {
		t.Errorf("kept service packages %v, want exactly route53, sqs, sts", kept)
	}
	body, err := os.ReadFile(filepath.Join(out, awsServicesFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(body), ".ServicePackage(ctx)"); n != 3 {
		t.Errorf("the trimmed list registers %d service packages, want 3:\n%s", n, body)
	}

	// Every client accessor a kept package calls is still defined, and the
	// SDK clients only dropped accessors used are no longer imported.
	clients := importPaths(t, filepath.Join(out, awsClientFile))
	for _, sdk := range []string{"sqs", "route53"} {
		if !clients["github.com/aws/aws-sdk-go-v2/service/"+sdk] {
			t.Errorf("awsclient_gen.go no longer imports the %s SDK client a kept service uses", sdk)
		}
	}
	for _, sdk := range []string{"ec2", "lambda", "dynamodb"} {
		if clients["github.com/aws/aws-sdk-go-v2/service/"+sdk] {
			t.Errorf("awsclient_gen.go still imports the %s SDK client no kept package uses", sdk)
		}
	}
	gen, err := os.ReadFile(filepath.Join(out, awsClientFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []string{"sqs", "route53"} {
		files, _ := filepath.Glob(filepath.Join(out, "internal/service", svc, "*.go"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, m := range regexp.MustCompile(`\(\*conns\.AWSClient\)\.([A-Z]\w*Client)\(ctx\)`).FindAllSubmatch(b, -1) {
				if !strings.Contains(string(gen), "func (c *AWSClient) "+string(m[1])+"(") {
					t.Errorf("%s calls %s, which the trimmed awsclient_gen.go no longer defines", f, m[1])
				}
			}
		}
	}
	if !strings.HasPrefix(string(gen), "// Copyright") {
		t.Errorf("the trimmed awsclient_gen.go lost its licence header")
	}

	// The service table the provider parses at start-up lists the same.
	table, err := os.ReadFile(filepath.Join(out, awsNamesFile))
	if err != nil {
		t.Fatal(err)
	}
	labels := regexp.MustCompile(`(?m)^service "([a-z0-9]+)"`).FindAllStringSubmatch(string(table), -1)
	var listed []string
	for _, l := range labels {
		listed = append(listed, l[1])
	}
	if strings.Join(listed, ",") != "route53,sqs,sts" {
		t.Errorf("the trimmed service table lists %v, want route53, sqs, sts", listed)
	}
}

func TestGoogleKeepsTheRegisteringServices(t *testing.T) {
	src := providerSource(t, "google")
	dir := hclDir(t, `
resource "google_sql_database_instance" "db" {}
resource "google_project_iam_member" "m" {}
`)
	out := filepath.Join(t.TempDir(), "tree")
	if err := run(flavours["google"], src, out, []string{dir}, false); err != nil {
		t.Fatal(err)
	}
	imps := importPaths(t, filepath.Join(out, googleServicesFile))
	kept := servicesIn(imps, googleServicePkgPrefix)
	if len(kept) != 2 || !imps[googleServicePkgPrefix+"sql"] || !imps[googleServicePkgPrefix+"resourcemanager"] {
		t.Errorf("kept service packages %v, want exactly resourcemanager and sql", kept)
	}
}

// HCL that names no type of the provider is refused, not built as an empty
// provider that would fail every test with "resource type not supported".
func TestRefusesAnEmptyProvider(t *testing.T) {
	src := providerSource(t, "aws")
	dir := hclDir(t, `resource "google_storage_bucket" "b" {}`)
	err := run(flavours["aws"], src, filepath.Join(t.TempDir(), "tree"), []string{dir}, true)
	if err == nil || !strings.Contains(err.Error(), "refusing to build an empty provider") {
		t.Fatalf("err = %v, want a refusal", err)
	}
}

// Within a kept service, only the types the scanned files name are
// registered: the sqs package keeps aws_sqs_queue (resource and data
// source) and the type a Go test's Terraform names, and drops its other
// types; imports left unused become blank; a type named nowhere is not
// registered even though its service is kept.
func TestRegistersOnlyTheNamedTypes(t *testing.T) {
	src := providerSource(t, "aws")
	dir := hclDir(t, `resource "aws_sqs_queue" "q" {}`)
	if err := os.WriteFile(filepath.Join(dir, "apply_test.go"), []byte("package x\n\nconst root = `resource \"aws_sqs_queue_policy\" \"p\" {}`\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "tree")
	if err := run(flavours["aws"], src, out, []string{dir}, false); err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(out, "internal", "service", "sqs", "service_package_gen.go")
	b, err := os.ReadFile(gen)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range regexp.MustCompile(`TypeName:\s*"(aws_[a-z0-9_]+)"`).FindAllSubmatch(b, -1) {
		got[string(m[1])] = true
	}
	if len(got) != 2 || !got["aws_sqs_queue"] || !got["aws_sqs_queue_policy"] {
		t.Errorf("sqs registers %v, want only aws_sqs_queue and aws_sqs_queue_policy (as resource, data source or list resource)", got)
	}
	orig, err := os.ReadFile(filepath.Join(src, "internal", "service", "sqs", "service_package_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(orig), `"aws_sqs_queue_redrive_policy"`) {
		t.Fatal("the provider's sqs package no longer registers aws_sqs_queue_redrive_policy: pick another type the test drops")
	}
	if _, err := parser.ParseFile(token.NewFileSet(), gen, nil, parser.AllErrors); err != nil {
		t.Fatalf("the trimmed registration does not parse: %v", err)
	}
	// It still compiles as part of its package: every import it keeps
	// named is used (the compiler refuses unused ones).
	f, _ := parser.ParseFile(token.NewFileSet(), gen, nil, 0)
	for _, imp := range f.Imports {
		if imp.Name != nil && imp.Name.Name == "_" {
			continue
		}
		p, _ := strconv.Unquote(imp.Path.Value)
		name := filepath.Base(p)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		if !strings.Contains(string(b), name+".") {
			t.Errorf("import %s is kept by name but no longer used", p)
		}
	}
	// The list for the build cache's key is the same set.
	reg, err := typeRegistry(flavours["aws"], src)
	if err != nil {
		t.Fatal(err)
	}
	names, err := hclTypeNames("aws_", []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if k := keptTypes(reg, names); strings.Join(k, " ") != "aws_sqs_queue aws_sqs_queue_policy" {
		t.Errorf("keptTypes = %v", k)
	}
}

// blankUnusedImports keeps what is used and blanks the rest, also for a
// path whose last element is a major version.
func TestBlankUnusedImports(t *testing.T) {
	src := `package p

import (
	"context"
	"unique"

	"github.com/example/mod/v2"
	inttypes "github.com/example/types"
	"github.com/example/names"
)

var _ = context.Background
var _ = mod.X
var _ = inttypes.Y
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	blankUnusedImports(f)
	blank := map[string]bool{}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		blank[p] = imp.Name != nil && imp.Name.Name == "_"
	}
	want := map[string]bool{"context": false, "unique": true, "github.com/example/mod/v2": false, "github.com/example/types": false, "github.com/example/names": true}
	for p, w := range want {
		if blank[p] != w {
			t.Errorf("%s blank = %v, want %v", p, blank[p], w)
		}
	}
}

// The service table keeps exactly the kept services' blocks (and STS's),
// each byte for byte, and still parses as the provider's reader expects:
// top-level `service "NAME"` blocks.
func TestAWSServiceTableKeepsTheKeptServices(t *testing.T) {
	src := providerSource(t, "aws")
	orig, err := os.ReadFile(filepath.Join(src, awsNamesFile))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	path := filepath.Join(out, awsNamesFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	// logs is the table's label for CloudWatch Logs; ec2 and s3 plain.
	n, err := trimAWSNames(out, map[string]bool{"ec2": true, "s3": true, "logs": true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blocks := func(b []byte) map[string]string {
		f, diags := hclsyntax.ParseConfig(b, path, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("the table does not parse: %s", diags.Error())
		}
		m := map[string]string{}
		for _, blk := range f.Body.(*hclsyntax.Body).Blocks {
			if blk.Type != "service" || len(blk.Labels) != 1 {
				t.Fatalf("unexpected block %s %v", blk.Type, blk.Labels)
			}
			m[blk.Labels[0]] = string(blk.Range().SliceBytes(b))
		}
		return m
	}
	before, after := blocks(orig), blocks(got)
	if len(before) < 300 {
		t.Fatalf("the provider's table has %d services: not the table this test knows", len(before))
	}
	want := []string{"ec2", "logs", "s3", "sts"}
	var keys []string
	for k := range after {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != strings.Join(want, ",") || n != len(want) {
		t.Fatalf("kept %v (%d), want %v", keys, n, want)
	}
	for _, k := range want {
		if after[k] != before[k] {
			t.Errorf("service %q changed in the trimmed table:\n%s\nwant\n%s", k, after[k], before[k])
		}
	}
	if len(got) > len(orig)/10 {
		t.Errorf("the trimmed table is %d of %d bytes", len(got), len(orig))
	}

	// A table of another shape is refused, not half-trimmed.
	if err := os.WriteFile(path, []byte("service \"ec2\" {}\nversion = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := trimAWSNames(out, map[string]bool{"ec2": true}); err == nil || !strings.Contains(err.Error(), "layout changed") {
		t.Errorf("a table with a top-level attribute: %v, want a layout error", err)
	}
}

// copyTree hard-links the provider's files, which live in the read-only
// module cache: the trim's rewrites must replace the copy, never write
// into it (a write through the link would change the module cache for
// every later build).
func TestRewritesNeverReachTheSourceTree(t *testing.T) {
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "internal", "provider"), 0o755); err != nil {
		t.Fatal(err)
	}
	orig := "package provider\n\nfunc kept() {}\n"
	for _, f := range []string{"internal/provider/services.go", "internal/provider/other.go"} {
		if err := os.WriteFile(filepath.Join(src, f), []byte(orig), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "tree")
	if err := copyTree(src, out); err != nil {
		t.Fatal(err)
	}
	// The untouched file is the source's own (a link where the file
	// system allows it, else an equal copy).
	a, _ := os.Stat(filepath.Join(src, "internal/provider/other.go"))
	b, _ := os.Stat(filepath.Join(out, "internal/provider/other.go"))
	if !os.SameFile(a, b) {
		t.Logf("not hard-linked (another file system?): copied")
	}
	if err := replaceFile(filepath.Join(out, "internal/provider/services.go"), []byte("package provider\n")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(out, "internal/provider/services.go"))
	if string(got) != "package provider\n" {
		t.Errorf("the rewrite did not reach the copy: %q", got)
	}
	for _, f := range []string{"internal/provider/services.go", "internal/provider/other.go"} {
		if b, _ := os.ReadFile(filepath.Join(src, f)); string(b) != orig {
			t.Errorf("the source's %s changed: %q", f, b)
		}
	}
	// And the AST writer the trims use goes through replaceFile too.
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", "package provider\n\nfunc other() {}\n", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(fset, f, filepath.Join(out, "internal/provider/other.go")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(src, "internal/provider/other.go")); string(b) != orig {
		t.Errorf("writeFile changed the source's other.go: %q", b)
	}
}
