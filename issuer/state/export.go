package state

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"maps"
	"slices"
	"time"
)

// Moving a deployment from one backend to another (elicense migrate)
// copies the state as it is, beside the ledger's copy (ledger.Copy):
// every piece a backend holds, read by an Exporter and written by an
// Importer, without ledger entries and without the rules a Tx applies
// (the pieces are already what those rules made).

// Export is a batch of the state's pieces as a backend holds them.
type Export struct {
	// Records are licences and device copies with their credential, QR
	// core and ledger bookkeeping (LedgerIndex, LastEvent).
	Records []*Record
	// Claims are claim tickets with their numbers (Ticket): outstanding
	// claim codes embed them.
	Claims      []Claim
	Seals       []SealRecord
	AgencySeals []AgencySeal
	Tokens      []RevokedToken
	Audits      []AuditRecord
	// RelyingParties, Requests, Grants, Uses and Receipts are what
	// 授权用证 keeps (consent.go).
	RelyingParties []*RelyingParty
	Requests       []*Request
	Grants         []*Grant
	Uses           []Use
	Receipts       []Receipt
	// ClaimsGiven, if not zero, is the highest claim ticket number the
	// backend ever gave, pruned tickets included (set in one batch).
	ClaimsGiven uint64
}

// Len is how many pieces e holds.
func (e *Export) Len() int {
	return len(e.Records) + len(e.Claims) + len(e.Seals) + len(e.AgencySeals) + len(e.Tokens) + len(e.Audits) +
		len(e.RelyingParties) + len(e.Requests) + len(e.Grants) + len(e.Uses) + len(e.Receipts)
}

// Use is one ledger event about a licence copy (Consents.Uses).
type Use struct {
	Copy  string
	Index uint64
}

// Receipt is a counter receipt identifier taken by the event at Index
// (ConsentTx.TakeReceipt).
type Receipt struct {
	ID    string
	Index uint64
}

// AgencySeal is an agency's official seal (Seals.AgencySeal).
type AgencySeal struct {
	Code string
	DER  []byte
}

// RevokedToken is a revoked operator token (Tokens.RevokeToken).
type RevokedToken struct {
	JTI     string
	Expires time.Time
}

// AuditRecord is the personal values kept for the ledger event at Index
// (Tx.PutAudit).
type AuditRecord struct {
	Index  uint64
	Values map[string]string
}

// Exporter is a backend whose whole state can be read out.
type Exporter interface {
	Store
	// Export calls fn with batches of at most n pieces until every
	// record, claim ticket, seal, agency seal, revoked token, audit
	// record, relying party, request, grant, use and receipt has been
	// passed once, from one consistent view. Each kind
	// comes in the order of its key. Batches are fn's to keep.
	Export(n int, fn func(*Export) error) error
}

// Importer is a backend that takes pieces exported from another.
type Importer interface {
	Exporter
	// Import writes the pieces of e as they are, in one transaction,
	// replacing a piece of the same key, so that an import interrupted
	// and run again ends the same. It writes no ledger entry and moves
	// no watermark (SetWatermark does, and PutStatusSnapshot keeps the
	// snapshot). Claim ticket numbers are kept, and the next number
	// given is above every imported one.
	Import(e *Export) error
	// AdvanceSerials moves the licence serial counter (Shared's
	// ReserveSerials) forward, never back, to the next value congruent
	// to next modulo the serials' range.
	AdvanceSerials(next uint32) error
}

// Census is a summary of a state that two copies of it share: how many
// pieces of each kind, and a digest of each kind's content.
type Census struct {
	Licences     map[Status]int // not device copies
	Copies       map[Status]int
	Claims       int
	ClaimsUsed   int
	Seals        int
	SealsRevoked int
	AgencySeals  int
	Tokens       int
	Audits       int
	// RelyingParties … Receipts count what 授权用证 keeps.
	RelyingParties int
	Requests       int
	Grants         int
	GrantsRevoked  int
	Uses           int
	Receipts       int
	// Digest is the SHA-256 of every piece's content, in each kind's
	// key order.
	Digest [sha256.Size]byte
}

