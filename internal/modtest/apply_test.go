//go:build modules

package modtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// repo is the repository root: go test runs a package's tests in its
// directory, internal/modtest. (Not runtime.Caller: make test builds with
// -trimpath, where it gives a module path, not a file.)
func repo(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// motoProvider is a provider block for the real hashicorp/aws provider
// pointed at moto. The endpoint is not in it: terraform runs with
// AWS_ENDPOINT_URL (motoEnv), which the provider documents as setting every
// service's endpoint (website/docs/guides/custom-service-endpoints). An
// `endpoints` block does the same, but the provider validates it with the
// plugin framework, which formats the whole block (~300 attributes) as a
// path string for each attribute it checks: 50% of the provider's CPU in
// these tests went to that (perf, aws 6.48.0), on every command.
func motoProvider(region string) string {
	return fmt.Sprintf(`
provider "aws" {
  region                      = %q
  access_key                  = %q
  secret_key                  = %q
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true
}
`, region, testenv.MotoAccessKeyID, testenv.MotoSecretAccessKey)
}

// motoEnv is what terraform needs in its environment for motoProvider:
// moto's own (testenv.Moto.Env: AWS_ENDPOINT_URL, credentials, region), and
// no shared configuration or profile of the machine's that could name
// another endpoint.
func motoEnv(env []string, moto *testenv.Moto) []string {
	for k, v := range moto.Env() {
		env = append(env, k+"="+v)
	}
	return append(env, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PROFILE=")
}

// terraformAndMirror finds the terraform binary (TERRAFORM, else PATH) and
// the provider mirror (SPINOPS_PROVIDER_MIRROR, else the repository's),
// which must hold hashicorp/<provider>.
func terraformAndMirror(t *testing.T, provider string) (terraform, mirror string) {
	t.Helper()
	terraform = os.Getenv("TERRAFORM")
	if terraform == "" {
		var err error
		if terraform, err = exec.LookPath("terraform"); err != nil {
			t.Fatal("terraform is not on PATH (set TERRAFORM)")
		}
	}
	mirror = os.Getenv("SPINOPS_PROVIDER_MIRROR")
	if mirror == "" {
		mirror = filepath.Join(repo(t), ".testenv", "mirror")
	}
	if _, err := os.Stat(filepath.Join(mirror, "registry.terraform.io", "hashicorp", provider)); err != nil {
		t.Fatalf("no hashicorp/%s in the provider mirror %s: run scripts/providers.sh %s (make test does): %v", provider, mirror, provider, err)
	}
	return terraform, mirror
}

// terraformEnv writes dir/terraformrc, which installs the hashicorp
// providers (and spinops's, for a composition) from mirror through the
// plugin cache, and returns the
// environment terraform runs with in dir.
func terraformEnv(t *testing.T, dir, mirror string) []string {
	t.Helper()
	rc := filepath.Join(dir, "terraformrc")
	writeFile(t, rc, fmt.Sprintf(`plugin_cache_dir = %q
plugin_cache_may_break_dependency_lock_file = true
provider_installation {
  filesystem_mirror {
    path    = %q
    include = ["registry.terraform.io/hashicorp/*", "registry.terraform.io/spinops/*"]
  }
}
`, pluginCache(t, mirror), mirror))
	return append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1")
}

// terraformIn runs terraform in dir with env and returns its output; a
// failure fails the test, naming what (the run's subject). A plan's exit
// code 2 (-detailed-exitcode: changes) is not a failure: it returns nil
// and the caller looks at the changes.
func terraformIn(t *testing.T, terraform, dir string, env []string, what string) func(args ...string) []byte {
	return func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, terraform, args...)
		cmd.Dir, cmd.Env = dir, env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			var ee *exec.ExitError
			if args[0] == "plan" && errors.As(err, &ee) && ee.ExitCode() == 2 {
				return nil
			}
			t.Fatalf("terraform %s in %s (%s): %v\n%s\n%s", strings.Join(args, " "), dir, what, err, tail(out.String(), 4000), errb.String())
		}
		return out.Bytes()
	}
}

