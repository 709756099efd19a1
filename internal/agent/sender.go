package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"
)

// accountStream is the state of one source across connections: sequence
// numbers, what was sent and not yet acknowledged, and which kinds the
// bridge has in full.
type accountStream struct {
	src    Source
	resync chan int

	mu      sync.Mutex
	seq     uint64
	acks    uint64
	unacked []sentBatch
	synced  map[int]bool
}

type sentBatch struct {
	seq       uint64
	keys      []Key
	syncKinds []int // kinds whose SYNC_END the batch carried
	size      int64
	conn      *connection
}

func newAccountStream(src Source) *accountStream {
	return &accountStream{src: src, resync: make(chan int, 16), synced: map[int]bool{}}
}

func (as *accountStream) lastAcked() uint64 {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.acks
}

// acked drops what the bridge acknowledged and returns the window bytes
// to release (only those sent on cn).
func (as *accountStream) acked(seq uint64, cn *connection) int64 {
	as.mu.Lock()
	defer as.mu.Unlock()
	if seq > as.acks {
		as.acks = seq
	}
	var n int64
	i := 0
	for ; i < len(as.unacked) && as.unacked[i].seq <= seq; i++ {
		if as.unacked[i].conn == cn {
			n += as.unacked[i].size
		}
	}
	as.unacked = as.unacked[i:]
	return n
}

// onWelcome reconciles with what the bridge has. Resuming: whatever it did
// not apply is sent again (by key: the current state). Otherwise every kind
// is sent in full.
func (as *accountStream) onWelcome(resume bool, from uint64) {
	as.mu.Lock()
	defer as.mu.Unlock()
	if !resume {
		as.synced = map[int]bool{}
		as.unacked = nil
		return
	}
	for _, b := range as.unacked {
		if b.seq <= from {
			continue
		}
		for _, k := range b.keys {
			as.src.Enqueue(k) // sent and Done, but never applied
		}
		for _, kind := range b.syncKinds {
			delete(as.synced, kind)
		}
	}
	as.unacked = nil
	if from > as.acks {
		as.acks = from
	}
}

// runSender streams one account's changes until ctx ends.
func (cn *connection) runSender(ctx context.Context, as *accountStream, resume bool, from uint64) {
	as.onWelcome(resume, from)
	kinds := len(as.src.Hello().GetKinds())
	for kind := 0; kind < kinds; kind++ {
		if !as.isSynced(kind) {
			if err := cn.sendSnapshot(ctx, as, kind); err != nil {
				cn.c.log.Debug("sending a snapshot", "err", err)
				return
			}
		}
	}
	budget := cn.c.cfg.Budget
	for {
		select {
		case <-ctx.Done():
			return
		case kind := <-as.resync:
			for k := 0; k < kinds; k++ {
				if kind < 0 || kind == k {
					if err := cn.sendSnapshot(ctx, as, k); err != nil {
						return
					}
				}
			}
		case k := <-as.src.Keys():
			keys := []Key{k}
			// Take what else is waiting, up to a batch.
		more:
			for len(keys) < budget.MaxBatchEvents {
				select {
				case k2 := <-as.src.Keys():
					keys = append(keys, k2)
				default:
					break more
				}
			}
			if err := cn.sendKeys(ctx, as, keys); err != nil {
				return
			}
		}
	}
}

func (as *accountStream) isSynced(kind int) bool {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.synced[kind]
}

// sendKeys sends the current state of keys, in batches within the budget.
func (cn *connection) sendKeys(ctx context.Context, as *accountStream, keys []Key) error {
	budget := cn.c.cfg.Budget
	var batch []*bridgev1.WatchEvent
	var batchKeys []Key
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := cn.sendBatch(ctx, as, batch, batchKeys, nil)
		batch, batchKeys, size = nil, nil, 0
		return err
	}
	for i, k := range keys {
		ev, err := as.src.Event(k)
		if err != nil {
			cn.c.log.Warn("reading a changed object", "account", as.src.Hello().GetName(), "err", err)
			as.src.Done(k)
			continue
		}
		n := proto.Size(ev)
		if n > maxEventBytes {
			cn.c.log.Error("an object is too large to send; it is left out of the bridge's cache",
				"account", as.src.Hello().GetName(), "namespace", k.Namespace, "name", k.Name, "bytes", n)
			as.src.Done(k)
			continue
		}
		if size+n > budget.MaxBatchBytes && len(batch) > 0 {
			if err := flush(); err != nil {
				for _, rest := range keys[i:] {
					as.src.Enqueue(rest)
					as.src.Done(rest)
				}
				return err
			}
		}
		batch = append(batch, ev)
		batchKeys = append(batchKeys, k)
		size += n
	}
	return flush()
}

// sendSnapshot sends a kind in full between SYNC_BEGIN and SYNC_END.
func (cn *connection) sendSnapshot(ctx context.Context, as *accountStream, kind int) error {
	for !as.src.Synced(kind) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	events, rv, err := as.src.Snapshot(kind)
	if err != nil {
		return fmt.Errorf("listing kind %d of %s: %w", kind, as.src.Hello().GetName(), err)
	}
	budget := cn.c.cfg.Budget
	batch := []*bridgev1.WatchEvent{{Type: bridgev1.EventType_EVENT_TYPE_SYNC_BEGIN, Kind: uint32(kind)}}
	size := 0
	for _, ev := range events {
		n := proto.Size(ev)
		if n > maxEventBytes {
			continue
		}
		if (size+n > budget.MaxBatchBytes || len(batch) >= budget.MaxBatchEvents) && len(batch) > 0 {
			if err := cn.sendBatch(ctx, as, batch, nil, nil); err != nil {
				return err
			}
			batch, size = nil, 0
		}
		batch = append(batch, ev)
		size += n
	}
	batch = append(batch, &bridgev1.WatchEvent{Type: bridgev1.EventType_EVENT_TYPE_SYNC_END, Kind: uint32(kind), ResourceVersion: rv})
	if err := cn.sendBatch(ctx, as, batch, nil, []int{kind}); err != nil {
		return err
	}
	as.mu.Lock()
	as.synced[kind] = true
	as.mu.Unlock()
	return nil
}

// sendBatch waits for room in the in-flight budget (backpressure), then
// sends. Keys are Done once sent; if the bridge does not apply the batch
// they are queued again on the next welcome.
func (cn *connection) sendBatch(ctx context.Context, as *accountStream, events []*bridgev1.WatchEvent, keys []Key, syncKinds []int) error {
	name := as.src.Hello().GetName()
	b := &bridgev1.EventBatch{Account: name, Events: events}
	size := int64(proto.Size(b))
	if size > int64(cn.c.cfg.Budget.MaxInFlightBytes) {
		size = int64(cn.c.cfg.Budget.MaxInFlightBytes)
	}
	if err := cn.window.Acquire(ctx, size); err != nil {
		for _, k := range keys {
			as.src.Enqueue(k)
			as.src.Done(k)
		}
		return err
	}
	as.mu.Lock()
	as.seq++
	b.Seq = as.seq
	as.unacked = append(as.unacked, sentBatch{seq: b.Seq, keys: keys, syncKinds: syncKinds, size: size, conn: cn})
	as.mu.Unlock()
	err := cn.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Events{Events: b}})
	for _, k := range keys {
		if err != nil {
			as.src.Enqueue(k)
		}
		as.src.Done(k)
	}
	if err != nil {
		return fmt.Errorf("sending events of %s: %w", name, err)
	}
	return nil
}
