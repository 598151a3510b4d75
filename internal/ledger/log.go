package ledger

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"elicense/internal/ledger/tlog"
)

// Defaults for Options.
const (
	DefaultMaxBatch           = 4096
	DefaultCheckpointInterval = time.Second
	DefaultMaxWait            = time.Millisecond
	DefaultLingerAfter        = 8
)

// Options configure Open.
type Options struct {
	// Origin is the checkpoint origin line, e.g. "ledger.elicense.example/v1".
	// Required; a store remembers the origin it was created with.
	Origin string
	// EntryFormat, if set, names the format of the entries the caller
	// appends (the log does not read them). A store records it with its
	// first write and Open refuses, with ErrEntryFormat, a store that
	// holds entries under another mark or under none (written before
	// marks existed), so a caller cannot mix formats in one log.
	EntryFormat string
	// Signer signs checkpoints: an SM2 crypto.Signer (file key, HSM, KMS).
	Signer crypto.Signer
	// SignerName is the note key name; empty means Origin, as
	// c2sp.org/tlog-checkpoint recommends.
	SignerName string
	// MaxBatch caps the entries written in one batch. Zero means
	// DefaultMaxBatch.
	MaxBatch int
	// MaxWait is the longest the sequencer lingers for more appends
	// after taking what is queued. It lingers only under load: the
	// previous batch held at least LingerAfter appends and the sequencer
	// has not been idle since for longer than a quarter of MaxWait (or a
	// millisecond), so a lone writer is not held back, even just after a
	// burst. It lingers
	// only until the batch is as large as the previous one, and stops as
	// soon as no append has come for a quarter of MaxWait. Zero means
	// DefaultMaxWait; negative, never linger.
	//
	// Why: without it a batch holds whatever arrived while the previous
	// one was being written; batch sizes swing, and each small batch pays
	// a commit's fixed cost (two fsyncs, the right-edge and branch pages
	// of every bucket touched) for few appends. Topping a batch up to the
	// previous size evens them out. Growing it further does not pay: with
	// a fixed wait, a few writers end up waiting for each other
	// (docs/performance.md has the figures).
	MaxWait time.Duration
	// LingerAfter is the size of the previous batch, in appends, from
	// which the sequencer lingers; zero means DefaultLingerAfter.
	LingerAfter int
	// CheckpointInterval is the longest a new entry waits to be covered
	// by a signed checkpoint, and the shortest time between two
	// checkpoints. Zero means DefaultCheckpointInterval; a negative value
	// signs after every batch.
	CheckpointInterval time.Duration
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
}

// SignedCheckpoint is a checkpoint and its signed note.
type SignedCheckpoint struct {
	tlog.Checkpoint
	Note []byte
}

// Log is an open ledger over a Store whose transactions the caller
// reaches as T. Its methods are safe for concurrent use.
type Log[T any] struct {
	store    Store[T]
	shared   SharedStore[T] // the store, when other processes append to it too
	origin   string
	format   string // Options.EntryFormat
	hasher   *tlog.TreeHasher
	signer   *tlog.NoteSigner
	maxBatch int
	maxWait  time.Duration
	lingerAt int // lingerAfter
	lastN    int // appends in the previous batch
	interval time.Duration
	log      *slog.Logger

	mu     sync.RWMutex // held for reading while sending to reqs
	closed bool
	reqs   chan *request[T]
	done   chan struct{}

	size      atomic.Uint64 // durable size
	cp        atomic.Pointer[SignedCheckpoint]
	failure   atomic.Pointer[error]
	refreshMu sync.Mutex    // sizeFor's looks at a shared store
	looks     atomic.Uint64 // twice the looks done, +1 while one runs

	// Owned by the sequencer goroutine (and Open, before it starts).
	frontier   tlog.Frontier
	lastSigned tlog.Checkpoint // the last tree head signed
	lastSignAt time.Time
	pending    *SignedCheckpoint // signed, not yet durable
	entryBuf   [][]byte
	hashBuf    []tlog.Hash
	leading    bool        // shared: this process signs checkpoints
	leadAt     time.Time   // shared: when leading was last checked
	leads      atomic.Bool // leading, for other goroutines (Leads)
}

type request[T any] struct {
	entries [][]byte
	leaves  []tlog.Hash
	apply   func(tx T, first uint64) error // nil for a plain append
	first   uint64
	err     error
	done    chan struct{}
}

