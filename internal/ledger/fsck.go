package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"elicense/internal/ledger/tlog"
)

// FsckReport is what Fsck found.
type FsckReport struct {
	// Origin and Size are the store's; Root is recomputed from entries.
	Origin string
	Size   uint64
	Root   tlog.Hash
	// Entries is how many entries were checked and rehashed.
	Entries uint64
	// Checkpoints is how many signed checkpoints were checked; Latest is
	// the last of them.
	Checkpoints uint64
	Latest      *tlog.Checkpoint
	// SignaturesChecked is false when Fsck was given no verifier.
	SignaturesChecked bool
	// Unsigned is a recorded signing intent with no signed checkpoint
	// (signing was interrupted; the log completes it when next opened).
	// Its root was checked against the entries. Not an error.
	Unsigned *Intent
	// FirstBad is the first problem, also returned as the error.
	FirstBad *IndexError
	Elapsed  time.Duration
}

// FsckOptions tune Fsck.
type FsckOptions struct {
	// Verifier checks checkpoint signatures; nil skips them (the report
	// says so).
	Verifier *tlog.NoteVerifier
	// Check, if set, is called with every entry, in order, before its
	// hash is checked; an error stops Fsck and is reported at that index
	// wrapping ErrCorruptEntry. The log does not read entries: this is
	// where a caller decodes them with its own catalogue. entry is valid
	// only during the call.
	Check func(index uint64, entry []byte) error
	// Progress, if set, is called after each chunk of entries.
	Progress func(done, total uint64)
}

// fsckChunk is how many entries Fsck reads per store call.
const fsckChunk = 8192

// Fsck checks a whole log: it checks every entry's length (and passes
// it to o.Check), recomputes every leaf
// and interior hash and compares each with the stored one, recomputes
// the root, and checks every stored checkpoint (well-formed, right
// origin, root equal to the recomputed root at its size, signature by v
// unless o.Verifier is nil, and consistent with the previous checkpoint by a proof
// served from the store). It stops at the first problem and returns it as
// an *IndexError naming the entry index (or checkpoint tree size); the
// report says how far it got.
//
// Fsck may run on the store of an open Log: it checks the prefix that
// existed when it started.
func Fsck(ctx context.Context, s Reader, o FsckOptions) (rep *FsckReport, err error) {
	v, progress := o.Verifier, o.Progress
	t0 := time.Now()
	rep = &FsckReport{SignaturesChecked: v != nil}
	defer func() {
		rep.Elapsed = time.Since(t0)
		var ie *IndexError
		if errors.As(err, &ie) {
			rep.FirstBad = ie
		}
	}()
	st, err := s.State(ctx)
	if err != nil {
		return rep, err
	}
	rep.Origin, rep.Size = st.Origin, st.Size
	r := &fsckRun{ctx: ctx, s: s, v: v, checkEntry: o.Check, st: st, rep: rep, h: tlog.SM3, nodes: nodeReader{ctx, s}}
	if err := r.fillTo(0); err != nil {
		return rep, err
	}
	if err := r.takeMarks(); err != nil {
		return rep, err
	}
	for start := uint64(0); start < st.Size || len(r.reached) > 0; start += fsckChunk {
		end := min(start+fsckChunk, st.Size)
		if err := r.chunk(start, end); err != nil {
			return rep, err
		}
		if progress != nil {
			progress(end, st.Size)
		}
		if end >= st.Size {
			break
		}
	}
	rep.Root = r.f.Root(r.h)
	if err := r.beyond(); err != nil {
		return rep, err
	}
	if st.Intent != nil && (rep.Latest == nil || st.Intent.Size > rep.Latest.Size) {
		rep.Unsigned = st.Intent
	}
	return rep, nil
}

// fsckMark is a checkpoint (or the signing intent) waiting for the scan
// to reach its size.
type fsckMark struct {
	size   uint64
	note   []byte // nil for the intent
	intent *Intent
	root   tlog.Hash // recomputed root at size
}

