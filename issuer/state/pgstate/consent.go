package pgstate

import (
	"fmt"
	"time"

	json "github.com/go-json-experiment/json"
	"github.com/jackc/pgx/v5"

	"elicense/issuer/state"
)

// What 授权用证 keeps (schema version 3, migrations[2]): each table
// holds its piece as JSON (doc) with the columns that statements test
// or change beside it; a column wins over the same member of doc.
//
// The Tx's changes are single statements queued like the others
// (tx.ops), in the order they were made, each refusing its change by
// its ledger index when the database says no (reject). Writers of the
// ledger take the head row's lock first, so two processes' changes to
// one grant never overlap: the second reads what the first committed
// (a once grant fetched, a request answered) and is refused.

// consentBatch is what a transaction's consent changes took so far, so
// that a second taking in the same batch fails at once instead of costing
// the batch a second try: receipt ids, requests answered, grant ids.
type consentBatch struct {
	receipts, requests, grants map[string]bool
}

// take records key in *m and reports whether it was free.
func take(m *map[string]bool, key string) bool {
	if *m == nil {
		*m = map[string]bool{}
	}
	if (*m)[key] {
		return false
	}
	(*m)[key] = true
	return true
}

// consentQueries are the statements of consent.go.
type consentQueries struct {
	addParty, updateParty, setParty, putGrant, useGrant, revokeGrant string
	addUse, takeReceipt, getGrant, getParty                          string
}

const grantCols = `doc, fetches, revoked_at, revoked_by, ledger_index`

// partyCols are the relying_parties columns scanParty reads.
const partyCols = `id, doc, state, void_before, ledger_index`

