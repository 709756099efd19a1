package agent

import (
	"context"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"
)

// Key names one object of one of a source's kinds (an index into its
// hello's kinds).
type Key struct {
	Kind      int
	Namespace string
	Name      string
}

// Source is one account as the stream client sees it. The agent's cluster
// accounts implement it with informers; the scale benchmark implements it
// with synthetic objects, so both drive the same protocol client.
type Source interface {
	// Hello describes the account (credential included).
	Hello() *bridgev1.AccountHello
	// Synced reports whether a kind finished its first listing.
	Synced(kind int) bool
	// Snapshot returns every object of a kind (ADDED events) and the
	// resourceVersion of the listing.
	Snapshot(kind int) ([]*bridgev1.WatchEvent, string, error)
	// Keys delivers the keys of changed objects, each once however often
	// it changed, until Done is called for it.
	Keys() <-chan Key
	// Event reads the current state of a key (DELETED when it is gone).
	Event(Key) (*bridgev1.WatchEvent, error)
	// Done ends the processing of a key delivered by Keys.
	Done(Key)
	// Enqueue queues a key again (while it is being processed it is
	// delivered again after Done).
	Enqueue(Key)
	// Pending is how many changed keys wait.
	Pending() int
	// Execute runs an operation against the API server and sends its
	// result, in chunks for long answers.
	Execute(ctx context.Context, op *bridgev1.Operation, send func(*bridgev1.OperationResult) error)
}
