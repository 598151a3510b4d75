package ledger_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/internal/ledger/boltstore"
	"elicense/internal/ledger/tlog"
)

const testOrigin = "ledger.elicense.test/v1"

// testKey is a fixed key, so that a reopened log (or a crash-test child)
// signs with the same key.
func testKey(t testing.TB) *gm.PrivateKey {
	t.Helper()
	k, err := gm.NewPrivateKey(bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testEntry is an opaque entry of about the size of an issuance event.
func testEntry(i int) []byte {
	sum := gm.SM3(fmt.Appendf(nil, "credential %d", i))
	return fmt.Appendf(nil, "issue 310000-SAMR 1.2.156.3005.2.11100000000013127D001.310000.%07d.001.K %x %x", i, sum, sum)
}

func openTest(t testing.TB, path string, mod ...func(*ledger.Options)) *testLog {
	t.Helper()
	o := ledger.Options{Origin: testOrigin, Signer: testKey(t)}
	for _, m := range mod {
		m(&o)
	}
	l, err := openAt(path, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// openOn opens a log on a store the test owns (Close leaves it open).
func openOn(t testing.TB, s ledger.Store[*bolt.Tx], mod ...func(*ledger.Options)) *testLog {
	t.Helper()
	o := ledger.Options{Origin: testOrigin, Signer: testKey(t)}
	for _, m := range mod {
		m(&o)
	}
	l, err := ledger.Open(s, o)
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{Log: l}
}

func appendN(t testing.TB, l *testLog, from, n, writers int) map[uint64]int {
	t.Helper()
	var mu sync.Mutex
	got := map[uint64]int{}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := from + w; i < from+n; i += writers {
				idx, err := l.Append(context.Background(), testEntry(i))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				got[idx] = i
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return got
}

func TestAppendProveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	const n = 600
	mem := appendConcurrentlyAndClose(t, path, n)

	l := openTest(t, path)
	defer l.Close()
	cp := l.Checkpoint()
	if cp.Size != n || cp.Root != mem.Root() {
		t.Fatalf("checkpoint after close = %d %s, want %d %s", cp.Size, cp.Root, n, mem.Root())
	}
	checkProofsOffline(t, l, mem, cp.Note)
	if _, err := l.InclusionProof(5, n+1); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("proof beyond size: %v", err)
	}
	if _, err := l.Entry(n); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("entry beyond size: %v", err)
	}
	// Appends continue at the right index.
	idx, err := l.Append(context.Background(), testEntry(n))
	if err != nil || idx != n {
		t.Fatalf("append after reopen = %d, %v; want %d", idx, err, n)
	}
	first, err := l.AppendAll(context.Background(), [][]byte{testEntry(n + 1), testEntry(n + 2)})
	if err != nil || first != n+1 || l.Size() != n+3 {
		t.Fatalf("AppendAll = %d, %v (size %d)", first, err, l.Size())
	}
	if _, err := l.Append(context.Background(), nil); !errors.Is(err, ledger.ErrInvalidEntry) {
		t.Fatalf("empty entry: %v", err)
	}
	if _, err := l.Append(context.Background(), make([]byte, tlog.MaxEntryLen+1)); !errors.Is(err, ledger.ErrInvalidEntry) {
		t.Fatalf("entry too long: %v", err)
	}
	rep, err := l.Fsck(context.Background(), ledger.FsckOptions{})
	if err != nil || rep.Size != n+3 || rep.Checkpoints < 2 {
		t.Fatalf("fsck: %+v, %v", rep, err)
	}
}

// appendConcurrentlyAndClose creates the log at path, appends n entries
// from 16 writers, checks that every index holds the entry appended
// there, closes the log and checks that it stays closed. It returns an
// in-memory tree of the same entries.
func appendConcurrentlyAndClose(t *testing.T, path string, n int) *tlog.MemTree {
	t.Helper()
	l := openTest(t, path)
	if cp := l.Checkpoint(); cp.Size != 0 || cp.Root != tlog.SM3.EmptyRoot() {
		t.Fatalf("new log checkpoint = %+v", cp.Checkpoint)
	}
	got := appendN(t, l, 0, n, 16)
	if len(got) != n || l.Size() != uint64(n) {
		t.Fatalf("%d distinct indexes, size %d; want %d", len(got), l.Size(), n)
	}
	mem := tlog.NewMemTree(tlog.SM3)
	for i := range uint64(n) {
		e, err := l.Entry(i)
		if err != nil {
			t.Fatal(err)
		}
		if want := testEntry(got[i]); !bytes.Equal(e, want) {
			t.Fatalf("entry %d is %q, want %q", i, e, want)
		}
		mem.AppendEntry(e)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := l.Append(context.Background(), testEntry(0)); !errors.Is(err, ledger.ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	return mem
}

// checkProofsOffline does what a wallet does: it verifies the checkpoint
// note, then inclusion and consistency proofs against it, which must also
// equal the in-memory tree's.
func checkProofsOffline(t *testing.T, l *testLog, mem *tlog.MemTree, note []byte) {
	t.Helper()
	v, err := tlog.ParseNoteVerifier(l.Verifier().String())
	if err != nil {
		t.Fatal(err)
	}
	vc, err := tlog.VerifyCheckpoint(note, testOrigin, v)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []uint64{0, 1, 255, 256, 599} {
		p, err := l.InclusionProof(i, vc.Size)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := l.LeafHash(i)
		if err := tlog.VerifyInclusion(leaf, i, vc.Size, p, vc.Root); err != nil {
			t.Fatalf("inclusion %d: %v", i, err)
		}
		want, _ := mem.InclusionProof(i, vc.Size)
		if fmt.Sprint(p) != fmt.Sprint(want) {
			t.Fatalf("inclusion proof %d differs from the in-memory tree", i)
		}
	}
	for _, old := range []uint64{0, 1, 7, 300, 599, 600} {
		p, err := l.ConsistencyProof(old, vc.Size)
		if err != nil {
			t.Fatal(err)
		}
		r1, _ := mem.RootAt(old)
		if err := tlog.VerifyConsistency(old, vc.Size, p, r1, vc.Root); err != nil {
			t.Fatalf("consistency %d: %v", old, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.db")
	l := openTest(t, path)
	// A second opener of the same file fails fast.
	_, err := openAt(path, &boltstore.Options{LockTimeout: 50 * time.Millisecond}, ledger.Options{Origin: testOrigin, Signer: testKey(t)})
	if !errors.Is(err, ledger.ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	l.Close()
	if _, err := openAt(path, nil, ledger.Options{Origin: "other.example/log", Signer: testKey(t)}); !errors.Is(err, ledger.ErrOrigin) {
		t.Fatalf("other origin: %v", err)
	}
	if _, err := openAt(path, nil, ledger.Options{Origin: testOrigin}); err == nil {
		t.Fatal("no signer accepted")
	}
	if _, err := ledger.Open[*bolt.Tx](nil, ledger.Options{Origin: testOrigin, Signer: testKey(t)}); err == nil {
		t.Fatal("no store accepted")
	}
}

func TestCheckpointTimer(t *testing.T) {
	l := openTest(t, filepath.Join(t.TempDir(), "l.db"), func(o *ledger.Options) { o.CheckpointInterval = 30 * time.Millisecond })
	defer l.Close()
	for i := range 3 {
		if _, err := l.Append(context.Background(), testEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for l.Checkpoint().Size != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint covers the appends: %d", l.Checkpoint().Size)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCheckpointEveryBatch(t *testing.T) {
	l := openTest(t, filepath.Join(t.TempDir(), "l.db"), func(o *ledger.Options) { o.CheckpointInterval = -1; o.MaxWait = time.Millisecond })
	appendN(t, l, 0, 200, 8)
	deadline := time.Now().Add(5 * time.Second)
	for l.Checkpoint().Size != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint stuck at %d", l.Checkpoint().Size)
		}
		time.Sleep(5 * time.Millisecond)
	}
	rep, err := l.Fsck(context.Background(), ledger.FsckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if rep.Checkpoints < 2 {
		t.Fatalf("only %d checkpoints", rep.Checkpoints)
	}
}

// TestRefuseInconsistentCheckpoint: the signer will not sign a tree head
// that contradicts the last one it signed, and Open refuses a store that
// contradicts its last checkpoint.
func TestRefuseInconsistentCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.db")
	s, err := boltstore.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := openOn(t, s)
	appendN(t, l, 0, 100, 4)
	l.Close() // the sequencer has stopped; its state is ours now
	ctx := context.Background()
	last := l.LastSigned()
	if last.Size != 100 {
		t.Fatalf("last signed %d", last.Size)
	}
	if _, err := l.SignCheckpoint(ctx, 100, tlog.Hash{1}); !errors.Is(err, ledger.ErrInconsistent) {
		t.Fatalf("same size, other root: %v", err)
	}
	if _, err := l.SignCheckpoint(ctx, 99, mustRoot(t, l, 99)); !errors.Is(err, ledger.ErrInconsistent) {
		t.Fatalf("smaller size: %v", err)
	}
	if _, err := l.SignCheckpoint(ctx, 100, last.Root); err != nil {
		t.Fatalf("re-signing the same head: %v", err)
	}

	// Now grow the store behind the log's back with a forged history:
	// entries 100..119 whose hashes do not extend the signed tree.
	forged := tlog.NewMemTree(tlog.SM3)
	var entries [][]byte
	for i := range 120 {
		b := fmt.Appendf(nil, "forged %d", i)
		forged.AppendEntry(b)
		if i >= 100 {
			entries = append(entries, b)
		}
	}
	hs, _ := forged.ReadNodes(storedRange(100, 120))
	if err := s.Write(ctx, &ledger.Batch{Start: 100, Entries: entries, Hashes: hs}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SignCheckpoint(ctx, 120, forged.Root()); !errors.Is(err, ledger.ErrInconsistent) {
		t.Fatalf("forged extension: %v", err)
	}
	if _, err := ledger.Open(s, ledger.Options{Origin: testOrigin, Signer: testKey(t)}); !errors.Is(err, ledger.ErrInconsistent) {
		t.Fatalf("Open on a forged store: %v", err)
	}
	rep, err := ledger.Fsck(ctx, s, ledger.FsckOptions{Verifier: l.Verifier()})
	var ie *ledger.IndexError
	if !errors.As(err, &ie) || !errors.Is(err, ledger.ErrHashMismatch) || rep.FirstBad == nil {
		t.Fatalf("fsck of the forged store: %v", err)
	}
	t.Logf("fsck: %v", err)
}

func mustRoot(t *testing.T, l *testLog, size uint64) tlog.Hash {
	r, err := l.RootAt(size)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// storedRange lists the nodes stored by entries [from, to), in order.
func storedRange(from, to uint64) []tlog.NodeID {
	var ids []tlog.NodeID
	for n := from; n < to; n++ {
		ids = append(ids, tlog.NodeID{Level: 0, Index: n})
		for l := uint8(1); (n+1)%(1<<l) == 0; l++ {
			ids = append(ids, tlog.NodeID{Level: l, Index: (n+1)>>l - 1})
		}
	}
	return ids
}

// TestInterruptedSigning: an intent recorded without a signature (the
// process died between recording and storing the signature) is reported
// by fsck and completed by the next Open.
func TestInterruptedSigning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.db")
	s, err := boltstore.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := openOn(t, s)
	appendN(t, l, 0, 10, 1)
	l.Close()
	// Append 5 more entries with an intent but no signature, as a batch
	// that crashed after its commit.
	mem := tlog.NewMemTree(tlog.SM3)
	var entries [][]byte
	for i := range uint64(15) {
		if i < 10 {
			raw, _ := l.Entry(i)
			mem.AppendEntry(raw)
			continue
		}
		b := fmt.Appendf(nil, "suspend %d", i)
		mem.AppendEntry(b)
		entries = append(entries, b)
	}
	hs, _ := mem.ReadNodes(storedRange(10, 15))
	ctx := context.Background()
	if err := s.Write(ctx, &ledger.Batch{Start: 10, Entries: entries, Hashes: hs, Intent: &ledger.Intent{15, mem.Root()}}, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := ledger.Fsck(ctx, s, ledger.FsckOptions{Verifier: l.Verifier()})
	if err != nil || rep.Unsigned == nil || rep.Unsigned.Size != 15 {
		t.Fatalf("fsck: %+v %v", rep, err)
	}
	l = openOn(t, s)
	if cp := l.Checkpoint(); cp.Size != 15 || cp.Root != mem.Root() {
		t.Fatalf("checkpoint after recovery: %d %s", cp.Size, cp.Root)
	}
	l.Close()
	rep, err = ledger.Fsck(ctx, s, ledger.FsckOptions{Verifier: l.Verifier()})
	if err != nil || rep.Unsigned != nil || rep.Latest.Size != 15 {
		t.Fatalf("fsck after recovery: %+v %v", rep, err)
	}
	s.Close()
}

// TestFsckWhileAppending: fsck of a live log checks the prefix that
// existed when it started and is not confused by what is appended (and
// signed) meanwhile.
func TestFsckWhileAppending(t *testing.T) {
	l := openTest(t, filepath.Join(t.TempDir(), "l.db"), func(o *ledger.Options) { o.CheckpointInterval = -1 })
	defer l.Close()
	appendN(t, l, 0, 300, 4)
	done := make(chan error, 1)
	go func() {
		for i := 300; i < 900; i++ {
			if _, err := l.Append(context.Background(), testEntry(i)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 5 {
		if _, err := l.Fsck(context.Background(), ledger.FsckOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestBackup(t *testing.T) {
	dir := t.TempDir()
	k, _ := gm.GenerateKey()
	l, err := openAt(filepath.Join(dir, "l.db"), nil, ledger.Options{Origin: "test/backup", Signer: k, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 10 {
		if _, err := l.Append(context.Background(), fmt.Appendf(nil, "id%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := l.Store().(*boltstore.Store).Backup(&buf); err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(dir, "copy.db")
	if err := os.WriteFile(copyPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := boltstore.Fsck(context.Background(), copyPath, ledger.FsckOptions{Verifier: l.Verifier()})
	if err != nil || rep.Entries != 10 {
		t.Fatalf("backup fsck: %v, %d entries", err, rep.Entries)
	}
}

// TestAppendWith checks callers' writes commit with their entries: each
// succeeds with its own entries at the index it was given, and one that
// fails takes nothing with it, neither its entries nor its neighbours'.
func TestAppendWith(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l := openTest(t, path)
	db := l.Store().(*boltstore.Store).DB()
	app := []byte("app")
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(app); return err }); err != nil {
		t.Fatal(err)
	}
	errRefused := errors.New("refused")
	const n = 200
	var wg sync.WaitGroup
	firsts := make([]uint64, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			firsts[i], errs[i] = l.AppendWith(context.Background(), [][]byte{testEntry(2 * i), testEntry(2*i + 1)}, func(tx *bolt.Tx, first uint64) error {
				if i%7 == 3 {
					tx.Bucket(app).Put([]byte("must not stay"), nil)
					return errRefused
				}
				return tx.Bucket(app).Put(fmt.Appendf(nil, "%03d", i), be(first))
			})
		})
	}
	wg.Wait()
	var ok uint64
	for i := range n {
		if i%7 == 3 {
			var ae *ledger.ApplyError
			if !errors.Is(errs[i], errRefused) || !errors.As(errs[i], &ae) {
				t.Errorf("append %d: err %v, want the caller's error as an ApplyError", i, errs[i])
			}
			continue
		}
		if errs[i] != nil {
			t.Fatalf("append %d: %v", i, errs[i])
		}
		ok++
		e, err := l.Entry(firsts[i] + 1)
		if err != nil || !bytes.Equal(e, testEntry(2*i+1)) {
			t.Errorf("append %d at %d: second entry %q, %v", i, firsts[i], e, err)
		}
	}
	if got := l.Size(); got != 2*ok {
		t.Errorf("size %d, want %d", got, 2*ok)
	}
	l.Close()

	// Reopened: the callers' writes are there, with the right indexes.
	l = openTest(t, path)
	defer l.Close()
	err := l.Store().(*boltstore.Store).DB().View(func(tx *bolt.Tx) error {
		b := tx.Bucket(app)
		if b.Get([]byte("must not stay")) != nil {
			t.Error("a failed caller's write was kept")
		}
		if got := uint64(b.Stats().KeyN); got != ok {
			t.Errorf("%d caller writes kept, want %d", got, ok)
		}
		return b.ForEach(func(k, v []byte) error {
			var i int
			fmt.Sscanf(string(k), "%d", &i)
			e, err := l.Entry(binary.BigEndian.Uint64(v))
			if err != nil || !bytes.Equal(e, testEntry(2*i)) {
				t.Errorf("caller %d recorded index %d holding %q, %v", i, binary.BigEndian.Uint64(v), e, err)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// gatedStore records the number of entries in each batch written and
// holds each such write until a token arrives on gate.
type gatedStore struct {
	*boltstore.Store
	gate  chan struct{}
	mu    sync.Mutex
	sizes []int
}

func (s *gatedStore) Write(ctx context.Context, b *ledger.Batch, apply func(*bolt.Tx) error) error {
	if len(b.Entries) > 0 {
		<-s.gate
		s.mu.Lock()
		s.sizes = append(s.sizes, len(b.Entries))
		s.mu.Unlock()
	}
	return s.Store.Write(ctx, b, apply)
}

func (s *gatedStore) batches() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sizes)
}

// TestLinger: after a batch of at least LingerAfter appends, the
// sequencer waits for more until the batch is as large as the last one,
// so appends that come in two waves go out in one commit; a lone writer
// is never held back.
func TestLinger(t *testing.T) {
	bs, err := boltstore.Open(filepath.Join(t.TempDir(), "l.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	gs := &gatedStore{Store: bs, gate: make(chan struct{}, 100)}
	// With MaxWait an hour, a sequencer that lingered where it should
	// not would hold an append for 15 minutes (the gap): the test would
	// fail at waitBatches's deadline instead.
	l := openOn(t, gs, func(o *ledger.Options) { o.MaxWait = time.Hour })
	defer l.Close()
	var wg sync.WaitGroup
	var seq atomic.Int64
	appendSome := func(n int) {
		for range n {
			wg.Go(func() {
				if _, err := l.Append(context.Background(), testEntry(int(seq.Add(1)))); err != nil {
					t.Error(err)
				}
			})
		}
	}
	waitBatches := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); len(gs.batches()) < n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("batches written: %v, want %d", gs.batches(), n)
			}
		}
	}

	// A lone writer, one append after another: each is written alone.
	for i := range 3 {
		gs.gate <- struct{}{}
		appendSome(1)
		wg.Wait()
		waitBatches(i + 1)
	}
	// One append held in the store while ten queue: the ten make the
	// next batch, which is large enough to linger after.
	appendSome(1)
	for l.Queued() > 0 || len(gs.batches()) < 3 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // the sequencer is in Write, waiting for the gate
	appendSome(10)
	for l.Queued() < 10 {
		time.Sleep(time.Millisecond)
	}
	gs.gate <- struct{}{}
	// Two waves of five: one commit of ten. The first queues while the
	// ten are written, so the load has not gone when they are done. (Tokens
	// to spare, so that a sequencer that did not linger fails the test
	// rather than hangs it.)
	for l.Queued() > 0 || len(gs.batches()) < 4 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // the ten are in Write, waiting for the gate
	appendSome(5)
	for l.Queued() < 5 {
		time.Sleep(time.Millisecond)
	}
	for range 11 {
		gs.gate <- struct{}{}
	}
	waitBatches(5)
	time.Sleep(50 * time.Millisecond)
	appendSome(5)
	wg.Wait()
	// The load is gone: after 100 ms idle, a lone append is written at
	// once, not held for company.
	waitBatches(6)
	time.Sleep(100 * time.Millisecond)
	appendSome(1)
	waitBatches(7)
	wg.Wait()
	got := gs.batches()
	if want := []int{1, 1, 1, 1, 10, 10, 1}; !slices.Equal(got, want) {
		t.Fatalf("batches %v, want %v", got, want)
	}
}

// TestEntryFormat checks the entry-format mark: recorded by a new log,
// required on reopen, and a log with entries but no mark is refused.
func TestEntryFormat(t *testing.T) {
	dir := t.TempDir()
	marked := filepath.Join(dir, "marked.db")
	l := openTest(t, marked, func(o *ledger.Options) { o.EntryFormat = "test/2" })
	if _, err := l.Append(context.Background(), testEntry(1)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if st := stateOf(t, marked); st.EntryFormat != "test/2" {
		t.Fatalf("mark %q", st.EntryFormat)
	}
	_, err := openAt(marked, nil, ledger.Options{Origin: testOrigin, Signer: testKey(t), EntryFormat: "test/3"})
	var fe *ledger.EntryFormatError
	if !errors.Is(err, ledger.ErrEntryFormat) || !errors.As(err, &fe) || fe.Have != "test/2" || fe.Want != "test/3" || fe.Size != 1 {
		t.Fatalf("reopen with another format: %v", err)
	}
	openTest(t, marked, func(o *ledger.Options) { o.EntryFormat = "test/2" }).Close()

	// Entries written before marks existed: refused.
	old := filepath.Join(dir, "old.db")
	l = openTest(t, old)
	if _, err := l.Append(context.Background(), testEntry(1)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := openAt(old, nil, ledger.Options{Origin: testOrigin, Signer: testKey(t), EntryFormat: "test/2"}); !errors.As(err, &fe) || fe.Size != 1 || !strings.Contains(fe.Have, "none") {
		t.Fatalf("unmarked log with entries: %v", err)
	}

	// An unmarked log without entries takes the mark.
	empty := filepath.Join(dir, "empty.db")
	openTest(t, empty).Close()
	openTest(t, empty, func(o *ledger.Options) { o.EntryFormat = "test/2" }).Close()
	if st := stateOf(t, empty); st.EntryFormat != "test/2" {
		t.Fatalf("mark %q", st.EntryFormat)
	}
}

func stateOf(t *testing.T, path string) ledger.State {
	t.Helper()
	s, err := boltstore.Open(path, &boltstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}