// applied is a module applied in a scratch root module.
type applied struct {
	dir     string
	env     []string
	outputs map[string]json.RawMessage
	// resources are the applied resources' attributes, by address.
	resources map[string]map[string]any
}

// attr is one attribute of an applied resource.
func (a *applied) attr(t *testing.T, address, name string) any {
	t.Helper()
	r, ok := a.resources[address]
	if !ok {
		t.Fatalf("%s was not applied", address)
	}
	return r[name]
}

// motoGaps names, with the reason, what moto cannot do as real AWS does.
type motoGaps struct {
	// Drift: resources moto reads back differently, so the second plan
	// updates them (address → why). Nothing else may change.
	Drift map[string]string
	// PlanOnly: resources moto cannot create (address → why): the apply
	// targets every other resource, the second plan creates exactly these.
	// Listed in modules/README.md.
	PlanOnly map[string]string
	// PlanOnlyUnder: module calls moto cannot create anything of (call
	// address, e.g. module.redis[0] → why): planned, never applied.
	PlanOnlyUnder map[string]string
	// Ignore: attributes moto reads back differently from what was
	// applied, where the difference would make the second plan update or
	// replace the resource (address in the module → attribute → why,
	// citing moto's source). The module is applied from a copy whose
	// override file adds exactly these to the resource's
	// lifecycle.ignore_changes (beside what the module already ignores):
	// ignore_changes does not alter what is created, only what a later
	// plan compares, so every other attribute must still read back
	// unchanged. Listed in modules/README.md.
	Ignore map[string]map[string]string
	// Reads: what moto's API answers differently from AWS, so the test
	// checks it another way (what → why, citing moto's source); logged.
	// Listed in modules/README.md.
	Reads map[string]string
	// Root is more HCL in the scratch root module, beside the module
	// call: what the module takes as input and another module would make
	// (a VPC and subnets for the database, say).
	Root string
	// Region, when set, is the region the root's aws provider works in
	// instead of testenv.MotoRegion, and RegionWhy why: moto shares state
	// between the resources of one region that AWS keeps apart
	// (eksIssuerGap). Logged; listed in modules/README.md.
	Region, RegionWhy string
}

// planOnlyUnder says whether address is in a module call that is plan-only,
// and why.
func (g motoGaps) planOnlyUnder(address string) (string, bool) {
	for call, why := range g.PlanOnlyUnder {
		if strings.HasPrefix(address, call+".") {
			return why, true
		}
	}
	return "", false
}

// planJSON is the part of `terraform show -json PLAN` the tests read.
type planJSON struct {
	ResourceChanges []struct {
		Address string `json:"address"`
		Change  struct {
			Actions      []string       `json:"actions"`
			Before       map[string]any `json:"before"`
			After        map[string]any `json:"after"`
			ReplacePaths [][]any        `json:"replace_paths"`
		} `json:"change"`
	} `json:"resource_changes"`
}

// vpcHCL is HCL for a VPC named name (CIDR cidr) and, in it, a subnet
// named name in each of the first n availability zones of region (a, b,
// c, ...): the network a module under test takes as input.
func vpcHCL(name, cidr, region string, n int) string {
	azs := make([]string, n)
	for i := range azs {
		azs[i] = fmt.Sprintf("%q", string(rune('a'+i)))
	}
	return fmt.Sprintf(`
resource "aws_vpc" %[1]q {
  cidr_block = %[2]q
}
resource "aws_subnet" %[1]q {
  count             = %[3]d
  vpc_id            = aws_vpc.%[1]s.id
  cidr_block        = cidrsubnet(aws_vpc.%[1]s.cidr_block, 8, count.index)
  availability_zone = "%[4]s${[%[5]s][count.index]}"
}
`, name, cidr, n, region, strings.Join(azs, ", "))
}

// initMu serialises terraform init (see applyTolerating).
var initMu sync.Mutex

