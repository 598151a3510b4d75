package pgstate

import (
	"context"
	"errors"
	"fmt"

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
// request during the wait for a synchronous standby with a WARNING of SQLSTATE 01000 and then reports the commit as
// done; none of the store's own statements raises another warning of
// that code, so any is taken as that one (the message itself may be
// localised).
func onNotice(c *pgconn.PgConn, n *pgconn.Notice) {
	sev := n.SeverityUnlocalized
	if sev == "" {
		sev = n.Severity
	}
	if sev == "WARNING" && n.Code == "01000" {
		c.CustomData()[unreplicatedKey] = n.Message
	}
}

// replicated returns ErrUnreplicated (in state.ErrUnavailable) if the
// connection's last commit was not confirmed by the synchronous
// standby, and clears the mark.
func replicated(c *pgconn.PgConn) error {
	m, ok := c.CustomData()[unreplicatedKey]
	if !ok {
		return nil
	}
	delete(c.CustomData(), unreplicatedKey)
	return fmt.Errorf("%w: %w (the server said: %v)", state.ErrUnavailable, ErrUnreplicated, m)
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
	return replicated(pc)
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
