package spinnaker

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// OperatorRelease is one release of the Spinnaker Operator spinops knows
// how to drive, with the Halyard sidecar it was released with.
type OperatorRelease struct {
	// Version is the operator image tag, e.g. "1.3.1".
	Version string
	// HalyardImage is the sidecar image of the release: the
	// `halyard-version` file at the release tag of armory/spinnaker-operator,
	// which its Makefile substitutes into deploy/operator/*/deployment.yaml.
	HalyardImage string
	// MinSpinnaker is the oldest Spinnaker version (major.minor) this
	// release's Halyard deploys: the one its own example manifests
	// (deploy/spinnaker/basic/spinnakerservice.yml at the tag) ask for.
	MinSpinnaker string
}

// OperatorReleases is the one table of operator version → Halyard image
// (read from armory/spinnaker-operator at each tag; see docs/operator.md).
// 1.3.1 is the default; 1.4.0 ships the same CRDs and Halyard.
var OperatorReleases = []OperatorRelease{
	{Version: "1.3.1", HalyardImage: "armory/halyard:operator-a6ac1d4", MinSpinnaker: "1.17"},
	{Version: "1.4.0", HalyardImage: "armory/halyard:operator-a6ac1d4", MinSpinnaker: "1.17"},
}

// DefaultOperatorVersion is the operator release spinops installs unless
// told otherwise.
const DefaultOperatorVersion = "1.3.1"

// FindOperatorRelease returns the release of an operator version.
func FindOperatorRelease(version string) (OperatorRelease, bool) {
	for _, r := range OperatorReleases {
		if r.Version == version {
			return r, true
		}
	}
	return OperatorRelease{}, false
}

// SupportedOperatorVersions lists the versions of OperatorReleases.
func SupportedOperatorVersions() []string {
	out := make([]string, 0, len(OperatorReleases))
	for _, r := range OperatorReleases {
		out = append(out, r.Version)
	}
	sort.Strings(out)
	return out
}

// HalyardImageFor is the Halyard image of an operator version; the second
// result is false for a version not in OperatorReleases.
func HalyardImageFor(operatorVersion string) (string, bool) {
	r, ok := FindOperatorRelease(operatorVersion)
	return r.HalyardImage, ok
}

// CheckOperatorVersion refuses an operator version spinops has no Halyard
// image for, unless the caller names the Halyard image itself
// (halyardImageSet).
func CheckOperatorVersion(operatorVersion string, halyardImageSet bool) error {
	if _, ok := FindOperatorRelease(operatorVersion); ok || halyardImageSet {
		return nil
	}
	return fmt.Errorf("operator version %q is not one spinops knows (supported: %s): each operator release runs its own Halyard sidecar, "+
		"so set operator.halyard_image to the image of that release (the halyard-version file at its tag in armory/spinnaker-operator), or pick a supported version",
		operatorVersion, strings.Join(SupportedOperatorVersions(), ", "))
}

// CheckSpinnakerVersion refuses a Spinnaker version the operator release's
// Halyard cannot deploy. An operator version outside OperatorReleases is
// not checked (the user named its Halyard image).
func CheckSpinnakerVersion(operatorVersion, spinnakerVersion string) error {
	r, ok := FindOperatorRelease(operatorVersion)
	if !ok {
		return nil
	}
	have, ok1 := majorMinor(spinnakerVersion)
	min, ok2 := majorMinor(r.MinSpinnaker)
	if !ok1 || !ok2 {
		return fmt.Errorf("spinnaker_version %q is not a version such as 1.35.3", spinnakerVersion)
	}
	if have[0] < min[0] || (have[0] == min[0] && have[1] < min[1]) {
		return fmt.Errorf("spinnaker_version %s is older than what the Spinnaker Operator %s (Halyard %s) deploys (%s or newer): pick a newer spinnaker_version or an older operator.version",
			spinnakerVersion, r.Version, r.HalyardImage, r.MinSpinnaker)
	}
	return nil
}

func majorMinor(v string) ([2]int, bool) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return [2]int{}, false
	}
	a, err1 := strconv.Atoi(parts[0])
	b, err2 := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return [2]int{a, b}, err1 == nil && err2 == nil
}