func newConsentQueries(e func(string) string) consentQueries {
	return consentQueries{
		addParty: e(`WITH i AS (
			INSERT INTO {s}.relying_parties (id, state, ledger_index, doc, void_before)
			VALUES ($1::text, $2::text, $3::bigint, $4::bytea, $5::bigint)
			ON CONFLICT DO NOTHING RETURNING 1)
		SELECT {s}.reject($3::bigint, '` + codeExists + `', 'relying party ' || $1::text || ' exists')
		WHERE NOT EXISTS (SELECT 1 FROM i)`),
		// A replace keeps the row's state and void_before: a suspension
		// another process committed after this one read the row stays.
		updateParty: e(`WITH u AS (
			UPDATE {s}.relying_parties SET ledger_index = $2::bigint, doc = $3::bytea
			WHERE id = $1::text AND state <> '` + string(state.PartyRemoved) + `' RETURNING 1)
		SELECT {s}.reject($2::bigint,
			CASE WHEN EXISTS (SELECT 1 FROM {s}.relying_parties WHERE id = $1::text) THEN '` + codeRevoked + `' ELSE '` + codeNotFound + `' END,
			'relying party ' || $1::text || ' is missing or removed')
		WHERE NOT EXISTS (SELECT 1 FROM u)`),
		// void_before only moves forward (greatest ignores NULL).
		setParty: e(`WITH u AS (
			UPDATE {s}.relying_parties SET state = $2::text, ledger_index = $4::bigint,
				void_before = CASE WHEN $2::text = '` + string(state.PartyActive) + `' THEN void_before ELSE greatest(void_before, $3::bigint) END
			WHERE id = $1::text AND state <> '` + string(state.PartyRemoved) + `' RETURNING 1)
		SELECT {s}.reject($4::bigint,
			CASE WHEN EXISTS (SELECT 1 FROM {s}.relying_parties WHERE id = $1::text) THEN '` + codeRevoked + `' ELSE '` + codeNotFound + `' END,
			'relying party ' || $1::text || ' is missing or removed')
		WHERE NOT EXISTS (SELECT 1 FROM u)`),
		getParty: e(`SELECT ` + partyCols + ` FROM {s}.relying_parties`),
		// The request is answered first: a grant of a request answered
		// (or missing) inserts nothing and is refused. A credential signed
		// by a key retired by an earlier event, or fenced (idx < 0), is
		// refused before anything is written.
		putGrant: e(`WITH k AS (
			SELECT {s}.reject($6::bigint, '` + codeRetired + `', 'the grant credential is signed by a retired agency key')
			FROM {s}.retired_keys WHERE kid = $9::text AND $9::text <> '' AND idx < $6::bigint
		), r AS (
			UPDATE {s}.requests SET answer = '` + string(state.AnswerGranted) + `', answered_at = $8::bigint, grant_id = $1::text
			WHERE id = $2::text AND answer = '' AND NOT EXISTS (SELECT 1 FROM k) RETURNING 1
		), g AS (
			INSERT INTO {s}.grants (id, rp, copy, once, ledger_index, doc, created)
			SELECT $1::text, $3::text, $4::text, $5::boolean, $6::bigint, $7::bytea, coalesce($8::bigint, 0) WHERE EXISTS (SELECT 1 FROM r)
			ON CONFLICT DO NOTHING RETURNING copy
		), u AS (
			INSERT INTO {s}.uses (copy, idx) SELECT copy, $6::bigint FROM g ON CONFLICT DO NOTHING
		)
		SELECT {s}.reject($6::bigint,
			CASE WHEN EXISTS (SELECT 1 FROM {s}.requests WHERE id = $2::text) THEN '` + codeExists + `' ELSE '` + codeNotFound + `' END,
			'grant ' || $1::text || ': the identifier is taken, or the request answered or missing')
		WHERE NOT EXISTS (SELECT 1 FROM g)`),
		// A fetch counts only while, in the same statement (which sees
		// every ledger transaction committed before this one took the
		// head's lock), the grant is not revoked or used up, its party
		// active and not suspended since the grant, and its copy and the
		// copy's licence valid. A refusal says the first that failed.
		useGrant: e(`WITH u AS (
			UPDATE {s}.grants g SET fetches = g.fetches + 1
			FROM {s}.relying_parties p, {s}.licences c, {s}.licences l
			WHERE g.id = $1::text AND g.revoked_at IS NULL AND (NOT g.once OR g.fetches = 0)
				AND p.id = g.rp AND p.state = '` + string(state.PartyActive) + `' AND (p.void_before IS NULL OR g.created >= p.void_before)
				AND c.id = g.copy AND c.status = '` + string(state.StatusValid) + `' AND NOT c.unbound AND c.copy_of <> ''
				AND l.id = c.copy_of AND l.status = '` + string(state.StatusValid) + `'
			RETURNING g.copy
		), i AS (
			INSERT INTO {s}.uses (copy, idx) SELECT copy, $2::bigint FROM u ON CONFLICT DO NOTHING
		)
		SELECT {s}.reject($2::bigint,
			CASE WHEN g.id IS NULL THEN '` + codeNotFound + `'
				WHEN g.revoked_at IS NOT NULL THEN '` + codeRevoked + `'
				WHEN g.once AND g.fetches > 0 THEN '` + codeExists + `'
				WHEN p.state IS DISTINCT FROM '` + string(state.PartyActive) + `' THEN '` + codeSuspend + `'
				WHEN p.void_before IS NOT NULL AND g.created < p.void_before THEN '` + codeRevoked + `'
				ELSE '` + codeNotValid + `' END,
			'grant ' || $1::text || ' is missing, revoked or used, its party not active, or its licence not valid')
		FROM (SELECT 1) o LEFT JOIN {s}.grants g ON g.id = $1::text LEFT JOIN {s}.relying_parties p ON p.id = g.rp
		WHERE NOT EXISTS (SELECT 1 FROM u)`),
		revokeGrant: e(`WITH u AS (
			UPDATE {s}.grants SET revoked_at = $2::bigint, revoked_by = $3::smallint
			WHERE id = $1::text AND revoked_at IS NULL RETURNING copy
		), i AS (
			INSERT INTO {s}.uses (copy, idx) SELECT copy, $4::bigint FROM u ON CONFLICT DO NOTHING
		)
		SELECT {s}.reject($4::bigint,
			CASE WHEN EXISTS (SELECT 1 FROM {s}.grants WHERE id = $1::text) THEN '` + codeRevoked + `' ELSE '` + codeNotFound + `' END,
			'grant ' || $1::text || ' is missing or revoked')
		WHERE NOT EXISTS (SELECT 1 FROM u)`),
		addUse: e(`INSERT INTO {s}.uses (copy, idx) VALUES ($1::text, $2::bigint) ON CONFLICT DO NOTHING`),
		takeReceipt: e(`WITH i AS (
			INSERT INTO {s}.receipts (id, idx) VALUES ($1::text, $2::bigint) ON CONFLICT DO NOTHING RETURNING 1)
		SELECT {s}.reject($2::bigint, '` + codeExists + `', 'receipt ' || $1::text || ' is taken')
		WHERE NOT EXISTS (SELECT 1 FROM i)`),
		getGrant: e(`SELECT ` + grantCols + ` FROM {s}.grants`),
	}
}