// fsckRun is the state of one Fsck. Checkpoints (and the intent) are
// checked when the scan reaches their size; they are read a page at a
// time.
type fsckRun struct {
	ctx        context.Context
	s          Reader
	v          *tlog.NoteVerifier
	checkEntry func(uint64, []byte) error
	st         State
	rep        *FsckReport
	h          *tlog.TreeHasher
	nodes      nodeReader

	queue     []fsckMark // read from the store, not yet reached
	nextFrom  uint64     // where the next page of checkpoints starts
	exhausted bool       // no checkpoints after the queue
	reached   []fsckMark // reached by the scan, not yet checked
	prev      *tlog.Checkpoint

	f        tlog.Frontier
	computed []tlog.Hash
	stored   []tlog.Hash
	idx      []uint64
}

// fsckPage is how many checkpoints fillTo reads per store call.
const fsckPage = 256

// fillTo queues every checkpoint of size up to end (and a few more).
// It is never called inside another store call, so read transactions do
// not nest.
func (r *fsckRun) fillTo(end uint64) error {
	for !r.exhausted && (len(r.queue) == 0 || r.queue[len(r.queue)-1].size <= end) {
		n := 0
		err := r.s.Checkpoints(r.ctx, r.nextFrom, func(size uint64, note []byte) error {
			if n == fsckPage {
				return ErrStop
			}
			r.queue = append(r.queue, fsckMark{size: size, note: bytes.Clone(note)})
			r.nextFrom = size + 1
			n++
			return nil
		})
		if err != nil {
			return err
		}
		if n < fsckPage {
			r.exhausted = true
		}
	}
	return nil
}

// takeMarks moves the checkpoints (and intent) at the current size to
// reached, with the current root.
func (r *fsckRun) takeMarks() error {
	size := r.f.Size()
	for len(r.queue) > 0 && r.queue[0].size <= size {
		m := r.queue[0]
		r.queue = r.queue[1:]
		if m.size < size {
			return &IndexError{Index: m.size, What: "checkpoint", Err: fmt.Errorf("%w: out of order", ErrCorruptStore)}
		}
		m.root = r.f.Root(r.h)
		r.reached = append(r.reached, m)
	}
	if r.st.Intent != nil && r.st.Intent.Size == size {
		r.reached = append(r.reached, fsckMark{size: size, intent: r.st.Intent, root: r.f.Root(r.h)})
	}
	return nil
}

// chunk checks entries [start, end), then the checkpoints reached in
// them.
func (r *fsckRun) chunk(start, end uint64) error {
	if err := r.fillTo(end); err != nil {
		return err
	}
	if start < end {
		if err := r.entries(start, end); err != nil {
			return err
		}
	}
	// The stored hashes up to end are now known good, so proofs served
	// from them can be used for the checkpoints reached.
	for _, m := range r.reached {
		if err := r.check(m); err != nil {
			return err
		}
	}
	r.reached = r.reached[:0]
	return nil
}

// entries decodes and rehashes entries [start, end) and compares every
// hash their appends wrote with the stored one.
func (r *fsckRun) entries(start, end uint64) error {
	r.computed = r.computed[:0]
	err := r.s.Entries(r.ctx, start, end, func(i uint64, b []byte) error {
		if len(b) == 0 || len(b) > tlog.MaxEntryLen {
			return &IndexError{Index: i, What: "entry", Err: fmt.Errorf("%w: %d bytes", ErrCorruptEntry, len(b))}
		}
		if r.checkEntry != nil {
			if err := r.checkEntry(i, b); err != nil {
				return &IndexError{Index: i, What: "entry", Err: fmt.Errorf("%w: %w", ErrCorruptEntry, err)}
			}
		}
		r.computed = r.f.Append(r.h, r.h.HashLeaf(b), r.computed)
		r.rep.Entries++
		return r.takeMarks()
	})
	if err != nil {
		return err
	}
	first := tlog.StoredHashCount(start)
	r.idx = r.idx[:0]
	for j := range r.computed {
		r.idx = append(r.idx, first+uint64(j))
	}
	r.stored = append(r.stored[:0], make([]tlog.Hash, len(r.idx))...)
	if err := r.s.Hashes(r.ctx, r.idx, r.stored); err != nil {
		return err
	}
	for j := range r.computed {
		if r.computed[j] != r.stored[j] {
			return hashMismatch(first+uint64(j), start, r.computed[j], r.stored[j])
		}
	}
	return nil
}