// TakeCensus reads every piece of s's state.
func TakeCensus(s Exporter) (*Census, error) {
	t := &censusTaker{c: &Census{Licences: map[Status]int{}, Copies: map[Status]int{}}, h: sha256.New()}
	err := s.Export(4096, func(e *Export) error {
		t.addIssuance(e)
		t.addConsents(e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	t.h.Sum(t.c.Digest[:0])
	return t.c, nil
}

// censusTaker counts the pieces of a state into c and hashes their
// content into h, batch by batch.
type censusTaker struct {
	c *Census
	h hash.Hash
}

// put hashes parts, each length-prefixed or of fixed width.
func (t *censusTaker) put(parts ...any) {
	for _, p := range parts {
		t.putOne(p)
	}
}

func (t *censusTaker) putOne(p any) {
	switch v := p.(type) {
	case string:
		t.h.Write(binary.AppendUvarint(nil, uint64(len(v))))
		t.h.Write([]byte(v))
	case []byte:
		t.h.Write(binary.AppendUvarint(nil, uint64(len(v))))
		t.h.Write(v)
	case uint64:
		t.h.Write(binary.BigEndian.AppendUint64(nil, v))
	case time.Time:
		var n int64
		if !v.IsZero() {
			n = v.UnixNano()
		}
		t.h.Write(binary.BigEndian.AppendUint64(nil, uint64(n)))
	case int64:
		t.h.Write(binary.BigEndian.AppendUint64(nil, uint64(v)))
	case bool:
		b := byte(0)
		if v {
			b = 1
		}
		t.h.Write([]byte{b})
	default:
		panic(fmt.Sprintf("state: census of a %T", p))
	}
}

// addIssuance takes in e's licences, claims, seals, agency seals,
// revoked tokens and audits, in that order.
func (t *censusTaker) addIssuance(e *Export) {
	c := t.c
	for _, r := range e.Records {
		if r.CopyOf != "" {
			c.Copies[r.Status]++
		} else {
			c.Licences[r.Status]++
		}
		t.put("r", r.ID, string(r.Status), r.Reason, r.StatusList, r.StatusIndex, r.CredentialHash, r.Credential,
			r.LedgerIndex, r.LastEvent, r.UpdatedAt, r.SupersededBy, r.ImportKey, r.CopyOf, r.Device, r.Unbound, uint64(len(r.Copies)))
	}
	for _, cl := range e.Claims {
		c.Claims++
		if cl.Used {
			c.ClaimsUsed++
		}
		t.put("c", cl.Ticket, cl.LicenceID, cl.Expires, cl.Used, cl.Salt, cl.Verifier)
	}
	for _, sr := range e.Seals {
		c.Seals++
		if !sr.RevokedAt.IsZero() {
			c.SealsRevoked++
		}
		t.put("s", sr.ESID, sr.Agency, sr.LedgerIndex, sr.RevokedAt, sr.Reason)
	}
	for _, a := range e.AgencySeals {
		c.AgencySeals++
		t.put("a", a.Code, a.DER)
	}
	for _, tk := range e.Tokens {
		c.Tokens++
		t.put("t", tk.JTI, uint64(tk.Expires.Unix()))
	}
	for _, a := range e.Audits {
		c.Audits++
		t.put("u", a.Index, uint64(len(a.Values)))
		for _, k := range slices.Sorted(maps.Keys(a.Values)) {
			t.put(k, a.Values[k])
		}
	}
}

// addConsents takes in e's relying parties, requests, grants, uses and
// receipts, in that order.
func (t *censusTaker) addConsents(e *Export) {
	c := t.c
	for _, rp := range e.RelyingParties {
		c.RelyingParties++
		t.addParty(rp)
	}
	for _, r := range e.Requests {
		c.Requests++
		t.put("q", r.ID, r.RP, r.JWS, r.Matter, r.Class, int64(r.Duration), string(r.Use), r.State, r.Created, r.Expires,
			string(r.Answer), r.AnsweredAt, r.Grant, uint64(len(r.Fields)))
		for _, f := range r.Fields {
			t.put(f)
		}
	}
	for _, g := range e.Grants {
		c.Grants++
		if !g.RevokedAt.IsZero() {
			c.GrantsRevoked++
		}
		t.put("g", g.ID, g.Request, g.RP, g.Copy, g.Agency, g.Matter, g.NotAfter, string(g.Use), g.Consent, g.RequestJWS,
			g.Credential, g.Created, g.RevokedAt, uint64(g.RevokedBy), g.Fetches, g.LedgerIndex, uint64(len(g.Fields)), uint64(len(g.Disclosures)))
		for _, f := range g.Fields {
			t.put(f)
		}
		for _, d := range g.Disclosures {
			t.put(d)
		}
	}
	for _, u := range e.Uses {
		c.Uses++
		t.put("e", u.Copy, u.Index)
	}
	for _, r := range e.Receipts {
		c.Receipts++
		t.put("x", r.ID, r.Index)
	}
}

// addParty hashes rp with its matters, their classes and fields.
func (t *censusTaker) addParty(rp *RelyingParty) {
	t.put("p", rp.ID, rp.Name, rp.OrgCode, rp.OrgName, rp.Key, rp.Callback, string(rp.State), rp.VoidBefore, rp.LedgerIndex,
		uint64(len(rp.Matters)))
	for _, m := range rp.Matters {
		t.put(m.Code, m.Name, uint64(len(m.Classes)))
		for _, mc := range m.Classes {
			t.put(mc.Class, uint64(len(mc.Fields)))
			for _, f := range mc.Fields {
				t.put(f.Key, f.Purpose)
			}
		}
	}
}
