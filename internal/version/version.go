// Package version carries the build's version, set by the linker:
//
//	-ldflags "-X github.com/spinops/terraform-provider-spinops/internal/version.Version=v1.2.3"
package version

// Version is the release version; "dev" for local builds.
var Version = "dev"

// Commit is the git commit the binary was built from, when known.
var Commit = ""
