package pgstate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	json "github.com/go-json-experiment/json"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"elicense/issuer/state"
)

var bg = context.Background()

// PutClaim implements state.Claims: the number comes from a sequence,
// so it is unique across processes.
func (s *Store) PutClaim(c state.Claim) (uint64, error) {
	if !textOK(c.LicenceID) {
		return 0, badText("the licence of a claim ticket")
	}
	var n int64
	err := s.writeRow(bg, s.q.expand(`INSERT INTO {s}.claim_tickets (ticket, licence_id, expires, used, salt, verifier)
		VALUES (nextval('{s}.claim_ticket_seq'), $1, $2, $3, $4, $5) RETURNING ticket`),
		[]any{c.LicenceID, nanos(c.Expires), c.Used, c.Salt, c.Verifier}, &n)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == codeSeqLimit {
		return 0, state.ErrClaimTickets
	}
	if err != nil {
		return 0, unavailable(err)
	}
	return uint64(n), nil
}

// UseClaim implements state.Claims. The ticket is read, checked by
// verify, then marked used by an UPDATE that only a ticket still unused
// passes: of two concurrent spends, one wins.
func (s *Store) UseClaim(n uint64, verify func(state.Claim) bool) (state.Claim, error) {
	c := state.Claim{Ticket: n}
	if n > state.MaxClaimTicket {
		return c, state.ErrNotFound
	}
	var exp *int64
	err := s.pool.QueryRow(bg, s.q.expand(`SELECT licence_id, expires, used, salt, verifier FROM {s}.claim_tickets WHERE ticket = $1`), int64(n)).
		Scan(&c.LicenceID, &exp, &c.Used, &c.Salt, &c.Verifier)
	if err != nil {
		return c, noRows(err, "claim ticket")
	}
	c.Expires = fromNanos(exp)
	if !verify(c) {
		return c, state.ErrNotFound
	}
	if c.Used {
		return c, state.ErrExists
	}
	// Spent meanwhile: the row is there, used; pruned meanwhile: gone.
	var spent, exists bool
	err = s.writeRow(bg, s.q.expand(`WITH u AS (
		UPDATE {s}.claim_tickets SET used = true WHERE ticket = $1 AND NOT used RETURNING 1)
		SELECT NOT EXISTS (SELECT 1 FROM u), EXISTS (SELECT 1 FROM {s}.claim_tickets WHERE ticket = $1)`), []any{int64(n)}, &spent, &exists)
	switch {
	case err != nil:
		return c, unavailable(err)
	case spent && !exists:
		return c, state.ErrNotFound
	case spent:
		return c, state.ErrExists
	}
	c.Used = true
	return c, nil
}

// PruneClaims implements state.Claims in one statement: of the oldest
// max tickets, those before the first one still valid.
func (s *Store) PruneClaims(now time.Time, max int) (int, error) {
	if max <= 0 {
		return 0, nil
	}
	tag, err := s.exec(bg, s.q.expand(`WITH f AS (
		SELECT ticket, coalesce(expires < $1, true) AS gone FROM {s}.claim_tickets ORDER BY ticket LIMIT $2
	), cut AS (
		SELECT coalesce(min(ticket) FILTER (WHERE NOT gone), 9223372036854775807) AS t FROM f
	)
	DELETE FROM {s}.claim_tickets WHERE ticket IN (SELECT ticket FROM f WHERE ticket < (SELECT t FROM cut))`), now.UnixNano(), max)
	if err != nil {
		return 0, unavailable(err)
	}
	return int(tag.RowsAffected()), nil
}

// Seal implements state.Seals.
func (s *Store) Seal(esid string) (*state.SealRecord, error) {
	if !textOK(esid) {
		return nil, fmt.Errorf("%w: seal %q", state.ErrNotFound, esid)
	}
	r, err := scanSeal(s.pool.QueryRow(bg, s.q.expand(`SELECT esid, agency, holder_code, made_at, ledger_index, revoked_at, reason FROM {s}.seals WHERE esid = $1`), esid))
	if err != nil {
		return nil, noRows(err, "seal "+esid)
	}
	return r, nil
}

