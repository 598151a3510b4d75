package service

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"elicense/certs/ledgerevent"
	"elicense/internal/ledger"
	"elicense/issuer/pki"
	"elicense/issuer/state"
)

// MigrateOperator is the operator every migrated event commits to. The
// format-1 entries published the operators' token subjects in the
// clear; a new commitment to them would hide nothing already public and
// would tie the new log to the old one, so the migration commits to
// this fixed subject instead, and the audit record says so.
const MigrateOperator = "migrate-ledger"

// MigrateOptions are the two data sets of a ledger migration
// (elicense migrate-ledger; docs/events.md, Format-1 ledgers).
type MigrateOptions struct {
	// From is the old state, read only; FromLedger its ledger of
	// format-1 entries.
	From       state.Store
	FromLedger ledger.Reader
	// To is the new, empty state, and Ledger the new, empty ledger kept
	// by the same backend (format 2).
	To     state.Store
	Ledger Ledger
	// Audit is the new ledger's audit key.
	Audit *ledgerevent.AuditKey
	// PKI gives the agency keys whose states are re-recorded.
	PKI *pki.PKI
	// Progress, if set, is called after each batch with the licences
	// done and their total.
	Progress func(done, total int)
}

// Census counts what a state holds: what a migration must carry over.
type Census struct {
	Licences     int                  // licences, every version
	Copies       int                  // device copies
	Seals        int                  // seals made
	RevokedSeals int                  // seals revoked
	Status       map[state.Status]int // licences and copies by status
}

// Equal reports whether c and d count the same.
func (c Census) Equal(d Census) bool {
	if c.Licences != d.Licences || c.Copies != d.Copies || c.Seals != d.Seals || c.RevokedSeals != d.RevokedSeals || len(c.Status) != len(d.Status) {
		return false
	}
	for k, v := range c.Status {
		if d.Status[k] != v {
			return false
		}
	}
	return true
}

// CountState counts the licences, copies and revoked seals of st; the
// seals made are counted from the ledger (Census.Seals is left zero).
func CountState(st state.Store) (Census, error) {
	c := Census{Status: map[state.Status]int{}}
	err := st.ForEach(func(r *state.Record) error {
		if r.CopyOf == "" {
			c.Licences++
		} else {
			c.Copies++
		}
		c.Status[r.Status]++
		return nil
	})
	if err != nil {
		return c, err
	}
	revoked, err := st.RevokedSeals()
	c.RevokedSeals = len(revoked)
	return c, err
}

// ErrMigrate means a ledger migration cannot go on: the old data is not
// what a migration reads, or it disagrees with itself.
var ErrMigrate = errors.New("service: ledger migration")

// Migrate re-records the old state in the new ledger as format-2
// events, each in the transaction that writes its state rows, so the new
// state's ledger indexes point at the new entries. In order: every
// agency's earlier keys (key-rotated, key-compromised, from the PKI);
// every licence, oldest first, a re-issued one after the version it
// supersedes (issue or reissue, a claim per device copy, an unbind per
// copy revoked on its own, then its status if not valid); every seal
// (seal-made, seal-revoked). Events carry the state's times (issued,
// last changed, made, revoked) and commit to MigrateOperator as the
// operator. Credentials and QR cores are kept as they are, status-list
// positions too; a device copy gets the identifier this version derives
// (the old one published a digest of the device key alone). Claim
// tickets are not carried over. It returns the old state's census.
func Migrate(ctx context.Context, o MigrateOptions) (Census, error) {
	m := &migration{o: o, done: map[string]bool{}}
	if err := m.scanOld(ctx); err != nil {
		return Census{}, err
	}
	old, err := CountState(o.From)
	if err != nil {
		return old, err
	}
	old.Seals = len(m.seals)
	if err := m.agencySeals(); err != nil {
		return old, err
	}
	m.keys()
	if err := m.licences(ctx); err != nil {
		return old, err
	}
	if err := m.sealEvents(ctx); err != nil {
		return old, err
	}
	if err := m.flush(ctx); err != nil {
		return old, err
	}
	for {
		n, err := o.To.MergeHolderLog(1 << 16)
		if err != nil || n == 0 {
			return old, err
		}
	}
}

