package image

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
)

// MainPackage is the Go package the image runs; only a build of it goes in.
const MainPackage = "github.com/spinops/terraform-provider-spinops/cmd/spinops"

// versionSymbol is the linker variable that carries the release version.
const versionSymbol = "github.com/spinops/terraform-provider-spinops/internal/version.Version"

// binary is a spinops executable checked against the platform it is for.
type binary struct {
	path    string
	data    []byte
	sha256  string
	info    *debug.BuildInfo
	version string // from the -X ldflag
	commit  string // vcs.revision or the -X Commit ldflag
	dirty   bool   // vcs.modified
}

// elfMachine is the ELF e_machine of each supported architecture.
var elfMachine = map[string]elf.Machine{
	"amd64": elf.EM_X86_64,
	"arm64": elf.EM_AARCH64,
}

// readBinary reads the executable at path and refuses anything that would
// not run as the image's entrypoint on p, or that is not the release it is
// labelled as: another architecture, a dynamically linked (cgo) build, a
// Go program other than cmd/spinops, or a version other than want.
func readBinary(path string, p Platform, wantVersion, wantCommit string) (*binary, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the %s binary: %w", p, err)
	}
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s binary %s is not a Linux (ELF) executable: %w; build it with GOOS=linux GOARCH=%s", p, path, err, p.Arch)
	}
	defer func() { _ = f.Close() }()
	if want, ok := elfMachine[p.Arch]; !ok || f.Machine != want {
		return nil, fmt.Errorf("%s binary %s is built for %s, not %s: build it with GOOS=linux GOARCH=%s", p, path, f.Machine, p.Arch, p.Arch)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return nil, fmt.Errorf("%s binary %s is dynamically linked (it needs a program interpreter the image does not have): build it with CGO_ENABLED=0", p, path)
		}
	}
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s binary %s carries no Go build information (is it a Go program?): %w", p, path, err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if info.Path != MainPackage {
		return nil, fmt.Errorf("%s binary %s is a build of %q, not %s", p, path, info.Path, MainPackage)
	}
	if settings["GOOS"] != p.OS || settings["GOARCH"] != p.Arch {
		return nil, fmt.Errorf("%s binary %s says it was built for %s/%s", p, path, settings["GOOS"], settings["GOARCH"])
	}
	if settings["CGO_ENABLED"] != "0" {
		return nil, fmt.Errorf("%s binary %s was built with CGO_ENABLED=%q: the image has no C library, build it with CGO_ENABLED=0", p, path, settings["CGO_ENABLED"])
	}
	b := &binary{path: path, data: data, info: info, dirty: settings["vcs.modified"] == "true"}
	sum := sha256.Sum256(data)
	b.sha256 = hex.EncodeToString(sum[:])
	// Go records -ldflags only without -trimpath (release builds use it);
	// then the linked string must at least be in the binary's data.
	b.version = ldflagValue(settings["-ldflags"], versionSymbol)
	if (b.version != "" && b.version != wantVersion) ||
		(b.version == "" && !bytes.Contains(data, []byte(wantVersion))) {
		return nil, fmt.Errorf("%s binary %s does not carry version %s, the version the image is being built as: build it with -ldflags '-X %s=%s'", p, path, wantVersion, versionSymbol, wantVersion)
	}
	b.version = wantVersion
	b.commit = settings["vcs.revision"]
	if b.commit == "" {
		b.commit = ldflagValue(settings["-ldflags"], strings.TrimSuffix(versionSymbol, "Version")+"Commit")
	}
	if b.commit == "" && wantCommit != "" && bytes.Contains(data, []byte(wantCommit)) {
		b.commit = wantCommit
	}
	return b, nil
}

// ldflagValue finds "-X symbol=value" in a recorded -ldflags string.
func ldflagValue(ldflags, symbol string) string {
	fields := strings.Fields(ldflags)
	for i, f := range fields {
		var def string
		switch {
		case f == "-X" && i+1 < len(fields):
			def = fields[i+1]
		case strings.HasPrefix(f, "-X="):
			def = strings.TrimPrefix(f, "-X=")
		default:
			continue
		}
		if v, ok := strings.CutPrefix(def, symbol+"="); ok {
			return v
		}
	}
	return ""
}

// errNoPlatforms is returned when a build is asked for no platform at all.
var errNoPlatforms = errors.New("no platforms: give at least one binary (linux/amd64, linux/arm64)")
