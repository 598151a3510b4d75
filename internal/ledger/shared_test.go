package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
)

// memDB is a ledger held in memory that several Logs share, as replicas
// share a database: its lock is the database's row lock on the head.
type memDB struct {
	mu      sync.RWMutex
	entries [][]byte
	hashes  []tlog.Hash
	cps     map[uint64][]byte
	origin  string
	format  string
	intent  *ledger.Intent
	applied map[uint64]bool // first index of each caller's committed change
	leader  *memConn

	failNext error // the next write fails with it, writing nothing
}

// memConn is one process's connection to a memDB.
type memConn struct {
	db    *memDB
	alive bool
}

// memTx collects the callers' changes of one write.
type memTx struct{ firsts []uint64 }

func newMemDB() *memDB { return &memDB{cps: map[uint64][]byte{}, applied: map[uint64]bool{}} }

func (db *memDB) connect() *memConn { return &memConn{db: db, alive: true} }

// reader reads db without locking (inside a write, which holds the lock).
type memReader struct{ db *memDB }

func (r memReader) State(context.Context) (ledger.State, error) {
	db := r.db
	st := ledger.State{Size: uint64(len(db.entries)), Origin: db.origin, EntryFormat: db.format, Intent: db.intent}
	for size, note := range db.cps {
		if st.Checkpoint == nil || size > st.CheckpointSize {
			st.CheckpointSize, st.Checkpoint = size, note
		}
	}
	return st, nil
}

func (r memReader) Entries(_ context.Context, start, end uint64, fn func(uint64, []byte) error) error {
	for i := start; i < end && i < uint64(len(r.db.entries)); i++ {
		if err := fn(i, r.db.entries[i]); err != nil {
			return err
		}
	}
	return nil
}

func (r memReader) Hashes(_ context.Context, idx []uint64, dst []tlog.Hash) error {
	for i, x := range idx {
		if x >= uint64(len(r.db.hashes)) {
			return fmt.Errorf("%w: no stored hash %d", ledger.ErrCorruptStore, x)
		}
		dst[i] = r.db.hashes[x]
	}
	return nil
}

