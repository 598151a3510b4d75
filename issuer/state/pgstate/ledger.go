package pgstate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/state"
)

// querier is what the ledger's reads need: the pool, or the connection
// of a transaction under way.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Ledger implements state.Backend. The value it returns is also a
// ledger.SharedStore[state.Tx]: Logs in several processes may append to
// it at once.
func (s *Store) Ledger() ledger.Store[state.Tx] { return ledgerStore{s} }

// ledgerStore is the Store seen as the ledger's store.
type ledgerStore struct{ s *Store }

var _ ledger.SharedStore[state.Tx] = ledgerStore{}

// reader is ledger.Reader over a querier.
type reader struct {
	q  querier
	qs *queries
	// durable: State answers once what it read is durable (below).
	durable bool
}

func (l ledgerStore) r() reader { return reader{q: l.s.pool, qs: &l.s.q} }

// State implements ledger.Reader with what a shared store's State
// must report: only what is durable. A plain read on the primary also
// sees commits whose wait for the synchronous standby ended without it
// (a cancel request; backends outliving a killed postmaster end their
// waits and serve reads for a moment), which the primary's loss would
// take back; a process that took them in (its
// tree's edge, another process's checkpoint) would then hold, or serve,
// a tree the new primary does not. So the read also writes (a counter
// in durable_mark) and commits: PostgreSQL answers once the standby has
// the WAL up to that commit, which includes every commit the read saw.
// Without synchronous standbys it costs a local WAL flush.
func (l ledgerStore) State(ctx context.Context) (st ledger.State, err error) {
	ctx, cancel := l.s.op(ctx)
	defer cancel()
	err = l.s.onConn(ctx, func(c *pgxpool.Conn) error {
		st, err = reader{q: c, qs: &l.s.q, durable: true}.State(ctx)
		return err
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "25006" || pe.Code == "42501") {
		// A read-only session or a role that may only read (an auditor's
		// `ledger verify --store`) cannot write the mark; it appends and
		// serves nothing either, so the plain read is what it needs. A
		// server reaching the database so is misconfigured: say so.
		l.s.log.Warn("pgstate: the ledger's State is a plain read on this read-only session: it may include commits only the primary holds (fine for verifying; a serving replica needs a read-write role)", "schema", l.s.schema, "sqlstate", pe.Code)
		return l.r().State(ctx)
	}
	return st, unavailable(err)
}
func (l ledgerStore) Entries(ctx context.Context, start, end uint64, fn func(uint64, []byte) error) error {
	return l.r().Entries(ctx, start, end, fn)
}
func (l ledgerStore) Hashes(ctx context.Context, idx []uint64, dst []tlog.Hash) error {
	ctx, cancel := l.s.op(ctx)
	defer cancel()
	return l.r().Hashes(ctx, idx, dst)
}
func (l ledgerStore) Checkpoints(ctx context.Context, from uint64, fn func(uint64, []byte) error) error {
	return l.r().Checkpoints(ctx, from, fn)
}

// State implements ledger.Reader. It cross-checks the size against the
// last entry and stored hash, as the bbolt store does.
func (r reader) State(ctx context.Context) (ledger.State, error) {
	var (
		st                   ledger.State
		size                 int64
		inSize, lastE, lastH *int64
		inRoot               []byte
		cpSize               *int64
	)
	sql := `SELECT h.size, h.origin, h.entry_format, h.intent_size, h.intent_root,
		(SELECT max(idx) FROM {s}.entries), (SELECT max(idx) FROM {s}.hashes), c.size, c.note`
	dest := []any{&size, &st.Origin, &st.EntryFormat, &inSize, &inRoot, &lastE, &lastH, &cpSize, &st.Checkpoint}
	if r.durable {
		// A write in the statement: its transaction's commit, which
		// ends before the answer does, waits for the synchronous
		// standby, and its WAL follows every commit the read saw. (A
		// transaction that only takes an ID writes no WAL before its
		// commit record, and PostgreSQL does not wait for those.)
		sql = `WITH m AS (UPDATE {s}.durable_mark SET n = n + 1 RETURNING n) ` + sql + `, (SELECT n FROM m)`
		dest = append(dest, new(int64))
	}
	sql += ` FROM {s}.ledger_head h LEFT JOIN (SELECT size, note FROM {s}.checkpoints ORDER BY size DESC LIMIT 1) c ON true`
	err := r.q.QueryRow(ctx, r.qs.expand(sql)).Scan(dest...)
	if err != nil {
		return st, unavailable(err)
	}
	st.Size = uint64(size)
	if inSize != nil {
		if len(inRoot) != tlog.HashSize {
			return st, fmt.Errorf("%w: signing intent root is %d bytes, want %d", ledger.ErrCorruptStore, len(inRoot), tlog.HashSize)
		}
		in := &ledger.Intent{Size: uint64(*inSize)}
		copy(in.Root[:], inRoot)
		st.Intent = in
	}
	if (lastE != nil) != (size > 0) || (lastE != nil && *lastE != size-1) {
		return st, fmt.Errorf("%w: the head says %d entries but the last entry is %v", ledger.ErrCorruptStore, size, deref(lastE))
	}
	if n := int64(tlog.StoredHashCount(st.Size)); (lastH != nil) != (n > 0) || (lastH != nil && *lastH != n-1) {
		return st, fmt.Errorf("%w: %d entries need %d stored hashes but the last is %v", ledger.ErrCorruptStore, size, n, deref(lastH))
	}
	if cpSize != nil {
		st.CheckpointSize = uint64(*cpSize)
	}
	return st, nil
}

func deref(p *int64) any {
	if p == nil {
		return "none"
	}
	return *p
}

// Entries implements ledger.Reader, streaming the rows.
func (r reader) Entries(ctx context.Context, start, end uint64, fn func(uint64, []byte) error) error {
	if start >= end {
		return nil
	}
	rows, err := r.q.Query(ctx, r.qs.expand(`SELECT idx, data FROM {s}.entries WHERE idx >= $1 AND idx < $2 ORDER BY idx`), int64(start), int64(end))
	if err != nil {
		return unavailable(err)
	}
	defer rows.Close()
	i := start
	for rows.Next() {
		var idx int64
		var data []byte
		if err := rows.Scan(&idx, &data); err != nil {
			return unavailable(err)
		}
		if uint64(idx) != i {
			return &ledger.IndexError{Index: i, What: "entry", Err: fmt.Errorf("%w: entry missing (found %d)", ledger.ErrCorruptStore, idx)}
		}
		if err := fn(i, data); err != nil {
			return err
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return unavailable(err)
	}
	if i != end {
		return &ledger.IndexError{Index: i, What: "entry", Err: fmt.Errorf("%w: entry missing", ledger.ErrCorruptStore)}
	}
	return nil
}

// Hashes implements ledger.Reader.
func (r reader) Hashes(ctx context.Context, idx []uint64, dst []tlog.Hash) error {
	if len(dst) < len(idx) {
		return fmt.Errorf("ledger: Hashes: dst holds %d, need %d", len(dst), len(idx))
	}
	if len(idx) == 0 {
		return nil
	}
	want := make([]int64, len(idx))
	at := make(map[int64][]int, len(idx))
	for i, x := range idx {
		want[i] = int64(x)
		at[int64(x)] = append(at[int64(x)], i)
	}
	rows, err := r.q.Query(ctx, r.qs.expand(`SELECT idx, hash FROM {s}.hashes WHERE idx = ANY($1)`), want)
	if err != nil {
		return unavailable(err)
	}
	defer rows.Close()
	found := 0
	for rows.Next() {
		var x int64
		var h []byte
		if err := rows.Scan(&x, &h); err != nil {
			return unavailable(err)
		}
		if len(h) != tlog.HashSize {
			return fmt.Errorf("%w: stored hash %d is %d bytes, want %d", ledger.ErrCorruptStore, x, len(h), tlog.HashSize)
		}
		for _, i := range at[x] {
			copy(dst[i][:], h)
			found++
		}
	}
	if err := rows.Err(); err != nil {
		return unavailable(err)
	}
	if found != len(idx) {
		return fmt.Errorf("%w: %d of %d stored hashes missing", ledger.ErrCorruptStore, len(idx)-found, len(idx))
	}
	return nil
}

// Checkpoints implements ledger.Reader.
func (r reader) Checkpoints(ctx context.Context, from uint64, fn func(uint64, []byte) error) error {
	rows, err := r.q.Query(ctx, r.qs.expand(`SELECT size, note FROM {s}.checkpoints WHERE size >= $1 ORDER BY size`), int64(from))
	if err != nil {
		return unavailable(err)
	}
	defer rows.Close()
	for rows.Next() {
		var size int64
		var note []byte
		if err := rows.Scan(&size, &note); err != nil {
			return unavailable(err)
		}
		if err := fn(uint64(size), note); err != nil {
			if errors.Is(err, ledger.ErrStop) {
				return nil
			}
			return err
		}
	}
	return unavailable(rows.Err())
}

// Write implements ledger.Store: the batch and the callers' changes in
// one transaction that first locks the ledger head. A change refused
// only when its rows are written (a key another process took) makes
// Write roll back and run apply again with that change failing at once
// (tx.refused), so a Log that knows only ApplyError fails that caller
// alone.
func (l ledgerStore) Write(ctx context.Context, b *ledger.Batch, apply func(state.Tx) error) error {
	refused := map[uint64]error{}
	for {
		err := l.s.write(ctx, func(uint64, reader) (*ledger.Batch, error) { return b, nil }, apply, refused)
		var re *ledger.RejectedError
		if !errors.As(err, &re) || apply == nil {
			return err
		}
		if _, again := refused[re.Index]; again {
			return fmt.Errorf("pgstate: the change with entry %d was refused twice: %w", re.Index, err)
		}
		refused[re.Index] = re.Err
	}
}

// WriteLocked implements ledger.SharedStore: the head's row lock is
// taken first, so writers in every process take turns; build sees the
// size and a reader inside the transaction. A change refused when its
// rows are written returns a *ledger.RejectedError naming its entry,
// with nothing written.
func (l ledgerStore) WriteLocked(ctx context.Context, build func(size uint64, r ledger.Reader) (*ledger.Batch, error), apply func(state.Tx) error) error {
	return l.s.write(ctx, func(size uint64, r reader) (*ledger.Batch, error) { return build(size, r) }, apply, nil)
}

// write runs one ledger transaction on a connection of its own:
//
//	round trip 1: BEGIN; SELECT the head FOR UPDATE
//	build (reads, if the caller needs any) and apply (none: tx queues)
//	round trip 2: the batch's and the changes' rows, the head, COMMIT
//
// Any failure rolls back; a connection in doubt is closed, not reused.
func (s *Store) write(ctx context.Context, build func(uint64, reader) (*ledger.Batch, error), apply func(state.Tx) error, refused map[uint64]error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return unavailable(err)
	}
	conn := pc.Conn()
	delete(conn.PgConn().CustomData(), unreplicatedKey)
	defer func() {
		if err != nil && !conn.IsClosed() && conn.PgConn().TxStatus() != 'I' {
			rctx, cancel := s.op(context.WithoutCancel(ctx))
			defer cancel()
			if _, rerr := conn.Exec(rctx, "ROLLBACK"); rerr != nil {
				conn.Close(rctx)
			}
		}
		pc.Release() // the pool drops a connection closed or still in a transaction
	}()
	var h head
	bb := &pgx.Batch{}
	bb.Queue("BEGIN")
	bb.Queue(s.q.lockHead).QueryRow(func(row pgx.Row) error { return h.scan(row) })
	if err := conn.SendBatch(ctx, bb).Close(); err != nil {
		return unavailable(err)
	}
	b, err := build(h.size, reader{q: conn, qs: &s.q})
	if err != nil {
		return err
	}
	if err := h.check(b); err != nil {
		return err
	}
	t := &tx{s: s, start: b.Start, refused: refused}
	if apply != nil {
		if err := apply(t); err != nil {
			return err
		}
	}
	bb = &pgx.Batch{}
	h.queue(bb, &s.q, b)
	t.queue(bb)
	bb.Queue(s.q.updateHead, h.update(b, t.watermark)...)
	bb.Queue("COMMIT")
	if err := conn.SendBatch(ctx, bb).Close(); err != nil {
		return t.rejection(err)
	}
	return replicated(ctx, conn.PgConn())
}

// head is the ledger head row as a writer locked it.
type head struct {
	size                uint64
	origin, entryFormat string
}

func (h *head) scan(row pgx.Row) error {
	var size int64
	var inSize *int64
	var inRoot []byte
	if err := row.Scan(&size, &h.origin, &h.entryFormat, &inSize, &inRoot); err != nil {
		return err
	}
	h.size = uint64(size)
	return nil
}

// check is Write's compare-and-set and the origin and format marks.
func (h *head) check(b *ledger.Batch) error {
	if b.Start != h.size {
		return fmt.Errorf("%w: batch starts at %d, store holds %d entries", ledger.ErrConflict, b.Start, h.size)
	}
	n := uint64(len(b.Entries))
	if want := tlog.StoredHashCount(b.Start+n) - tlog.StoredHashCount(b.Start); uint64(len(b.Hashes)) != want {
		return fmt.Errorf("ledger: batch of %d entries from %d carries %d hashes, want %d", n, b.Start, len(b.Hashes), want)
	}
	if b.Origin != "" && h.origin != "" && h.origin != b.Origin {
		return fmt.Errorf("%w: store has origin %q, batch %q", ledger.ErrOrigin, h.origin, b.Origin)
	}
	if b.EntryFormat != "" && (h.entryFormat != "" || h.size > 0) && h.entryFormat != b.EntryFormat {
		have := h.entryFormat
		if have == "" {
			have = "none"
		}
		return &ledger.EntryFormatError{Have: have, Want: b.EntryFormat, Size: h.size}
	}
	return nil
}

// queue adds the batch's ledger rows.
func (h *head) queue(bb *pgx.Batch, q *queries, b *ledger.Batch) {
	if len(b.Entries) > 0 {
		bb.Queue(q.insEntries, int64(b.Start), b.Entries)
		hs := make([][]byte, len(b.Hashes))
		for i := range b.Hashes {
			hs[i] = b.Hashes[i][:]
		}
		bb.Queue(q.insHashes, int64(tlog.StoredHashCount(b.Start)), hs)
	}
	if c := b.Checkpoint; c != nil {
		bb.Queue(q.insCP, int64(c.Size), c.Note)
	}
}

// update is the arguments of the head's UPDATE after b.
func (h *head) update(b *ledger.Batch, watermark uint64) []any {
	origin, format := h.origin, h.entryFormat
	if origin == "" {
		origin = b.Origin
	}
	if format == "" && h.size == 0 {
		format = b.EntryFormat
	}
	var inSize *int64
	var inRoot []byte
	if b.Intent != nil {
		v := int64(b.Intent.Size)
		inSize, inRoot = &v, b.Intent.Root[:]
	}
	return []any{int64(b.Start + uint64(len(b.Entries))), origin, format, inSize, inRoot, int64(watermark)}
}

// Lead implements ledger.SharedStore: the lead is a session advisory
// lock (keyed by the schema) held by a connection of its own. Each call
// checks that connection is alive; a dead one loses the lead, which the
// next call tries to take again. A process that stops without closing
// it (frozen, or its machine gone) must not keep the lead: the
// connection's session ends after leadIdle without a call
// (idle_session_timeout; the leader calls every half checkpoint
// interval) and TCP gives up on a silent peer after leadIdle too. A
// process that does not lead keeps its connection for the next try.
func (l ledgerStore) Lead(ctx context.Context) (bool, error) {
	s := l.s
	// Short: the ledger's sequencer waits for this call.
	ctx, cancel := context.WithTimeout(ctx, leadCallTimeout)
	defer cancel()
	s.leadMu.Lock()
	defer s.leadMu.Unlock()
	if s.leadConn != nil && s.leading {
		if err := s.leadConn.Ping(ctx); err == nil {
			return true, nil
		}
		s.closeLead(ctx)
		s.log.Warn("pgstate: lost the lead (its connection died)", "schema", s.schema)
		return false, nil
	}
	for try := 0; ; try++ {
		kept := s.leadConn != nil
		if !kept {
			cfg := s.cfg.Copy()
			cfg.RuntimeParams["idle_session_timeout"] = strconv.Itoa(int(leadIdle / time.Millisecond))
			cfg.RuntimeParams["tcp_user_timeout"] = strconv.Itoa(int(leadIdle / time.Millisecond))
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				return false, fmt.Errorf("pgstate: taking the lead: %w", unavailable(err))
			}
			s.leadConn = conn
		}
		var got bool
		if err := s.leadConn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, s.leadKey).Scan(&got); err != nil {
			s.closeLead(ctx)
			if kept && try == 0 {
				continue // the kept connection had died: try a new one
			}
			return false, fmt.Errorf("pgstate: taking the lead: %w", unavailable(err))
		}
		if s.leading = got; got {
			s.log.Info("pgstate: took the lead", "schema", s.schema)
		}
		return got, nil
	}
}

// Timing of the lead (Lead): how long a call may take, and how long a
// lead connection may stay silent before the server ends its session.
const (
	leadCallTimeout = 2 * time.Second
	leadIdle        = 5 * time.Second
)

// closeLead drops the lead connection; s.leadMu is held.
func (s *Store) closeLead(ctx context.Context) {
	s.leadConn.Close(context.WithoutCancel(ctx))
	s.leadConn, s.leading = nil, false
}

// Pool is the store's connection pool (tests, and tools that read the
// schema).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
