// Package image builds the spinops runtime image without a Docker daemon:
// a multi-arch OCI image index of the static `spinops` binary (FROM
// scratch: the binary, a CA bundle, passwd/group entries for a non-root
// user, /tmp — no shell), with an SPDX SBOM and an SLSA provenance statement
// per platform attached as attestation manifests in the same index, in the
// layout BuildKit uses (moby/buildkit docs/attestations/attestation-storage.md),
// so registries and tools that read `docker buildx` attestations read these.
//
// It uses github.com/google/go-containerregistry and nothing else: the
// result is written as an OCI image layout (WriteLayout) and optionally
// pushed (Push). Builds are reproducible: every timestamp comes from
// Options.Created.
package image

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Paths and identity inside the image.
const (
	BinaryPath  = "/usr/local/bin/spinops"
	CABundle    = "/etc/ssl/certs/ca-certificates.crt"
	NonRootUID  = 65532
	NonRootUser = "65532:65532"
)

// Annotation keys of the BuildKit attestation layout and in-toto.
const (
	annotationRefType       = "vnd.docker.reference.type"
	annotationRefDigest     = "vnd.docker.reference.digest"
	refTypeAttestation      = "attestation-manifest"
	annotationPredicateType = "in-toto.io/predicate-type"
	mediaTypeInToto         = types.MediaType("application/vnd.in-toto+json")
)

// Platform is a linux OS/architecture pair ("linux/amd64").
type Platform struct {
	OS, Arch string
}

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// ParsePlatform parses "linux/amd64" or "linux/arm64".
func ParsePlatform(s string) (Platform, error) {
	osName, arch, ok := strings.Cut(s, "/")
	p := Platform{OS: osName, Arch: arch}
	if !ok || osName != "linux" || elfMachine[arch] == 0 {
		return p, fmt.Errorf("platform %q is not supported: use linux/amd64 or linux/arm64", s)
	}
	return p, nil
}

// Options describe one image build.
type Options struct {
	// Version is the release version the binaries were linked with; it
	// becomes the image's version label and is checked against each binary.
	Version string
	// Commit is the git commit the binaries were linked with (-X …Commit),
	// for the revision label and the provenance when the binaries carry no
	// VCS stamp (with -trimpath Go records no -ldflags); it must then be in
	// each binary's data.
	Commit string
	// Binaries maps each platform to the path of its spinops executable.
	Binaries map[Platform]string
	// CACertificates is the path of the PEM CA bundle copied into the image.
	CACertificates string
	// Source is the repository URL (org.opencontainers.image.source).
	Source string
	// Repository is the image's name without tag (ghcr.io/spinops/spinops),
	// used in the attestation subjects.
	Repository string
	// Created is the time recorded everywhere a time is recorded
	// (SOURCE_DATE_EPOCH); zero means the Unix epoch, keeping builds
	// reproducible.
	Created time.Time
	// BuilderID identifies who ran the build in the provenance (a CI run
	// URL); defaults to the tool's own identity.
	BuilderID string
}

// Result is a built image index and what went into it.
type Result struct {
	Index v1.ImageIndex
	// Digest is the image index's digest, the value a release pins.
	Digest v1.Hash
	// Platforms lists each platform's image manifest digest.
	Platforms map[Platform]v1.Hash
}

// Build assembles the image index from the binaries. It reads and checks
// every input first, so bad input fails before anything is written.
func Build(ctx context.Context, o Options) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	ca, err := readCABundle(o.CACertificates)
	if err != nil {
		return nil, err
	}
	platforms := make([]Platform, 0, len(o.Binaries))
	for p := range o.Binaries {
		platforms = append(platforms, p)
	}
	sort.Slice(platforms, func(i, j int) bool { return platforms[i].String() < platforms[j].String() })

	res := &Result{Platforms: map[Platform]v1.Hash{}}
	var adds []mutate.IndexAddendum
	for _, p := range platforms {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		bin, err := readBinary(o.Binaries[p], p, o.Version, o.Commit)
		if err != nil {
			return nil, err
		}
		img, err := platformImage(o, p, bin, ca)
		if err != nil {
			return nil, fmt.Errorf("building the %s image: %w", p, err)
		}
		imgDigest, err := img.Digest()
		if err != nil {
			return nil, fmt.Errorf("digesting the %s image: %w", p, err)
		}
		res.Platforms[p] = imgDigest
		att, err := attestationManifest(o, p, bin, ca, imgDigest)
		if err != nil {
			return nil, fmt.Errorf("building the %s attestations: %w", p, err)
		}
		adds = append(adds,
			mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: p.OS, Architecture: p.Arch},
			}},
			mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
				Annotations: map[string]string{
					annotationRefType:   refTypeAttestation,
					annotationRefDigest: imgDigest.String(),
				},
			}},
		)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	idx = mutate.AppendManifests(idx, adds...)
	idx, ok := mutate.Annotations(idx, o.annotations()).(v1.ImageIndex)
	if !ok {
		return nil, fmt.Errorf("annotating the image index: unexpected type")
	}
	res.Index = idx
	if res.Digest, err = idx.Digest(); err != nil {
		return nil, fmt.Errorf("digesting the image index: %w", err)
	}
	return res, nil
}

