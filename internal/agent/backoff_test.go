package agent

import (
	"testing"
	"time"
)

func TestBackoffGrowsWithJitterAndCaps(t *testing.T) {
	for attempt := 0; attempt < 20; attempt++ {
		d := backoff(100*time.Millisecond, 2*time.Second, attempt)
		want := 100 * time.Millisecond << min(attempt, 5)
		if want > 2*time.Second {
			want = 2 * time.Second
		}
		if d < want/2 || d > want {
			t.Fatalf("attempt %d: %s outside [%s, %s]", attempt, d, want/2, want)
		}
	}
}
