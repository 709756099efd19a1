package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

const testVersion = "1.2.3-imagetest"

var (
	amd64 = Platform{OS: "linux", Arch: "amd64"}
	arm64 = Platform{OS: "linux", Arch: "arm64"}
)

// The two release binaries, compiled once per test process (each is a
// full static build of cmd/spinops).
var (
	compileOnce sync.Once
	compiled    map[Platform]string
	compileErr  error
	compileDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if compileDir != "" {
		_ = os.RemoveAll(compileDir)
	}
	os.Exit(code)
}

func releaseBinaries(t *testing.T) map[Platform]string {
	t.Helper()
	compileOnce.Do(func() {
		compileDir, compileErr = os.MkdirTemp("", "spinops-image-test-")
		if compileErr != nil {
			return
		}
		// Two full compiles of the runtime binary (one a cross-compile of
		// every dependency for arm64): minutes on a cold build cache with
		// the rest of make test sharing the cores.
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
		defer cancel()
		compiled = map[Platform]string{}
		for _, p := range []Platform{amd64, arm64} {
			out := filepath.Join(compileDir, p.Arch, "spinops")
			if compileErr = Compile(ctx, CompileOptions{ModuleDir: moduleRoot(t), Platform: p,
				Version: testVersion, Commit: "abc123", Out: out}); compileErr != nil {
				return
			}
			compiled[p] = out
		}
	})
	if compileErr != nil {
		t.Fatalf("compiling the release binaries: %v", compileErr)
	}
	return compiled
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func testOptions(bins map[Platform]string) Options {
	return Options{
		Version:        testVersion,
		Commit:         "abc123",
		Binaries:       bins,
		CACertificates: testCABundle,
		Repository:     "ghcr.io/spinops/spinops",
		Created:        time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

// testCABundle is the machine's bundle, the default of `make image`.
const testCABundle = "/etc/ssl/certs/ca-certificates.crt"

// TestBuild_ociLayout builds the release image offline into an OCI layout,
// reads it back as a registry client would and runs the amd64 binary taken
// out of its layer.
func TestBuild_ociLayout(t *testing.T) {
	requireCABundle(t)
	bins := releaseBinaries(t)
	ctx := t.Context()
	res, err := Build(ctx, testOptions(bins))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "oci")
	if err := WriteLayout(ctx, dir, res, testVersion); err != nil {
		t.Fatal(err)
	}

	// The layout: oci-layout marker, index.json naming one image index.
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("reading the layout back: %v", err)
	}
	rootManifest, err := root.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(rootManifest.Manifests) != 1 {
		t.Fatalf("index.json has %d entries, want 1", len(rootManifest.Manifests))
	}
	top := rootManifest.Manifests[0]
	if top.MediaType != types.OCIImageIndex || top.Digest != res.Digest {
		t.Fatalf("index.json entry = %s %s, want %s %s", top.MediaType, top.Digest, types.OCIImageIndex, res.Digest)
	}
	if got := top.Annotations["org.opencontainers.image.ref.name"]; got != testVersion {
		t.Errorf("index.json ref.name = %q, want %q", got, testVersion)
	}
	idx, err := root.ImageIndex(top.Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if got := im.Annotations["org.opencontainers.image.version"]; got != testVersion {
		t.Errorf("index annotation version = %q, want %q", got, testVersion)
	}

	// Both platforms, each with one attestation manifest pointing at it.
	images := map[string]v1.Descriptor{}
	attestations := map[string]v1.Descriptor{}
	for _, d := range im.Manifests {
		if d.Platform == nil {
			t.Fatalf("manifest %s has no platform", d.Digest)
		}
		if d.Annotations[annotationRefType] == refTypeAttestation {
			if d.Platform.OS != "unknown" || d.Platform.Architecture != "unknown" {
				t.Errorf("attestation manifest platform = %s, want unknown/unknown", d.Platform)
			}
			attestations[d.Annotations[annotationRefDigest]] = d
			continue
		}
		images[d.Platform.OS+"/"+d.Platform.Architecture] = d
	}
	if len(images) != 2 || images["linux/amd64"].Digest.Hex == "" || images["linux/arm64"].Digest.Hex == "" {
		t.Fatalf("platform manifests = %v, want linux/amd64 and linux/arm64", keys(images))
	}
	if len(im.Manifests) != 4 {
		t.Fatalf("index has %d manifests, want 2 images + 2 attestation manifests", len(im.Manifests))
	}

	for plat, d := range images {
		t.Run(plat, func(t *testing.T) {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			checkConfig(t, img, plat)
			files := layerFiles(t, img)
			checkFiles(t, files, bins, plat)
			att, ok := attestations[d.Digest.String()]
			if !ok {
				t.Fatalf("no attestation manifest references %s", d.Digest)
			}
			attImg, err := idx.Image(att.Digest)
			if err != nil {
				t.Fatal(err)
			}
			checkAttestations(t, attImg, d.Digest, bins[mustPlatform(t, plat)], plat)
			if plat == "linux/"+runtime.GOARCH {
				runExtracted(t, files["usr/local/bin/spinops"].data)
			}
		})
	}
}

func checkConfig(t *testing.T, img v1.Image, plat string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cf.OS + "/" + cf.Architecture; got != plat {
		t.Errorf("config platform = %s, want %s", got, plat)
	}
	if got := strings.Join(cf.Config.Entrypoint, " "); got != "/usr/local/bin/spinops" {
		t.Errorf("entrypoint = %q, want /usr/local/bin/spinops", got)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user = %q, want the numeric non-root 65532:65532", cf.Config.User)
	}
	if !contains(cf.Config.Env, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt") {
		t.Errorf("env %v does not point SSL_CERT_FILE at the bundle", cf.Config.Env)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  testVersion,
		"org.opencontainers.image.source":   "https://github.com/spinops/terraform-provider-spinops",
		"org.opencontainers.image.title":    "spinops",
		"org.opencontainers.image.revision": "", // checked below: non-empty
		"org.opencontainers.image.created":  "2026-01-02T03:04:05Z",
	} {
		got, ok := cf.Config.Labels[k]
		if !ok || (want != "" && got != want) {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if cf.Config.Labels["org.opencontainers.image.revision"] == "" {
		t.Errorf("label org.opencontainers.image.revision is empty")
	}
}

type tarFile struct {
	hdr  *tar.Header
	data []byte
}

func layerFiles(t *testing.T, img v1.Image) map[string]tarFile {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("image has %d layers, want 1 (FROM scratch)", len(layers))
	}
	mt, err := layers[0].MediaType()
	if err != nil || mt != types.OCILayer {
		t.Errorf("layer media type = %s (%v), want %s", mt, err, types.OCILayer)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	files := map[string]tarFile{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = tarFile{hdr: h, data: data}
	}
	return files
}

func checkFiles(t *testing.T, files map[string]tarFile, bins map[Platform]string, plat string) {
	t.Helper()
	want := []string{"etc", "etc/group", "etc/passwd", "etc/ssl", "etc/ssl/certs", "etc/ssl/certs/ca-certificates.crt",
		"home", "home/nonroot", "tmp", "usr", "usr/local", "usr/local/bin", "usr/local/bin/spinops"}
	if got := keys(files); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("image files = %v, want exactly %v (no shell, nothing else)", got, want)
	}
	for _, sh := range []string{"bin/sh", "bin/bash", "bin/busybox", "usr/bin/sh"} {
		if _, ok := files[sh]; ok {
			t.Errorf("image has a shell: %s", sh)
		}
	}
	bin := files["usr/local/bin/spinops"]
	if bin.hdr == nil || bin.hdr.Mode&0o777 != 0o755 || bin.hdr.Uid != 0 {
		t.Fatalf("spinops binary header = %+v, want mode 0755 owned by root", bin.hdr)
	}
	orig, err := os.ReadFile(bins[mustPlatform(t, plat)])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bin.data, orig) {
		t.Errorf("the layer's spinops differs from the %s binary it was built from", plat)
	}
	ca, err := os.ReadFile(testCABundle)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files["etc/ssl/certs/ca-certificates.crt"].data, ca) {
		t.Errorf("the layer's CA bundle differs from %s", testCABundle)
	}
	if tmp := files["tmp"].hdr; tmp == nil || tmp.Mode&0o7777 != 0o1777 {
		t.Errorf("/tmp header = %+v, want mode 1777", tmp)
	}
	if !strings.Contains(string(files["etc/passwd"].data), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd has no 65532 user: %q", files["etc/passwd"].data)
	}
}

func checkAttestations(t *testing.T, att v1.Image, imgDigest v1.Hash, binPath, plat string) {
	t.Helper()
	m, err := att.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	preds := map[string][]byte{}
	for _, l := range m.Layers {
		if l.MediaType != "application/vnd.in-toto+json" {
			t.Errorf("attestation layer media type = %s, want application/vnd.in-toto+json", l.MediaType)
		}
		layer, err := att.LayerByDigest(l.Digest)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := layer.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		preds[l.Annotations[annotationPredicateType]] = b
	}
	if len(preds) != 2 || preds[PredicateSPDX] == nil || preds[PredicateSLSAProvenanceV1] == nil {
		t.Fatalf("attestation predicate types = %v, want SPDX and SLSA provenance v1", keys(preds))
	}

	// SBOM: an in-toto statement about this platform's manifest whose
	// SPDX document lists exactly the modules `go version -m` prints.
	var sbom struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
		Subject       []inTotoSubject
		Predicate     spdxDoc `json:"predicate"`
	}
	if err := json.Unmarshal(preds[PredicateSPDX], &sbom); err != nil {
		t.Fatalf("SBOM statement is not JSON: %v", err)
	}
	checkSubject(t, "SBOM", sbom.Subject, imgDigest, plat)
	doc := sbom.Predicate
	if doc.SPDXVersion != "SPDX-2.3" || doc.DataLicense != "CC0-1.0" || doc.SPDXID != "SPDXRef-DOCUMENT" ||
		doc.DocumentNamespace == "" || doc.CreationInfo.Created == "" || len(doc.CreationInfo.Creators) == 0 {
		t.Errorf("SPDX document header is incomplete: %+v", doc)
	}
	ids := map[string]bool{}
	var modules []string
	for _, p := range doc.Packages {
		if ids[p.SPDXID] {
			t.Errorf("SPDX id %s used twice", p.SPDXID)
		}
		ids[p.SPDXID] = true
		if p.DownloadLocation == "" {
			t.Errorf("package %s has no downloadLocation (required by SPDX 2.3)", p.Name)
		}
		if strings.HasPrefix(p.SPDXID, "SPDXRef-Package-go-module-") {
			modules = append(modules, p.Name+"@"+p.VersionInfo)
		}
	}
	for _, r := range doc.Relationships {
		if (r.SPDXElementID != "SPDXRef-DOCUMENT" && !ids[r.SPDXElementID]) || !ids[r.RelatedSPDXElement] {
			t.Errorf("relationship %+v names an unknown element", r)
		}
	}
	sort.Strings(modules)
	want := goVersionModules(t, binPath)
	if strings.Join(modules, "\n") != strings.Join(want, "\n") {
		t.Errorf("SBOM modules differ from `go version -m`:\nSBOM: %d modules\ngo version -m: %d modules\nfirst SBOM %v\nfirst go %v",
			len(modules), len(want), head(modules), head(want))
	}
	if len(want) < 20 {
		t.Errorf("`go version -m` lists only %d modules; expected the full dependency list", len(want))
	}

	// Provenance: SLSA v1 about the same manifest, naming the source
	// revision, the Go toolchain and the binary by digest.
	var prov struct {
		Type          string          `json:"_type"`
		PredicateType string          `json:"predicateType"`
		Subject       []inTotoSubject `json:"subject"`
		Predicate     slsaProvenance  `json:"predicate"`
	}
	if err := json.Unmarshal(preds[PredicateSLSAProvenanceV1], &prov); err != nil {
		t.Fatalf("provenance statement is not JSON: %v", err)
	}
	if prov.Type != inTotoStatementV1 || prov.PredicateType != PredicateSLSAProvenanceV1 {
		t.Errorf("provenance statement type = %s / %s", prov.Type, prov.PredicateType)
	}
	checkSubject(t, "provenance", prov.Subject, imgDigest, plat)
	bd := prov.Predicate.BuildDefinition
	if bd.BuildType == "" || bd.ExternalParameters["version"] != testVersion || bd.ExternalParameters["platform"] != plat {
		t.Errorf("provenance build definition = %+v", bd)
	}
	if prov.Predicate.RunDetails.Builder.ID == "" {
		t.Errorf("provenance has no builder id")
	}
	binData, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	var sawBinary, sawSource bool
	for _, d := range bd.ResolvedDependencies {
		if d.Name == BinaryPath && d.Digest["sha256"] == sha256Hex(binData) {
			sawBinary = true
		}
		if strings.HasPrefix(d.URI, "git+https://github.com/spinops/terraform-provider-spinops") && d.Digest["gitCommit"] != "" {
			sawSource = true
		}
	}
	if !sawBinary || !sawSource {
		t.Errorf("provenance dependencies %+v: binary by digest %v, source revision %v", bd.ResolvedDependencies, sawBinary, sawSource)
	}
}

