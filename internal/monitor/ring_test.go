package monitor

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestRingSumsExactWindows(t *testing.T) {
	r := NewRing(time.Second, 120)
	// 100 rounds one per second, 20 of them (t=40..59) bad.
	for i := range 100 {
		c := Counts{Good: 1}
		if i >= 40 && i < 60 {
			c = Counts{Bad: 1}
		}
		if !r.Add(t0.Add(time.Duration(i)*time.Second), c) {
			t.Fatalf("round %d not counted", i)
		}
	}
	now := t0.Add(99 * time.Second)
	for _, tc := range []struct {
		w    time.Duration
		want Counts
	}{
		{time.Second, Counts{Good: 1}},
		{40 * time.Second, Counts{Good: 40}},          // 60..99
		{50 * time.Second, Counts{Good: 40, Bad: 10}}, // 50..99
		{100 * time.Second, Counts{Good: 80, Bad: 20}},
		{120 * time.Second, Counts{Good: 80, Bad: 20}}, // older buckets empty
		{time.Hour, Counts{Good: 80, Bad: 20}},         // capped at the ring
		{1500 * time.Millisecond, Counts{Good: 2}},     // rounded up to whole buckets
		{0, Counts{}},
	} {
		if got := r.Sum(now, tc.w); got != tc.want {
			t.Errorf("Sum(%s) = %+v, want %+v", tc.w, got, tc.want)
		}
	}
	if a, _ := Availability(r.Sum(now, 100*time.Second)); a != 0.8 {
		t.Errorf("availability = %v, want 0.8", a)
	}
}

// TestRingSinceKeepsTheFirstBucket: what was measured since a moment
// includes the bucket that moment falls in, even when now is already in the
// next bucket and less than a bucket's width has passed (a window counted
// back from now would hold only now's bucket and miss the check).
func TestRingSinceKeepsTheFirstBucket(t *testing.T) {
	r := NewRing(time.Minute, 60)
	since := t0.Add(56 * time.Second)
	r.Add(since.Add(2*time.Second), Counts{Bad: 1}) // 00:58, the bucket of since
	r.Add(t0.Add(-time.Second), Counts{Good: 7})    // 23:59:59, the bucket before
	now := t0.Add(61 * time.Second)                 // 5 s after since, next bucket
	if got, want := r.Since(since, now), (Counts{Bad: 1}); got != want {
		t.Fatalf("Since(%s, %s) = %+v, want %+v", since, now, got, want)
	}
	if got, want := r.Since(since, since), (Counts{Bad: 1}); got != want {
		t.Fatalf("Since(since, since) = %+v, want %+v", got, want)
	}
	if got := r.Since(now, since); got != (Counts{}) {
		t.Fatalf("Since with now before since = %+v, want nothing", got)
	}
	if got, want := r.Since(t0.Add(-time.Hour), now), (Counts{Good: 7, Bad: 1}); got != want {
		t.Fatalf("Since an hour ago = %+v, want %+v", got, want)
	}
}

func TestRingForgetsWhatFallsOut(t *testing.T) {
	r := NewRing(time.Second, 10)
	for i := range 10 {
		r.Add(t0.Add(time.Duration(i)*time.Second), Counts{Bad: 1})
	}
	// A jump of 5 s clears the 4 buckets skipped and reuses their slots.
	now := t0.Add(14 * time.Second)
	r.Add(now, Counts{Good: 1})
	if got, want := r.Sum(now, 10*time.Second), (Counts{Good: 1, Bad: 5}); got != want {
		t.Fatalf("after a gap: %+v, want %+v", got, want)
	}
	if r.Add(t0.Add(4*time.Second), Counts{Good: 1}) {
		t.Fatal("a round older than the ring was counted")
	}
	// A jump longer than the ring clears everything.
	now = t0.Add(time.Hour)
	r.Add(now, Counts{Good: 1})
	if got, want := r.Sum(now, 10*time.Second), (Counts{Good: 1}); got != want {
		t.Fatalf("after a long gap: %+v, want %+v", got, want)
	}
}

