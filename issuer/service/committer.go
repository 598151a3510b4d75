package service

import (
	"sync"

	"elicense/issuer/store"
)

// committer records in the store, off the request path, that acknowledged
// issuances are in the ledger. An issuance is acknowledged once the
// ledger holds it; marking its record committed is bookkeeping that
// Recover redoes from the ledger after a crash, so it need not delay the
// answer. Until the mark is written, reads see the record as committed
// through acked.
type committer struct {
	mu      sync.Mutex
	acked   map[string]uint64 // licence ID → ledger index, not yet marked in the store
	queue   []store.Committed
	ids     []string
	wake    chan struct{}
	stopped chan struct{}
	err     error
}

func newCommitter(st *store.Store) *committer {
	c := &committer{acked: map[string]uint64{}, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go c.run(st)
	return c
}

func (c *committer) add(id string, hash [32]byte, idx uint64) {
	c.mu.Lock()
	c.acked[id] = idx
	c.queue = append(c.queue, store.Committed{CredHash: hash, Index: idx})
	c.ids = append(c.ids, id)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// overlay shows a pending record as committed when its issuance is
// acknowledged but not yet marked.
func (c *committer) overlay(r *store.Record) {
	if !r.Pending {
		return
	}
	c.mu.Lock()
	idx, ok := c.acked[r.ID]
	c.mu.Unlock()
	if ok {
		r.Pending, r.LedgerIndex, r.LastEvent = false, idx, max(r.LastEvent, idx+1)
	}
}

func (c *committer) run(st *store.Store) {
	defer close(c.stopped)
	for range c.wake {
		c.flush(st)
	}
	c.flush(st) // whatever came with the last wake-up
}

func (c *committer) flush(st *store.Store) {
	{
		c.mu.Lock()
		batch, ids := c.queue, c.ids
		c.queue, c.ids = nil, nil
		c.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		err := st.CommitAll(batch)
		c.mu.Lock()
		if err != nil {
			// Keep the overlay: the ledger has them and Recover will
			// mark them at the next start.
			c.err = err
		} else {
			for _, id := range ids {
				delete(c.acked, id)
			}
		}
		c.mu.Unlock()
	}
}

// close flushes what is queued and stops.
func (c *committer) close() error {
	close(c.wake)
	<-c.stopped
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