// RelyingParty implements state.Consents.
func (s *Store) RelyingParty(id string) (*state.RelyingParty, error) {
	if !textOK(id) {
		return nil, fmt.Errorf("%w: relying party %q", state.ErrNotFound, id)
	}
	rows, err := s.pool.Query(bg, s.q.c.getParty+` WHERE id = $1`, id)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, unavailable(err)
		}
		return nil, fmt.Errorf("%w: relying party %s", state.ErrNotFound, id)
	}
	return scanParty(rows)
}

// RelyingParties implements state.Consents.
func (s *Store) RelyingParties() ([]*state.RelyingParty, error) {
	rows, err := s.pool.Query(bg, s.q.c.getParty+` ORDER BY id`)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []*state.RelyingParty
	for rows.Next() {
		rp, err := scanParty(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rp)
	}
	return out, unavailable(rows.Err())
}

// scanParty reads a row of partyCols: the columns win over doc.
func scanParty(rows pgx.Rows) (*state.RelyingParty, error) {
	var id, st string
	var doc []byte
	var void *int64
	var idx int64
	if err := rows.Scan(&id, &doc, &st, &void, &idx); err != nil {
		return nil, unavailable(err)
	}
	rp := new(state.RelyingParty)
	if err := json.Unmarshal(doc, rp); err != nil {
		return nil, fmt.Errorf("%w: relying party %s: %v", state.ErrCorrupt, id, err)
	}
	rp.State, rp.VoidBefore, rp.LedgerIndex = state.PartyState(st), fromNanos(void), uint64(idx)
	return rp, nil
}