// migration is one Migrate: what the old ledger adds to the old state,
// and the batch being built.
type migration struct {
	o    MigrateOptions
	done map[string]bool // licences re-recorded (or under way)
	// From the old ledger: the seals made, in order, with what the
	// state does not keep; a superseded version's status before its
	// re-issue; a licence's last suspension reason.
	seals         []v1Seal
	supersedeFrom map[string]ledgerevent.Status
	suspendReason map[string]string
	// The batch: events and the state's side of each, appended in one
	// transaction.
	es  events
	fns []func(tx state.Tx, first uint64) error
}

type v1Seal struct {
	esid   string
	sum    ledgerevent.Digest
	holder string
}

// migrateBatch is how many events go into one append: large enough that
// the fsync is shared, small enough to keep the batch's records in
// memory.
const migrateBatch = 512

// add queues event e with fn, the state's side of it, given e's index.
func (m *migration) add(e event, fn func(tx state.Tx, idx uint64) error) {
	off := uint64(len(m.es))
	m.es = append(m.es, e)
	if fn != nil {
		m.fns = append(m.fns, func(tx state.Tx, first uint64) error { return fn(tx, first+off) })
	}
}

// flush appends the batch.
func (m *migration) flush(ctx context.Context) error {
	if len(m.es) == 0 {
		return nil
	}
	fns := m.fns
	_, err := appendEvents(ctx, m.o.Ledger, m.es, func(tx state.Tx, first uint64) error {
		for _, fn := range fns {
			if err := fn(tx, first); err != nil {
				return err
			}
		}
		return nil
	})
	m.es, m.fns = nil, nil
	return err
}

// scanOld reads the old ledger: every entry must be format 1.
func (m *migration) scanOld(ctx context.Context) error {
	st, err := m.o.FromLedger.State(ctx)
	if err != nil {
		return err
	}
	if st.EntryFormat == EntryFormat {
		return fmt.Errorf("%w: the old ledger is already %s: nothing to migrate", ErrMigrate, EntryFormat)
	}
	m.supersedeFrom, m.suspendReason = map[string]ledgerevent.Status{}, map[string]string{}
	seen := map[string]bool{}
	return m.o.FromLedger.Entries(ctx, 0, st.Size, func(i uint64, b []byte) error {
		e, err := decodeFormat1(b)
		if err != nil {
			return fmt.Errorf("%w: old ledger entry %d: %v", ErrMigrate, i, err)
		}
		switch {
		case e.typ == v1SealMake && !seen[e.id]:
			seen[e.id] = true
			m.seals = append(m.seals, v1Seal{esid: e.id, sum: e.hash, holder: string(e.extra)})
		case e.typ == v1Suspend:
			m.suspendReason[e.id] = e.reason
		case e.typ == v1Revoke && e.reason == "变更" && len(e.extra) > 0 && e.from == byte(ledgerevent.StatusSuspended):
			m.supersedeFrom[e.id] = ledgerevent.StatusSuspended
		}
		return nil
	})
}