func (o *Options) check() error {
	if o.Version == "" || o.Version == "dev" {
		return fmt.Errorf("image version %q: give the release version the binaries were linked with (VERSION=1.2.3)", o.Version)
	}
	if len(o.Binaries) == 0 {
		return errNoPlatforms
	}
	for p := range o.Binaries {
		if _, err := ParsePlatform(p.String()); err != nil {
			return err
		}
	}
	if o.CACertificates == "" {
		return fmt.Errorf("no CA bundle: give the path of a PEM bundle (e.g. /etc/ssl/certs/ca-certificates.crt from Debian's ca-certificates)")
	}
	if o.Source == "" {
		o.Source = "https://github.com/spinops/terraform-provider-spinops"
	}
	if o.Repository == "" {
		return fmt.Errorf("no image repository: give the image name without tag (e.g. ghcr.io/spinops/spinops)")
	}
	if o.Created.IsZero() {
		o.Created = time.Unix(0, 0)
	}
	o.Created = o.Created.UTC()
	if o.BuilderID == "" {
		o.BuilderID = o.Source + "/tools/image"
	}
	return nil
}

// labels are the OCI annotation keys (image-spec annotations.md) used as
// config labels and as manifest/index annotations.
func (o *Options) annotations() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":         "spinops",
		"org.opencontainers.image.description":   "spinops runtime: bridge, agent, backup and monitor for self-run Spinnaker",
		"org.opencontainers.image.version":       o.Version,
		"org.opencontainers.image.source":        o.Source,
		"org.opencontainers.image.url":           o.Source,
		"org.opencontainers.image.created":       o.Created.Format(time.RFC3339),
		"org.opencontainers.image.ref.name":      o.Version,
		"org.opencontainers.image.base.name":     "scratch",
		"org.opencontainers.image.documentation": o.Source + "#readme",
	}
}

// platformImage is the runnable image of one platform.
func platformImage(o Options, p Platform, bin *binary, ca []byte) (v1.Image, error) {
	layer, err := rootfsLayer(bin.data, ca, o.Created)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
		Created:   v1.Time{Time: o.Created},
		CreatedBy: "spinops tools/image: " + BinaryPath + ", " + CABundle + ", /etc/passwd, /etc/group, /tmp",
		Comment:   "FROM scratch",
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = p.OS, p.Arch
	cf.Created = v1.Time{Time: o.Created}
	labels := o.annotations()
	if bin.commit != "" {
		labels["org.opencontainers.image.revision"] = bin.commit
	}
	cf.Config = v1.Config{
		User:       NonRootUser,
		Entrypoint: []string{BinaryPath},
		Env: []string{
			"PATH=/usr/local/bin",
			"SSL_CERT_FILE=" + CABundle,
			"HOME=/home/nonroot",
		},
		WorkingDir: "/home/nonroot",
		Labels:     labels,
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	anns := o.annotations()
	if bin.commit != "" {
		anns["org.opencontainers.image.revision"] = bin.commit
	}
	out, ok := mutate.Annotations(img, anns).(v1.Image)
	if !ok {
		return nil, fmt.Errorf("annotating the image manifest: unexpected type")
	}
	return out, nil
}

// attestationManifest holds one platform's SBOM and provenance statements,
// pointing at that platform's image manifest (BuildKit's attestation
// manifest: platform unknown/unknown, one in-toto layer per statement).
func attestationManifest(o Options, p Platform, bin *binary, ca []byte, imgDigest v1.Hash) (v1.Image, error) {
	subject := []inTotoSubject{{
		Name:   purl(o.Repository, o.Version, p),
		Digest: map[string]string{imgDigest.Algorithm: imgDigest.Hex},
	}}
	sbom, err := spdxDocument(o, p, bin, ca)
	if err != nil {
		return nil, err
	}
	sbomStmt, err := json.Marshal(inTotoStatement{
		Type: inTotoStatementV01, PredicateType: PredicateSPDX, Subject: subject, Predicate: sbom,
	})
	if err != nil {
		return nil, err
	}
	prov, err := json.Marshal(inTotoStatement{
		Type: inTotoStatementV1, PredicateType: PredicateSLSAProvenanceV1, Subject: subject,
		Predicate: provenance(o, p, bin, ca),
	})
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: static.NewLayer(sbomStmt, mediaTypeInToto),
			Annotations: map[string]string{annotationPredicateType: PredicateSPDX}},
		mutate.Addendum{Layer: static.NewLayer(prov, mediaTypeInToto),
			Annotations: map[string]string{annotationPredicateType: PredicateSLSAProvenanceV1}},
	)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "unknown", "unknown"
	cf.Created = v1.Time{Time: o.Created}
	return mutate.ConfigFile(img, cf)
}

// purl is the package URL BuildKit uses as an attestation subject name.
func purl(repo, version string, p Platform) string {
	return "pkg:docker/" + repo + "@" + version + "?platform=" + url.QueryEscape(p.String())
}

// readCABundle reads a PEM bundle and checks that it holds certificates.
func readCABundle(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the CA bundle: %w (install Debian's ca-certificates or pass --ca-certificates)", err)
	}
	n, err := countCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("CA bundle %s: %w", path, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("CA bundle %s holds no PEM certificates", path)
	}
	return data, nil
}
