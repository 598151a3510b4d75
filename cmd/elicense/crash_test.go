package main

import (
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

var crashCycles = flag.Int("serve.crash-cycles", 3, "SIGKILL cycles in TestServeCrash (CI runs 3; 100 by hand)")

// TestServeCrash kills elicense serve with SIGKILL under mixed load, again
// and again, and after each restart checks every answer the clients got
// against what the server holds and publishes:
//
//   - the load: 16 clients issue (one licence, or a batch), suspend,
//     reinstate, revoke, re-issue, make claim codes, claim copies as
//     holders (with codes acknowledged before an earlier kill too),
//     unbind copies, make and revoke seals, and fetch the trust bundle
//     and status lists (with ETags);
//   - after the kill, before the restart: `elicense ledger verify` on the
//     data directory as the kill left it;
//   - after the restart: the ledger read back as tiles, prefix unchanged;
//     each acknowledged issuance, re-issue, claim and seal at the index it
//     was given with the same SM3; each licence's status changes in the
//     ledger exactly those acknowledged, plus at most the one left
//     unanswered by the kill; the server's licences (holder search, the
//     copies one by one) in the state the ledger's events imply, at the
//     status positions they were given; every status list's entry of every
//     licence the same; the trust bundle listing the PKI's agencies and
//     keys, every list, exactly the revoked seals of the ledger, and a
//     checkpoint whose root is the ledger's.
//
// By hand: go test ./cmd/elicense -run TestServeCrash -serve.crash-cycles=100 -timeout 2h -v
func TestServeCrash(t *testing.T) {
	began := time.Now()
	r := newCrashRun(t)
	total := newCrashCounts()
	for cycle := range *crashCycles {
		c := r.cycle(t, cycle)
		total.add(c)
		t.Logf("cycle %d/%d: %s", cycle+1, *crashCycles, c)
		if t.Failed() {
			break // the first failing cycle is the one to read
		}
	}
	r.finish(t)
	t.Logf("TOTAL %d cycles in %v: %s", *crashCycles, time.Since(began).Round(time.Second), total)
	// Each kind of change must have been acknowledged at least once, or
	// the checks above checked nothing of it.
	for _, k := range crashKinds {
		if total.acked[k] == 0 {
			t.Errorf("no %s was acknowledged in %d cycles", k, *crashCycles)
		}
	}
	if *crashCycles > 1 && total.acked[crashKindBankedClaim] == 0 {
		t.Errorf("no claim used a code acknowledged before a kill")
	}
}

// Kinds of request, as the counts name them.
const (
	crashKindIssue       = "issue"
	crashKindBatch       = "batch-row"
	crashKindSuspend     = "suspend"
	crashKindReinstate   = "reinstate"
	crashKindRevoke      = "revoke"
	crashKindReissue     = "reissue"
	crashKindCode        = "claim-code"
	crashKindClaim       = "claim"
	crashKindBankedClaim = "claim-after-kill" // with a code acknowledged before a kill
	crashKindUnbind      = "unbind"
	crashKindSeal        = "seal"
	crashKindSealRevoke  = "seal-revoke"
	crashKindTrust       = "trust-fetch"
	crashKindList        = "status-fetch"
)

// crashKinds are the kinds every run must have acknowledged.
var crashKinds = []string{crashKindIssue, crashKindBatch, crashKindSuspend, crashKindReinstate, crashKindRevoke, crashKindReissue, crashKindCode, crashKindClaim, crashKindUnbind, crashKindSeal, crashKindSealRevoke, crashKindTrust, crashKindList}

// crashCounts are one cycle's figures, or their sum.
type crashCounts struct {
	cycles   int
	acked    map[string]int // answered 2xx (or 304), by kind
	inFlight map[string]int // sent before the kill and never answered, by kind
	lost     int            // acknowledged events missing or different after the restart
	durable  int            // events in the ledger whose answer the kill cut off
	ledger   uint64         // ledger size after the cycle
	load     time.Duration
	verify   time.Duration // elicense ledger verify on the killed data
	recovery time.Duration // restart to healthy
	check    time.Duration
	maxRec   time.Duration
}

func newCrashCounts() *crashCounts {
	return &crashCounts{acked: map[string]int{}, inFlight: map[string]int{}}
}

func (c *crashCounts) add(o *crashCounts) {
	c.cycles++
	for k, v := range o.acked {
		c.acked[k] += v
	}
	for k, v := range o.inFlight {
		c.inFlight[k] += v
	}
	c.lost += o.lost
	c.durable += o.durable
	c.ledger = o.ledger
	c.load += o.load
	c.verify += o.verify
	c.recovery += o.recovery
	c.check += o.check
	c.maxRec = max(c.maxRec, o.recovery)
}

// events is the number of ledger events acknowledged.
func (c *crashCounts) events() int {
	n := 0
	for _, k := range []string{crashKindIssue, crashKindBatch, crashKindSuspend, crashKindReinstate, crashKindRevoke, crashKindReissue, crashKindClaim, crashKindBankedClaim, crashKindUnbind, crashKindSeal, crashKindSealRevoke} {
		n += c.acked[k]
	}
	return n
}

func (c *crashCounts) String() string {
	kinds := func(m map[string]int) string {
		var parts []string
		n := 0
		for _, k := range slices.Sorted(maps.Keys(m)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
			n += m[k]
		}
		return fmt.Sprintf("%d (%s)", n, strings.Join(parts, ", "))
	}
	changes := c.acked[crashKindSuspend] + c.acked[crashKindReinstate] + c.acked[crashKindRevoke] + c.acked[crashKindReissue] + c.acked[crashKindUnbind]
	s := fmt.Sprintf("acked %s; issuances %d, status changes %d, ledger events %d; unanswered at the kill %s; in the ledger unanswered %d; lost %d; ledger %d entries; load %v, ledger verify %v, recovery %v",
		kinds(c.acked), c.acked[crashKindIssue]+c.acked[crashKindBatch], changes, c.events(), kinds(c.inFlight), c.durable, c.lost, c.ledger,
		c.load.Round(time.Millisecond), c.verify.Round(time.Millisecond), c.recovery.Round(time.Millisecond))
	if c.cycles > 1 {
		s += fmt.Sprintf(" (max %v)", c.maxRec.Round(time.Millisecond))
	}
	return s + fmt.Sprintf(", checks %v", c.check.Round(time.Millisecond))
}
