package testenv_test

import (
	"os"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func TestZZSleep(t *testing.T) {
	if os.Getenv("ZZ_SLEEP") == "" {
		t.Skip()
	}
	testenv.SharedCluster(t)
	testenv.StartCluster(t, testenv.WithControllerManager())
	testenv.SharedMariaDB(t)
	testenv.SharedMoto(t)
	testenv.SharedFakeGCS(t)
	t.Log("all up")
	time.Sleep(120 * time.Second)
}