func checkSubject(t *testing.T, what string, subj []inTotoSubject, imgDigest v1.Hash, plat string) {
	t.Helper()
	if len(subj) != 1 || subj[0].Digest["sha256"] != imgDigest.Hex ||
		!strings.HasPrefix(subj[0].Name, "pkg:docker/ghcr.io/spinops/spinops@"+testVersion) ||
		!strings.Contains(subj[0].Name, strings.ReplaceAll(plat, "/", "%2F")) {
		t.Errorf("%s subject = %+v, want the %s manifest %s", what, subj, plat, imgDigest)
	}
}

// goVersionModules runs `go version -m` on the binary: an independent
// reading of its module list.
func goVersionModules(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "go", "version", "-m", path).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	var mods []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(strings.TrimPrefix(sc.Text(), "\t"), "\t")
		switch {
		case len(f) >= 3 && f[0] == "dep":
			mods = append(mods, f[1]+"@"+f[2])
		case len(f) >= 3 && f[0] == "=>":
			mods[len(mods)-1] = f[1] + "@" + f[2]
		}
	}
	sort.Strings(mods)
	return mods
}

// runExtracted runs the binary taken out of the image's layer.
func runExtracted(t *testing.T, data []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spinops")
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), path, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("spinops version from the image: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); !strings.HasPrefix(got, "spinops "+testVersion) {
		t.Errorf("spinops version from the image printed %q, want %q", got, "spinops "+testVersion)
	}
}

