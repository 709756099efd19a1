package testenv

import (
	"errors"
	"fmt"
	"testing"
)

// A start is retried while the port was taken (up to three tries), once
// after the service gave up waiting for itself (errSlowStart: a loaded
// machine), and never after anything else.
func TestRetryStart(t *testing.T) {
	other := errors.New("bad flag")
	for _, tc := range []struct {
		name  string
		errs  []error // what each try returns; nil succeeds
		tries int
		err   error
	}{
		{"success", []error{nil}, 1, nil},
		{"port in use, then up", []error{errPortInUse, nil}, 2, nil},
		{"port in use three times", []error{errPortInUse, errPortInUse, errPortInUse, nil}, 3, errPortInUse},
		{"slow, then up", []error{errSlowStart, nil}, 2, nil},
		{"slow twice: given up", []error{errSlowStart, errSlowStart, nil}, 2, errSlowStart},
		{"slow, then port in use, then up", []error{errSlowStart, errPortInUse, nil}, 3, nil},
		{"another error", []error{other, nil}, 1, other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tries := 0
			_, err := retryStart(func() (int, error) {
				e := tc.errs[tries]
				tries++
				if e != nil {
					return 0, fmt.Errorf("starting: %w", e)
				}
				return 1, nil
			})
			if tries != tc.tries || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("%d tries, error %v; want %d tries, error %v", tries, err, tc.tries, tc.err)
			}
		})
	}
}
