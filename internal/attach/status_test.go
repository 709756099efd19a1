package attach

import (
	"strings"
	"testing"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"
)

// Each step the wait can be stuck on is named in its progress.
func TestProgressNamesTheMissingStep(t *testing.T) {
	acct := func(st *bridgev1.AccountStatus) *bridgev1.Account {
		return &bridgev1.Account{Spec: &bridgev1.AccountSpec{Name: "prod"}, Status: st}
	}
	cases := []struct {
		st   *bridgev1.AccountStatus
		done bool
		want string
	}{
		{&bridgev1.AccountStatus{SyncState: bridgev1.SyncState_SYNC_STATE_SYNCED, Connected: true}, true, ""},
		{&bridgev1.AccountStatus{SyncState: bridgev1.SyncState_SYNC_STATE_NEVER_CONNECTED}, false, "agent not connected: no agent has connected for account prod"},
		{&bridgev1.AccountStatus{SyncState: bridgev1.SyncState_SYNC_STATE_NEVER_CONNECTED, LastRefusal: "Unauthenticated: the credential presented", LastRefusalUnix: 1},
			false, "credential refused: no agent has been accepted for account prod; the bridge refused the agent at 1970-01-01T00:00:01Z: Unauthenticated"},
		{&bridgev1.AccountStatus{SyncState: bridgev1.SyncState_SYNC_STATE_SYNCING, Connected: true, ObjectCounts: map[string]int64{"pods": 4, "configmaps": 5}},
			false, "sync in progress: 9 objects in 2 kinds (configmaps 5, pods 4) so far"},
		{&bridgev1.AccountStatus{SyncState: bridgev1.SyncState_SYNC_STATE_UNAVAILABLE, DisconnectedSinceUnix: 60}, false, "disconnected since 1970-01-01T00:01:00Z (unavailable)"},
	}
	for _, c := range cases {
		done, p := Progress(acct(c.st))
		if done != c.done || !strings.Contains(p, c.want) {
			t.Errorf("%v: got (%v, %q), want (%v, …%q…)", c.st.GetSyncState(), done, p, c.done, c.want)
		}
	}
}
