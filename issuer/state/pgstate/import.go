package pgstate

import (
	"context"
	"fmt"
	"strings"
	"time"

	json "github.com/go-json-experiment/json"
	"github.com/jackc/pgx/v5"

	"elicense/issuer/state"
)

// Moving a deployment in (elicense migrate): Import writes exported
// pieces as rows, as they are, bypassing Tx; Export reads them all back
// (for the census that proves the move).

// Import implements state.Importer: the pieces of e in one transaction,
// each kind in one statement (arrays through unnest), a row of the same
// key replaced.
func (s *Store) Import(e *state.Export) error {
	if err := checkImport(e); err != nil {
		return err
	}
	b := &pgx.Batch{}
	if err := s.queueRecords(b, e.Records); err != nil {
		return err
	}
	s.queueClaims(b, e.Claims, e.ClaimsGiven)
	if len(e.Seals) > 0 {
		var esid, agency, holder, reason []string
		var made, revoked []*int64
		var idx []int64
		for _, r := range e.Seals {
			esid, agency, holder, reason = append(esid, r.ESID), append(agency, r.Agency), append(holder, r.HolderCode), append(reason, r.Reason)
			made, revoked, idx = append(made, nanos(r.MadeAt)), append(revoked, nanos(r.RevokedAt)), append(idx, int64(r.LedgerIndex))
		}
		b.Queue(s.q.expand(`INSERT INTO {s}.seals (esid, agency, holder_code, made_at, ledger_index, revoked_at, reason)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[])
			ON CONFLICT (esid) DO UPDATE SET agency = excluded.agency, holder_code = excluded.holder_code, made_at = excluded.made_at,
				ledger_index = excluded.ledger_index, revoked_at = excluded.revoked_at, reason = excluded.reason`),
			esid, agency, holder, made, idx, revoked, reason)
	}
	if len(e.AgencySeals) > 0 {
		var code []string
		var der [][]byte
		for _, a := range e.AgencySeals {
			code, der = append(code, a.Code), append(der, a.DER)
		}
		b.Queue(s.q.expand(`INSERT INTO {s}.agency_seals (code, der) SELECT * FROM unnest($1::text[], $2::bytea[])
			ON CONFLICT (code) DO UPDATE SET der = excluded.der`), code, der)
	}
	if len(e.Tokens) > 0 {
		var jti []string
		var exp []int64
		for _, t := range e.Tokens {
			jti, exp = append(jti, t.JTI), append(exp, t.Expires.Unix())
		}
		b.Queue(s.q.expand(`INSERT INTO {s}.revoked_tokens (jti, expires) SELECT * FROM unnest($1::text[], $2::bigint[])
			ON CONFLICT (jti) DO UPDATE SET expires = excluded.expires`), jti, exp)
	}
	if len(e.Audits) > 0 {
		var idx []int64
		var docs [][]byte
		for _, a := range e.Audits {
			doc, err := json.Marshal(a.Values, json.Deterministic(true))
			if err != nil {
				return err
			}
			idx, docs = append(idx, int64(a.Index)), append(docs, doc)
		}
		b.Queue(s.q.putAudt, idx, docs)
	}
	if err := s.queueConsents(b, e); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	return unavailable(s.inTx(bg, func(tx pgx.Tx) error { return tx.SendBatch(bg, b).Close() }))
}

// checkImport refuses a piece PostgreSQL's text cannot hold (a NUL, or
// bytes that are not UTF-8), naming it.
func checkImport(e *state.Export) error {
	for _, r := range e.Records {
		if !textOK(r.ID, r.Class, r.Agency, r.HolderCode, r.HolderName, string(r.Status), r.Reason, r.StatusList,
			r.CredentialHash, r.SupersededBy, r.Supersedes, r.ImportKey, r.IssuedOn, r.Number, r.CopyOf, r.Device, r.Credential) ||
			!textOK(r.Copies...) {
			return badText("a field of licence " + strconvQuote(r.ID))
		}
		for _, id := range r.Copies {
			if strings.Contains(id, "\n") {
				return fmt.Errorf("pgstate: copy identifier %q holds a line break", id)
			}
		}
	}
	for _, c := range e.Claims {
		if !textOK(c.LicenceID) {
			return badText(fmt.Sprintf("the licence of claim ticket %d", c.Ticket))
		}
		if c.Ticket == 0 || c.Ticket > state.MaxClaimTicket {
			return fmt.Errorf("pgstate: claim ticket number %d is out of range", c.Ticket)
		}
	}
	for _, r := range e.Seals {
		if !textOK(r.ESID, r.Agency, r.HolderCode, r.Reason) {
			return badText("a field of seal " + strconvQuote(r.ESID))
		}
	}
	for _, a := range e.AgencySeals {
		if !textOK(a.Code) {
			return badText("an agency code")
		}
	}
	for _, t := range e.Tokens {
		if !textOK(t.JTI) {
			return badText("a token ID")
		}
	}
	return checkConsents(e)
}