func scanSeal(row pgx.Row) (*state.SealRecord, error) {
	var r state.SealRecord
	var made, revoked *int64
	var idx int64
	if err := row.Scan(&r.ESID, &r.Agency, &r.HolderCode, &made, &idx, &revoked, &r.Reason); err != nil {
		return nil, err
	}
	r.MadeAt, r.RevokedAt, r.LedgerIndex = fromNanos(made), fromNanos(revoked), uint64(idx)
	return &r, nil
}

// RevokedSeals implements state.Seals.
func (s *Store) RevokedSeals() ([]state.SealRecord, error) {
	rows, err := s.pool.Query(bg, s.q.expand(`SELECT esid, agency, holder_code, made_at, ledger_index, revoked_at, reason FROM {s}.seals WHERE revoked_at IS NOT NULL ORDER BY esid`))
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []state.SealRecord
	for rows.Next() {
		r, err := scanSeal(rows)
		if err != nil {
			return nil, unavailable(err)
		}
		out = append(out, *r)
	}
	return out, unavailable(rows.Err())
}

// RevokeSeal implements state.Seals (replay).
func (s *Store) RevokeSeal(esid string, at time.Time, reason string) error {
	if !textOK(esid, reason) {
		return badText("a field of the revocation of seal " + strconvQuote(esid))
	}
	_, err := s.exec(bg, s.q.revokeSeal, esid, nanos(at), reason)
	return unavailable(err)
}

// AgencySeal implements state.Seals.
func (s *Store) AgencySeal(code string) ([]byte, error) {
	if !textOK(code) {
		return nil, fmt.Errorf("%w: seal of agency %q", state.ErrNotFound, code)
	}
	var der []byte
	err := s.pool.QueryRow(bg, s.q.expand(`SELECT der FROM {s}.agency_seals WHERE code = $1`), code).Scan(&der)
	if err != nil {
		return nil, noRows(err, "seal of agency "+code)
	}
	return der, nil
}

// PutAgencySeal implements state.Seals.
func (s *Store) PutAgencySeal(code string, der []byte) error {
	if !textOK(code) {
		return badText("an agency code")
	}
	_, err := s.exec(bg, s.q.expand(`INSERT INTO {s}.agency_seals (code, der) VALUES ($1, $2)
		ON CONFLICT (code) DO UPDATE SET der = excluded.der`), code, der)
	return unavailable(err)
}

// RevokeToken implements state.Tokens.
func (s *Store) RevokeToken(jti string, exp time.Time) error {
	if !textOK(jti) {
		return badText("a token ID")
	}
	_, err := s.exec(bg, s.q.expand(`INSERT INTO {s}.revoked_tokens (jti, expires) VALUES ($1, $2)
		ON CONFLICT (jti) DO UPDATE SET expires = excluded.expires`), jti, exp.Unix())
	if err == nil {
		s.tokens.mu.Lock()
		if s.tokens.ids != nil {
			s.tokens.ids[jti] = struct{}{}
		}
		s.tokens.mu.Unlock()
	}
	return unavailable(err)
}

// TokenRevoked implements state.Tokens. Every authenticated request
// asks, and revoked tokens are few: the store keeps their IDs in memory
// and reads them again at most every tokenRefresh, so a token revoked
// through another process is refused here within that time, one revoked
// through this store at once.
func (s *Store) TokenRevoked(jti string) (bool, error) {
	if !textOK(jti) {
		return false, nil
	}
	c := &s.tokens
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil || time.Since(c.loaded) >= tokenRefresh {
		ctx, cancel := s.op(bg)
		defer cancel()
		rows, err := s.pool.Query(ctx, s.q.expand(`SELECT jti FROM {s}.revoked_tokens`))
		if err != nil {
			return false, unavailable(err)
		}
		ids := map[string]struct{}{}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return false, unavailable(err)
			}
			ids[id] = struct{}{}
		}
		if err := rows.Err(); err != nil {
			return false, unavailable(err)
		}
		c.ids, c.loaded = ids, time.Now()
	}
	_, ok := c.ids[jti]
	return ok, nil
}

// tokenRefresh is how stale the revoked tokens TokenRevoked knows may be.
const tokenRefresh = time.Second

// revokedTokens is TokenRevoked's memory.
type revokedTokens struct {
	mu     sync.Mutex
	ids    map[string]struct{}
	loaded time.Time
}

