package monitor

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Counts are the check rounds of a bucket or a window: Good and Bad enter the
// SLI, Excluded (rounds inside a maintenance window) does not.
type Counts struct {
	Good     int64 `json:"good"`
	Bad      int64 `json:"bad"`
	Excluded int64 `json:"excluded"`
}

// Total is the number of rounds that count for the SLI.
func (c Counts) Total() int64 { return c.Good + c.Bad }

// outcome names a single round's counts: good, bad or excluded.
func (c Counts) outcome() string {
	switch {
	case c.Excluded > 0:
		return "excluded"
	case c.Bad > 0:
		return "bad"
	}
	return "good"
}

func (c *Counts) add(o Counts) {
	c.Good += o.Good
	c.Bad += o.Bad
	c.Excluded += o.Excluded
}

// Ring holds Counts per time bucket of a fixed width over the last Len
// buckets. Bucket i covers [i*Width, (i+1)*Width) in Unix time.
type Ring struct {
	width   time.Duration
	buckets []Counts
	// newest is the absolute index of the newest bucket written (valid when
	// any bucket was written).
	newest  int64
	written bool
}

// NewRing is an empty ring of n buckets of width w.
func NewRing(w time.Duration, n int) *Ring {
	return &Ring{width: w, buckets: make([]Counts, n)}
}

// Width is the bucket width.
func (r *Ring) Width() time.Duration { return r.width }

// Len is the number of buckets kept.
func (r *Ring) Len() int { return len(r.buckets) }

func (r *Ring) index(t time.Time) int64 {
	ns := t.UnixNano()
	w := r.width.Nanoseconds()
	i := ns / w
	if ns < 0 && ns%w != 0 {
		i--
	}
	return i
}

func (r *Ring) slot(i int64) *Counts {
	n := int64(len(r.buckets))
	return &r.buckets[((i%n)+n)%n]
}

// Add counts c in the bucket of t. It returns false (and counts nothing)
// when t is older than the ring keeps.
func (r *Ring) Add(t time.Time, c Counts) bool {
	i := r.index(t)
	n := int64(len(r.buckets))
	if !r.written {
		r.newest, r.written = i, true
		clear(r.buckets)
	}
	if i > r.newest {
		gap := i - r.newest
		if gap >= n {
			clear(r.buckets)
		} else {
			for j := r.newest + 1; j <= i; j++ {
				*r.slot(j) = Counts{}
			}
		}
		r.newest = i
	}
	if i <= r.newest-n {
		return false
	}
	r.slot(i).add(c)
	return true
}

// Sum is the total over the window of length w that ends with the bucket
// holding now: the last ceil(w/Width) buckets up to and including now's.
func (r *Ring) Sum(now time.Time, w time.Duration) Counts {
	var out Counts
	if !r.written {
		return out
	}
	k := int64((w + r.width - 1) / r.width)
	last := r.index(now)
	first := last - k + 1
	n := int64(len(r.buckets))
	if first <= r.newest-n {
		first = r.newest - n + 1
	}
	if last > r.newest {
		last = r.newest
	}
	for i := first; i <= last; i++ {
		out.add(*r.slot(i))
	}
	return out
}

// Since is the total of the buckets from the one holding since up to and
// including now's. Unlike Sum, whose window is counted back from now in
// whole buckets, it keeps the bucket in which since falls, however little
// of it lies after since: a check recorded a moment after since counts
// even when now is already in the next bucket. (The price is that checks
// made earlier in since's bucket count too: the ring knows no finer time.)
func (r *Ring) Since(since, now time.Time) Counts {
	if now.Before(since) {
		return Counts{}
	}
	return r.Sum(now, time.Duration(r.index(now)-r.index(since)+1)*r.width)
}

const ringVersion = "spinops.monitor.ring/v1"

// MarshalText encodes the ring compactly: a header, then the buckets from
// oldest to newest as runs "<count>x<good>,<bad>,<excluded>". A healthy zone
// is a few runs; the worst case (every bucket different from the last) is
// bounded by WorstCaseEncodedSize.
func (r *Ring) MarshalText() ([]byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s width=%d len=%d newest=%d written=%t\n", ringVersion, r.width.Nanoseconds(), len(r.buckets), r.newest, r.written)
	if r.written {
		n := int64(len(r.buckets))
		var run Counts
		count := 0
		flush := func() {
			if count > 0 {
				fmt.Fprintf(&b, "%dx%d,%d,%d ", count, run.Good, run.Bad, run.Excluded)
			}
		}
		for i := r.newest - n + 1; i <= r.newest; i++ {
			c := *r.slot(i)
			if count > 0 && c == run {
				count++
				continue
			}
			flush()
			run, count = c, 1
		}
		flush()
	}
	return []byte(strings.TrimSpace(b.String())), nil
}

// UnmarshalText decodes what MarshalText wrote.
func (r *Ring) UnmarshalText(text []byte) error {
	head, body, _ := strings.Cut(string(text), "\n")
	var ver string
	var width, newest int64
	var n int
	var written bool
	if _, err := fmt.Sscanf(head, "%s width=%d len=%d newest=%d written=%t", &ver, &width, &n, &newest, &written); err != nil {
		return fmt.Errorf("reading the ring header %q: %w", head, err)
	}
	if ver != ringVersion {
		return fmt.Errorf("ring format %q is not %q", ver, ringVersion)
	}
	if width <= 0 || n <= 0 {
		return fmt.Errorf("ring header %q: width and len must be positive", head)
	}
	out := Ring{width: time.Duration(width), buckets: make([]Counts, n), newest: newest, written: written}
	if written {
		i := newest - int64(n) + 1
		for _, f := range strings.Fields(body) {
			cnt, rest, ok := strings.Cut(f, "x")
			parts := strings.Split(rest, ",")
			if !ok || len(parts) != 3 {
				return fmt.Errorf("ring run %q is not <count>x<good>,<bad>,<excluded>", f)
			}
			var nums [4]int64
			for j, s := range append([]string{cnt}, parts...) {
				v, err := strconv.ParseInt(s, 10, 64)
				if err != nil || v < 0 {
					return fmt.Errorf("ring run %q: %q is not a count", f, s)
				}
				nums[j] = v
			}
			if nums[0] == 0 || i+nums[0]-1 > newest {
				return fmt.Errorf("ring run %q overflows the %d buckets of the header", f, n)
			}
			for k := int64(0); k < nums[0]; k++ {
				*out.slot(i) = Counts{Good: nums[1], Bad: nums[2], Excluded: nums[3]}
				i++
			}
		}
		if i != newest+1 {
			return fmt.Errorf("ring holds %d buckets, header says %d", i-(newest-int64(n)+1), n)
		}
	}
	*r = out
	return nil
}

// WorstCaseEncodedSize bounds MarshalText's output for a ring of n buckets
// whose buckets hold at most perBucket rounds each: every bucket its own run.
func WorstCaseEncodedSize(n int, perBucket int64) int {
	d := len(strconv.FormatInt(perBucket, 10))
	header := len(ringVersion) + 100
	return header + n*(len("1x")+3*d+len(",,")+1)
}