// queueRecords upserts licence rows and their credentials.
func (s *Store) queueRecords(b *pgx.Batch, recs []*state.Record) error {
	if len(recs) == 0 {
		return nil
	}
	var (
		l            licenceRows
		lastEvent    []int64
		supersededBy []string
		unbound      []bool
		credIndex    []int64
		credential   []string
		qrs          [][]byte
		seenCred     = map[uint64]bool{}
	)
	for _, r := range recs {
		// The row as Prepare encodes a new licence.
		p, err := s.Prepare(r, nil)
		if err != nil {
			return err
		}
		enc := p.Encoded.(*encoded)
		fieldsJSON, q := enc.fields, enc.qr
		l.id, l.class, l.agency = append(l.id, r.ID), append(l.class, r.Class), append(l.agency, r.Agency)
		l.holderCode, l.holderName = append(l.holderCode, r.HolderCode), append(l.holderName, r.HolderName)
		l.fields, l.status, l.reason = append(l.fields, fieldsJSON), append(l.status, string(r.Status)), append(l.reason, r.Reason)
		l.statusList, l.statusIndex = append(l.statusList, r.StatusList), append(l.statusIndex, int64(r.StatusIndex))
		l.credHash = append(l.credHash, r.CredentialHash)
		l.issuedAt, l.updatedAt = append(l.issuedAt, nanos(r.IssuedAt)), append(l.updatedAt, nanos(r.UpdatedAt))
		l.ledgerIndex, lastEvent = append(l.ledgerIndex, int64(r.LedgerIndex)), append(lastEvent, int64(r.LastEvent))
		supersededBy, l.supersedes = append(supersededBy, r.SupersededBy), append(l.supersedes, r.Supersedes)
		l.importKey, l.issuedOn, l.number = append(l.importKey, r.ImportKey), append(l.issuedOn, r.IssuedOn), append(l.number, r.Number)
		l.copyOf, l.device = append(l.copyOf, r.CopyOf), append(l.device, r.Device)
		l.copies, unbound = append(l.copies, strings.Join(r.Copies, "\n")), append(unbound, r.Unbound)
		if !seenCred[r.LedgerIndex] {
			seenCred[r.LedgerIndex] = true
			credIndex, credential, qrs = append(credIndex, int64(r.LedgerIndex)), append(credential, r.Credential), append(qrs, q)
		}
	}
	b.Queue(s.q.expand(`INSERT INTO {s}.licences (id, class, agency, holder_code, holder_name, fields, status, reason,
			status_list, status_index, credential_hash, issued_at, updated_at, ledger_index, last_event,
			superseded_by, supersedes, import_key, issued_on, number, copy_of, device, copies, unbound)
		SELECT id, class, agency, holder_code, holder_name, fields, status, reason, status_list, status_index,
			credential_hash, issued_at, updated_at, ledger_index, last_event, superseded_by, supersedes, import_key,
			issued_on, number, copy_of, device,
			CASE WHEN copies = '' THEN '{}'::text[] ELSE string_to_array(copies, E'\n') END, unbound
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::text[],
			$8::text[], $9::text[], $10::bigint[], $11::text[], $12::bigint[], $13::bigint[], $14::bigint[],
			$15::bigint[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text[],
			$23::text[], $24::boolean[])
		AS u(id, class, agency, holder_code, holder_name, fields, status, reason, status_list, status_index,
			credential_hash, issued_at, updated_at, ledger_index, last_event, superseded_by, supersedes, import_key,
			issued_on, number, copy_of, device, copies, unbound)
		ON CONFLICT (id) DO UPDATE SET class = excluded.class, agency = excluded.agency, holder_code = excluded.holder_code,
			holder_name = excluded.holder_name, fields = excluded.fields, status = excluded.status, reason = excluded.reason,
			status_list = excluded.status_list, status_index = excluded.status_index, credential_hash = excluded.credential_hash,
			issued_at = excluded.issued_at, updated_at = excluded.updated_at, ledger_index = excluded.ledger_index,
			last_event = excluded.last_event, superseded_by = excluded.superseded_by, supersedes = excluded.supersedes,
			import_key = excluded.import_key, issued_on = excluded.issued_on, number = excluded.number,
			copy_of = excluded.copy_of, device = excluded.device, copies = excluded.copies, unbound = excluded.unbound`),
		l.id, l.class, l.agency, l.holderCode, l.holderName, l.fields, l.status, l.reason, l.statusList, l.statusIndex,
		l.credHash, l.issuedAt, l.updatedAt, l.ledgerIndex, lastEvent, supersededBy, l.supersedes, l.importKey,
		l.issuedOn, l.number, l.copyOf, l.device, l.copies, unbound)
	b.Queue(s.q.expand(`INSERT INTO {s}.credentials (ledger_index, credential, qr) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[])
		ON CONFLICT (ledger_index) DO UPDATE SET credential = excluded.credential, qr = excluded.qr`), credIndex, credential, qrs)
	return nil
}