// Audit implements state.Audits.
func (s *Store) Audit(index uint64) (map[string]string, error) {
	var doc []byte
	if err := s.pool.QueryRow(bg, s.q.expand(`SELECT doc FROM {s}.audit WHERE idx = $1`), int64(index)).Scan(&doc); err != nil {
		return nil, noRows(err, fmt.Sprintf("audit record %d", index))
	}
	var out map[string]string
	if err := json.Unmarshal(doc, &out); err != nil {
		return nil, fmt.Errorf("%w: audit record %d: %v", state.ErrCorrupt, index, err)
	}
	return out, nil
}

// Watermark implements state.Replay.
func (s *Store) Watermark() (uint64, error) {
	var w int64
	err := s.pool.QueryRow(bg, s.q.expand(`SELECT watermark FROM {s}.ledger_head`)).Scan(&w)
	return uint64(w), unavailable(err)
}

// SetWatermark implements state.Replay.
func (s *Store) SetWatermark(w uint64) error {
	_, err := s.exec(bg, s.q.expand(`UPDATE {s}.ledger_head SET watermark = $1 WHERE watermark < $1`), int64(w))
	return unavailable(err)
}

// StatusSnapshot implements state.Replay.
func (s *Store) StatusSnapshot() (uint64, []byte, error) {
	var size int64
	var data []byte
	err := s.pool.QueryRow(bg, s.q.expand(`SELECT size, data FROM {s}.status_snapshot`)).Scan(&size, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, unavailable(err)
	}
	return uint64(size), data, nil
}

// PutStatusSnapshot implements state.Replay.
func (s *Store) PutStatusSnapshot(size uint64, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	_, err := s.exec(bg, s.q.expand(`INSERT INTO {s}.status_snapshot (one, size, data) VALUES (true, $1, $2)
		ON CONFLICT (one) DO UPDATE SET size = excluded.size, data = excluded.data`), int64(size), data)
	return unavailable(err)
}

// HolderLogLen implements state.Maintenance: PostgreSQL's indexes are
// written with each row, so nothing waits.
func (s *Store) HolderLogLen() int { return 0 }

// MergeHolderLog implements state.Maintenance: nothing to merge.
func (s *Store) MergeHolderLog(int) (int, error) { return 0, nil }

// Backup implements state.Backend: a PostgreSQL database is backed up
// with its own tools, not streamed through the issuer.
func (s *Store) Backup(io.Writer) (int64, error) {
	return 0, fmt.Errorf("%w: back up schema %q of the PostgreSQL database with pg_dump (pg_dump --schema=%s) or a base backup (pg_basebackup) with WAL archiving", state.ErrNoStreamBackup, s.schema, s.schema)
}

var (
	_ state.Backend = (*Store)(nil)
	_ state.Shared  = (*Store)(nil)
)

// RetiredKeys implements state.Shared.
func (s *Store) RetiredKeys() ([]string, error) {
	ctx, cancel := s.op(bg)
	defer cancel()
	rows, err := s.pool.Query(ctx, s.q.expand(`SELECT kid FROM {s}.retired_keys ORDER BY kid`))
	if err != nil {
		return nil, unavailable(err)
	}
	kids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return kids, unavailable(err)
}

// nowMillis is the database's clock in Unix milliseconds, so that the
// fences of all processes compare on one clock.
const nowMillis = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`

// FenceKey implements state.Shared.
func (s *Store) FenceKey(kid string) error {
	if !textOK(kid) {
		return badText("a key ID " + strconvQuote(kid))
	}
	ctx, cancel := s.op(bg)
	defer cancel()
	_, err := s.exec(ctx, s.q.expand(`INSERT INTO {s}.retired_keys (kid, idx) VALUES ($1, -`+nowMillis+`) ON CONFLICT DO NOTHING`), kid)
	return unavailable(err)
}

// UnfenceKey implements state.Shared.
func (s *Store) UnfenceKey(kid string, minAge time.Duration) (bool, error) {
	if !textOK(kid) {
		return false, badText("a key ID " + strconvQuote(kid))
	}
	ctx, cancel := s.op(bg)
	defer cancel()
	tag, err := s.exec(ctx, s.q.expand(`DELETE FROM {s}.retired_keys WHERE kid = $1 AND idx < 0 AND -idx <= `+nowMillis+` - $2`), kid, minAge.Milliseconds())
	if err != nil {
		return false, unavailable(err)
	}
	return tag.RowsAffected() > 0, nil
}