// agencySeals copies the agencies' licence-face seals: the credentials
// name their esIDs.
func (m *migration) agencySeals() error {
	for _, ag := range m.o.PKI.Agencies {
		der, err := m.o.From.AgencySeal(ag.Code)
		if errors.Is(err, state.ErrNotFound) {
			continue
		}
		if err == nil {
			err = m.o.To.PutAgencySeal(ag.Code, der)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// keys queues the state of every agency's earlier keys: each rotated out
// (at the time it entered its state) and, if compromised, since when.
func (m *migration) keys() {
	for _, ag := range m.o.PKI.Agencies {
		for i, pk := range ag.Previous {
			next := ag.KeyID
			if i+1 < len(ag.Previous) {
				next = ag.Previous[i+1].KeyID
			}
			t := pk.Since.UTC()
			if t.IsZero() {
				t = time.Now().UTC() // not recorded: the migration's time
			}
			m.add(event{m.o.Audit.KeyRotated(ledgerevent.KeyRotated{Time: t, Agency: ag.Code, KeyID: next, Previous: pk.KeyID}, MigrateOperator), migrateAudit}, nil)
			if pk.State != pki.KeyCompromised {
				continue
			}
			var sum ledgerevent.Digest
			if pk.Genuine != nil {
				b, _ := hex.DecodeString(pk.Genuine.SM3)
				copy(sum[:], b)
			}
			m.add(event{m.o.Audit.KeyCompromised(ledgerevent.KeyCompromised{Time: t, Agency: ag.Code, KeyID: pk.KeyID, Since: t, Genuine: sum}, MigrateOperator), migrateAudit}, nil)
		}
	}
}

// licences queues every licence, oldest first.
func (m *migration) licences(ctx context.Context) error {
	type ref struct {
		id string
		at time.Time
	}
	var all []ref
	err := m.o.From.ForEach(func(r *state.Record) error {
		if r.CopyOf == "" {
			all = append(all, ref{r.ID, r.IssuedAt})
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(all, func(a, b ref) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.id, b.id)) })
	for i, r := range all {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := m.licence(ctx, r.id); err != nil {
			return err
		}
		if len(m.es) >= migrateBatch {
			if err := m.flush(ctx); err != nil {
				return err
			}
			if m.o.Progress != nil {
				m.o.Progress(i+1, len(all))
			}
		}
	}
	if m.o.Progress != nil {
		m.o.Progress(len(all), len(all))
	}
	return nil
}

var migrateAudit = opAudit(Operator{Subject: MigrateOperator})

// licence queues licence id's events, after those of the version it
// supersedes.
func (m *migration) licence(ctx context.Context, id string) error {
	if m.done[id] {
		return nil
	}
	m.done[id] = true
	r, err := m.o.From.Get(id)
	if err != nil {
		return fmt.Errorf("%w: licence %s: %v", ErrMigrate, id, err)
	}
	if r.CopyOf != "" {
		return fmt.Errorf("%w: %s is a device copy, not a licence", ErrMigrate, id)
	}
	a := m.o.Audit
	if r.Supersedes == "" {
		p, err := m.prepare(r, "")
		if err != nil {
			return err
		}
		m.add(event{a.Issue(ledgerevent.Issue{Time: r.IssuedAt, Agency: r.Agency, ID: r.ID, Credential: mustHash(r.CredentialHash)}, MigrateOperator), migrateAudit}, insert(p))
	} else if err := m.reissue(ctx, r); err != nil {
		return err
	}
	if err := m.copies(r); err != nil {
		return err
	}
	to := r.Status
	if to == state.StatusSuperseded {
		// Superseded by the next version's reissue event; a version
		// suspended then is suspended first.
		if m.supersedeFrom[r.ID] != ledgerevent.StatusSuspended {
			return nil
		}
		to = state.StatusSuspended
	}
	if to == state.StatusValid {
		return nil
	}
	reason := r.Reason
	if to == state.StatusSuspended && r.Status == state.StatusSuperseded {
		reason = cmp.Or(m.suspendReason[r.ID], "其他")
	}
	ev := a.StatusChange(ledgerevent.StatusChange{Time: r.UpdatedAt, Agency: r.Agency, ID: r.ID, Credential: mustHash(r.CredentialHash),
		From: ledgerevent.StatusValid, To: ledgerStatus[to], Reason: reason}, MigrateOperator)
	m.add(event{ev, migrateAudit}, func(tx state.Tx, idx uint64) error {
		return tx.Apply(state.Change{ID: r.ID, Status: to, Reason: reason, At: r.UpdatedAt, LedgerIndex: idx})
	})
	return nil
}

// reissue queues r's reissue event, which supersedes the version before.
func (m *migration) reissue(ctx context.Context, r *state.Record) error {
	if err := m.licence(ctx, r.Supersedes); err != nil {
		return err
	}
	old, err := m.o.From.Get(r.Supersedes)
	if err != nil {
		return fmt.Errorf("%w: licence %s supersedes %s: %v", ErrMigrate, r.ID, r.Supersedes, err)
	}
	p, err := m.prepare(r, "")
	if err != nil {
		return err
	}
	from := cmp.Or(m.supersedeFrom[old.ID], ledgerevent.StatusValid)
	ev := m.o.Audit.Reissue(ledgerevent.Reissue{Time: r.IssuedAt, Agency: r.Agency, ID: r.ID, Supersedes: old.ID,
		Credential: mustHash(r.CredentialHash), Superseded: mustHash(old.CredentialHash), From: from, Reason: "变更"}, MigrateOperator)
	m.add(event{ev, migrateAudit}, func(tx state.Tx, idx uint64) error {
		if err := tx.Insert(p, idx); err != nil {
			return err
		}
		return tx.Apply(state.Change{ID: old.ID, Status: state.StatusSuperseded, Reason: "变更", At: old.UpdatedAt, LedgerIndex: idx, SupersededBy: r.ID})
	})
	return nil
}

// copies queues r's device copies: a claim each, and an unbind for a
// copy revoked on its own.
func (m *migration) copies(r *state.Record) error {
	for _, cid := range r.Copies {
		c, err := m.o.From.Get(cid)
		if err != nil {
			return fmt.Errorf("%w: copy %s of %s: %v", ErrMigrate, cid, r.ID, err)
		}
		dev, err := hex.DecodeString(c.Device)
		if err != nil || len(dev) != 33 {
			return fmt.Errorf("%w: copy %s: device key %q is not a compressed key in hex", ErrMigrate, cid, c.Device)
		}
		id := copyIDOf(m.o.Audit, r.ID, dev)
		p, err := m.prepare(c, id)
		if err != nil {
			return err
		}
		ev := m.o.Audit.Claim(ledgerevent.Claim{Time: c.IssuedAt, Agency: c.Agency, ID: id, Credential: mustHash(c.CredentialHash)}, dev)
		m.add(event{ev, map[string]string{ledgerevent.FieldDevice: c.Device}}, insert(p))
		if !c.Unbound {
			continue
		}
		ub := m.o.Audit.Unbind(ledgerevent.Unbind{Time: c.UpdatedAt, Agency: c.Agency, ID: id, Credential: mustHash(c.CredentialHash),
			From: ledgerevent.StatusValid, Reason: c.Reason}, MigrateOperator)
		m.add(event{ub, migrateAudit}, func(tx state.Tx, idx uint64) error {
			return tx.Apply(state.Change{ID: id, Status: state.StatusRevoked, Reason: c.Reason, At: c.UpdatedAt, LedgerIndex: idx, Unbind: true})
		})
	}
	return nil
}

// prepare encodes r as issued, under identifier id if not empty (a
// device copy's new identifier): valid, with no copies and nothing
// superseding it yet; the events after its issuance change that.
func (m *migration) prepare(r *state.Record, id string) (*state.Prepared, error) {
	n := *r
	if id != "" {
		n.ID = id
	}
	n.Status, n.Reason, n.UpdatedAt = state.StatusValid, "", r.IssuedAt
	n.SupersededBy, n.Copies, n.Unbound = "", nil, false
	n.LedgerIndex, n.LastEvent = 0, 0
	p, err := m.o.To.Prepare(&n, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: licence %s: %v", ErrMigrate, r.ID, err)
	}
	return p, nil
}

// sealEvents queues every seal made, and every revocation.
func (m *migration) sealEvents(ctx context.Context) error {
	a := m.o.Audit
	made := map[string]bool{}
	for _, s := range m.seals {
		rec, err := m.o.From.Seal(s.esid)
		if err != nil {
			return fmt.Errorf("%w: seal %s: %v", ErrMigrate, s.esid, err)
		}
		made[s.esid] = true
		// The state keeps the holder's code; format 1 kept no name, so
		// the name commitment is to the empty name.
		holder := cmp.Or(rec.HolderCode, s.holder)
		ev := a.SealMade(ledgerevent.SealMade{Time: rec.MadeAt, Agency: rec.Agency, ESID: s.esid, Seal: s.sum}, holder, "", MigrateOperator)
		audit := map[string]string{ledgerevent.FieldHolderCode: holder, ledgerevent.FieldHolderName: "", ledgerevent.FieldOperator: MigrateOperator}
		m.add(event{ev, audit}, func(tx state.Tx, idx uint64) error {
			return tx.PutSeal(state.SealRecord{ESID: s.esid, Agency: rec.Agency, HolderCode: holder, MadeAt: rec.MadeAt, LedgerIndex: idx})
		})
		if !rec.RevokedAt.IsZero() {
			m.revokeSeal(*rec)
		}
		if len(m.es) >= migrateBatch {
			if err := m.flush(ctx); err != nil {
				return err
			}
		}
	}
	// Revocations of seals the state never saw made still reach
	// counters.
	revoked, err := m.o.From.RevokedSeals()
	if err != nil {
		return err
	}
	for _, r := range revoked {
		if !made[r.ESID] {
			m.revokeSeal(r)
		}
	}
	return nil
}

func (m *migration) revokeSeal(r state.SealRecord) {
	ev := m.o.Audit.SealRevoked(ledgerevent.SealRevoked{Time: r.RevokedAt, Agency: r.Agency, ESID: r.ESID, Reason: r.Reason}, MigrateOperator)
	m.add(event{ev, migrateAudit}, func(tx state.Tx, idx uint64) error {
		return tx.RevokeSeal(r.ESID, r.RevokedAt, r.Reason, idx)
	})
}

// Format-1 entry types the migration reads (the rest it only checks).
const (
	v1Suspend  = 3
	v1Revoke   = 5
	v1SealMake = 6
	v1MaxType  = 11
)

// v1Entry is a format-1 ledger entry: version 1, type, time, SM3 of
// what it concerns, statuses from and to, then agency, identifier,
// reason, operator and extra, each a uint16 length and its bytes (the
// layout of releases before format 2).
type v1Entry struct {
	typ      byte
	time     time.Time
	hash     ledgerevent.Digest
	from, to byte
	agency   string
	id       string
	reason   string
	operator string
	extra    []byte
}

// errFormat1 is a format-1 entry that does not decode.
var errFormat1 = errors.New("not a format-1 entry")

// decodeFormat1 decodes one format-1 entry, refusing anything the
// format-1 decoder refused.
func decodeFormat1(b []byte) (v1Entry, error) {
	var e v1Entry
	const fixed = 1 + 1 + 8 + 32 + 1 + 1
	switch {
	case len(b) == 0:
		return e, fmt.Errorf("%w: empty", errFormat1)
	case b[0] != 1:
		return e, fmt.Errorf("%w: format %d", errFormat1, b[0])
	case len(b) < fixed:
		return e, fmt.Errorf("%w: %d bytes", errFormat1, len(b))
	case b[1] == 0 || b[1] > v1MaxType:
		return e, fmt.Errorf("%w: type %d", errFormat1, b[1])
	case b[42] > 3 || b[43] > 3:
		return e, fmt.Errorf("%w: status %d -> %d", errFormat1, b[42], b[43])
	}
	e.typ = b[1]
	e.time = time.Unix(0, int64(binary.BigEndian.Uint64(b[2:10]))).UTC()
	copy(e.hash[:], b[10:42])
	e.from, e.to = b[42], b[43]
	rest := b[fixed:]
	field := func(lo, hi int, text bool) ([]byte, error) {
		if len(rest) < 2 {
			return nil, fmt.Errorf("%w: truncated", errFormat1)
		}
		n := int(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
		if n < lo || n > hi || n > len(rest) || (text && !utf8.Valid(rest[:n])) {
			return nil, fmt.Errorf("%w: a field of %d bytes", errFormat1, n)
		}
		v := rest[:n:n]
		rest = rest[n:]
		return v, nil
	}
	texts := [...]struct {
		dst    *string
		lo, hi int
	}{{&e.agency, 1, 64}, {&e.id, 1, 256}, {&e.reason, 0, 256}, {&e.operator, 1, 256}}
	for _, t := range texts {
		v, err := field(t.lo, t.hi, true)
		if err != nil {
			return v1Entry{}, err
		}
		*t.dst = string(v)
	}
	extra, err := field(0, 4096, false)
	if err != nil {
		return v1Entry{}, err
	}
	if len(rest) != 0 {
		return v1Entry{}, fmt.Errorf("%w: %d trailing bytes", errFormat1, len(rest))
	}
	e.extra = extra
	return e, nil
}