// queueClaims upserts claim tickets under their numbers and moves the
// ticket sequence past them and past given.
func (s *Store) queueClaims(b *pgx.Batch, claims []state.Claim, given uint64) {
	top := given
	if len(claims) > 0 {
		var ticket []int64
		var licence []string
		var expires []*int64
		var used []bool
		var salt, verif [][]byte
		for _, c := range claims {
			ticket, licence, expires = append(ticket, int64(c.Ticket)), append(licence, c.LicenceID), append(expires, nanos(c.Expires))
			used, salt, verif = append(used, c.Used), append(salt, c.Salt), append(verif, c.Verifier)
			top = max(top, c.Ticket)
		}
		b.Queue(s.q.expand(`INSERT INTO {s}.claim_tickets (ticket, licence_id, expires, used, salt, verifier)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::boolean[], $5::bytea[], $6::bytea[])
			ON CONFLICT (ticket) DO UPDATE SET licence_id = excluded.licence_id, expires = excluded.expires,
				used = excluded.used, salt = excluded.salt, verifier = excluded.verifier`),
			ticket, licence, expires, used, salt, verif)
	}
	if top > 0 {
		top = min(top, state.MaxClaimTicket)
		// The sequence never goes back (a number it gave was used).
		b.Queue(s.q.expand(`SELECT setval('{s}.claim_ticket_seq', $1::bigint) FROM {s}.claim_ticket_seq
			WHERE NOT is_called OR last_value < $1::bigint`), int64(top))
	}
}

// AdvanceSerials implements state.Importer.
func (s *Store) AdvanceSerials(next uint32) error {
	if next >= serialRange {
		return fmt.Errorf("pgstate: serial counter value %d is out of range (below %d)", next, serialRange)
	}
	_, err := s.exec(bg, s.q.expand(`UPDATE {s}.serial_counter SET next = next + ((($1::bigint - next) % $2::bigint) + $2::bigint) % $2::bigint`),
		int64(next), int64(serialRange))
	return unavailable(err)
}