func TestRingEncodingRoundTrips(t *testing.T) {
	r := NewRing(time.Minute, 4320)
	for i := range 3000 {
		c := Counts{Good: 2}
		switch {
		case i%97 == 0:
			c = Counts{Good: 1, Bad: 1}
		case i > 2000 && i < 2010:
			c = Counts{Excluded: 2}
		}
		r.Add(t0.Add(time.Duration(i)*time.Minute), c)
	}
	text, err := r.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var back Ring
	if err := back.UnmarshalText(text); err != nil {
		t.Fatalf("decoding: %v\n%s", err, text)
	}
	now := t0.Add(2999 * time.Minute)
	for _, w := range []time.Duration{time.Minute, time.Hour, 24 * time.Hour, 72 * time.Hour} {
		if a, b := r.Sum(now, w), back.Sum(now, w); a != b {
			t.Errorf("window %s: %+v before encoding, %+v after", w, a, b)
		}
	}
}

func TestRingDecodingRejectsDamage(t *testing.T) {
	r := NewRing(time.Minute, 5)
	r.Add(t0, Counts{Good: 1})
	good, _ := r.MarshalText()
	for name, text := range map[string]string{
		"empty":          "",
		"other version":  strings.Replace(string(good), ringVersion, "spinops.monitor.ring/v9", 1),
		"too few":        strings.Replace(string(good), "4x0,0,0", "3x0,0,0", 1),
		"too many":       strings.Replace(string(good), "4x0,0,0", "5x0,0,0", 1),
		"negative count": strings.Replace(string(good), "1x1,0,0", "1x-1,0,0", 1),
		"garbage run":    string(good) + " x",
	} {
		var back Ring
		if err := back.UnmarshalText([]byte(text)); err == nil {
			t.Errorf("%s: decoded %q without error", name, text)
		}
	}
}

// The state of a zone must fit a ConfigMap (1 MiB) whatever happens: the
// worst case is every bucket different from the one before.
func TestRingWorstCaseFitsAConfigMap(t *testing.T) {
	o := Options{Store: &ConfigMapStore{}, Zones: []Zone{{Name: "green", Namespace: "ns", Tier: TierProduction}}}
	if err := o.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	shape := o.Shape()
	if shape.Len != 30*24*60 || shape.Width != time.Minute {
		t.Fatalf("default shape %+v, want 43200 one-minute buckets", shape)
	}
	r := NewRing(shape.Width, shape.Len)
	for i := range shape.Len {
		c := Counts{Good: 2}
		if i%2 == 0 {
			c = Counts{Good: 1, Bad: 1}
		}
		r.Add(t0.Add(time.Duration(i)*time.Minute), c)
	}
	text, _ := r.MarshalText()
	bound := WorstCaseEncodedSize(shape.Len, 2)
	if len(text) > bound {
		t.Fatalf("encoded %d bytes, above the computed bound %d", len(text), bound)
	}
	if bound > maxStateBytes {
		t.Fatalf("bound %d above %d", bound, maxStateBytes)
	}
	t.Logf("worst case: %d bytes (bound %d); healthy zone: see TestRingHealthyIsSmall", len(text), bound)

	// A bucket so fine that the ring could outgrow a ConfigMap is refused.
	o2 := Options{Store: &ConfigMapStore{}, Zones: o.Zones, Bucket: time.Second, Interval: time.Second, CheckTimeout: 500 * time.Millisecond}
	if err := o2.CheckAndSetDefaults(); err == nil || !strings.Contains(err.Error(), "coarser bucket") {
		t.Fatalf("1 s buckets over 30 days accepted: %v", err)
	}
}

func TestRingHealthyIsSmall(t *testing.T) {
	r := NewRing(time.Minute, 43200)
	for i := range 43200 {
		r.Add(t0.Add(time.Duration(i)*time.Minute), Counts{Good: 2})
	}
	text, _ := r.MarshalText()
	if len(text) > 200 {
		t.Fatalf("a healthy month encodes to %d bytes: %s", len(text), text)
	}
}
