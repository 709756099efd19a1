package migratetest

import (
	"testing"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
