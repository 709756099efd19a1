package provider

import (
	"testing"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// The pod stand-ins (the bridge's, the monitor's and an agent's pod) are
// in internal/testenv/podstandin, shared with internal/modtest.

func freePort(t *testing.T) int {
	t.Helper()
	p, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
