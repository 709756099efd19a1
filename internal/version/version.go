// Package version carries the build's version, set by the linker:
//
//	-ldflags "-X github.com/spinops/terraform-provider-spinops/internal/version.Version=v1.2.3"
//
// and the container image a release deploys by default (see Image).
package version

// Version is the release version; "dev" for local builds.
var Version = "dev"

// Commit is the git commit the binary was built from, when known.
var Commit = ""

// ImageDigest is the digest ("sha256:…") of the release's image index, set
// by the release build (`make image` writes it, .goreleaser.yml links it
// into the provider) so the provider deploys exactly the image that was
// built with it. Empty in local builds: the tag alone is used then.
var ImageDigest = ""

// ImageRepository is where releases publish the spinops image
// (`make image PUSH=…`, .goreleaser.yml). The one place the name is written.
const ImageRepository = "ghcr.io/spinops/spinops"

// Image is the image reference the provider deploys when a resource's
// `image` argument is not set: ImageRepository tagged with the release
// version, pinned by digest when the build knows it
// ("ghcr.io/spinops/spinops:1.2.3@sha256:…"). A local build ("dev") has
// no published image of its own and falls back to the "latest" tag.
func Image() string {
	return imageRef(Version, ImageDigest)
}

func imageRef(v, digest string) string {
	if v == "" || v == "dev" {
		v = "latest"
	}
	ref := ImageRepository + ":" + v
	if digest != "" {
		ref += "@" + digest
	}
	return ref
}
