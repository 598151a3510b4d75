package api

import (
	"sync"
	"time"
)

// jtiMemory remembers the jti of every proof (docs/consent.md §3) for
// its replay window, in bounded memory. A jti is first remembered
// after the proof's signature verified, so only relying parties and
// holders fill it; when it is full, new proofs are refused (the caller
// tries again a moment later) rather than an unexpired jti forgotten,
// which would let its proof be replayed.
//
// Entries are kept in arrival order, which is also expiry order (each
// lives the same window), so expiry is a walk from the front: O(1)
// amortised per proof.
type jtiMemory struct {
	window time.Duration
	max    int

	mu    sync.Mutex
	seen  map[string]int64 // jti → expiry, Unix nanoseconds
	queue []jtiEntry       // arrival order; queue[head:] are live
	head  int
	// per counts the live jtis of each capped subject (holders), so that
	// one of them cannot fill the memory and lock everyone out.
	per map[string]int
}

type jtiEntry struct {
	jti, sub string // sub is set for a capped subject only
	exp      int64
}

// maxJTIsPerHolder bounds the proofs one holder's copy may have live in a
// replay window: far more than a wallet makes (a few a minute).
const maxJTIsPerHolder = 512

func newJTIMemory(window time.Duration, max int) *jtiMemory {
	return &jtiMemory{window: window, max: max, seen: make(map[string]int64), per: make(map[string]int)}
}

// jtiResult is what remember found.
type jtiResult int

const (
	jtiFresh  jtiResult = iota // not seen; now remembered
	jtiReplay                  // seen within the window
	jtiFull                    // the memory is full of live entries
)

// remember records jti at now unless it was seen within the window. A
// capped subject (a holder's copy; a relying party is registered and
// rate-limited instead) gets jtiFull once it has maxJTIsPerHolder live.
func (m *jtiMemory) remember(sub, jti string, capped bool, now time.Time) jtiResult {
	t := now.UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.head < len(m.queue) && m.queue[m.head].exp <= t {
		e := m.queue[m.head]
		if m.seen[e.jti] == e.exp {
			delete(m.seen, e.jti)
		}
		if e.sub != "" {
			if m.per[e.sub]--; m.per[e.sub] <= 0 {
				delete(m.per, e.sub)
			}
		}
		m.queue[m.head] = jtiEntry{}
		m.head++
	}
	if m.head > 0 && m.head >= len(m.queue)/2 {
		// Reclaim the consumed front.
		n := copy(m.queue, m.queue[m.head:])
		clear(m.queue[n:])
		m.queue, m.head = m.queue[:n], 0
	}
	if exp, ok := m.seen[jti]; ok && exp > t {
		return jtiReplay
	}
	if len(m.seen) >= m.max || (capped && m.per[sub] >= maxJTIsPerHolder) {
		return jtiFull
	}
	exp := t + int64(m.window)
	m.seen[jti] = exp
	e := jtiEntry{jti: jti, exp: exp}
	if capped {
		e.sub = sub
		m.per[sub]++
	}
	m.queue = append(m.queue, e)
	return jtiFresh
}
