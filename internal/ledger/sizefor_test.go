package ledger_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"elicense/internal/gm"
	"elicense/internal/ledger"
)

// countingConn counts the shared store's State reads (each a durable
// commit in pgstate) and makes each take a while, as a commit that waits
// for a synchronous standby does.
type countingConn struct {
	*memConn
	states atomic.Int64
}

func (c *countingConn) State(ctx context.Context) (ledger.State, error) {
	c.states.Add(1)
	time.Sleep(2 * time.Millisecond)
	return c.memConn.State(ctx)
}

// TestSizeForBeyondSizeCoalesces: requests for a size beyond the ledger's
// (anyone can send GET /ledger/entries/{huge}) waiting on the same look
// should take what it found, not each make one more durable read.
func TestSizeForBeyondSizeCoalesces(t *testing.T) {
	key, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	c := &countingConn{memConn: newMemDB().connect()}
	l, err := ledger.Open[*memTx](c, ledger.Options{Origin: "test/shared", Signer: key, EntryFormat: "shared 1", CheckpointInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	before := c.states.Load()
	const n = 50
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() { defer wg.Done(); l.SizeFor(1 << 40) }()
	}
	wg.Wait()
	got := c.states.Load() - before
	t.Logf("%d concurrent SizeFor beyond the size: %d State reads, %v", n, got, time.Since(start))
	if got > 5 {
		t.Errorf("%d concurrent requests beyond the size made %d durable reads, serially; want them coalesced", n, got)
	}
}
