package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"elicense/internal/ledger/tlog"
)

// ErrDiverged means a copy's target holds a log that is not a prefix of
// the source's: another origin, entry format, root or checkpoint.
var ErrDiverged = errors.New("ledger: the target holds another log")

// CopyOptions tune Copy.
type CopyOptions struct {
	// Batch is how many entries each Write carries; zero means 4096.
	Batch int
	// Progress, if set, is called after each Write with the target's
	// size and the source's.
	Progress func(done, total uint64)
	// AfterWrite, if set, is called after each Write; an error stops the
	// copy (tests interrupt it here).
	AfterWrite func() error
}

// CopyReport is what Copy did.
type CopyReport struct {
	// From is the target's size when Copy started; Size the source's.
	From, Size uint64
	// Checkpoints is how many signed checkpoints Copy wrote.
	Checkpoints int
}

// Copy copies the log in src (entries, stored hashes, signed checkpoints,
// origin, entry format, signing intent) into dst, through dst's Write
// without state changes, so dst can be another backend (moving a
// deployment to a database). dst must be empty or hold a prefix of src's
// log: the same origin and entry format, and the same root at its size
// recomputed from both sides' stored hashes; otherwise Copy fails with
// ErrDiverged and writes nothing. Copying resumes from dst's size, so a
// copy interrupted is finished by calling Copy again, and a finished one
// is a no-op. Nothing else may write to either store meanwhile.
//
// Copy does not prove the copy: call VerifyCopy, and Fsck on dst.
func Copy[T any](ctx context.Context, dst Store[T], src Reader, o CopyOptions) (*CopyReport, error) {
	if o.Batch <= 0 {
		o.Batch = 4096
	}
	sst, err := src.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger: copy: the source: %w", err)
	}
	dst0, err := dst.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger: copy: the target: %w", err)
	}
	if err := checkPrefix(ctx, dst, dst0, src, sst); err != nil {
		return nil, err
	}
	// The source's checkpoints the target lacks, and those it holds,
	// which must be the same notes.
	var missing []StoredCheckpoint
	have, err := checkpointMap(ctx, dst)
	if err != nil {
		return nil, fmt.Errorf("ledger: copy: the target: %w", err)
	}
	err = src.Checkpoints(ctx, 0, func(size uint64, note []byte) error {
		if size > sst.Size {
			return fmt.Errorf("%w: the source holds a checkpoint of size %d beyond its %d entries", ErrCorruptStore, size, sst.Size)
		}
		if got, ok := have[size]; !ok {
			missing = append(missing, StoredCheckpoint{Size: size, Note: bytes.Clone(note)})
		} else if !bytes.Equal(got, note) {
			return fmt.Errorf("%w: its checkpoint of size %d differs from the source's", ErrDiverged, size)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: copy: %w", err)
	}
	c := &copier[T]{ctx: ctx, dst: dst, src: src, st: sst, size: dst0.Size, missing: missing, o: o}
	if dst0.Intent != nil {
		c.intent = *dst0.Intent
	}
	rep := &CopyReport{From: dst0.Size, Size: sst.Size}
	if err := c.run(); err != nil {
		return rep, err
	}
	rep.Checkpoints = c.wroteCPs
	return rep, nil
}

// checkPrefix checks that dst (state dst0) holds a prefix of src's log.
func checkPrefix(ctx context.Context, dst Reader, dst0 State, src Reader, sst State) error {
	switch {
	case dst0.Origin != "" && dst0.Origin != sst.Origin:
		return fmt.Errorf("%w: its origin is %q, the source's %q", ErrDiverged, dst0.Origin, sst.Origin)
	case dst0.EntryFormat != "" && dst0.EntryFormat != sst.EntryFormat:
		return fmt.Errorf("%w: its entry format is %q, the source's %q", ErrDiverged, dst0.EntryFormat, sst.EntryFormat)
	case dst0.Size > sst.Size:
		return fmt.Errorf("%w: it holds %d entries, more than the source's %d (was it served since?)", ErrDiverged, dst0.Size, sst.Size)
	case dst0.Size == 0:
		return nil
	}
	a, err := StoredRoot(ctx, dst, dst0.Size)
	if err != nil {
		return fmt.Errorf("ledger: copy: the target's root: %w", err)
	}
	b, err := StoredRoot(ctx, src, dst0.Size)
	if err != nil {
		return fmt.Errorf("ledger: copy: the source's root: %w", err)
	}
	if a != b {
		return fmt.Errorf("%w: its root at size %d is %s, the source's %s", ErrDiverged, dst0.Size, a, b)
	}
	return nil
}

// checkpointMap reads every checkpoint r holds, by size.
func checkpointMap(ctx context.Context, r Reader) (map[uint64][]byte, error) {
	m := map[uint64][]byte{}
	err := r.Checkpoints(ctx, 0, func(size uint64, note []byte) error {
		m[size] = bytes.Clone(note)
		return nil
	})
	return m, err
}

// copier is one run of Copy.
type copier[T any] struct {
	ctx      context.Context
	dst      Store[T]
	src      Reader
	st       State // the source's
	size     uint64
	missing  []StoredCheckpoint // in increasing size
	intent   Intent             // the target's
	o        CopyOptions
	wroteCPs int
}

// run writes batches of entries, each ending at the next missing
// checkpoint's size (which it carries) or after o.Batch entries; a
// checkpoint at or below the target's size goes in a batch of no entries.
// The last batch carries the source's signing intent.
func (c *copier[T]) run() error {
	for {
		var cp *StoredCheckpoint
		end := min(c.size+uint64(c.o.Batch), c.st.Size)
		if len(c.missing) > 0 && c.missing[0].Size <= end {
			end, cp = max(c.missing[0].Size, c.size), &c.missing[0]
		}
		last := end == c.st.Size && (len(c.missing) == 0 || (cp != nil && len(c.missing) == 1))
		if end == c.size && cp == nil && (c.st.Intent == nil || *c.st.Intent == c.intent) {
			return nil // nothing left to write
		}
		b, err := c.batch(end, cp, last)
		if err != nil {
			return err
		}
		if err := c.dst.Write(c.ctx, b, nil); err != nil {
			return fmt.Errorf("ledger: copy: writing entries %d to %d: %w", c.size, end, err)
		}
		c.size = end
		if cp != nil {
			c.missing, c.wroteCPs = c.missing[1:], c.wroteCPs+1
		}
		if b.Intent != nil {
			c.intent = *b.Intent
		}
		if c.o.Progress != nil {
			c.o.Progress(c.size, c.st.Size)
		}
		if c.o.AfterWrite != nil {
			if err := c.o.AfterWrite(); err != nil {
				return err
			}
		}
	}
}

// batch reads the source's entries [c.size, end) and their stored hashes.
func (c *copier[T]) batch(end uint64, cp *StoredCheckpoint, last bool) (*Batch, error) {
	b := &Batch{Start: c.size, Origin: c.st.Origin, EntryFormat: c.st.EntryFormat, Checkpoint: cp}
	if last {
		b.Intent = c.st.Intent
	}
	if end == c.size {
		return b, nil
	}
	err := c.src.Entries(c.ctx, c.size, end, func(_ uint64, e []byte) error {
		b.Entries = append(b.Entries, bytes.Clone(e))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: copy: reading entries %d to %d: %w", c.size, end, err)
	}
	lo, hi := tlog.StoredHashCount(c.size), tlog.StoredHashCount(end)
	idx := make([]uint64, 0, hi-lo)
	for i := lo; i < hi; i++ {
		idx = append(idx, i)
	}
	b.Hashes = make([]tlog.Hash, len(idx))
	if err := c.src.Hashes(c.ctx, idx, b.Hashes); err != nil {
		return nil, fmt.Errorf("ledger: copy: reading the hashes of entries %d to %d: %w", c.size, end, err)
	}
	return b, nil
}

// StoredRoot is the root of the first size entries of the log in r,
// computed from its stored hashes (Fsck recomputes them from the
// entries).
func StoredRoot(ctx context.Context, r Reader, size uint64) (tlog.Hash, error) {
	return tlog.SM3.RootAt(size, nodeReader{ctx, r})
}

// VerifyCopy proves that dst holds the log src holds: the same size,
// origin, entry format and signing intent, the same root recomputed from
// each side's stored hashes, and every one of src's checkpoints, the
// same note (dst may hold more, which Fsck checks). It returns the root.
func VerifyCopy(ctx context.Context, dst, src Reader) (tlog.Hash, error) {
	a, err := dst.State(ctx)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("ledger: the target: %w", err)
	}
	b, err := src.State(ctx)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("ledger: the source: %w", err)
	}
	switch {
	case a.Size != b.Size:
		return tlog.Hash{}, fmt.Errorf("%w: the target holds %d entries, the source %d", ErrDiverged, a.Size, b.Size)
	case a.Origin != b.Origin || a.EntryFormat != b.EntryFormat:
		return tlog.Hash{}, fmt.Errorf("%w: origin and format %q %q, the source's %q %q", ErrDiverged, a.Origin, a.EntryFormat, b.Origin, b.EntryFormat)
	case (a.Intent == nil) != (b.Intent == nil) || (a.Intent != nil && *a.Intent != *b.Intent):
		return tlog.Hash{}, fmt.Errorf("%w: the signing intents differ", ErrDiverged)
	}
	ra, err := StoredRoot(ctx, dst, a.Size)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("ledger: the target's root: %w", err)
	}
	rb, err := StoredRoot(ctx, src, b.Size)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("ledger: the source's root: %w", err)
	}
	if ra != rb {
		return tlog.Hash{}, fmt.Errorf("%w: the target's root is %s, the source's %s", ErrDiverged, ra, rb)
	}
	have, err := checkpointMap(ctx, dst)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("ledger: the target: %w", err)
	}
	err = src.Checkpoints(ctx, 0, func(size uint64, note []byte) error {
		if !bytes.Equal(have[size], note) {
			return fmt.Errorf("%w: the source's checkpoint of size %d is not in the target", ErrDiverged, size)
		}
		return nil
	})
	return ra, err
}
