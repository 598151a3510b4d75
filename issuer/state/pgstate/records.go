package pgstate

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	// json v2, as the bbolt backend: the same JSON in well under half the time.
	json "github.com/go-json-experiment/json"
	"github.com/jackc/pgx/v5"

	"elicense/certs/qr"
	"elicense/issuer/state"
)

// encoded is a new licence as Prepare encodes it for Tx.Insert.
type encoded struct {
	fields []byte // the record's Fields, JSON
	qr     []byte // the QR core, qr.Holding JSON (nil if none)
}

// nanos is t as stored: Unix nanoseconds, nil (NULL) for the zero time.
func nanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

func fromNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// Prepare implements state.Licences: the fields and the QR core are
// encoded here, off the ledger's writer.
func (s *Store) Prepare(r *state.Record, c *state.Claim) (*state.Prepared, error) {
	e := &encoded{}
	var err error
	if e.fields, err = json.Marshal(r.Fields); err != nil {
		return nil, err
	}
	switch {
	case r.Holding != nil:
		if e.qr, err = json.Marshal(r.Holding); err != nil {
			return nil, err
		}
	case len(r.QR) > 0:
		e.qr = r.QR
	}
	for _, id := range r.Copies {
		if strings.Contains(id, "\n") {
			return nil, fmt.Errorf("pgstate: copy identifier %q holds a line break", id)
		}
	}
	return &state.Prepared{Record: r, Claim: c, Encoded: e}, nil
}

// scanRecord reads a row of recordCols (and, if cred, the credential
// and QR core after them).
func scanRecord(row pgx.Row, cred bool) (*state.Record, error) {
	var (
		r                   state.Record
		fields, qrJSON      []byte
		status              string
		statusIndex, li, le int64
		issued, updated     *int64
		credential          *string
	)
	dst := []any{&r.ID, &r.Class, &r.Agency, &r.HolderCode, &r.HolderName, &fields, &status, &r.Reason,
		&r.StatusList, &statusIndex, &r.CredentialHash, &issued, &updated, &li, &le, &r.SupersededBy,
		&r.Supersedes, &r.ImportKey, &r.IssuedOn, &r.Number, &r.CopyOf, &r.Device, &r.Copies, &r.Unbound}
	if cred {
		dst = append(dst, &credential, &qrJSON)
	}
	if err := row.Scan(dst...); err != nil {
		return nil, err
	}
	r.Status, r.StatusIndex, r.LedgerIndex, r.LastEvent = state.Status(status), uint64(statusIndex), uint64(li), uint64(le)
	r.IssuedAt, r.UpdatedAt = fromNanos(issued), fromNanos(updated)
	if len(r.Copies) == 0 {
		r.Copies = nil
	}
	if err := json.Unmarshal(fields, &r.Fields); err != nil {
		return nil, fmt.Errorf("%w: %s: fields: %v", state.ErrCorrupt, r.ID, err)
	}
	if cred {
		if credential == nil {
			return nil, fmt.Errorf("%w: %s: no credential under ledger index %d", state.ErrCorrupt, r.ID, li)
		}
		r.Credential = *credential
		if qrJSON != nil {
			// The QR core as Holding, or as the bytes it was given in
			// when they are not one (Record.QR).
			h := new(qr.Holding)
			if json.Unmarshal(qrJSON, h) == nil {
				r.Holding = h
			} else {
				r.QR = qrJSON
			}
		}
	}
	return &r, nil
}

// Get implements state.Licences.
func (s *Store) Get(id string) (*state.Record, error) {
	if !textOK(id) {
		return nil, fmt.Errorf("%w: %q", state.ErrNotFound, id)
	}
	r, err := scanRecord(s.pool.QueryRow(context.Background(), s.q.getRecord+` WHERE l.id = $1`, id), true)
	if err != nil {
		return nil, noRows(err, id)
	}
	return r, nil
}

// ByImportKey implements state.Licences.
func (s *Store) ByImportKey(agency, key string) (*state.Record, error) {
	if key == "" || !textOK(agency, key) {
		return nil, fmt.Errorf("%w: import key %q", state.ErrNotFound, key)
	}
	r, err := scanRecord(s.pool.QueryRow(context.Background(), s.q.getRecord+` WHERE l.agency = $1 AND l.import_key = $2`, agency, key), true)
	if err != nil {
		return nil, noRows(err, fmt.Sprintf("import key %q", key))
	}
	return r, nil
}