// applyTolerating writes a root module calling modules/<module> with the
// HCL arguments args and applies it against moto (applyRoot).
func applyTolerating(t *testing.T, moto *testenv.Moto, module, args string, gaps motoGaps) *applied {
	t.Helper()
	terraform, mirror := terraformAndMirror(t, "aws")
	dir := t.TempDir()
	env := motoEnv(terraformEnv(t, dir, mirror), moto)
	src := copyModule(t, filepath.Join(repo(t), "modules", module), filepath.Join(dir, "module"), gaps.Ignore)
	region := testenv.MotoRegion
	if gaps.Region != "" {
		region = gaps.Region
		t.Logf("moto gap, applied in %s: %s", region, gaps.RegionWhy)
	}
	writeFile(t, filepath.Join(dir, "main.tf"), motoProvider(region)+gaps.Root+fmt.Sprintf(`
module "m" {
  source = %q
%s
}

output "m" {
  value = module.m
}
`, src, args))
	a := applyRoot(t, terraform, dir, env, "modules/"+module, gaps)
	if m, ok := a.outputs["m"]; ok {
		// The module's outputs, not the root's one output holding them.
		a.outputs = nil
		if err := json.Unmarshal(m, &a.outputs); err != nil {
			t.Fatalf("module outputs: %v", err)
		}
	}
	return a
}

