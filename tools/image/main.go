// Command image builds the spinops runtime image without a Docker daemon
// (see internal/image) and writes it as an OCI image layout; `make image`
// runs it.
//
//	go run ./tools/image -version 1.2.3 -out dist/image [-push ghcr.io/spinops/spinops:1.2.3]
//
// Without -binary it compiles cmd/spinops for every -platforms entry
// (CGO_ENABLED=0, -trimpath, the version linked in). Output:
//
//	<out>/oci/             the OCI image layout (index.json, blobs/)
//	<out>/digest           the image index digest (sha256:…, no newline)
//	<out>/bin/<os>_<arch>/ the binaries that went in, when compiled here
//
// Timestamps come from SOURCE_DATE_EPOCH (default: the last commit's
// time), so two builds of one commit give one digest.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/image"
	"github.com/spinops/terraform-provider-spinops/internal/version"
)

type binaryFlags map[image.Platform]string

func (b binaryFlags) String() string { return fmt.Sprint(map[image.Platform]string(b)) }

func (b binaryFlags) Set(v string) error {
	plat, path, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("want PLATFORM=PATH, e.g. linux/amd64=dist/spinops_linux_amd64_v1/spinops")
	}
	p, err := image.ParsePlatform(plat)
	if err != nil {
		return err
	}
	b[p] = path
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fl := flag.NewFlagSet("image", flag.ContinueOnError)
	ver := fl.String("version", "", "release version, linked into the binaries and the image's labels and tag (required)")
	commit := fl.String("commit", "", "git commit linked into compiled binaries (default: HEAD)")
	out := fl.String("out", "dist/image", "output directory (its oci/ must not exist yet)")
	platforms := fl.String("platforms", "linux/amd64,linux/arm64", "platforms to compile for when no -binary is given")
	ca := fl.String("ca-certificates", "/etc/ssl/certs/ca-certificates.crt", "PEM CA bundle to copy into the image")
	repo := fl.String("repository", version.ImageRepository, "image name without tag (attestation subjects; -push default)")
	source := fl.String("source", "https://github.com/spinops/terraform-provider-spinops", "source repository URL (org.opencontainers.image.source)")
	builder := fl.String("builder-id", os.Getenv("SPINOPS_BUILDER_ID"), "provenance builder id, e.g. the CI run's URL")
	push := fl.String("push", "", "also push the image to this reference (e.g. ghcr.io/spinops/spinops:1.2.3); \"default\" means <repository>:<version>")
	bins := binaryFlags{}
	fl.Var(bins, "binary", "PLATFORM=PATH of a prebuilt spinops binary (repeatable); skips compiling")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *ver == "" {
		return errors.New("-version is required (make image VERSION=1.2.3)")
	}
	created, err := sourceDateEpoch(ctx)
	if err != nil {
		return err
	}
	layoutDir := filepath.Join(*out, "oci")
	if _, err := os.Stat(layoutDir); err == nil {
		return fmt.Errorf("%s already exists: remove it (make image does) or choose another -out", layoutDir)
	}
	if len(bins) == 0 {
		if *commit == "" {
			*commit = gitOutput(ctx, "rev-parse", "--short=12", "HEAD")
		}
		for _, ps := range strings.Split(*platforms, ",") {
			p, err := image.ParsePlatform(strings.TrimSpace(ps))
			if err != nil {
				return err
			}
			path := filepath.Join(*out, "bin", p.OS+"_"+p.Arch, "spinops")
			fmt.Fprintf(os.Stderr, "image: compiling spinops %s for %s\n", *ver, p)
			if err := image.Compile(ctx, image.CompileOptions{ModuleDir: ".", Platform: p,
				Version: *ver, Commit: *commit, Out: path}); err != nil {
				return err
			}
			bins[p] = path
		}
	}
	res, err := image.Build(ctx, image.Options{
		Version: *ver, Commit: *commit, Binaries: bins, CACertificates: *ca, Source: *source,
		Repository: *repo, Created: created, BuilderID: *builder,
	})
	if err != nil {
		return err
	}
	if err := image.WriteLayout(ctx, layoutDir, res, *ver); err != nil {
		return err
	}
	// No trailing newline: .goreleaser.yml links the file's content into the
	// provider (-X …/internal/version.ImageDigest=…).
	if err := os.WriteFile(filepath.Join(*out, "digest"), []byte(res.Digest.String()), 0o644); err != nil {
		return fmt.Errorf("writing the digest: %w", err)
	}
	fmt.Printf("image: %s:%s@%s\nimage: OCI layout %s\n", *repo, *ver, res.Digest, layoutDir)
	if *push != "" {
		ref := *push
		if ref == "default" {
			ref = *repo + ":" + *ver
		}
		pushed, err := image.Push(ctx, ref, res)
		if err != nil {
			return err
		}
		fmt.Printf("image: pushed %s\n", pushed)
	}
	return nil
}

// sourceDateEpoch is SOURCE_DATE_EPOCH, else the last commit's time, else
// the Unix epoch.
func sourceDateEpoch(ctx context.Context) (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		s = gitOutput(ctx, "log", "-1", "--format=%ct")
	}
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a Unix time in seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

func gitOutput(ctx context.Context, args ...string) string {
	b, err := exec.CommandContext(ctx, "git", args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
