package image

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// WriteLayout writes the image index as an OCI image layout in dir (which
// must not exist or be empty), tagged with tag
// (org.opencontainers.image.ref.name in index.json).
func WriteLayout(ctx context.Context, dir string, res *Result, tag string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("reading the layout directory: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("layout directory %s is not empty: remove it first", dir)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("creating the OCI layout in %s: %w", dir, err)
	}
	if err := p.AppendIndex(res.Index, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag,
	})); err != nil {
		return fmt.Errorf("writing the image to the OCI layout in %s: %w", dir, err)
	}
	return nil
}

// Push uploads the image index (platform images and attestations) to ref
// with the credentials of the Docker config (~/.docker/config.json,
// credential helpers), as `docker push` would find them.
func Push(ctx context.Context, ref string, res *Result) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w (use e.g. ghcr.io/spinops/spinops:1.2.3)", ref, err)
	}
	if err := remote.WriteIndex(r, res.Index, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return "", fmt.Errorf("pushing the image to %s: %w", r, err)
	}
	return r.Context().Name() + "@" + res.Digest.String(), nil
}

// CompileOptions describe a build of cmd/spinops for one platform.
type CompileOptions struct {
	// ModuleDir is the root of this repository's module.
	ModuleDir string
	Platform  Platform
	Version   string
	Commit    string
	// Out is the path of the executable to write.
	Out string
	// Go is the go command (default "go").
	Go string
}

// Compile builds cmd/spinops the way releases do: static (CGO_ENABLED=0),
// -trimpath, version and commit linked in.
func Compile(ctx context.Context, o CompileOptions) error {
	goCmd := o.Go
	if goCmd == "" {
		goCmd = "go"
	}
	ldflags := "-s -w -X " + versionSymbol + "=" + o.Version
	if o.Commit != "" {
		ldflags += " -X " + strings.TrimSuffix(versionSymbol, "Version") + "Commit=" + o.Commit
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "-ldflags", ldflags, "-o", out, "./cmd/spinops")
	cmd.Dir = o.ModuleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+o.Platform.OS, "GOARCH="+o.Platform.Arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building spinops for %s: %w\n%s", o.Platform, err, b)
	}
	return nil
}