// Export implements state.Exporter from one REPEATABLE READ transaction:
// records (with credentials) in identifier order, then claim tickets,
// seals, agency seals, revoked tokens, audit records, relying parties,
// requests, grants, uses and receipts in key order.
func (s *Store) Export(n int, fn func(*state.Export) error) error {
	if n <= 0 {
		n = 1
	}
	ctx := context.Background()
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback(ctx)
	x := &pgExporter{n: n, fn: fn, e: &state.Export{}}
	var given int64
	var called bool
	if err := tx.QueryRow(ctx, s.q.expand(`SELECT last_value, is_called FROM {s}.claim_ticket_seq`)).Scan(&given, &called); err != nil {
		return unavailable(err)
	}
	if called {
		x.e.ClaimsGiven = uint64(given)
	}
	steps := []struct {
		sql  string
		scan func(pgx.Rows) error
	}{
		{s.q.getRecord + ` ORDER BY l.id`, x.record},
		{s.q.expand(`SELECT ticket, licence_id, expires, used, salt, verifier FROM {s}.claim_tickets ORDER BY ticket`), x.claim},
		{s.q.expand(`SELECT esid, agency, holder_code, made_at, ledger_index, revoked_at, reason FROM {s}.seals ORDER BY esid`), x.seal},
		{s.q.expand(`SELECT code, der FROM {s}.agency_seals ORDER BY code`), x.agencySeal},
		{s.q.expand(`SELECT jti, expires FROM {s}.revoked_tokens ORDER BY jti`), x.token},
		{s.q.expand(`SELECT idx, doc FROM {s}.audit ORDER BY idx`), x.audit},
		{s.q.c.getParty + ` ORDER BY id`, x.party},
		{s.q.expand(`SELECT doc, answer, answered_at, grant_id FROM {s}.requests ORDER BY id`), x.request},
		{s.q.c.getGrant + ` ORDER BY id`, x.grant},
		{s.q.expand(`SELECT copy, idx FROM {s}.uses ORDER BY copy, idx`), x.use},
		{s.q.expand(`SELECT id, idx FROM {s}.receipts ORDER BY id`), x.receipt},
	}
	for _, st := range steps {
		if err := x.each(ctx, tx, st.sql, st.scan); err != nil {
			return err
		}
	}
	return x.flush(true)
}

// pgExporter gathers one batch of an Export.
type pgExporter struct {
	n  int
	fn func(*state.Export) error
	e  *state.Export
}

func (x *pgExporter) flush(last bool) error {
	if (x.e.Len() == 0 && x.e.ClaimsGiven == 0) || (!last && x.e.Len() < x.n) {
		return nil
	}
	e := x.e
	x.e = &state.Export{}
	return x.fn(e)
}

// each reads the rows of sql, passing each to scan and flushing full
// batches. fn runs while the rows are open, on the caller's goroutine.
func (x *pgExporter) each(ctx context.Context, tx pgx.Tx, sql string, scan func(pgx.Rows) error) error {
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return unavailable(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
		if err := x.flush(false); err != nil {
			return err
		}
	}
	return unavailable(rows.Err())
}

func (x *pgExporter) record(rows pgx.Rows) error {
	r, err := scanRecord(rows, true)
	if err != nil {
		return unavailable(err)
	}
	x.e.Records = append(x.e.Records, r)
	return nil
}

func (x *pgExporter) claim(rows pgx.Rows) error {
	var c state.Claim
	var ticket int64
	var exp *int64
	if err := rows.Scan(&ticket, &c.LicenceID, &exp, &c.Used, &c.Salt, &c.Verifier); err != nil {
		return unavailable(err)
	}
	c.Ticket, c.Expires = uint64(ticket), fromNanos(exp)
	x.e.Claims = append(x.e.Claims, c)
	return nil
}

func (x *pgExporter) seal(rows pgx.Rows) error {
	r, err := scanSeal(rows)
	if err != nil {
		return unavailable(err)
	}
	x.e.Seals = append(x.e.Seals, *r)
	return nil
}

func (x *pgExporter) agencySeal(rows pgx.Rows) error {
	var a state.AgencySeal
	if err := rows.Scan(&a.Code, &a.DER); err != nil {
		return unavailable(err)
	}
	x.e.AgencySeals = append(x.e.AgencySeals, a)
	return nil
}

func (x *pgExporter) token(rows pgx.Rows) error {
	var t state.RevokedToken
	var exp int64
	if err := rows.Scan(&t.JTI, &exp); err != nil {
		return unavailable(err)
	}
	t.Expires = time.Unix(exp, 0).UTC()
	x.e.Tokens = append(x.e.Tokens, t)
	return nil
}

func (x *pgExporter) audit(rows pgx.Rows) error {
	var idx int64
	var doc []byte
	if err := rows.Scan(&idx, &doc); err != nil {
		return unavailable(err)
	}
	a := state.AuditRecord{Index: uint64(idx)}
	if err := json.Unmarshal(doc, &a.Values); err != nil {
		return fmt.Errorf("%w: audit record %d: %v", state.ErrCorrupt, idx, err)
	}
	x.e.Audits = append(x.e.Audits, a)
	return nil
}

var _ state.Importer = (*Store)(nil)
