package image

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"time"
)

// Predicate types and statement versions (in-toto attestation framework;
// BuildKit writes SBOMs as v0.1 statements with the SPDX predicate type).
const (
	PredicateSPDX             = "https://spdx.dev/Document"
	PredicateSLSAProvenanceV1 = "https://slsa.dev/provenance/v1"
	inTotoStatementV01        = "https://in-toto.io/Statement/v0.1"
	inTotoStatementV1         = "https://in-toto.io/Statement/v1"
	buildType                 = "https://github.com/spinops/terraform-provider-spinops/tools/image@v1"
)

type inTotoStatement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subject       []inTotoSubject `json:"subject"`
	Predicate     any             `json:"predicate"`
}

type inTotoSubject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// SPDX 2.3 JSON (spdx-spec v2.3, "SPDX JSON schema"): the fields we fill.
type spdxDoc struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      spdxCreationInfo   `json:"creationInfo"`
	Packages          []spdxPackage      `json:"packages"`
	Relationships     []spdxRelationship `json:"relationships"`
}

type spdxCreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	SPDXID                string            `json:"SPDXID"`
	Name                  string            `json:"name"`
	VersionInfo           string            `json:"versionInfo,omitempty"`
	DownloadLocation      string            `json:"downloadLocation"`
	FilesAnalyzed         bool              `json:"filesAnalyzed"`
	Checksums             []spdxChecksum    `json:"checksums,omitempty"`
	ExternalRefs          []spdxExternalRef `json:"externalRefs,omitempty"`
	PrimaryPackagePurpose string            `json:"primaryPackagePurpose,omitempty"`
	Comment               string            `json:"comment,omitempty"`
}

type spdxChecksum struct {
	Algorithm     string `json:"algorithm"`
	ChecksumValue string `json:"checksumValue"`
}

type spdxExternalRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

type spdxRelationship struct {
	SPDXElementID      string `json:"spdxElementId"`
	RelationshipType   string `json:"relationshipType"`
	RelatedSPDXElement string `json:"relatedSpdxElement"`
}

// spdxDocument lists what the platform image holds: the spinops binary,
// every Go module its build information names (what `go version -m`
// prints, replacements resolved), the Go standard library and the CA bundle.
func spdxDocument(o Options, p Platform, bin *binary, ca []byte) (*spdxDoc, error) {
	mainID := "SPDXRef-Package-spinops"
	doc := &spdxDoc{
		SPDXVersion: "SPDX-2.3",
		DataLicense: "CC0-1.0",
		SPDXID:      "SPDXRef-DOCUMENT",
		Name:        fmt.Sprintf("spinops-%s-%s-%s", o.Version, p.OS, p.Arch),
		DocumentNamespace: fmt.Sprintf("%s/spdx/spinops-%s-%s-%s-%s",
			strings.TrimSuffix(o.Source, "/"), o.Version, p.OS, p.Arch, bin.sha256),
		CreationInfo: spdxCreationInfo{
			Created:  o.Created.Format(time.RFC3339),
			Creators: []string{"Tool: spinops-tools-image-" + o.Version},
		},
	}
	doc.Packages = append(doc.Packages, spdxPackage{
		SPDXID:                mainID,
		Name:                  bin.info.Main.Path,
		VersionInfo:           o.Version,
		DownloadLocation:      o.Source,
		Checksums:             []spdxChecksum{{Algorithm: "SHA256", ChecksumValue: bin.sha256}},
		ExternalRefs:          []spdxExternalRef{goPURL(bin.info.Main.Path, o.Version)},
		PrimaryPackagePurpose: "APPLICATION",
		Comment:               "the executable " + BinaryPath,
	})
	doc.Relationships = append(doc.Relationships, spdxRelationship{"SPDXRef-DOCUMENT", "DESCRIBES", mainID})
	add := func(pkg spdxPackage) {
		doc.Packages = append(doc.Packages, pkg)
		doc.Relationships = append(doc.Relationships, spdxRelationship{mainID, "DEPENDS_ON", pkg.SPDXID})
	}
	for i, m := range buildDeps(bin.info) {
		add(spdxPackage{
			SPDXID:           fmt.Sprintf("SPDXRef-Package-go-module-%d", i+1),
			Name:             m.Path,
			VersionInfo:      m.Version,
			DownloadLocation: "https://proxy.golang.org/" + m.Path + "/@v/" + m.Version + ".zip",
			ExternalRefs:     []spdxExternalRef{goPURL(m.Path, m.Version)},
			Comment:          "go.sum " + m.Sum,
		})
	}
	add(spdxPackage{
		SPDXID:           "SPDXRef-Package-go-stdlib",
		Name:             "stdlib",
		VersionInfo:      bin.info.GoVersion,
		DownloadLocation: "https://go.dev/dl/",
		ExternalRefs:     []spdxExternalRef{goPURL("stdlib", bin.info.GoVersion)},
	})
	caSum := sha256.Sum256(ca)
	add(spdxPackage{
		SPDXID:           "SPDXRef-File-ca-certificates",
		Name:             "ca-certificates",
		DownloadLocation: "NOASSERTION",
		Checksums:        []spdxChecksum{{Algorithm: "SHA256", ChecksumValue: hex.EncodeToString(caSum[:])}},
		Comment:          "CA bundle " + CABundle + " copied from " + o.CACertificates + " on the build machine",
	})
	return doc, nil
}

