package pgstate

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	json "github.com/go-json-experiment/json"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"elicense/internal/ledger"
	"elicense/issuer/state"
)

// tx is a state.Tx that makes no round trip: its methods check what
// they can in memory (a key taken earlier in the same batch) and queue
// rows, which the store sends after apply returns, with the ledger's
// rows, in one pipeline (write). What only the database knows (a key
// another process took, a record missing) is found there, by the
// statements themselves, and refuses the change by its ledger index.
type tx struct {
	s *Store
	// start is the batch's first ledger index: a record this
	// transaction did not insert has a ledger index below it.
	start uint64
	// refused holds the changes the database refused in an earlier try
	// of this batch (Write): they fail at once.
	refused   map[uint64]error
	watermark uint64

	ids       map[string]bool
	keys      map[string]bool
	positions map[position]bool
	retired   map[string]uint64 // RetireKey in this batch: kid → ledger index
	consents  consentBatch

	lic    licenceRows
	claims claimRows
	ops    []op
	audit  map[int64][]byte
}

type position struct {
	list  string
	index uint64
}

type op struct {
	sql  string
	args []any
}

// licenceRows are new licences and their credentials, column by
// column, as the one INSERT of a batch takes them (queries.insLicences).
type licenceRows struct {
	id, class, agency, holderCode, holderName []string
	fields                                    [][]byte
	status, reason, statusList                []string
	statusIndex                               []int64
	credHash                                  []string
	issuedAt, updatedAt                       []*int64
	ledgerIndex                               []int64
	supersedes, importKey, issuedOn, number   []string
	copyOf, device, copies                    []string
	credential                                []string
	qr                                        [][]byte
	kid                                       []string // the signing key, hex ("" if unknown)
}

type claimRows struct {
	licence       []string
	expires       []*int64
	salt, verif   [][]byte
	ledgerIndex   []int64
	claimsByIndex map[int64]*state.Claim
}

// bound is the highest ledger index the record id may have for a change
// in this transaction: any, if the transaction inserted it (its row is
// written before the change's), else one below the batch.
func (t *tx) bound(id string) int64 {
	if t.ids[id] {
		return math.MaxInt64
	}
	return int64(t.start) - 1
}

func (t *tx) advance(w uint64) { t.watermark = max(t.watermark, w) }

// Insert implements state.Tx.
func (t *tx) Insert(p *state.Prepared, index uint64) error {
	if err, ok := t.refused[index]; ok {
		return err
	}
	e, ok := p.Encoded.(*encoded)
	if !ok {
		return errors.New("pgstate: Insert of a licence not prepared by this backend")
	}
	r := p.Record
	if !textOK(r.ID, r.Class, r.Agency, r.HolderCode, r.HolderName, string(r.Status), r.Reason, r.StatusList,
		r.CredentialHash, r.Supersedes, r.ImportKey, r.IssuedOn, r.Number, r.CopyOf, r.Device, r.Credential) ||
		!textOK(r.Copies...) || (p.Claim != nil && !textOK(p.Claim.LicenceID)) {
		return badText("a field of licence " + strconvQuote(r.ID))
	}
	if t.ids == nil {
		t.ids, t.keys, t.positions = map[string]bool{}, map[string]bool{}, map[position]bool{}
	}
	key := r.Agency + "\x00" + r.ImportKey
	pos := position{r.StatusList, r.StatusIndex}
	switch {
	case t.ids[r.ID]:
		return fmt.Errorf("%w: %s", state.ErrExists, r.ID)
	case r.ImportKey != "" && t.keys[key]:
		return fmt.Errorf("%w: import key %q", state.ErrExists, r.ImportKey)
	case t.positions[pos]:
		return fmt.Errorf("%w: status position %s/%d", state.ErrExists, r.StatusList, r.StatusIndex)
	}
	kid := ""
	if r.Holding != nil {
		kid = hex.EncodeToString(r.Holding.KeyID)
	}
	if at, ok := t.retired[kid]; ok && at < index {
		return fmt.Errorf("%w: key %s, retired by ledger entry %d", state.ErrKeyRetired, kid, at)
	}
	if r.CopyOf != "" {
		t.ops = append(t.ops, op{t.s.q.addCopy, []any{r.ID, r.CopyOf, t.bound(r.CopyOf), int64(index)}})
	}
	t.ids[r.ID], t.positions[pos] = true, true
	if r.ImportKey != "" {
		t.keys[key] = true
	}
	r.LedgerIndex, r.LastEvent = index, index+1
	l := &t.lic
	l.id = append(l.id, r.ID)
	l.class = append(l.class, r.Class)
	l.agency = append(l.agency, r.Agency)
	l.holderCode = append(l.holderCode, r.HolderCode)
	l.holderName = append(l.holderName, r.HolderName)
	l.fields = append(l.fields, e.fields)
	l.status = append(l.status, string(r.Status))
	l.reason = append(l.reason, r.Reason)
	l.statusList = append(l.statusList, r.StatusList)
	l.statusIndex = append(l.statusIndex, int64(r.StatusIndex))
	l.credHash = append(l.credHash, r.CredentialHash)
	l.issuedAt = append(l.issuedAt, nanos(r.IssuedAt))
	l.updatedAt = append(l.updatedAt, nanos(r.UpdatedAt))
	l.ledgerIndex = append(l.ledgerIndex, int64(index))
	l.supersedes = append(l.supersedes, r.Supersedes)
	l.importKey = append(l.importKey, r.ImportKey)
	l.issuedOn = append(l.issuedOn, r.IssuedOn)
	l.number = append(l.number, r.Number)
	l.copyOf = append(l.copyOf, r.CopyOf)
	l.device = append(l.device, r.Device)
	l.copies = append(l.copies, strings.Join(r.Copies, "\n"))
	l.credential = append(l.credential, r.Credential)
	l.qr = append(l.qr, e.qr)
	l.kid = append(l.kid, kid)
	if c := p.Claim; c != nil {
		cr := &t.claims
		if cr.claimsByIndex == nil {
			cr.claimsByIndex = map[int64]*state.Claim{}
		}
		cr.licence = append(cr.licence, c.LicenceID)
		cr.expires = append(cr.expires, nanos(c.Expires))
		cr.salt = append(cr.salt, c.Salt)
		cr.verif = append(cr.verif, c.Verifier)
		cr.ledgerIndex = append(cr.ledgerIndex, int64(index))
		cr.claimsByIndex[int64(index)] = c
	}
	t.advance(index + 1)
	return nil
}