// check checks one reached mark: the intent's root, or a checkpoint's
// form, origin, root, signature and consistency with the previous one.
func (r *fsckRun) check(m fsckMark) error {
	if m.intent != nil {
		if m.root != m.intent.Root {
			return &IndexError{Index: m.size, What: "checkpoint", Err: fmt.Errorf("%w: recorded signing intent has root %s, entries give %s", ErrInconsistent, m.intent.Root, m.root)}
		}
		return nil
	}
	cp, err := r.checkpoint(m)
	if err != nil {
		return &IndexError{Index: m.size, What: "checkpoint", Err: err}
	}
	r.prev = &cp
	r.rep.Checkpoints++
	r.rep.Latest = r.prev
	return nil
}

// checkpoint parses and checks the checkpoint of m.
func (r *fsckRun) checkpoint(m fsckMark) (tlog.Checkpoint, error) {
	n, err := tlog.ParseNote(m.note)
	if err != nil {
		return tlog.Checkpoint{}, err
	}
	cp, err := tlog.ParseCheckpoint(n.Text)
	if err != nil {
		return tlog.Checkpoint{}, err
	}
	if cp.Size != m.size {
		return cp, fmt.Errorf("%w: stored under tree size %d but says %d", ErrBadCheckpoint, m.size, cp.Size)
	}
	if cp.Origin != r.st.Origin {
		return cp, fmt.Errorf("%w: origin %q, store has %q", ErrBadCheckpoint, cp.Origin, r.st.Origin)
	}
	if cp.Root != m.root {
		return cp, fmt.Errorf("%w: signed root %s, entries give %s", ErrInconsistent, cp.Root, m.root)
	}
	if r.v != nil {
		if _, _, err := tlog.OpenNote(m.note, r.v); err != nil {
			return cp, err
		}
	}
	if r.prev != nil {
		proof, err := r.h.ConsistencyProof(r.prev.Size, cp.Size, r.nodes)
		if err != nil {
			return cp, err
		}
		if err := r.h.VerifyConsistency(r.prev.Size, cp.Size, proof, r.prev.Root, cp.Root); err != nil {
			return cp, fmt.Errorf("%w: with the checkpoint at %d: %v", ErrInconsistent, r.prev.Size, err)
		}
	}
	return cp, nil
}

// beyond checks the checkpoints and intent past the entries scanned:
// either the log grew while Fsck ran (a live store), or entries the log
// had signed were lost.
func (r *fsckRun) beyond() error {
	if err := r.fillTo(r.st.Size); err != nil {
		return err
	}
	intent := r.st.Intent
	if len(r.queue) == 0 && (intent == nil || intent.Size <= r.st.Size) {
		return nil
	}
	now, err := r.s.State(r.ctx)
	if err != nil {
		return err
	}
	if n := len(r.queue); n > 0 && r.queue[n-1].size > now.Size {
		return &IndexError{Index: r.queue[n-1].size, What: "checkpoint", Err: fmt.Errorf("%w: signed at a tree size beyond the %d entries stored", ErrInconsistent, now.Size)}
	}
	if intent != nil && intent.Size > now.Size {
		return &IndexError{Index: intent.Size, What: "checkpoint", Err: fmt.Errorf("%w: signing intent beyond the %d entries stored", ErrInconsistent, now.Size)}
	}
	return nil
}

// hashMismatch names the entry whose append wrote stored hash j (entries
// from start on are being checked).
func hashMismatch(j, start uint64, computed, stored tlog.Hash) error {
	i := start
	for tlog.StoredHashCount(i+1) <= j {
		i++
	}
	level := j - tlog.StoredHashCount(i)
	id := tlog.NodeID{Level: uint8(level), Index: (i+1)>>level - 1}
	what := "hash"
	if level == 0 {
		what = "entry"
	}
	return &IndexError{Index: i, What: what, Err: fmt.Errorf("%w: stored hash %d, node %v, is %s, recomputed %s", ErrHashMismatch, j, id, stored, computed)}
}