// buildDeps are the modules linked into the binary, replacements resolved,
// sorted by path.
func buildDeps(info *debug.BuildInfo) []debug.Module {
	out := make([]debug.Module, 0, len(info.Deps))
	for _, d := range info.Deps {
		m := *d
		if d.Replace != nil {
			m = *d.Replace
		}
		m.Replace = nil
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func goPURL(path, version string) spdxExternalRef {
	return spdxExternalRef{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl",
		ReferenceLocator: "pkg:golang/" + path + "@" + version}
}

// SLSA provenance v1 predicate (slsa.dev/spec/v1.0/provenance).
type slsaProvenance struct {
	BuildDefinition slsaBuildDefinition `json:"buildDefinition"`
	RunDetails      slsaRunDetails      `json:"runDetails"`
}

type slsaBuildDefinition struct {
	BuildType            string              `json:"buildType"`
	ExternalParameters   map[string]any      `json:"externalParameters"`
	InternalParameters   map[string]any      `json:"internalParameters,omitempty"`
	ResolvedDependencies []slsaResourceDescr `json:"resolvedDependencies,omitempty"`
}

type slsaResourceDescr struct {
	URI    string            `json:"uri,omitempty"`
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
}

type slsaRunDetails struct {
	Builder slsaBuilder `json:"builder"`
}

type slsaBuilder struct {
	ID string `json:"id"`
}

// provenance records how the platform image was made: from which source
// revision (the binary's own VCS stamp), with which Go and build settings,
// and which inputs (binary, CA bundle) by digest. No wall-clock times, so
// the statement — and the image digest — is reproducible.
func provenance(o Options, p Platform, bin *binary, ca []byte) *slsaProvenance {
	settings := map[string]string{}
	for _, s := range bin.info.Settings {
		settings[s.Key] = s.Value
	}
	src := slsaResourceDescr{URI: "git+" + o.Source}
	if bin.commit != "" {
		src.URI += "@" + bin.commit
		src.Digest = map[string]string{"gitCommit": bin.commit}
	}
	caSum := sha256.Sum256(ca)
	return &slsaProvenance{
		BuildDefinition: slsaBuildDefinition{
			BuildType: buildType,
			ExternalParameters: map[string]any{
				"version":  o.Version,
				"platform": p.String(),
				"source":   o.Source,
				"package":  bin.info.Path,
			},
			InternalParameters: map[string]any{
				"goVersion":     bin.info.GoVersion,
				"buildSettings": settings,
				"vcsModified":   bin.dirty,
				"created":       o.Created.Format(time.RFC3339),
			},
			ResolvedDependencies: []slsaResourceDescr{
				src,
				{URI: "pkg:golang/stdlib@" + bin.info.GoVersion, Name: "go toolchain"},
				{Name: "ca-certificates", URI: "file://" + o.CACertificates,
					Digest: map[string]string{"sha256": hex.EncodeToString(caSum[:])}},
				{Name: BinaryPath, URI: "pkg:golang/" + bin.info.Path + "@" + o.Version,
					Digest: map[string]string{"sha256": bin.sha256}},
			},
		},
		RunDetails: slsaRunDetails{Builder: slsaBuilder{ID: o.BuilderID}},
	}
}