// Search implements state.Licences with the index the query names:
// holder, agency (and class), class or identifier. An agency without a
// class is listed in class, then identifier order, as bbolt lists it.
func (s *Store) Search(q state.Query) ([]*state.Record, string, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 100
	}
	if !textOK(q.HolderCode, q.Class, q.Agency, string(q.Status), q.After) {
		return nil, "", nil // nothing stored matches
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	where = append(where, "l.copy_of = ''")
	order := "l.id"
	if q.HolderCode != "" {
		where = append(where, "l.holder_code = "+arg(q.HolderCode))
	}
	if q.Class != "" {
		where = append(where, "l.class = "+arg(q.Class))
	}
	if q.Agency != "" {
		where = append(where, "l.agency = "+arg(q.Agency))
	}
	if q.Status != "" {
		where = append(where, "l.status = "+arg(string(q.Status)))
	}
	if q.Agency != "" && q.Class == "" && q.HolderCode == "" {
		order = "l.class, l.id"
		if q.After != "" {
			// Resume after the class of the cursor's licence, which must
			// exist (as bbolt requires).
			var class string
			err := s.pool.QueryRow(bg, s.q.expand(`SELECT class FROM {s}.licences WHERE id = $1`), q.After).Scan(&class)
			if err != nil {
				return nil, "", noRows(err, q.After)
			}
			where = append(where, "(l.class, l.id) > ("+arg(class)+", "+arg(q.After)+")")
		}
	} else if q.After != "" {
		where = append(where, "l.id > "+arg(q.After))
	}
	sql := s.q.getRecord + " WHERE " + strings.Join(where, " AND ") + " ORDER BY " + order + " LIMIT " + arg(q.Limit+1)
	rows, err := s.pool.Query(context.Background(), sql, args...)
	if err != nil {
		return nil, "", unavailable(err)
	}
	defer rows.Close()
	var out []*state.Record
	for rows.Next() {
		r, err := scanRecord(rows, true)
		if err != nil {
			return nil, "", unavailable(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", unavailable(err)
	}
	next := ""
	if len(out) > q.Limit {
		out = out[:q.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// ForEach implements state.Licences: one query, so one snapshot.
func (s *Store) ForEach(fn func(*state.Record) error) error {
	return s.each(`SELECT `+recordCols+` FROM `+s.q.expand(`{s}.licences l ORDER BY l.id`), false, fn)
}

// ForEachSigned implements state.Licences: one query, so one
// consistent view.
func (s *Store) ForEachSigned(fn func(*state.Record) error) error {
	return s.each(s.q.getRecord+` ORDER BY l.id`, true, fn)
}

func (s *Store) each(sql string, cred bool, fn func(*state.Record) error, args ...any) error {
	rows, err := s.pool.Query(context.Background(), sql, args...)
	if err != nil {
		return unavailable(err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows, cred)
		if err != nil {
			return unavailable(err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return unavailable(rows.Err())
}

// Apply implements state.Replay: the status change as Tx.Apply makes
// it, in a statement of its own.
func (s *Store) Apply(c state.Change) error {
	if !textOK(c.ID, string(c.Status), c.Reason, c.SupersededBy) {
		return badText("a field of the change of " + strconvQuote(c.ID))
	}
	var updated, exists bool
	err := s.writeRow(bg, s.q.applyReplay, applyArgs(c, math.MaxInt64), &updated, &exists)
	switch {
	case err != nil:
		return unavailable(err)
	case !exists:
		return fmt.Errorf("%w: %s", state.ErrNotFound, c.ID)
	case updated:
		return s.SetWatermark(c.LedgerIndex + 1)
	}
	return nil
}

// StatusSince implements state.Shared. The records of one event (a
// licence and its copies share a LastEvent) are never split between
// two calls.
func (s *Store) StatusSince(from uint64, limit int, fn func(*state.Record) error) (uint64, error) {
	if limit <= 0 {
		limit = 1000
	}
	base := `SELECT ` + recordCols + ` FROM ` + s.q.expand(`{s}.licences l`)
	var recs []*state.Record
	collect := func(r *state.Record) error { recs = append(recs, r); return nil }
	if err := s.each(base+` WHERE l.last_event >= $1 ORDER BY l.last_event, l.id LIMIT $2`, false, collect, int64(from), limit); err != nil {
		return from, err
	}
	if len(recs) == 0 {
		return from, nil
	}
	last := recs[len(recs)-1].LastEvent
	if len(recs) == limit {
		// The last event's records may go on past the limit: take them
		// all.
		for len(recs) > 0 && recs[len(recs)-1].LastEvent == last {
			recs = recs[:len(recs)-1]
		}
		if err := s.each(base+` WHERE l.last_event = $1 ORDER BY l.id`, false, collect, int64(last)); err != nil {
			return from, err
		}
	}
	for _, r := range recs {
		if err := fn(r); err != nil {
			return from, err
		}
	}
	return last + 1, nil
}

// serialRange is how many serials there are: four base-36 characters.
const serialRange = 36 * 36 * 36 * 36

// ReserveSerials implements state.Shared. The counter row only grows
// (one UPDATE … RETURNING, atomic across processes); the serials are
// its values modulo serialRange, so after 1,679,616 serials they start
// again from 0 and a range that crosses the end goes on from 0 (first
// is near the end and the caller's first+i wraps the same way).
func (s *Store) ReserveSerials(n uint32) (uint32, error) {
	if n == 0 || n > serialRange {
		return 0, fmt.Errorf("pgstate: cannot reserve %d serials (1 to %d)", n, serialRange)
	}
	var next int64
	err := s.writeRow(context.Background(), s.q.expand(`UPDATE {s}.serial_counter SET next = next + $1 RETURNING next`), []any{int64(n)}, &next)
	if err != nil {
		return 0, unavailable(err)
	}
	return uint32((next - int64(n)) % serialRange), nil
}
