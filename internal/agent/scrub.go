package agent

import (
	"os"

	"github.com/spinops/terraform-provider-spinops/internal/scope"
)

// lastAppliedAnnotation is written by kubectl apply: for a Secret it holds
// the data, so it never leaves the agent.
const lastAppliedAnnotation = scope.LastApplied

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
