package api

import (
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// A limiter is a token bucket per client address with bounded memory: at
// most max buckets, kept in least-recently-used order, O(1) per request.
//
// A bucket left alone for burst/rate has refilled: it is the same as no
// bucket, so such buckets are dropped from the cold end as requests pass,
// and when the table is full the least recently used one makes room.
// Evicting a bucket can only favour its owner (it starts again full), and
// an attacker gains nothing from eviction that fresh addresses would not
// give it anyway, so a flood from many addresses costs at most max
// buckets and never slows the lookups of anyone else.
type limiter struct {
	rate  float64 // tokens per second
	burst float64
	full  time.Duration // time for an empty bucket to refill
	max   int
	now   func() time.Time

	mu    sync.Mutex
	index map[netip.Addr]int32
	b     []bucket // the buckets; b[head] is the most recently used
	free  []int32  // indices of removed buckets, for reuse
	head  int32    // -1 when empty
	tail  int32
}

type bucket struct {
	key        netip.Addr
	tokens     float64
	last       int64 // unix nanoseconds of the last refill
	prev, next int32 // neighbours in LRU order (-1: none)
}

func newLimiter(rate float64, burst, max int, now func() time.Time) *limiter {
	if now == nil {
		now = time.Now
	}
	return &limiter{
		rate: rate, burst: float64(burst), max: max, now: now,
		full:  time.Duration(float64(burst) / rate * float64(time.Second)),
		index: make(map[netip.Addr]int32), head: -1, tail: -1,
	}
}

// allow takes a token from key's bucket, reporting whether there was one.
func (l *limiter) allow(key netip.Addr) bool {
	now := l.now().UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	// Drop a couple of refilled buckets from the cold end: enough to
	// keep up with the arrivals that made them, constant work per call.
	for range 2 {
		if l.tail < 0 || l.b[l.tail].key == key || now-l.b[l.tail].last < int64(l.full) {
			break
		}
		l.remove(l.tail)
	}
	i, ok := l.index[key]
	if ok {
		b := &l.b[i]
		b.tokens = min(l.burst, b.tokens+float64(now-b.last)/1e9*l.rate)
		b.last = now
		l.unlink(i)
	} else {
		i = l.slot()
		l.b[i] = bucket{key: key, tokens: l.burst, last: now}
		l.index[key] = i
	}
	l.pushFront(i)
	b := &l.b[i]
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// slot returns a free bucket index: a removed bucket's, a new one while
// under max, else the least recently used bucket's.
func (l *limiter) slot() int32 {
	if n := len(l.free); n > 0 {
		i := l.free[n-1]
		l.free = l.free[:n-1]
		return i
	}
	if len(l.b) < l.max {
		l.b = append(l.b, bucket{})
		return int32(len(l.b) - 1)
	}
	i := l.tail
	l.unlink(i)
	delete(l.index, l.b[i].key)
	return i
}

func (l *limiter) remove(i int32) {
	l.unlink(i)
	delete(l.index, l.b[i].key)
	l.free = append(l.free, i)
}

func (l *limiter) unlink(i int32) {
	b := &l.b[i]
	if b.prev >= 0 {
		l.b[b.prev].next = b.next
	} else {
		l.head = b.next
	}
	if b.next >= 0 {
		l.b[b.next].prev = b.prev
	} else {
		l.tail = b.prev
	}
	b.prev, b.next = -1, -1
}

func (l *limiter) pushFront(i int32) {
	b := &l.b[i]
	b.prev, b.next = -1, l.head
	if l.head >= 0 {
		l.b[l.head].prev = i
	}
	l.head = i
	if l.tail < 0 {
		l.tail = i
	}
}

// rateLimit is the middleware: requests beyond the client address's
// bucket get 429.
func (l *limiter) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		a, err := netip.ParseAddr(c.RealIP())
		if err != nil {
			return fail(http.StatusForbidden, "forbidden", "", "cannot identify the client")
		}
		if !l.allow(limitKey(a)) {
			return fail(http.StatusTooManyRequests, "rate_limited", "", "too many claim attempts from this address; wait a little")
		}
		return next(c)
	}
}