// Open opens the log kept in s (an empty store starts a new log). It
// checks the stored tree against the last signed checkpoint, completes a
// checkpoint whose signing was interrupted, signs a checkpoint for
// entries appended since, and starts the sequencer. The Log does not
// close s: close the Log, then s.
func Open[T any](s Store[T], opts Options) (*Log[T], error) {
	if s == nil {
		return nil, errors.New("ledger: no store")
	}
	if opts.Origin == "" {
		return nil, errors.New("ledger: Options.Origin is required")
	}
	if opts.Signer == nil {
		return nil, errors.New("ledger: Options.Signer is required")
	}
	name := opts.SignerName
	if name == "" {
		name = opts.Origin
	}
	signer, err := tlog.NewNoteSigner(name, opts.Signer)
	if err != nil {
		return nil, fmt.Errorf("ledger: checkpoint signer: %w", err)
	}
	l := &Log[T]{
		store:    s,
		origin:   opts.Origin,
		format:   opts.EntryFormat,
		hasher:   tlog.SM3,
		signer:   signer,
		maxBatch: opts.MaxBatch,
		maxWait:  opts.MaxWait,
		lingerAt: opts.LingerAfter,
		interval: opts.CheckpointInterval,
		log:      opts.Logger,
		done:     make(chan struct{}),
	}
	if l.maxBatch <= 0 {
		l.maxBatch = DefaultMaxBatch
	}
	if l.interval == 0 {
		l.interval = DefaultCheckpointInterval
	}
	if l.maxWait == 0 {
		l.maxWait = DefaultMaxWait
	}
	if l.lingerAt <= 0 {
		l.lingerAt = DefaultLingerAfter
	}
	if l.log == nil {
		l.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l.shared, _ = s.(SharedStore[T])
	l.reqs = make(chan *request[T], l.maxBatch)
	if err := l.recover(context.Background()); err != nil {
		return nil, err
	}
	go l.run()
	return l, nil
}

// nodeReader adapts a Store to tlog.NodeReader.
type nodeReader struct {
	ctx context.Context
	s   Reader
}

func (r nodeReader) ReadNodes(ids []tlog.NodeID) ([]tlog.Hash, error) {
	idx := make([]uint64, len(ids))
	for i, id := range ids {
		idx[i] = tlog.StoredIndex(id)
	}
	out := make([]tlog.Hash, len(ids))
	if err := r.s.Hashes(r.ctx, idx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// recover brings the in-memory state in line with the store (see Open).
func (l *Log[T]) recover(ctx context.Context) error {
	st, err := l.store.State(ctx)
	if err != nil {
		return err
	}
	if st.Origin != "" && st.Origin != l.origin {
		return fmt.Errorf("%w: store has %q, options say %q", ErrOrigin, st.Origin, l.origin)
	}
	if l.format != "" && st.EntryFormat != l.format && (st.EntryFormat != "" || st.Size > 0) {
		have := st.EntryFormat
		if have == "" {
			have = "none (a log written before entry-format marks)"
		}
		return &EntryFormatError{Have: have, Want: l.format, Size: st.Size}
	}
	if l.format != "" && st.EntryFormat == "" {
		// An empty log made before marks existed: mark it now.
		if err := l.writeMeta(ctx, &Batch{Start: st.Size, Origin: l.origin, EntryFormat: l.format}); err != nil {
			return err
		}
	}
	nodes := nodeReader{ctx, l.store}
	hs, err := nodes.ReadNodes(tlog.FrontierNodes(st.Size))
	if err != nil {
		return fmt.Errorf("ledger: loading the tree edge: %w", err)
	}
	if l.frontier, err = tlog.NewFrontier(st.Size, hs); err != nil {
		return err
	}
	l.size.Store(st.Size)
	root := l.frontier.Root(l.hasher)

	if st.Checkpoint != nil {
		cp, err := l.checkFollowed(ctx, st.CheckpointSize, st.Checkpoint)
		if err != nil {
			return err
		}
		if cp.Size > st.Size {
			return fmt.Errorf("%w: a checkpoint was signed at tree size %d but the store holds only %d entries", ErrInconsistent, cp.Size, st.Size)
		}
		proof, err := l.hasher.ConsistencyProof(cp.Size, st.Size, nodes)
		if err != nil {
			return err
		}
		if err := l.hasher.VerifyConsistency(cp.Size, st.Size, proof, cp.Root, root); err != nil {
			return fmt.Errorf("%w: stored tree of size %d against checkpoint %d: %v", ErrInconsistent, st.Size, cp.Size, err)
		}
		l.lastSigned = cp
		l.cp.Store(&SignedCheckpoint{Checkpoint: cp, Note: st.Checkpoint})
	}
	if in := st.Intent; in != nil && (st.Checkpoint == nil || in.Size > l.lastSigned.Size) {
		// A checkpoint was about to be signed when the process stopped.
		if in.Size > st.Size {
			return fmt.Errorf("%w: an intent to sign tree size %d was recorded but the store holds %d entries", ErrInconsistent, in.Size, st.Size)
		}
		if r, err := l.hasher.RootAt(in.Size, nodes); err != nil {
			return err
		} else if r != in.Root {
			return fmt.Errorf("%w: the intent to sign tree size %d has root %s, the stored tree %s", ErrInconsistent, in.Size, in.Root, r)
		}
		l.log.Info("ledger: completing an interrupted checkpoint", "size", in.Size)
		if err := l.checkpointNow(ctx, in.Size, in.Root, false); err != nil {
			return err
		}
	}
	if l.cp.Load() == nil || st.Size > l.lastSigned.Size {
		if err := l.checkpointNow(ctx, st.Size, root, true); err != nil {
			return err
		}
	}
	return nil
}

// checkStoredCheckpoint parses a checkpoint from the store and checks its
// signature with the configured key; a note by another key (the key was
// rotated) is accepted with a warning, since consistency is checked anyway.
func (l *Log[T]) checkStoredCheckpoint(size uint64, note []byte) (tlog.Checkpoint, error) {
	n, err := tlog.ParseNote(note)
	if err != nil {
		return tlog.Checkpoint{}, &IndexError{Index: size, What: "checkpoint", Err: err}
	}
	cp, err := tlog.ParseCheckpoint(n.Text)
	if err != nil {
		return cp, &IndexError{Index: size, What: "checkpoint", Err: err}
	}
	if cp.Origin != l.origin || cp.Size != size {
		return cp, &IndexError{Index: size, What: "checkpoint", Err: fmt.Errorf("%w: stored under size %d with origin %q, contains size %d origin %q", ErrBadCheckpoint, size, l.origin, cp.Size, cp.Origin)}
	}
	if _, _, err := tlog.OpenNote(note, l.signer.Verifier()); err != nil {
		if !errors.Is(err, tlog.ErrNoKnownSignature) {
			return cp, &IndexError{Index: size, What: "checkpoint", Err: err}
		}
		l.log.Warn("ledger: the last checkpoint is not signed by the configured key", "size", size, "err", err)
	}
	return cp, nil
}

// checkpointNow records an intent (if record), signs and stores a
// checkpoint, and publishes it. Used outside the batch path.
func (l *Log[T]) checkpointNow(ctx context.Context, size uint64, root tlog.Hash, record bool) error {
	if record {
		if err := l.writeMeta(ctx, &Batch{Origin: l.origin, EntryFormat: l.format, Intent: &Intent{size, root}}); err != nil {
			return err
		}
	}
	sc, err := l.signCheckpoint(ctx, size, root)
	if err != nil {
		return err
	}
	if err := l.writeMeta(ctx, &Batch{Origin: l.origin, EntryFormat: l.format, Checkpoint: sc.stored()}); err != nil {
		return err
	}
	l.publish(sc)
	return nil
}

// signCheckpoint signs the tree head (size, root) after checking it is
// consistent with the last tree head this log signed: same root at the
// same size, and a consistency proof from the stored tree that verifies
// against both roots for a larger size. It refuses (ErrInconsistent)
// otherwise. The caller must have recorded an Intent for it.
func (l *Log[T]) signCheckpoint(ctx context.Context, size uint64, root tlog.Hash) (*SignedCheckpoint, error) {
	last := l.lastSigned
	if l.cp.Load() != nil {
		if size < last.Size {
			return nil, fmt.Errorf("%w: refusing to sign tree size %d after signing size %d", ErrInconsistent, size, last.Size)
		}
		proof, err := l.hasher.ConsistencyProof(last.Size, size, nodeReader{ctx, l.store})
		if err != nil {
			return nil, fmt.Errorf("ledger: consistency proof for signing: %w", err)
		}
		if err := l.hasher.VerifyConsistency(last.Size, size, proof, last.Root, root); err != nil {
			return nil, fmt.Errorf("%w: refusing to sign tree size %d root %s: %v", ErrInconsistent, size, root, err)
		}
	}
	cp := tlog.Checkpoint{Origin: l.origin, Size: size, Root: root}
	note, err := tlog.SignCheckpoint(cp, l.signer)
	if err != nil {
		return nil, err
	}
	l.lastSigned = cp
	l.lastSignAt = time.Now()
	return &SignedCheckpoint{Checkpoint: cp, Note: note}, nil
}

func (sc *SignedCheckpoint) stored() *StoredCheckpoint {
	if sc == nil {
		return nil
	}
	return &StoredCheckpoint{Size: sc.Size, Note: sc.Note}
}

// publish makes a durable signed checkpoint the one Checkpoint returns.
// Safe from any goroutine (a shared store's refresh publishes too).
func (l *Log[T]) publish(sc *SignedCheckpoint) {
	for {
		cur := l.cp.Load()
		if cur != nil && cur.Size > sc.Size || l.cp.CompareAndSwap(cur, sc) {
			return
		}
	}
}

// Append adds entry e to the log and returns its index once the batch
// holding it is durable. The log does not read e; it must be 1 to
// tlog.MaxEntryLen bytes (ErrInvalidEntry otherwise). If ctx ends first,
// Append returns ctx.Err() and the entry may or may not have been
// appended.
func (l *Log[T]) Append(ctx context.Context, e []byte) (uint64, error) {
	if err := tlog.CheckEntryLen(e); err != nil {
		return 0, err
	}
	b := bytes.Clone(e)
	r := &request[T]{entries: [][]byte{b}, leaves: []tlog.Hash{l.hasher.HashLeaf(b)}, done: make(chan struct{})}
	return l.submit(ctx, r)
}

// AppendAll adds entries as one contiguous run and returns the index of
// the first, once all are durable (bulk import).
func (l *Log[T]) AppendAll(ctx context.Context, es [][]byte) (uint64, error) {
	return l.AppendWith(ctx, es, nil)
}

// AppendWith is AppendAll that also runs fn inside the store's
// transaction that makes the entries durable, with the backend's handle
// on it and the index of the first entry: the caller's state change and
// its ledger entries commit together or not at all, under the batch's one
// commit, and AppendWith returns only once both are durable. If fn
// fails, nothing of this call is written and AppendWith returns fn's
// error as an *ApplyError; appends batched with it are written without
// it. fn runs on the log's writer, which every append waits for: it must
// only use tx (no other I/O, no waiting) and should do little more than
// copy bytes prepared beforehand. A nil fn is AppendAll. The log keeps
// es's slices until they are written: the caller must not change them.
func (l *Log[T]) AppendWith(ctx context.Context, es [][]byte, fn func(tx T, first uint64) error) (uint64, error) {
	if len(es) == 0 {
		return 0, errors.New("ledger: AppendAll of nothing")
	}
	r := &request[T]{entries: make([][]byte, len(es)), leaves: make([]tlog.Hash, len(es)), apply: fn, done: make(chan struct{})}
	for i, b := range es {
		if err := tlog.CheckEntryLen(b); err != nil {
			return 0, fmt.Errorf("entry %d: %w", i, err)
		}
		r.entries[i], r.leaves[i] = b, l.hasher.HashLeaf(b)
	}
	return l.submit(ctx, r)
}

func (l *Log[T]) submit(ctx context.Context, r *request[T]) (uint64, error) {
	if err := l.enqueue(ctx, r); err != nil {
		return 0, err
	}
	select {
	case <-r.done:
		return r.first, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (l *Log[T]) enqueue(ctx context.Context, r *request[T]) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	if err := l.failed(); err != nil {
		return err
	}
	select {
	case l.reqs <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Log[T]) failed() error {
	if p := l.failure.Load(); p != nil {
		return *p
	}
	return nil
}

func (l *Log[T]) fail(err error) {
	err = fmt.Errorf("%w: %w", ErrFailed, err)
	l.failure.CompareAndSwap(nil, &err)
	l.log.Error("ledger: stopped", "err", err)
}

// run is the sequencer.
func (l *Log[T]) run() {
	defer close(l.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	if l.shared != nil {
		// Other processes append too: look at the store and sign on a
		// clock, not only after this process's batches.
		timer.Reset(l.followEvery())
	}
	var batch []*request[T]
	idle := time.Now() // since the last batch was written
	waiting := false   // appends were queued when it was
	for {
		closing := false
		batch = batch[:0]
		select {
		case r, ok := <-l.reqs:
			if !ok {
				l.shutdown()
				return
			}
			batch = append(batch, r)
		case <-timer.C:
			l.checkpointDue()
			if l.shared != nil {
				timer.Reset(l.followEvery())
			}
			continue
		}
		if !waiting && time.Since(idle) > min(l.maxWait/4, time.Millisecond) {
			// Idle longer than the linger's gap (or a millisecond): the
			// load that made the last batch is gone; do not hold this
			// append for it. Appends that queued while the last batch
			// was written mean the load is still there, however long
			// the sequencer took to come back for them.
			l.lastN = 0
		}
		n := len(batch[0].entries)
		// Take whatever is queued, without waiting.
	drain:
		for n < l.maxBatch {
			select {
			case r, ok := <-l.reqs:
				if !ok {
					closing = true
					break drain
				}
				batch = append(batch, r)
				n += len(r.entries)
			default:
				break drain
			}
		}
		// Under load, linger until the batch is as large as the last.
		if l.maxWait > 0 && n < l.maxBatch && !closing && l.lastN >= l.lingerAt && len(batch) < l.lastN {
			deadline := time.Now().Add(l.maxWait)
			gap := l.maxWait / 4
			linger := time.NewTimer(gap)
		wait:
			for n < l.maxBatch && len(batch) < l.lastN {
				select {
				case r, ok := <-l.reqs:
					if !ok {
						closing = true
						break wait
					}
					batch = append(batch, r)
					n += len(r.entries)
					d := min(gap, time.Until(deadline))
					if d <= 0 {
						break wait
					}
					linger.Reset(d)
				case <-linger.C:
					break wait
				}
			}
			linger.Stop()
		}
		l.lastN = len(batch)
		l.commit(batch)
		idle, waiting = time.Now(), len(l.reqs) > 0
		clear(batch)
		if closing {
			l.shutdown()
			return
		}
		if l.shared == nil && l.interval > 0 && l.size.Load() > l.lastSigned.Size && l.pending == nil {
			timer.Reset(max(time.Until(l.lastSignAt.Add(l.interval)), 0))
		}
	}
}

// commit writes one batch and acknowledges its requests.
func (l *Log[T]) commit(batch []*request[T]) {
	ctx := context.Background()
	if err := l.failed(); err != nil {
		for _, r := range batch {
			r.err = err
			close(r.done)
		}
		return
	}
	var (
		f      tlog.Frontier
		root   tlog.Hash
		sign   bool
		failed *request[T] // the caller whose change failed, if one did
	)
	lead := l.signs() // asked outside the store's lock: it may do I/O
	// build lays the batch out on a tree of size entries: this log's own,
	// or, over a shared store, whatever the other processes left.
	build := func(size uint64, r Reader) (*Batch, error) {
		var err error
		if f, err = l.frontierAt(ctx, size, r); err != nil {
			return nil, err
		}
		start := f.Size()
		entries, hashes := l.entryBuf[:0], l.hashBuf[:0]
		next := start
		for _, r := range batch {
			r.first = next
			next += uint64(len(r.entries))
			entries = append(entries, r.entries...)
			for _, h := range r.leaves {
				hashes = f.Append(l.hasher, h, hashes)
			}
		}
		l.entryBuf, l.hashBuf = entries, hashes
		b := &Batch{Start: start, Origin: l.origin, EntryFormat: l.format, Entries: entries, Hashes: hashes, Checkpoint: l.pending.stored()}
		root = f.Root(l.hasher)
		sign = lead && (l.interval < 0 || time.Since(l.lastSignAt) >= l.interval)
		if sign {
			b.Intent = &Intent{Size: f.Size(), Root: root}
		}
		return b, nil
	}
	var apply func(T) error
	for _, r := range batch {
		if r.apply != nil {
			apply = func(tx T) error {
				for _, r := range batch {
					if r.apply == nil {
						continue
					}
					if err := r.apply(tx, r.first); err != nil {
						failed = r
						return &ApplyError{Err: err}
					}
				}
				return nil
			}
			break
		}
	}
	var err error
	if l.shared != nil {
		err = l.shared.WriteLocked(ctx, build, apply)
	} else if b, berr := build(l.frontier.Size(), nil); berr != nil {
		err = berr
	} else {
		err = l.store.Write(ctx, b, apply)
	}
	clear(l.entryBuf)
	l.entryBuf, l.hashBuf = l.entryBuf[:0], l.hashBuf[:0]
	if err != nil {
		l.commitFailed(batch, failed, err)
		return
	}
	l.frontier = f
	l.raiseSize(f.Size())
	for _, r := range batch {
		close(r.done)
	}
	if l.pending != nil {
		l.publish(l.pending)
		l.pending = nil
	}
	if sign {
		sc, err := l.signCheckpoint(ctx, f.Size(), root)
		if err != nil {
			l.signFailed(err)
			return
		}
		l.pending = sc
	}
	if l.pending != nil && len(l.reqs) == 0 {
		// Nothing queued to carry the signature: store it on its own.
		l.flushPending(ctx)
	}
}

// commitFailed answers a batch the store did not write. One caller's
// change that failed (or that the store refused, naming its entry) fails
// alone and the others are written again without it. Any other failure
// fails the batch; it stops the log unless the store is shared and the
// failure is not the log's own (a database that went away): the next
// batch reads the head again, so nothing this process holds is stale.
func (l *Log[T]) commitFailed(batch []*request[T], failed *request[T], err error) {
	if re := (*RejectedError)(nil); failed == nil && errors.As(err, &re) {
		for _, r := range batch {
			if re.Index >= r.first && re.Index-r.first < uint64(len(r.entries)) {
				failed = r
			}
		}
		if failed == nil {
			l.log.Error("ledger: the store refused a change outside its batch", "index", re.Index, "err", err)
		}
	} else if ae := (*ApplyError)(nil); failed != nil {
		if errors.As(err, &ae) {
			err = ae
		} else {
			failed = nil
		}
	}
	if failed != nil {
		failed.err = err
		close(failed.done)
		rest := make([]*request[T], 0, len(batch)-1)
		for _, r := range batch {
			if r != failed {
				rest = append(rest, r)
			}
		}
		if len(rest) > 0 {
			l.commit(rest)
		}
		return
	}
	if l.shared == nil || fatal(err) {
		l.fail(err)
		err = l.failed()
	} else {
		l.log.Warn("ledger: a batch was not written; appends carry on", "appends", len(batch), "err", err)
	}
	for _, r := range batch {
		r.err = err
		close(r.done)
	}
}

// fatal reports whether a write failure means the log or its store
// cannot be trusted any more, as opposed to a database that went away.
func fatal(err error) bool {
	for _, e := range []error{ErrInconsistent, ErrCorruptStore, ErrOrigin, ErrEntryFormat, ErrHashMismatch} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// frontierAt is the tree's right edge at size entries: the log's own, or
// read through r (inside the shared store's transaction) when other
// processes appended since.
func (l *Log[T]) frontierAt(ctx context.Context, size uint64, r Reader) (tlog.Frontier, error) {
	have := l.frontier.Size()
	switch {
	case size == have:
		return l.frontier.Clone(), nil
	case size < have || r == nil:
		return tlog.Frontier{}, fmt.Errorf("%w: the store holds %d entries, this log wrote %d", ErrInconsistent, size, have)
	}
	hs, err := nodeReader{ctx, r}.ReadNodes(tlog.FrontierNodes(size))
	if err != nil {
		return tlog.Frontier{}, fmt.Errorf("ledger: loading the tree edge other writers left: %w", err)
	}
	return tlog.NewFrontier(size, hs)
}

// writeMeta writes a batch of no entries (an intent, a checkpoint, a
// mark) at the store's current size.
func (l *Log[T]) writeMeta(ctx context.Context, b *Batch) error {
	if l.shared == nil {
		b.Start = l.frontier.Size()
		return l.store.Write(ctx, b, nil)
	}
	return l.shared.WriteLocked(ctx, func(size uint64, _ Reader) (*Batch, error) {
		b.Start = size
		return b, nil
	}, nil)
}

// writeFailed is commitFailed for a write that carried no appends.
func (l *Log[T]) writeFailed(err error) {
	if l.shared == nil || fatal(err) {
		l.fail(err)
		return
	}
	l.log.Warn("ledger: a checkpoint was not stored; will retry", "err", err)
}

// signs reports whether this process signs checkpoints: always, unless
// the store is shared, where the leader does (SharedStore.Lead, asked
// at most twice an interval).
func (l *Log[T]) signs() bool {
	if l.shared == nil {
		return true
	}
	if time.Since(l.leadAt) >= l.followEvery() {
		lead, err := l.shared.Lead(context.Background())
		if err != nil {
			l.log.Warn("ledger: cannot tell who leads; not signing", "err", err)
		}
		if lead && !l.leading {
			l.log.Info("ledger: this process now signs the checkpoints")
		}
		l.leading, l.leadAt = lead && err == nil, time.Now()
		l.leads.Store(l.leading)
	}
	return l.leading
}

// Leads reports whether this process signs the log's checkpoints: always
// over a store of its own; over a shared store, while it leads (as last
// seen, at most half a CheckpointInterval ago). Work one process should
// do for all, such as a static publication, follows it.
func (l *Log[T]) Leads() bool { return l.shared == nil || l.leads.Load() }

// followEvery is how often a log over a shared store looks at what the
// other processes appended and signed.
func (l *Log[T]) followEvery() time.Duration {
	if l.interval <= 0 {
		return 100 * time.Millisecond
	}
	return max(l.interval/2, 10*time.Millisecond)
}

// signFailed handles a failure to sign: an inconsistency stops the log;
// anything else (an HSM hiccup) is retried at the next checkpoint.
func (l *Log[T]) signFailed(err error) {
	if errors.Is(err, ErrInconsistent) {
		l.fail(err)
		return
	}
	l.log.Error("ledger: signing a checkpoint failed; will retry", "err", err)
	l.lastSignAt = time.Now()
}

func (l *Log[T]) flushPending(ctx context.Context) {
	if l.pending == nil {
		return
	}
	if err := l.writeMeta(ctx, &Batch{Checkpoint: l.pending.stored()}); err != nil {
		l.writeFailed(err)
		return
	}
	l.publish(l.pending)
	l.pending = nil
}

// checkpointDue signs a checkpoint for appends not yet covered, when the
// interval has passed without a batch to carry it. Over a shared store
// it runs every followEvery: it takes in what the other processes
// appended and signed, and the leader signs.
func (l *Log[T]) checkpointDue() {
	ctx := context.Background()
	if l.failed() != nil {
		return
	}
	if l.shared != nil {
		if err := l.follow(ctx); err != nil {
			l.log.Warn("ledger: cannot read what other processes appended", "err", err)
			return
		}
		if !l.signs() || time.Since(l.lastSignAt) < l.interval {
			l.flushPending(ctx)
			return
		}
	}
	size := l.frontier.Size()
	if size <= l.lastSigned.Size {
		l.flushPending(ctx)
		return
	}
	root := l.frontier.Root(l.hasher)
	if err := l.writeMeta(ctx, &Batch{Checkpoint: l.pending.stored(), Intent: &Intent{size, root}}); err != nil {
		l.writeFailed(err)
		return
	}
	if l.pending != nil {
		l.publish(l.pending)
		l.pending = nil
	}
	sc, err := l.signCheckpoint(ctx, size, root)
	if err != nil {
		l.signFailed(err)
		return
	}
	l.pending = sc
	l.flushPending(ctx)
}

// follow brings the sequencer's tree edge up to what the shared store
// holds (entries other processes committed never change, so they are
// read outside the lock) and takes in the latest stored checkpoint.
func (l *Log[T]) follow(ctx context.Context) error {
	st, err := l.refresh(ctx)
	if err != nil || st.Size <= l.frontier.Size() {
		return err
	}
	f, err := l.frontierAt(ctx, st.Size, l.store)
	if err != nil {
		return err
	}
	l.frontier = f
	return nil
}

// raiseSize moves Size up to n, never down (the sequencer and a
// shared store's refresh both raise it).
func (l *Log[T]) raiseSize(n uint64) {
	for cur := l.size.Load(); n > cur && !l.size.CompareAndSwap(cur, n); cur = l.size.Load() {
	}
}

// checkFollowed checks a checkpoint another process stored before this
// one serves it: signed by the log's key (no other), and its root the
// stored tree's at its size.
func (l *Log[T]) checkFollowed(ctx context.Context, size uint64, note []byte) (tlog.Checkpoint, error) {
	cp, err := l.checkStoredCheckpoint(size, note)
	if err != nil {
		return cp, err
	}
	if _, _, err := tlog.OpenNote(note, l.signer.Verifier()); err != nil {
		return cp, &IndexError{Index: size, What: "checkpoint", Err: err}
	}
	root, err := l.hasher.RootAt(size, nodeReader{ctx, l.store})
	if err != nil {
		return cp, err
	}
	if root != cp.Root {
		return cp, &IndexError{Index: size, What: "checkpoint", Err: fmt.Errorf("%w: signed root %s, the stored tree's %s", ErrInconsistent, cp.Root, root)}
	}
	return cp, nil
}

// refresh takes in the size and the latest checkpoint a shared store
// holds, so that this process serves what the others appended and
// signed. Safe from any goroutine.
func (l *Log[T]) refresh(ctx context.Context) (State, error) {
	st, err := l.store.State(ctx)
	if err != nil {
		return st, err
	}
	l.raiseSize(st.Size)
	if st.Checkpoint != nil {
		if cur := l.cp.Load(); cur == nil || st.CheckpointSize > cur.Size {
			cp, err := l.checkFollowed(ctx, st.CheckpointSize, st.Checkpoint)
			if err != nil {
				return st, err
			}
			l.publish(&SignedCheckpoint{Checkpoint: cp, Note: st.Checkpoint})
		}
	}
	return st, nil
}

// shutdown runs when the request channel is closed and drained: it
// covers the last appends with a checkpoint.
func (l *Log[T]) shutdown() {
	ctx := context.Background()
	if l.failed() != nil {
		return
	}
	l.flushPending(ctx)
	if l.shared != nil && !l.signs() {
		return // the leader covers this process's appends
	}
	if size := l.frontier.Size(); size > l.lastSigned.Size && l.failed() == nil {
		if err := l.checkpointNow(ctx, size, l.frontier.Root(l.hasher), true); err != nil {
			l.log.Error("ledger: final checkpoint failed", "err", err)
		}
	}
}

// Close stops accepting appends, writes everything queued and signs a
// final checkpoint. It does not close the store. It is safe to call more
// than once.
func (l *Log[T]) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.reqs)
	l.mu.Unlock()
	<-l.done
	return nil
}

// Size returns the number of durable entries: over a shared store, at
// least those this process appended and those it last saw the others
// append (it looks every half CheckpointInterval).
func (l *Log[T]) Size() uint64 { return l.size.Load() }

// SizeFor is Size, read again from a shared store when want is beyond
// it (another process may have appended since this one looked): what
// to check an index or tree size a client asks for against.
func (l *Log[T]) SizeFor(want uint64) uint64 { return l.sizeFor(want) }

func (l *Log[T]) sizeFor(want uint64) uint64 {
	n := l.size.Load()
	if want <= n || l.shared == nil {
		return n
	}
	// One look at a time, shared: a shared store's State is a durable
	// read (a commit), and requests beyond the size, which anyone can
	// send, must not each cost one. A caller takes what a look that
	// started after it arrived found, and looks itself only if none did.
	arrived := l.looks.Load()
	l.refreshMu.Lock()
	defer l.refreshMu.Unlock()
	if n = l.size.Load(); want > n && l.looks.Load() < arrived+2 {
		l.looks.Add(1) // started
		if _, err := l.refresh(context.Background()); err == nil {
			n = l.size.Load()
		}
		l.looks.Add(1) // done
	}
	return n
}

// Origin returns the log's origin.
func (l *Log[T]) Origin() string { return l.origin }

// Verifier returns the note verifier for the log's checkpoints (its
// String form is the verifier key to distribute).
func (l *Log[T]) Verifier() *tlog.NoteVerifier { return l.signer.Verifier() }

// Store returns the log's store (for Fsck or backups).
func (l *Log[T]) Store() Store[T] { return l.store }

// Checkpoint returns the latest published signed checkpoint: signed and
// durable. It covers every entry appended more than about
// CheckpointInterval ago.
func (l *Log[T]) Checkpoint() SignedCheckpoint { return *l.cp.Load() }

func (l *Log[T]) checkSize(size uint64) error {
	if n := l.sizeFor(size); size > n {
		return fmt.Errorf("%w: tree size %d, log holds %d entries", ErrNotFound, size, n)
	}
	return nil
}

// Entry returns the entry at index, as appended.
func (l *Log[T]) Entry(index uint64) ([]byte, error) {
	if index >= l.sizeFor(index+1) {
		return nil, fmt.Errorf("%w: entry %d, log holds %d entries", ErrNotFound, index, l.Size())
	}
	var out []byte
	err := l.store.Entries(context.Background(), index, index+1, func(_ uint64, b []byte) error {
		out = bytes.Clone(b)
		return nil
	})
	return out, err
}

// LeafHash returns the stored leaf hash of entry index.
func (l *Log[T]) LeafHash(index uint64) (tlog.Hash, error) {
	if index >= l.sizeFor(index+1) {
		return tlog.Hash{}, fmt.Errorf("%w: entry %d, log holds %d entries", ErrNotFound, index, l.Size())
	}
	hs, err := nodeReader{context.Background(), l.store}.ReadNodes([]tlog.NodeID{{Level: 0, Index: index}})
	if err != nil {
		return tlog.Hash{}, err
	}
	return hs[0], nil
}

// RootAt returns the root hash of the first size entries.
func (l *Log[T]) RootAt(size uint64) (tlog.Hash, error) {
	if err := l.checkSize(size); err != nil {
		return tlog.Hash{}, err
	}
	return l.hasher.RootAt(size, nodeReader{context.Background(), l.store})
}

// InclusionProof proves entry index is in the tree of treeSize entries
// (typically a checkpoint's size). Verify it with tlog.VerifyInclusion.
func (l *Log[T]) InclusionProof(index, treeSize uint64) ([]tlog.Hash, error) {
	if err := l.checkSize(treeSize); err != nil {
		return nil, err
	}
	if index >= treeSize {
		return nil, fmt.Errorf("%w: entry %d is not in a tree of size %d", ErrNotFound, index, treeSize)
	}
	return l.hasher.InclusionProof(index, treeSize, nodeReader{context.Background(), l.store})
}

// ConsistencyProof proves the tree of oldSize entries is a prefix of the
// tree of newSize entries. Verify it with tlog.VerifyConsistency.
func (l *Log[T]) ConsistencyProof(oldSize, newSize uint64) ([]tlog.Hash, error) {
	if err := l.checkSize(newSize); err != nil {
		return nil, err
	}
	if oldSize > newSize {
		return nil, fmt.Errorf("%w: consistency from size %d to smaller size %d", ErrNotFound, oldSize, newSize)
	}
	return l.hasher.ConsistencyProof(oldSize, newSize, nodeReader{context.Background(), l.store})
}

// Fsck checks the whole log (see the package function Fsck); o.Verifier
// defaults to the log's.
func (l *Log[T]) Fsck(ctx context.Context, o FsckOptions) (*FsckReport, error) {
	if o.Verifier == nil {
		o.Verifier = l.Verifier()
	}
	return Fsck(ctx, l.store, o)
}