func (r memReader) Checkpoints(_ context.Context, from uint64, fn func(uint64, []byte) error) error {
	var sizes []uint64
	for s := range r.db.cps {
		if s >= from {
			sizes = append(sizes, s)
		}
	}
	slices.Sort(sizes)
	for _, s := range sizes {
		if err := fn(s, r.db.cps[s]); err != nil {
			if errors.Is(err, ledger.ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (c *memConn) State(ctx context.Context) (ledger.State, error) {
	c.db.mu.RLock()
	defer c.db.mu.RUnlock()
	return memReader{c.db}.State(ctx)
}

func (c *memConn) Entries(ctx context.Context, start, end uint64, fn func(uint64, []byte) error) error {
	c.db.mu.RLock()
	defer c.db.mu.RUnlock()
	return memReader{c.db}.Entries(ctx, start, end, fn)
}

func (c *memConn) Hashes(ctx context.Context, idx []uint64, dst []tlog.Hash) error {
	c.db.mu.RLock()
	defer c.db.mu.RUnlock()
	return memReader{c.db}.Hashes(ctx, idx, dst)
}

func (c *memConn) Checkpoints(ctx context.Context, from uint64, fn func(uint64, []byte) error) error {
	c.db.mu.RLock()
	defer c.db.mu.RUnlock()
	return memReader{c.db}.Checkpoints(ctx, from, fn)
}

func (c *memConn) Write(ctx context.Context, b *ledger.Batch, apply func(*memTx) error) error {
	c.db.mu.Lock()
	defer c.db.mu.Unlock()
	return c.write(b, apply)
}

func (c *memConn) WriteLocked(ctx context.Context, build func(uint64, ledger.Reader) (*ledger.Batch, error), apply func(*memTx) error) error {
	c.db.mu.Lock()
	defer c.db.mu.Unlock()
	b, err := build(uint64(len(c.db.entries)), memReader{c.db})
	if err != nil {
		return err
	}
	return c.write(b, apply)
}

// write applies b; the caller holds the lock.
func (c *memConn) write(b *ledger.Batch, apply func(*memTx) error) error {
	db := c.db
	if !c.alive {
		return errors.New("memdb: connection closed")
	}
	if err := db.failNext; err != nil {
		db.failNext = nil
		return err
	}
	if b.Start != uint64(len(db.entries)) {
		return ledger.ErrConflict
	}
	if want := tlog.StoredHashCount(b.Start + uint64(len(b.Entries))); uint64(len(db.hashes)+len(b.Hashes)) != want {
		return fmt.Errorf("memdb: batch at %d of %d entries brings %d hashes, the tree needs %d", b.Start, len(b.Entries), len(db.hashes)+len(b.Hashes), want)
	}
	tx := &memTx{}
	if apply != nil {
		if err := apply(tx); err != nil {
			return err
		}
	}
	for i, e := range b.Entries {
		if bytes.Equal(e, []byte("refuse me")) {
			// A unique key another process took, found at the commit.
			return &ledger.RejectedError{Index: b.Start + uint64(i), Err: errors.New("memdb: taken")}
		}
	}
	for _, f := range tx.firsts {
		if db.applied[f] {
			return fmt.Errorf("memdb: a change at %d twice", f)
		}
		db.applied[f] = true
	}
	for _, e := range b.Entries {
		db.entries = append(db.entries, bytes.Clone(e))
	}
	db.hashes = append(db.hashes, b.Hashes...)
	if db.origin == "" {
		db.origin = b.Origin
	}
	if db.format == "" {
		db.format = b.EntryFormat
	}
	if b.Intent != nil {
		db.intent = b.Intent
	}
	if cp := b.Checkpoint; cp != nil && db.cps[cp.Size] == nil {
		db.cps[cp.Size] = bytes.Clone(cp.Note)
	}
	return nil
}

func (c *memConn) Lead(context.Context) (bool, error) {
	c.db.mu.Lock()
	defer c.db.mu.Unlock()
	if !c.alive {
		return false, errors.New("memdb: connection closed")
	}
	if c.db.leader == nil || !c.db.leader.alive {
		c.db.leader = c
	}
	return c.db.leader == c, nil
}

// kill drops the connection, as a SIGKILLed process's would be.
func (c *memConn) kill() {
	c.db.mu.Lock()
	c.alive = false
	c.db.mu.Unlock()
}

var _ ledger.SharedStore[*memTx] = (*memConn)(nil)

func openShared(t *testing.T, db *memDB, key *gm.PrivateKey) (*ledger.Log[*memTx], *memConn) {
	t.Helper()
	c := db.connect()
	l, err := ledger.Open[*memTx](c, ledger.Options{Origin: "test/shared", Signer: key, EntryFormat: "shared 1", CheckpointInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return l, c
}

// appendMany appends n entries named by prefix from 4 goroutines, each
// with a change, and returns the index each was acknowledged at.
func appendMany(t *testing.T, l *ledger.Log[*memTx], prefix string, n int) map[string]uint64 {
	t.Helper()
	var mu sync.Mutex
	got := map[string]uint64{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				e := fmt.Sprintf("%s-%d", prefix, i)
				idx, err := l.AppendWith(context.Background(), [][]byte{[]byte(e)}, func(tx *memTx, first uint64) error {
					tx.firsts = append(tx.firsts, first)
					return nil
				})
				if err != nil {
					t.Errorf("append %s: %v", e, err)
					return
				}
				mu.Lock()
				got[e] = idx
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return got
}

// TestSharedStoreTwoLogs: two processes' Logs append to one store at
// once; the log stays gap-free, every acknowledged entry is where it was
// acknowledged, the tree and every checkpoint verify, one process signs,
// and the other serves the checkpoints it signs.
func TestSharedStoreTwoLogs(t *testing.T) {
	key, _ := gm.GenerateKey()
	db := newMemDB()
	a, _ := openShared(t, db, key)
	b, _ := openShared(t, db, key)
	defer a.Close()
	defer b.Close()

	var ga, gb map[string]uint64
	var wg sync.WaitGroup
	wg.Go(func() { ga = appendMany(t, a, "a", 400) })
	wg.Go(func() { gb = appendMany(t, b, "b", 400) })
	wg.Wait()

	idx := map[uint64]string{}
	for _, g := range []map[string]uint64{ga, gb} {
		for e, i := range g {
			if prev, dup := idx[i]; dup {
				t.Fatalf("index %d acknowledged to %s and %s", i, prev, e)
			}
			idx[i] = e
			got, err := b.Entry(i) // b may not have written it: it reads it
			if err != nil || string(got) != e {
				t.Fatalf("entry %d = %q, %v; acknowledged for %q", i, got, err, e)
			}
		}
	}
	st, _ := db.connect().State(context.Background())
	if st.Size != 800 || len(idx) != 800 || len(db.applied) != 800 {
		t.Fatalf("store holds %d entries, %d acknowledged, %d changes; want 800 each", st.Size, len(idx), len(db.applied))
	}
	// Both processes come to serve a checkpoint of the whole log.
	deadline := time.Now().Add(5 * time.Second)
	for a.Checkpoint().Size < 800 || b.Checkpoint().Size < 800 {
		if time.Now().After(deadline) {
			t.Fatalf("checkpoints: a at %d, b at %d; want 800", a.Checkpoint().Size, b.Checkpoint().Size)
		}
		time.Sleep(10 * time.Millisecond)
	}
	rep, err := ledger.Fsck(context.Background(), db.connect(), ledger.FsckOptions{Verifier: a.Verifier()})
	if err != nil {
		t.Fatalf("fsck: %v", err)
	}
	if rep.Size != 800 || rep.Checkpoints == 0 {
		t.Fatalf("fsck: %+v", rep)
	}
	// The process that did not write an entry proves it too.
	leaf, _ := b.LeafHash(0)
	cp := b.Checkpoint()
	proof, err := b.InclusionProof(0, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.SM3.VerifyInclusion(leaf, 0, cp.Size, proof, cp.Root); err != nil {
		t.Fatalf("inclusion of entry 0 in the checkpoint b serves: %v", err)
	}
}

// TestSharedStoreLeaderKilled: when the process that signs is killed,
// another signs the entries appended after, within a few intervals.
func TestSharedStoreLeaderKilled(t *testing.T) {
	key, _ := gm.GenerateKey()
	db := newMemDB()
	a, ca := openShared(t, db, key)
	b, _ := openShared(t, db, key)
	defer b.Close()
	appendMany(t, a, "a", 20)
	if db.leader != ca || !a.Leads() || b.Leads() {
		t.Fatalf("the first process to open does not lead alone (a leads: %v, b leads: %v)", a.Leads(), b.Leads())
	}
	ca.kill() // its appends and signatures fail from now on, as a dead process's
	defer a.Close()
	idx, err := b.Append(context.Background(), []byte("after the kill"))
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for b.Checkpoint().Size <= idx {
		if time.Since(killed) > 5*time.Second {
			t.Fatalf("no checkpoint covers entry %d five seconds after the leader died (latest %d)", idx, b.Checkpoint().Size)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("a checkpoint covered the next entry %v after the leader's death", time.Since(killed).Round(time.Millisecond))
	if !b.Leads() {
		t.Error("the survivor signs but does not say it leads")
	}
	if _, err := ledger.Fsck(context.Background(), db.connect(), ledger.FsckOptions{Verifier: b.Verifier()}); err != nil {
		t.Fatal(err)
	}
}

// TestSharedStoreFaults: a write the database refuses fails only its
// batch (the log carries on), and a change the store refuses at the
// commit fails only its own append.
func TestSharedStoreFaults(t *testing.T) {
	key, _ := gm.GenerateKey()
	db := newMemDB()
	a, _ := openShared(t, db, key)
	defer a.Close()
	db.mu.Lock()
	db.failNext = errors.New("connection reset by peer")
	db.mu.Unlock()
	if _, err := a.Append(context.Background(), []byte("lost")); err == nil || errors.Is(err, ledger.ErrFailed) {
		t.Fatalf("append while the database fails: %v; want its error, the log not stopped", err)
	}
	if _, err := a.Append(context.Background(), []byte("after")); err != nil {
		t.Fatalf("append after the database came back: %v", err)
	}

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			e := fmt.Sprintf("ok-%d", i)
			if i == 3 {
				e = "refuse me"
			}
			_, errs[i] = a.Append(context.Background(), []byte(e))
		})
	}
	wg.Wait()
	for i, err := range errs {
		var re *ledger.RejectedError
		if i == 3 != errors.As(err, &re) || i != 3 && err != nil {
			t.Errorf("append %d: %v", i, err)
		}
	}
	var got []string
	a.Store().Entries(context.Background(), 0, a.Size(), func(_ uint64, e []byte) error {
		got = append(got, string(e))
		return nil
	})
	sort.Strings(got)
	want := []string{"after", "ok-0", "ok-1", "ok-2", "ok-4", "ok-5", "ok-6", "ok-7"}
	if !slices.Equal(got, want) {
		t.Fatalf("entries %q, want %q", got, want)
	}
}

// TestSharedStoreFollowerChecks: a process serves a checkpoint another
// stored only if the log's key signed it and its root is the stored
// tree's.
func TestSharedStoreFollowerChecks(t *testing.T) {
	key, _ := gm.GenerateKey()
	other, _ := gm.GenerateKey()
	db := newMemDB()
	a, ca := openShared(t, db, key)
	appendMany(t, a, "a", 10)
	a.Close()
	ca.kill()
	good := uint64(0)
	for size := range db.cps {
		good = max(good, size)
	}
	forge := func(signer *gm.PrivateKey, root tlog.Hash) {
		s, err := tlog.NewNoteSigner("test/shared", signer)
		if err != nil {
			t.Fatal(err)
		}
		note, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "test/shared", Size: good + 1, Root: root}, s)
		if err != nil {
			t.Fatal(err)
		}
		db.mu.Lock()
		db.entries = append(db.entries, []byte("x"))
		db.hashes = append(db.hashes, make([]tlog.Hash, tlog.StoredHashCount(good+1)-tlog.StoredHashCount(good))...)
		db.cps[good+1] = note
		db.mu.Unlock()
	}
	b, cb := openShared(t, db, key)
	defer b.Close()
	defer cb.kill() // b must not sign (and so lead) past the forgeries
	db.mu.Lock()
	db.leader = &memConn{db: db, alive: true} // a live leader elsewhere
	db.mu.Unlock()
	good = b.Checkpoint().Size
	forge(other, tlog.Hash{1}) // another key
	time.Sleep(100 * time.Millisecond)
	if got := b.Checkpoint().Size; got != good {
		t.Fatalf("serves a checkpoint of size %d signed by another key", got)
	}
	good++
	forge(key, tlog.Hash{2}) // the log's key, a root the tree does not have
	time.Sleep(100 * time.Millisecond)
	if got := b.Checkpoint().Size; got != good-1 {
		t.Fatalf("serves a checkpoint of size %d whose root is not the stored tree's", got)
	}
}
