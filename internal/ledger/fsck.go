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
	// Entries is how many entries were decoded and rehashed.
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

// fsckChunk is how many entries Fsck reads per store call.
const fsckChunk = 8192

// Fsck checks a whole log: it decodes every entry, recomputes every leaf
// and interior hash and compares each with the stored one, recomputes
// the root, and checks every stored checkpoint (well-formed, right
// origin, root equal to the recomputed root at its size, signature by v
// unless v is nil, and consistent with the previous checkpoint by a proof
// served from the store). It stops at the first problem and returns it as
// an *IndexError naming the entry index (or checkpoint tree size); the
// report says how far it got. progress, if not nil, is called after each
// chunk of entries.
//
// Fsck may run on the store of an open Log: it checks the prefix that
// existed when it started.
func Fsck(ctx context.Context, s Store, v *tlog.NoteVerifier, progress func(done, total uint64)) (rep *FsckReport, err error) {
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
	h := tlog.SM3
	nodes := nodeReader{ctx, s}

	// Checkpoints (and the intent) are checked when the scan reaches
	// their size; they are read a page at a time.
	type mark struct {
		size   uint64
		note   []byte // nil for the intent
		intent *Intent
		root   tlog.Hash // recomputed root at size
	}
	var queue []mark
	nextFrom, exhausted := uint64(0), false
	// fillTo queues every checkpoint of size up to end (and a few more).
	// It is never called inside another store call, so read transactions
	// do not nest.
	fillTo := func(end uint64) error {
		for !exhausted && (len(queue) == 0 || queue[len(queue)-1].size <= end) {
			n := 0
			err := s.Checkpoints(ctx, nextFrom, func(size uint64, note []byte) error {
				if n == 256 {
					return ErrStop
				}
				queue = append(queue, mark{size: size, note: bytes.Clone(note)})
				nextFrom = size + 1
				n++
				return nil
			})
			if err != nil {
				return err
			}
			if n < 256 {
				exhausted = true
			}
		}
		return nil
	}
	intent := st.Intent
	var prev *tlog.Checkpoint

	check := func(m mark) error {
		if m.intent != nil {
			if m.root != m.intent.Root {
				return &IndexError{Index: m.size, What: "checkpoint", Err: fmt.Errorf("%w: recorded signing intent has root %s, entries give %s", ErrInconsistent, m.intent.Root, m.root)}
			}
			return nil
		}
		bad := func(err error) error { return &IndexError{Index: m.size, What: "checkpoint", Err: err} }
		n, err := tlog.ParseNote(m.note)
		if err != nil {
			return bad(err)
		}
		cp, err := tlog.ParseCheckpoint(n.Text)
		if err != nil {
			return bad(err)
		}
		if cp.Size != m.size {
			return bad(fmt.Errorf("%w: stored under tree size %d but says %d", ErrBadCheckpoint, m.size, cp.Size))
		}
		if cp.Origin != st.Origin {
			return bad(fmt.Errorf("%w: origin %q, store has %q", ErrBadCheckpoint, cp.Origin, st.Origin))
		}
		if cp.Root != m.root {
			return bad(fmt.Errorf("%w: signed root %s, entries give %s", ErrInconsistent, cp.Root, m.root))
		}
		if v != nil {
			if _, _, err := tlog.OpenNote(m.note, v); err != nil {
				return bad(err)
			}
		}
		if prev != nil {
			proof, err := h.ConsistencyProof(prev.Size, cp.Size, nodes)
			if err != nil {
				return bad(err)
			}
			if err := h.VerifyConsistency(prev.Size, cp.Size, proof, prev.Root, cp.Root); err != nil {
				return bad(fmt.Errorf("%w: with the checkpoint at %d: %v", ErrInconsistent, prev.Size, err))
			}
		}
		prev = &cp
		rep.Checkpoints++
		rep.Latest = prev
		return nil
	}

	var (
		f        tlog.Frontier
		computed []tlog.Hash
		stored   []tlog.Hash
		idx      []uint64
		reached  []mark
	)
	// takeMarks moves the checkpoints (and intent) at the current size
	// to reached, with the current root.
	takeMarks := func() error {
		size := f.Size()
		for len(queue) > 0 && queue[0].size <= size {
			m := queue[0]
			queue = queue[1:]
			if m.size < size {
				return &IndexError{Index: m.size, What: "checkpoint", Err: fmt.Errorf("%w: out of order", ErrCorruptStore)}
			}
			m.root = f.Root(h)
			reached = append(reached, m)
		}
		if intent != nil && intent.Size == size {
			reached = append(reached, mark{size: size, intent: intent, root: f.Root(h)})
		}
		return nil
	}
	if err := fillTo(0); err != nil {
		return rep, err
	}
	if err := takeMarks(); err != nil {
		return rep, err
	}
	for start := uint64(0); start < st.Size || len(reached) > 0; start += fsckChunk {
		end := min(start+fsckChunk, st.Size)
		computed = computed[:0]
		if err := fillTo(end); err != nil {
			return rep, err
		}
		if start < end {
			err := s.Entries(ctx, start, end, func(i uint64, b []byte) error {
				if _, err := tlog.DecodeEntry(b); err != nil {
					return &IndexError{Index: i, What: "entry", Err: err}
				}
				computed = f.Append(h, h.HashLeaf(b), computed)
				rep.Entries++
				return takeMarks()
			})
			if err != nil {
				return rep, err
			}
			first := tlog.StoredHashCount(start)
			idx = idx[:0]
			for j := range computed {
				idx = append(idx, first+uint64(j))
			}
			stored = append(stored[:0], make([]tlog.Hash, len(idx))...)
			if err := s.Hashes(ctx, idx, stored); err != nil {
				return rep, err
			}
			for j := range computed {
				if computed[j] != stored[j] {
					return rep, hashMismatch(first+uint64(j), start, computed[j], stored[j])
				}
			}
		}
		// The stored hashes up to end are now known good, so proofs
		// served from them can be used for the checkpoints reached.
		for _, m := range reached {
			if err := check(m); err != nil {
				return rep, err
			}
		}
		reached = reached[:0]
		if progress != nil {
			progress(end, st.Size)
		}
		if end >= st.Size {
			break
		}
	}
	rep.Root = f.Root(h)
	if err := fillTo(st.Size); err != nil {
		return rep, err
	}
	if len(queue) > 0 || (intent != nil && intent.Size > st.Size) {
		// Beyond the entries: either the log grew while Fsck ran (a live
		// store), or entries the log had signed were lost.
		now, err := s.State(ctx)
		if err != nil {
			return rep, err
		}
		if len(queue) > 0 && queue[len(queue)-1].size > now.Size {
			return rep, &IndexError{Index: queue[len(queue)-1].size, What: "checkpoint", Err: fmt.Errorf("%w: signed at a tree size beyond the %d entries stored", ErrInconsistent, now.Size)}
		}
		if intent != nil && intent.Size > now.Size {
			return rep, &IndexError{Index: intent.Size, What: "checkpoint", Err: fmt.Errorf("%w: signing intent beyond the %d entries stored", ErrInconsistent, now.Size)}
		}
	}
	if intent != nil && (rep.Latest == nil || intent.Size > rep.Latest.Size) {
		rep.Unsigned = intent
	}
	return rep, nil
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

// FsckFile runs Fsck on a bbolt ledger file no process has open for
// writing (it takes a shared lock).
func FsckFile(ctx context.Context, path string, v *tlog.NoteVerifier, progress func(done, total uint64)) (*FsckReport, error) {
	s, err := OpenBolt(path, &BoltOptions{ReadOnly: true})
	if err != nil {
		return &FsckReport{}, err
	}
	defer s.Close()
	return Fsck(ctx, s, v, progress)
}