// Apply implements state.Tx.
func (t *tx) Apply(c state.Change) error {
	if err, ok := t.refused[c.LedgerIndex]; ok {
		return err
	}
	if !textOK(c.ID, string(c.Status), c.Reason, c.SupersededBy) {
		return badText("a field of the change of " + strconvQuote(c.ID))
	}
	t.ops = append(t.ops, op{t.s.q.apply, applyArgs(c, t.bound(c.ID))})
	return nil
}

func applyArgs(c state.Change, bound int64) []any {
	return []any{c.ID, string(c.Status), c.Reason, nanos(c.At), int64(c.LedgerIndex), c.SupersededBy, c.Unbind, bound}
}

// PutSeal implements state.Tx.
func (t *tx) PutSeal(r state.SealRecord) error {
	if err, ok := t.refused[r.LedgerIndex]; ok {
		return err
	}
	if !textOK(r.ESID, r.Agency, r.HolderCode, r.Reason) {
		return badText("a field of seal " + strconvQuote(r.ESID))
	}
	t.ops = append(t.ops, op{t.s.q.putSeal, []any{r.ESID, r.Agency, r.HolderCode, nanos(r.MadeAt), int64(r.LedgerIndex), nanos(r.RevokedAt), r.Reason}})
	t.advance(r.LedgerIndex + 1)
	return nil
}

// RevokeSeal implements state.Tx.
func (t *tx) RevokeSeal(esid string, at time.Time, reason string, index uint64) error {
	if err, ok := t.refused[index]; ok {
		return err
	}
	if !textOK(esid, reason) {
		return badText("a field of the revocation of seal " + strconvQuote(esid))
	}
	t.ops = append(t.ops, op{t.s.q.revokeSeal, []any{esid, nanos(at), reason}})
	t.advance(index + 1)
	return nil
}

// RetireKey implements state.Tx.
func (t *tx) RetireKey(kid string, index uint64) error {
	if err, ok := t.refused[index]; ok {
		return err
	}
	if !textOK(kid) {
		return badText("a key ID " + strconvQuote(kid))
	}
	if t.retired == nil {
		t.retired = map[string]uint64{}
	}
	if _, ok := t.retired[kid]; !ok {
		t.retired[kid] = index
	}
	t.ops = append(t.ops, op{t.s.q.retireKey, []any{kid, int64(index)}})
	return nil
}

// PutAudit implements state.Tx.
func (t *tx) PutAudit(index uint64, values map[string]string) error {
	if err, ok := t.refused[index]; ok {
		return err
	}
	v, err := json.Marshal(values, json.Deterministic(true))
	if err != nil {
		return err
	}
	if t.audit == nil {
		t.audit = map[int64][]byte{}
	}
	t.audit[int64(index)] = v
	return nil
}

func strconvQuote(s string) string { return strconv.QuoteToASCII(s) }

// queue adds the queued rows to the batch: new licences and their
// credentials and claim tickets in one statement each, then the other
// changes in the order they were made, then the audit records.
func (t *tx) queue(bb *pgx.Batch) {
	q := &t.s.q
	if l := &t.lic; len(l.id) > 0 {
		bb.Queue(q.checkKeys, l.kid, l.ledgerIndex)
		bb.Queue(q.insLicences, l.id, l.class, l.agency, l.holderCode, l.holderName, l.fields, l.status,
			l.reason, l.statusList, l.statusIndex, l.credHash, l.issuedAt, l.updatedAt, l.ledgerIndex,
			l.supersedes, l.importKey, l.issuedOn, l.number, l.copyOf, l.device, l.copies)
		bb.Queue(q.insCreds, l.ledgerIndex, l.credential, l.qr)
	}
	if c := &t.claims; len(c.licence) > 0 {
		bb.Queue(q.insClaims, c.licence, c.expires, c.salt, c.verif, c.ledgerIndex).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var ticket, idx int64
				if err := rows.Scan(&ticket, &idx); err != nil {
					return err
				}
				if cl := c.claimsByIndex[idx]; cl != nil {
					cl.Ticket = uint64(ticket)
				}
			}
			return rows.Err()
		})
	}
	for _, o := range t.ops {
		bb.Queue(o.sql, o.args...)
	}
	if len(t.audit) > 0 {
		idx := make([]int64, 0, len(t.audit))
		docs := make([][]byte, 0, len(t.audit))
		for i, d := range t.audit {
			idx, docs = append(idx, i), append(docs, d)
		}
		bb.Queue(q.putAudt, idx, docs)
	}
}

// rejection is the error of a failed flush: the database's refusal of
// one change as a *ledger.RejectedError, or the failure as it is.
func (t *tx) rejection(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == codeSeqLimit && len(t.claims.ledgerIndex) > 0 {
		return &ledger.RejectedError{Index: uint64(t.claims.ledgerIndex[0]), Err: state.ErrClaimTickets}
	}
	return rejection(err)
}
