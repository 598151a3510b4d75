package verifier

import (
	"sync"
	"time"
)

// replayCache remembers presentation digests until their acceptance window
// ends. It is bounded: past its capacity it forgets the oldest entries
// first (insertion order, which is nearly time order).
type replayCache struct {
	mu    sync.Mutex
	cap   int
	seen  map[[32]byte]time.Time // digest → end of its window
	order [][32]byte             // ring of digests, oldest at head
	head  int
	n     int
}

func newReplayCache(capacity int) *replayCache {
	return &replayCache{cap: capacity, seen: make(map[[32]byte]time.Time), order: make([][32]byte, capacity)}
}

// add records d until until and reports whether it was new (or its
// earlier window had ended).
func (c *replayCache) add(d [32]byte, now, until time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Drop expired or excess entries from the head.
	for c.n > 0 {
		h := c.order[c.head]
		end, ok := c.seen[h]
		if c.n < c.cap && ok && !now.After(end) {
			break
		}
		if ok && (now.After(end) || c.n >= c.cap) {
			delete(c.seen, h)
		}
		c.head = (c.head + 1) % c.cap
		c.n--
	}
	if end, ok := c.seen[d]; ok && !now.After(end) {
		return false
	}
	c.seen[d] = until
	c.order[(c.head+c.n)%c.cap] = d
	c.n++
	return true
}

// Len is the number of remembered presentations.
func (c *replayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
