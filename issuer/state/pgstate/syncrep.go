package pgstate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"elicense/issuer/state"
)

// ErrUnreplicated means PostgreSQL committed a change on the primary
// alone: it waited for a synchronous standby (synchronous_standby_names)
// until the wait was cancelled (pg_cancel_backend, a pooler's or an
// operator's cancel request; statement_timeout does not end it), then
// reported the commit with a warning. The change is there, but the primary's loss would lose it,
// so the store does not acknowledge it: the error wraps
// state.ErrUnavailable too, and the caller answers as for a connection
// lost during COMMIT (the outcome is unknown to the client).
var ErrUnreplicated = errors.New("pgstate: committed on the primary only: the wait for its synchronous standby was cancelled, so the change is not acknowledged; check the standby")

// unreplicatedKey marks, in a connection's CustomData, the warning that
// said a commit was not confirmed by the synchronous standby.
const unreplicatedKey = "elicense/unreplicated"

// onNotice is the pool's notice handler. PostgreSQL answers a cancel
// request during the wait for a synchronous standby with a WARNING,
// "canceling wait for synchronous replication …", and then reports the
// commit as done. Its SQLSTATE, 01000, is every uncoded warning's (the
// transaction-ID wraparound warning, a trigger's RAISE WARNING), so the
// message decides; a localised one (lc_messages) cannot be read, and
// replicated then asks whether synchronous standbys are in effect.
func onNotice(c *pgconn.PgConn, n *pgconn.Notice) {
	sev := n.SeverityUnlocalized
	if sev == "" {
		sev = n.Severity
	}
	if sev != "WARNING" || n.Code != "01000" {
		return
	}
	english := n.SeverityUnlocalized == "" || n.Severity == n.SeverityUnlocalized
	switch {
	case !english:
		c.CustomData()[unreplicatedKey] = unreplicatedMark{n.Message, false}
	case strings.Contains(n.Message, "synchronous replication"):
		c.CustomData()[unreplicatedKey] = unreplicatedMark{n.Message, true}
	}
}

// unreplicatedMark is the warning onNotice kept; sure: it named the
// wait for synchronous replication.
type unreplicatedMark struct {
	msg  string
	sure bool
}

// replicated returns ErrUnreplicated (in state.ErrUnavailable) if the
// connection's last commit was not confirmed by the synchronous
// standby, and clears the mark. A localised warning counts only where
// synchronous standbys are configured (else there was no such wait).
func replicated(ctx context.Context, c *pgconn.PgConn) error {
	v, ok := c.CustomData()[unreplicatedKey]
	if !ok {
		return nil
	}
	delete(c.CustomData(), unreplicatedKey)
	m := v.(unreplicatedMark)
	if !m.sure {
		res := c.ExecParams(ctx, `SELECT current_setting('synchronous_standby_names')`, nil, nil, nil, nil).Read()
		if res.Err == nil && len(res.Rows) == 1 && len(res.Rows[0]) == 1 && len(bytes.TrimSpace(res.Rows[0][0])) == 0 {
			return nil
		}
	}
	return fmt.Errorf("%w: %w (the server said: %v)", state.ErrUnavailable, ErrUnreplicated, m.msg)
}

// onConn runs a write on a connection of the pool and acknowledges it
// only once replicated says so. Every statement that changes the
// database outside the ledger's transaction goes through it (exec,
// writeRow, inTx); the ledger's transaction checks the same way.
func (s *Store) onConn(ctx context.Context, f func(*pgxpool.Conn) error) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	pc := c.Conn().PgConn()
	delete(pc.CustomData(), unreplicatedKey)
	if err := f(c); err != nil {
		return err
	}
	return replicated(ctx, pc)
}

// exec is pool.Exec for a statement that writes, bounded by
// Options.OpTimeout: statement_timeout does not end a commit's wait
// for a synchronous standby, so a standby that is gone would otherwise
// hold the call, and its connection, until it is back.
func (s *Store) exec(ctx context.Context, sql string, args ...any) (tag pgconn.CommandTag, err error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	err = s.onConn(ctx, func(c *pgxpool.Conn) error {
		tag, err = c.Exec(ctx, sql, args...)
		return err
	})
	return tag, err
}

// writeRow is pool.QueryRow(…).Scan(dest…) for a statement that
// writes, bounded as exec is.
func (s *Store) writeRow(ctx context.Context, sql string, args []any, dest ...any) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	return s.onConn(ctx, func(c *pgxpool.Conn) error { return c.QueryRow(ctx, sql, args...).Scan(dest...) })
}

// inTx is pgx.BeginFunc on a connection of the pool, for a transaction
// that writes.
func (s *Store) inTx(ctx context.Context, f func(pgx.Tx) error) error {
	return s.onConn(ctx, func(c *pgxpool.Conn) error { return pgx.BeginFunc(ctx, c, f) })
}