// TestBuild_reproducible: the same inputs give the same index digest, the
// property that lets a release pin the digest the provider deploys.
func TestBuild_reproducible(t *testing.T) {
	requireCABundle(t)
	bins := releaseBinaries(t)
	a, err := Build(t.Context(), testOptions(bins))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(t.Context(), testOptions(bins))
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != b.Digest {
		t.Fatalf("two builds of the same inputs: %s and %s", a.Digest, b.Digest)
	}
}

// TestBuild_refusesWrongBinaries: an image must not carry a binary that
// cannot run on its platform or that is not the release it is labelled as.
func TestBuild_refusesWrongBinaries(t *testing.T) {
	requireCABundle(t)
	bins := releaseBinaries(t)
	dynamic := dynamicExecutable(t)
	for _, tc := range []struct {
		name string
		mod  func(o *Options)
		want string
	}{
		{"arm64 binary as amd64", func(o *Options) { o.Binaries = map[Platform]string{amd64: bins[arm64]} }, "built for EM_AARCH64, not amd64"},
		{"amd64 binary as arm64", func(o *Options) { o.Binaries = map[Platform]string{arm64: bins[amd64]} }, "built for EM_X86_64, not arm64"},
		{"dynamically linked", func(o *Options) { o.Binaries = map[Platform]string{Platform{"linux", runtime.GOARCH}: dynamic} }, "dynamically linked"},
		{"other release", func(o *Options) { o.Version = "9.9.9" }, "does not carry version 9.9.9"},
		{"dev version", func(o *Options) { o.Version = "dev" }, "give the release version"},
		{"not a CA bundle", func(o *Options) { o.CACertificates = bins[amd64] }, "holds no PEM certificates"},
		{"no platforms", func(o *Options) { o.Binaries = nil }, "no platforms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(bins)
			tc.mod(&o)
			_, err := Build(t.Context(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// dynamicExecutable is a dynamically linked executable of this machine
// (the dynamic loader's favourite: any binary from /bin).
func dynamicExecutable(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/bin/ls", "/usr/bin/env", "/bin/true"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	skipOrFail(t, "no dynamically linked executable on this machine (/bin/ls, /usr/bin/env, /bin/true)")
	return ""
}

// requireCABundle needs the machine's CA bundle, what `make image` puts in
// the image (Debian's ca-certificates).
func requireCABundle(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(testCABundle); err != nil {
		skipOrFail(t, fmt.Sprintf("no CA bundle at %s: install Debian's ca-certificates (%v)", testCABundle, err))
	}
}

// skipOrFail skips a test whose prerequisite is missing, and fails it under
// SPINOPS_TESTENV=required (CI), where nothing may be skipped for that.
func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if testenv.Required() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func TestWriteLayout_refusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteLayout(t.Context(), dir, &Result{}, "x")
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("WriteLayout into a non-empty dir: %v", err)
	}
}

func TestLdflagValue(t *testing.T) {
	t.Parallel()
	flags := "-s -w -X " + versionSymbol + "=1.2.3 -X=github.com/spinops/terraform-provider-spinops/internal/version.Commit=abc"
	if got := ldflagValue(flags, versionSymbol); got != "1.2.3" {
		t.Errorf("version = %q", got)
	}
	if got := ldflagValue(flags, "github.com/spinops/terraform-provider-spinops/internal/version.Commit"); got != "abc" {
		t.Errorf("commit = %q", got)
	}
	if got := ldflagValue("-s -w", versionSymbol); got != "" {
		t.Errorf("absent = %q", got)
	}
}

func mustPlatform(t *testing.T, s string) Platform {
	t.Helper()
	p, err := ParsePlatform(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

func sha256Hex(b []byte) string {
	return fmt.Sprintf("%x", sha256.Sum256(b))
}
