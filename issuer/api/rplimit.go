package api

import (
	"math"
	"sync"
	"time"
)

// DefaultRPRate is the credential fetches a second each relying party
// may make of one replica when Options.RPRate is zero
// (docs/consent.md §6; `elicense serve --rp-rate`).
const DefaultRPRate = 20

// partyLimiter is a token bucket per relying party: rate a second,
// bursts of twice that. Its keys are registered parties whose proof
// verified, a few hundred at most, so the table needs no eviction.
type partyLimiter struct {
	rate, burst float64
	now         func() time.Time

	mu sync.Mutex
	b  map[string]*partyBucket
}

type partyBucket struct {
	tokens float64
	last   time.Time
}

func newPartyLimiter(rate float64, now func() time.Time) *partyLimiter {
	if now == nil {
		now = time.Now
	}
	return &partyLimiter{rate: rate, burst: 2 * rate, now: now, b: make(map[string]*partyBucket)}
}

// allow takes a token from party's bucket. When there is none it
// returns false and how long until there is one.
func (l *partyLimiter) allow(party string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.b[party]
	if !ok {
		b = &partyBucket{tokens: l.burst, last: now}
		l.b[party] = b
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+d.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	}
	b.tokens--
	return true, 0
}
