package version

import "testing"

func TestImageRef(t *testing.T) {
	t.Parallel()
	digest := "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		version, digest, want string
	}{
		{"1.2.3", "", "ghcr.io/spinops/spinops:1.2.3"},
		{"1.2.3", digest, "ghcr.io/spinops/spinops:1.2.3@" + digest},
		{"dev", "", "ghcr.io/spinops/spinops:latest"},
		{"", "", "ghcr.io/spinops/spinops:latest"},
	} {
		if got := imageRef(tc.version, tc.digest); got != tc.want {
			t.Errorf("imageRef(%q, %q) = %q, want %q", tc.version, tc.digest, got, tc.want)
		}
	}
}

func TestImageFollowsTheLinkedVersion(t *testing.T) {
	oldV, oldD := Version, ImageDigest
	t.Cleanup(func() { Version, ImageDigest = oldV, oldD })
	Version, ImageDigest = "0.4.0", ""
	if got, want := Image(), "ghcr.io/spinops/spinops:0.4.0"; got != want {
		t.Fatalf("Image() = %q, want %q", got, want)
	}
}