// applyRoot applies the root module in dir against moto (all but what
// gaps makes plan-only), reads its outputs (when nothing is plan-only) and
// resources, checks that a second plan changes only what gaps names, and
// destroys it at cleanup (a failed destroy fails the test). what names it
// in messages.
func applyRoot(t *testing.T, terraform, dir string, env []string, what string, gaps motoGaps) *applied {
	t.Helper()
	for what, why := range gaps.Reads {
		t.Logf("moto gap, checked another way: %s: %s", what, why)
	}
	for call, why := range gaps.PlanOnlyUnder {
		t.Logf("plan only, not applied: everything in %s: %s", call, why)
	}
	a := &applied{dir: dir, env: env}
	tf := terraformIn(t, terraform, dir, env, what+" against moto")
	// The tests run in parallel against one moto; terraform's plugin cache
	// is not safe for concurrent installs, so one init at a time.
	initMu.Lock()
	tf("init", "-no-color", "-input=false")
	initMu.Unlock()
	start := time.Now()
	applyArgs := []string{"apply", "-auto-approve", "-no-color", "-input=false"}
	partial := len(gaps.PlanOnly) > 0 || len(gaps.PlanOnlyUnder) > 0
	if partial {
		tf("plan", "-no-color", "-input=false", "-out=first.tfplan")
		var first planJSON
		if err := json.Unmarshal(tf("show", "-json", "first.tfplan"), &first); err != nil {
			t.Fatal(err)
		}
		for _, rc := range first.ResourceChanges {
			if why, ok := gaps.PlanOnly[rc.Address]; ok {
				t.Logf("plan only, not applied: %s: %s", rc.Address, why)
				continue
			}
			if _, ok := gaps.planOnlyUnder(rc.Address); ok {
				continue
			}
			if !strings.HasPrefix(rc.Address, "data.") && !strings.Contains(rc.Address, ".data.") {
				applyArgs = append(applyArgs, "-target="+rc.Address)
			}
		}
	}
	// Registered before the apply: what a failed apply made is destroyed
	// too (the state holds it), and what the test registered before (a
	// hosted zone made beforehand) is cleaned up after it.
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("SPINOPS_TESTENV_KEEP") == "1" {
			t.Logf("kept %s", dir)
			return
		}
		tf("destroy", "-auto-approve", "-no-color", "-input=false")
	})
	tf(applyArgs...)
	t.Logf("%s applied against moto in %s", what, time.Since(start).Round(time.Second))
	// With plan-only resources the apply was targeted, and outputs that
	// depend on them are not evaluated: read the resources from the state.
	if !partial {
		var outs map[string]struct {
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(tf("output", "-json"), &outs); err != nil {
			t.Fatal(err)
		}
		a.outputs = map[string]json.RawMessage{}
		for k, v := range outs {
			a.outputs[k] = v.Value
		}
	}
	var st struct {
		Values struct {
			RootModule stateModule `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal(tf("show", "-json"), &st); err != nil {
		t.Fatal(err)
	}
	a.resources = map[string]map[string]any{}
	st.Values.RootModule.collect(a.resources)
	// A second plan is empty: what was applied is what the module means
	// (apart from what moto is known to read back differently).
	tf("plan", "-detailed-exitcode", "-no-color", "-input=false", "-out=second.tfplan")
	var plan planJSON
	if err := json.Unmarshal(tf("show", "-json", "second.tfplan"), &plan); err != nil {
		t.Fatal(err)
	}
	for _, rc := range plan.ResourceChanges {
		if len(rc.Change.Actions) == 1 && (rc.Change.Actions[0] == "no-op" || rc.Change.Actions[0] == "read") {
			continue
		}
		if why, ok := gaps.Drift[rc.Address]; ok && slices.Equal(rc.Change.Actions, []string{"update"}) {
			t.Logf("second plan updates %s: %s", rc.Address, why)
			continue
		}
		if _, ok := gaps.PlanOnly[rc.Address]; ok && slices.Equal(rc.Change.Actions, []string{"create"}) {
			continue
		}
		if _, ok := gaps.planOnlyUnder(rc.Address); ok && slices.Equal(rc.Change.Actions, []string{"create"}) {
			continue
		}
		t.Errorf("the second plan of %s is not empty: %s %v (attributes that change: %s; replaced because of %v)",
			what, rc.Address, rc.Change.Actions, changed(rc.Change.Before, rc.Change.After), rc.Change.ReplacePaths)
	}
	return a
}

// stateModule is a module in `terraform show -json`: its resources and,
// nested, its child modules'.
type stateModule struct {
	Resources []struct {
		Address string         `json:"address"`
		Values  map[string]any `json:"values"`
	} `json:"resources"`
	ChildModules []stateModule `json:"child_modules"`
}

// collect adds the module's resources and its child modules' to out, by
// address.
func (m stateModule) collect(out map[string]map[string]any) {
	for _, r := range m.Resources {
		out[r.Address] = r.Values
	}
	for _, c := range m.ChildModules {
		c.collect(out)
	}
}

// pluginCache is the terraform plugin cache for providers from mirror:
// <repo>/.testenv/terraform-plugins/<key of the mirror's files>, so a
// rebuilt provider of the same version is not taken from the cache (there
// is no lock file to notice), and so scripts/test-modules.sh, which keeps
// only its own key's directory under ~/.cache/spinops/terraform-plugins,
// cannot remove it while a test runs.
//
// The key is read once per test process: the tests run in parallel, and a
// provider rebuilt into the same mirror meanwhile (scripts/test-modules.sh
// of one directory, run beside the suite, builds spinops's into it) would
// otherwise give the tests that start later another key than the earlier
// ones. Other keys' directories are removed only when no run has used them
// for a day (each run marks its own), as scripts/test-modules.sh does: a
// test that removed every other key's directory once deleted the providers
// under the other tests of its own run ("could not read package
// directory", 2026-12-05).
func pluginCache(t *testing.T, mirror string) string {
	t.Helper()
	pluginCaches.Lock()
	defer pluginCaches.Unlock()
	if dir, ok := pluginCaches.dirs[mirror]; ok {
		return dir
	}
	var files []string
	root := filepath.Join(mirror, "registry.terraform.io")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files = append(files, fmt.Sprintf("%s %d %d", rel, info.Size(), info.ModTime().UnixNano()))
		return nil
	})
	if err != nil {
		t.Fatalf("reading the provider mirror %s: %v", mirror, err)
	}
	slices.Sort(files)
	sum := sha256.Sum256([]byte(strings.Join(files, "\n")))
	base := filepath.Join(repo(t), ".testenv", "terraform-plugins")
	dir := filepath.Join(base, hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("making the plugin cache %s: %v", dir, err)
	}
	now := time.Now()
	if err := os.Chtimes(dir, now, now); err != nil {
		t.Fatalf("marking the plugin cache %s as used: %v", dir, err)
	}
	if old, err := os.ReadDir(base); err == nil {
		for _, e := range old {
			p := filepath.Join(base, e.Name())
			info, err := e.Info()
			if p == dir || err != nil || now.Sub(info.ModTime()) < staleAfter {
				continue
			}
			if err := os.RemoveAll(p); err != nil {
				t.Logf("removing the stale plugin cache %s: %v", p, err)
			}
		}
	}
	if pluginCaches.dirs == nil {
		pluginCaches.dirs = map[string]string{}
	}
	pluginCaches.dirs[mirror] = dir
	return dir
}

// pluginCaches holds each mirror's plugin cache for this test process.
var pluginCaches struct {
	sync.Mutex
	dirs map[string]string
}

// staleAfter: a plugin cache no run has used for this long is removed.
const staleAfter = 24 * time.Hour

// copyModule copies the module's files from src to dst and, for each
// resource in ignore, writes moto_override.tf adding the named attributes
// to the resource's lifecycle.ignore_changes (an override file replaces
// the argument, so the module's own ignore_changes are carried over).
func copyModule(t *testing.T, src, dst string, ignore map[string]map[string]string) string {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	// existing: the module's own ignore_changes, by resource address.
	existing := map[string][]string{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue // tests/, examples/: not part of the module
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dst, e.Name()), string(b))
		if len(ignore) == 0 || !strings.HasSuffix(e.Name(), ".tf") {
			continue
		}
		f, diags := hclwrite.ParseConfig(b, e.Name(), hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", filepath.Join(src, e.Name()), diags)
		}
		for _, blk := range f.Body().Blocks() {
			if blk.Type() != "resource" || len(blk.Labels()) != 2 {
				continue
			}
			addr := blk.Labels()[0] + "." + blk.Labels()[1]
			for _, lc := range blk.Body().Blocks() {
				if lc.Type() != "lifecycle" {
					continue
				}
				if a := lc.Body().GetAttribute("ignore_changes"); a != nil {
					expr := strings.TrimSpace(string(a.Expr().BuildTokens(nil).Bytes()))
					inner := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(expr, "["), "]"))
					if !strings.HasPrefix(expr, "[") || inner == "" {
						t.Fatalf("%s: %s ignore_changes = %s: only a list of attributes can be merged with moto's gaps", e.Name(), addr, expr)
					}
					existing[addr] = append(existing[addr], inner)
				}
			}
		}
	}
	if len(ignore) == 0 {
		return dst
	}
	var b strings.Builder
	b.WriteString("# moto gaps: attributes moto reads back differently (internal/modtest)\n")
	for _, addr := range slices.Sorted(maps.Keys(ignore)) {
		typ, name, ok := strings.Cut(addr, ".")
		if !ok {
			t.Fatalf("moto gap %q: want a resource address in the module (type.name)", addr)
		}
		attrs := append(existing[addr], slices.Sorted(maps.Keys(ignore[addr]))...)
		fmt.Fprintf(&b, "resource %q %q {\n  lifecycle {\n    ignore_changes = [%s]\n  }\n}\n", typ, name, strings.Join(attrs, ", "))
		for _, attr := range slices.Sorted(maps.Keys(ignore[addr])) {
			t.Logf("moto gap, not compared by the second plan: %s.%s: %s", addr, attr, ignore[addr][attr])
		}
	}
	writeFile(t, filepath.Join(dst, "moto_override.tf"), b.String())
	return dst
}

// changed lists the top-level attributes whose values differ between a
// planned change's before and after (known values only), each as
// name: before → after.
func changed(before, after map[string]any) string {
	var out []string
	for k, b := range before {
		a, ok := after[k]
		if !ok {
			continue // unknown after the plan: computed, not a change of its own
		}
		bj, _ := json.Marshal(b)
		aj, _ := json.Marshal(a)
		if !bytes.Equal(bj, aj) {
			out = append(out, fmt.Sprintf("%s: %s → %s", k, tail(string(bj), 300), tail(string(aj), 300)))
		}
	}
	slices.Sort(out)
	return strings.Join(out, "; ")
}

// output decodes one module output into v.
func (a *applied) output(t *testing.T, name string, v any) {
	t.Helper()
	raw, ok := a.outputs[name]
	if !ok {
		t.Fatalf("the module has no output %q (outputs are not read when some resources are plan-only: use attr)", name)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("output %s: %v", name, err)
	}
}

func awsConfig() aws.Config {
	return aws.Config{
		Region:      testenv.MotoRegion,
		Credentials: credentials.NewStaticCredentialsProvider(testenv.MotoAccessKeyID, testenv.MotoSecretAccessKey, ""),
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
