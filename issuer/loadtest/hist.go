package loadtest

import (
	"math/bits"
	"time"
)

// subBuckets is the number of buckets per power of two: a recorded
// latency is reported within 1/subBuckets (under 1.6 %) of its value.
const subBuckets = 64

// Hist is a latency histogram of fixed size, whatever the number of
// samples: a long mixed run records millions of requests, and keeping
// each latency would make the load generator's own memory grow.
// The zero Hist is empty and ready; it is not safe for concurrent use.
type Hist struct {
	counts []uint64
	n      uint64
	max    time.Duration
}

// bucket maps a duration in nanoseconds to its bucket: exact below
// 2·subBuckets, then subBuckets buckets per power of two.
func bucket(ns uint64) int {
	if ns < 2*subBuckets {
		return int(ns)
	}
	shift := bits.Len64(ns) - bits.Len64(2*subBuckets-1)
	return shift*subBuckets + int(ns>>shift)
}

// upper is the largest duration bucket i holds.
func upper(i int) time.Duration {
	if i < 2*subBuckets {
		return time.Duration(i)
	}
	shift := i/subBuckets - 1
	top := uint64(i%subBuckets + subBuckets)
	return time.Duration((top+1)<<shift - 1)
}

// Add records one latency; a negative one counts as zero.
func (h *Hist) Add(d time.Duration) {
	d = max(d, 0)
	i := bucket(uint64(d))
	if i >= len(h.counts) {
		h.counts = append(h.counts, make([]uint64, i+1-len(h.counts))...)
	}
	h.counts[i]++
	h.n++
	h.max = max(h.max, d)
}

// Merge adds o's samples to h.
func (h *Hist) Merge(o *Hist) {
	if len(o.counts) > len(h.counts) {
		h.counts = append(h.counts, make([]uint64, len(o.counts)-len(h.counts))...)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count is the number of latencies recorded.
func (h *Hist) Count() uint64 { return h.n }

// Max is the largest latency recorded, exactly.
func (h *Hist) Max() time.Duration { return h.max }

// Quantile returns the latency at or below which a fraction q (0..1) of
// the samples lie, as the upper edge of its bucket and never above Max;
// 0 when h is empty.
func (h *Hist) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.9999999) // the ceil of q·n, at least 1
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(upper(i), h.max)
		}
	}
	return h.max
}