// PutRequest implements state.Consents.
func (s *Store) PutRequest(r *state.Request) error {
	if !textOK(r.ID) {
		return badText("request " + strconvQuote(r.ID))
	}
	if r.Answer != state.AnswerPending {
		return fmt.Errorf("pgstate: a new request %s answered %q", r.ID, r.Answer)
	}
	if r.Expires.IsZero() {
		return fmt.Errorf("pgstate: request %s has no expiry", r.ID)
	}
	doc, err := json.Marshal(r)
	if err != nil {
		return err
	}
	tag, err := s.exec(bg, s.q.expand(`INSERT INTO {s}.requests (id, expires, doc) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`),
		r.ID, r.Expires.UnixNano(), doc)
	if err != nil {
		return unavailable(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: request %s", state.ErrExists, r.ID)
	}
	return nil
}

// Request implements state.Consents.
func (s *Store) Request(id string) (*state.Request, error) {
	if !textOK(id) {
		return nil, fmt.Errorf("%w: request %q", state.ErrNotFound, id)
	}
	var doc []byte
	var ans, grant string
	var at *int64
	err := s.pool.QueryRow(bg, s.q.expand(`SELECT doc, answer, answered_at, grant_id FROM {s}.requests WHERE id = $1`), id).
		Scan(&doc, &ans, &at, &grant)
	if err != nil {
		return nil, noRows(err, "request "+id)
	}
	r := new(state.Request)
	if err := json.Unmarshal(doc, r); err != nil {
		return nil, fmt.Errorf("%w: request %s: %v", state.ErrCorrupt, id, err)
	}
	r.Answer, r.AnsweredAt, r.Grant = state.Answer(ans), fromNanos(at), grant
	return r, nil
}

// RefuseRequest implements state.Consents: one statement, which waits
// for a grant's transaction holding the row and then finds it answered.
func (s *Store) RefuseRequest(id string, at time.Time) error {
	if !textOK(id) {
		return fmt.Errorf("%w: request %q", state.ErrNotFound, id)
	}
	var done, exists bool
	err := s.writeRow(bg, s.q.expand(`WITH u AS (
		UPDATE {s}.requests SET answer = '`+string(state.AnswerRefused)+`', answered_at = $2 WHERE id = $1 AND answer = '' RETURNING 1)
	SELECT EXISTS (SELECT 1 FROM u), EXISTS (SELECT 1 FROM {s}.requests WHERE id = $1)`), []any{id, nanos(at)}, &done, &exists)
	switch {
	case err != nil:
		return unavailable(err)
	case done:
		return nil
	case exists:
		return fmt.Errorf("%w: request %s was answered", state.ErrExists, id)
	}
	return fmt.Errorf("%w: request %s", state.ErrNotFound, id)
}

// PruneRequests implements state.Consents.
func (s *Store) PruneRequests(now time.Time, max int) (int, error) {
	if max <= 0 {
		return 0, nil
	}
	tag, err := s.exec(bg, s.q.expand(`DELETE FROM {s}.requests WHERE id IN (
		SELECT id FROM {s}.requests WHERE expires < $1 ORDER BY expires LIMIT $2)`), now.UnixNano(), max)
	if err != nil {
		return 0, unavailable(err)
	}
	return int(tag.RowsAffected()), nil
}

// Grant implements state.Consents.
func (s *Store) Grant(id string) (*state.Grant, error) {
	if !textOK(id) {
		return nil, fmt.Errorf("%w: grant %q", state.ErrNotFound, id)
	}
	rows, err := s.pool.Query(bg, s.q.c.getGrant+` WHERE id = $1`, id)
	if err != nil {
		return nil, unavailable(err)
	}
	gs, err := scanGrants(rows, 0)
	if err != nil {
		return nil, err
	}
	if len(gs) == 0 {
		return nil, fmt.Errorf("%w: grant %s", state.ErrNotFound, id)
	}
	return gs[0], nil
}

// scanGrants reads the grants of rows (grantCols), up to limit (0:
// all), and closes rows.
func scanGrants(rows pgx.Rows, limit int) ([]*state.Grant, error) {
	defer rows.Close()
	var out []*state.Grant
	for rows.Next() && (limit == 0 || len(out) < limit) {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, unavailable(rows.Err())
}

func scanGrant(rows pgx.Rows) (*state.Grant, error) {
	var doc []byte
	var fetches, idx int64
	var revoked *int64
	var by int16
	if err := rows.Scan(&doc, &fetches, &revoked, &by, &idx); err != nil {
		return nil, unavailable(err)
	}
	g := new(state.Grant)
	if err := json.Unmarshal(doc, g); err != nil {
		return nil, fmt.Errorf("%w: grant at ledger index %d: %v", state.ErrCorrupt, idx, err)
	}
	g.Fetches, g.RevokedAt, g.RevokedBy, g.LedgerIndex = uint64(fetches), fromNanos(revoked), state.RevokedBy(by), uint64(idx)
	return g, nil
}

// GrantsOfCopy implements state.Consents.
func (s *Store) GrantsOfCopy(copy string) ([]*state.Grant, error) {
	if !textOK(copy) {
		return nil, nil
	}
	rows, err := s.pool.Query(bg, s.q.c.getGrant+` WHERE copy = $1 ORDER BY ledger_index`, copy)
	if err != nil {
		return nil, unavailable(err)
	}
	return scanGrants(rows, 0)
}

// GrantsOfParty implements state.Consents: one row past the page tells
// where the next starts.
func (s *Store) GrantsOfParty(rp string, from uint64, limit int) ([]*state.Grant, uint64, error) {
	if !textOK(rp) || limit <= 0 {
		return nil, 0, nil
	}
	rows, err := s.pool.Query(bg, s.q.c.getGrant+` WHERE rp = $1 AND ledger_index >= $2 ORDER BY ledger_index LIMIT $3`,
		rp, int64(min(from, 1<<63-1)), int64(limit)+1)
	if err != nil {
		return nil, 0, unavailable(err)
	}
	gs, err := scanGrants(rows, 0)
	if err != nil {
		return nil, 0, err
	}
	if len(gs) > limit {
		return gs[:limit], gs[limit].LedgerIndex, nil
	}
	return gs, 0, nil
}

// Uses implements state.Consents.
func (s *Store) Uses(copy string) ([]uint64, error) {
	out := []uint64{}
	if !textOK(copy) {
		return out, nil
	}
	rows, err := s.pool.Query(bg, s.q.expand(`SELECT idx FROM {s}.uses WHERE copy = $1 ORDER BY idx`), copy)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int64
		if err := rows.Scan(&i); err != nil {
			return nil, unavailable(err)
		}
		out = append(out, uint64(i))
	}
	return out, unavailable(rows.Err())
}

// PutRelyingParty implements state.ConsentTx. A replace leaves rp's
// State and VoidBefore as given: the statement keeps the row's.
func (t *tx) PutRelyingParty(rp *state.RelyingParty, create bool, index uint64) error {
	if err, ok := t.refused[index]; ok {
		return err
	}
	if !textOK(rp.ID, string(rp.State)) {
		return badText("a field of relying party " + strconvQuote(rp.ID))
	}
	rp.LedgerIndex = index
	doc, err := json.Marshal(rp)
	if err != nil {
		return err
	}
	if create {
		t.ops = append(t.ops, op{t.s.q.c.addParty, []any{rp.ID, string(rp.State), int64(index), doc, nanos(rp.VoidBefore)}})
	} else {
		t.ops = append(t.ops, op{t.s.q.c.updateParty, []any{rp.ID, int64(index), doc}})
	}
	t.advance(index + 1)
	return nil
}

// SetPartyState implements state.ConsentTx.
func (t *tx) SetPartyState(id string, st state.PartyState, at time.Time, index uint64) error {
	if err, ok := t.refused[index]; ok {
		return err
	}
	if !textOK(id, string(st)) {
		return badText("relying party " + strconvQuote(id))
	}
	t.ops = append(t.ops, op{t.s.q.c.setParty, []any{id, string(st), nanos(at), int64(index)}})
	t.advance(index + 1)
	return nil
}

// PutGrant implements state.ConsentTx.
func (t *tx) PutGrant(g *state.Grant, index uint64) error {
	if err, ok := t.refused[index]; ok {
		return err
	}
	if !textOK(g.ID, g.Request, g.RP, g.Copy) {
		return badText("a field of grant " + strconvQuote(g.ID))
	}
	c := &t.consents
	switch {
	case c.grants[g.ID]:
		return fmt.Errorf("%w: grant %s", state.ErrExists, g.ID)
	case c.requests[g.Request]:
		return fmt.Errorf("%w: request %s was answered", state.ErrExists, g.Request)
	}
	g.LedgerIndex = index
	doc, err := json.Marshal(g)
	if err != nil {
		return err
	}
	if at, ok := t.retired[g.KeyID]; ok && g.KeyID != "" && at < index {
		return fmt.Errorf("%w: key %s, retired by ledger entry %d", state.ErrKeyRetired, g.KeyID, at)
	}
	if !textOK(g.KeyID) {
		return badText("the key ID of grant " + strconvQuote(g.ID))
	}
	take(&c.grants, g.ID)
	take(&c.requests, g.Request)
	t.ops = append(t.ops, op{t.s.q.c.putGrant, []any{g.ID, g.Request, g.RP, g.Copy, g.Use == state.UseOnce, int64(index), doc, nanos(g.Created), g.KeyID}})
	t.advance(index + 1)
	return nil
}

// UseGrant implements state.ConsentTx.
func (t *tx) UseGrant(id string, index uint64) error {
	if err, ok := t.refused[index]; ok {
		return err
	}
	if !textOK(id) {
		return fmt.Errorf("%w: grant %q", state.ErrNotFound, id)
	}
	t.ops = append(t.ops, op{t.s.q.c.useGrant, []any{id, int64(index)}})
	t.advance(index + 1)
	return nil
}

// RevokeGrant implements state.ConsentTx.
func (t *tx) RevokeGrant(id string, at time.Time, by state.RevokedBy, index uint64) error {
	if err, ok := t.refused[index]; ok {
		return err
	}
	if !textOK(id) {
		return fmt.Errorf("%w: grant %q", state.ErrNotFound, id)
	}
	if at.IsZero() {
		return fmt.Errorf("pgstate: revoking grant %s at the zero time", id)
	}
	t.ops = append(t.ops, op{t.s.q.c.revokeGrant, []any{id, at.UnixNano(), int16(by), int64(index)}})
	t.advance(index + 1)
	return nil
}

// AddUse implements state.ConsentTx.
func (t *tx) AddUse(copy string, index uint64) error {
	if err, ok := t.refused[index]; ok {
		return err
	}
	if !textOK(copy) {
		return badText("a licence copy " + strconvQuote(copy))
	}
	t.ops = append(t.ops, op{t.s.q.c.addUse, []any{copy, int64(index)}})
	return nil
}

// TakeReceipt implements state.ConsentTx.
func (t *tx) TakeReceipt(id string, index uint64) error {
	if err, ok := t.refused[index]; ok {
		return err
	}
	if !textOK(id) {
		return badText("a receipt id " + strconvQuote(id))
	}
	if !take(&t.consents.receipts, id) {
		return fmt.Errorf("%w: receipt %s", state.ErrExists, id)
	}
	t.ops = append(t.ops, op{t.s.q.c.takeReceipt, []any{id, int64(index)}})
	t.advance(index + 1)
	return nil
}

// checkConsents refuses an imported consent piece whose keys text
// cannot hold.
func checkConsents(e *state.Export) error {
	for _, rp := range e.RelyingParties {
		if !textOK(rp.ID, string(rp.State)) {
			return badText("a field of relying party " + strconvQuote(rp.ID))
		}
	}
	for _, r := range e.Requests {
		if !textOK(r.ID, string(r.Answer), r.Grant) {
			return badText("a field of request " + strconvQuote(r.ID))
		}
	}
	for _, g := range e.Grants {
		if !textOK(g.ID, g.RP, g.Copy) {
			return badText("a field of grant " + strconvQuote(g.ID))
		}
	}
	for _, u := range e.Uses {
		if !textOK(u.Copy) {
			return badText("a licence copy " + strconvQuote(u.Copy))
		}
	}
	for _, r := range e.Receipts {
		if !textOK(r.ID) {
			return badText("a receipt id " + strconvQuote(r.ID))
		}
	}
	return nil
}

// queueConsents upserts the consent pieces of e, each kind in one
// statement.
func (s *Store) queueConsents(b *pgx.Batch, e *state.Export) error {
	if len(e.RelyingParties) > 0 {
		var id, st []string
		var idx []int64
		var void []*int64
		var doc [][]byte
		for _, rp := range e.RelyingParties {
			d, err := json.Marshal(rp)
			if err != nil {
				return err
			}
			id, st, idx, doc = append(id, rp.ID), append(st, string(rp.State)), append(idx, int64(rp.LedgerIndex)), append(doc, d)
			void = append(void, nanos(rp.VoidBefore))
		}
		b.Queue(s.q.expand(`INSERT INTO {s}.relying_parties (id, state, ledger_index, doc, void_before)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[], $5::bigint[])
			ON CONFLICT (id) DO UPDATE SET state = excluded.state, ledger_index = excluded.ledger_index, doc = excluded.doc,
				void_before = excluded.void_before`),
			id, st, idx, doc, void)
	}
	if len(e.Requests) > 0 {
		var id, ans, grant []string
		var exp []int64
		var at []*int64
		var doc [][]byte
		for _, r := range e.Requests {
			d, err := json.Marshal(r)
			if err != nil {
				return err
			}
			id, ans, grant = append(id, r.ID), append(ans, string(r.Answer)), append(grant, r.Grant)
			exp, at, doc = append(exp, r.Expires.UnixNano()), append(at, nanos(r.AnsweredAt)), append(doc, d)
		}
		b.Queue(s.q.expand(`INSERT INTO {s}.requests (id, expires, answer, answered_at, grant_id, doc)
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::bytea[])
			ON CONFLICT (id) DO UPDATE SET expires = excluded.expires, answer = excluded.answer,
				answered_at = excluded.answered_at, grant_id = excluded.grant_id, doc = excluded.doc`),
			id, exp, ans, at, grant, doc)
	}
	if len(e.Grants) > 0 {
		var id, rp, cp []string
		var once []bool
		var idx, fetches, created []int64
		var revoked []*int64
		var by []int16
		var doc [][]byte
		for _, g := range e.Grants {
			d, err := json.Marshal(g)
			if err != nil {
				return err
			}
			id, rp, cp, once = append(id, g.ID), append(rp, g.RP), append(cp, g.Copy), append(once, g.Use == state.UseOnce)
			idx, fetches = append(idx, int64(g.LedgerIndex)), append(fetches, int64(g.Fetches))
			revoked, by, doc = append(revoked, nanos(g.RevokedAt)), append(by, int16(g.RevokedBy)), append(doc, d)
			c := int64(0)
			if n := nanos(g.Created); n != nil {
				c = *n
			}
			created = append(created, c)
		}
		b.Queue(s.q.expand(`INSERT INTO {s}.grants (id, rp, copy, once, ledger_index, fetches, revoked_at, revoked_by, doc, created)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::bigint[], $6::bigint[],
				$7::bigint[], $8::smallint[], $9::bytea[], $10::bigint[])
			ON CONFLICT (id) DO UPDATE SET rp = excluded.rp, copy = excluded.copy, once = excluded.once,
				ledger_index = excluded.ledger_index, fetches = excluded.fetches, revoked_at = excluded.revoked_at,
				revoked_by = excluded.revoked_by, doc = excluded.doc, created = excluded.created`),
			id, rp, cp, once, idx, fetches, revoked, by, doc, created)
	}
	if len(e.Uses) > 0 {
		var cp []string
		var idx []int64
		for _, u := range e.Uses {
			cp, idx = append(cp, u.Copy), append(idx, int64(u.Index))
		}
		b.Queue(s.q.expand(`INSERT INTO {s}.uses (copy, idx) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING`), cp, idx)
	}
	if len(e.Receipts) > 0 {
		var id []string
		var idx []int64
		for _, r := range e.Receipts {
			id, idx = append(id, r.ID), append(idx, int64(r.Index))
		}
		b.Queue(s.q.expand(`INSERT INTO {s}.receipts (id, idx) SELECT * FROM unnest($1::text[], $2::bigint[])
			ON CONFLICT (id) DO UPDATE SET idx = excluded.idx`), id, idx)
	}
	return nil
}

func (x *pgExporter) party(rows pgx.Rows) error {
	rp, err := scanParty(rows)
	if err != nil {
		return err
	}
	x.e.RelyingParties = append(x.e.RelyingParties, rp)
	return nil
}

func (x *pgExporter) request(rows pgx.Rows) error {
	var doc []byte
	var ans, grant string
	var at *int64
	if err := rows.Scan(&doc, &ans, &at, &grant); err != nil {
		return unavailable(err)
	}
	r := new(state.Request)
	if err := json.Unmarshal(doc, r); err != nil {
		return fmt.Errorf("%w: request: %v", state.ErrCorrupt, err)
	}
	r.Answer, r.AnsweredAt, r.Grant = state.Answer(ans), fromNanos(at), grant
	x.e.Requests = append(x.e.Requests, r)
	return nil
}

func (x *pgExporter) grant(rows pgx.Rows) error {
	g, err := scanGrant(rows)
	if err != nil {
		return err
	}
	x.e.Grants = append(x.e.Grants, g)
	return nil
}

func (x *pgExporter) use(rows pgx.Rows) error {
	var u state.Use
	var idx int64
	if err := rows.Scan(&u.Copy, &idx); err != nil {
		return unavailable(err)
	}
	u.Index = uint64(idx)
	x.e.Uses = append(x.e.Uses, u)
	return nil
}

func (x *pgExporter) receipt(rows pgx.Rows) error {
	var r state.Receipt
	var idx int64
	if err := rows.Scan(&r.ID, &idx); err != nil {
		return unavailable(err)
	}
	r.Index = uint64(idx)
	x.e.Receipts = append(x.e.Receipts, r)
	return nil
}
