package attach

import (
	"fmt"
	"sort"
	"strings"
	"time"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"
)

// Status names an account's state the way Terraform shows it.
func Status(a *bridgev1.Account) string {
	switch a.GetStatus().GetSyncState() {
	case bridgev1.SyncState_SYNC_STATE_NEVER_CONNECTED:
		return "never_connected"
	case bridgev1.SyncState_SYNC_STATE_SYNCING:
		return "syncing"
	case bridgev1.SyncState_SYNC_STATE_SYNCED:
		return "connected"
	case bridgev1.SyncState_SYNC_STATE_UNAVAILABLE:
		return "unavailable"
	case bridgev1.SyncState_SYNC_STATE_WITHDRAWN:
		return "withdrawn"
	}
	return "unknown"
}

// Progress says whether an account is connected with its first full sync
// done and, if not, which step is missing.
func Progress(a *bridgev1.Account) (done bool, progress string) {
	st := a.GetStatus()
	refused := ""
	if st.GetLastRefusal() != "" && !st.GetConnected() {
		refused = fmt.Sprintf("; the bridge refused the agent at %s: %s",
			time.Unix(st.GetLastRefusalUnix(), 0).UTC().Format(time.RFC3339), st.GetLastRefusal())
	}
	switch st.GetSyncState() {
	case bridgev1.SyncState_SYNC_STATE_SYNCED:
		return true, ""
	case bridgev1.SyncState_SYNC_STATE_NEVER_CONNECTED:
		if refused != "" {
			return false, "credential refused: no agent has been accepted for account " + a.GetSpec().GetName() + refused
		}
		return false, "agent not connected: no agent has connected for account " + a.GetSpec().GetName() + " yet (is its pod running, and can it reach the bridge?)"
	case bridgev1.SyncState_SYNC_STATE_SYNCING:
		return false, fmt.Sprintf("sync in progress: %s so far", CountsSummary(st.GetObjectCounts()))
	default:
		since := ""
		if st.GetDisconnectedSinceUnix() > 0 {
			since = " since " + time.Unix(st.GetDisconnectedSinceUnix(), 0).UTC().Format(time.RFC3339)
		}
		return false, fmt.Sprintf("agent not connected: the agent of %s disconnected%s (%s)%s", a.GetSpec().GetName(), since, Status(a), refused)
	}
}

// CountsSummary reads "12 objects in 3 kinds (configmaps 5, pods 4, ...)".
func CountsSummary(counts map[string]int64) string {
	var total int64
	keys := make([]string, 0, len(counts))
	for k, v := range counts {
		total += v
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for i, k := range keys {
		if i == 5 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	s := fmt.Sprintf("%d objects in %d kinds", total, len(counts))
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}
