package bridge

import (
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// TestSpinnakerAccountsConfig: the access to SpinnakerAccounts says what
// is missing, and fills its resync default.
func TestSpinnakerAccountsConfig(t *testing.T) {
	client, err := dynamic.NewForConfig(&rest.Config{Host: "https://spinnaker.example:6443"}) // never called
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cfg  SpinnakerAccounts
		want string
	}{
		{SpinnakerAccounts{Namespace: "spinnaker"}, "Spinnaker.Client is required"},
		{SpinnakerAccounts{Client: client}, "--spinnaker-namespace"},
		{SpinnakerAccounts{Client: client, Namespace: "spinnaker", Resync: -time.Second}, "must not be negative"},
	} {
		if err := c.cfg.checkAndSetDefaults(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error with %q", c.cfg, err, c.want)
		}
	}
	ok := SpinnakerAccounts{Client: client, Namespace: "spinnaker"}
	if err := ok.checkAndSetDefaults(); err != nil || ok.Resync != time.Minute {
		t.Errorf("defaults: %v, resync %s", err, ok.Resync)
	}
}
