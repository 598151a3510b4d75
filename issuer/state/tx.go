package state

import "time"

// Tx is the state's side of one ledger commit: the changes a caller
// makes inside the transaction that appends its ledger entries (the
// function given to ledger.Log.AppendWith, through Backend.Ledger). A
// backend implements it over its own transaction.
//
// For every method: the change becomes visible and durable exactly when
// the ledger batch it rides in commits. If the caller's function returns
// an error, none of that caller's changes (nor its entries) are written;
// the ledger writes the rest of the batch without it. Insert, Apply,
// PutSeal and RevokeSeal move the state's watermark (Store.Watermark) to
// one past the ledger index they are given, never back; PutAudit, which
// only keeps beside an event what it commits to, leaves it (start-up
// replay needs nothing from audit records). The methods run on the ledger's writer, which
// every change waits for: they do no I/O beyond the transaction, never
// wait, and leave encoding to Store.Prepare. A Tx is valid only during
// the function it was given to.
type Tx interface {
	// Insert writes a new licence prepared by Store.Prepare, issued by
	// the ledger entry at index: its record and credential, its search
	// indexes (not for a device copy: its licence is found), its import
	// key, its claim ticket (p.Claim if not nil; its Ticket is set) and,
	// for a device copy, its place in its licence's Copies. It sets
	// p.Record's LedgerIndex to index and LastEvent to index+1. It fails
	// with ErrExists if the identifier or the import key is taken, and
	// with ErrKeyRetired if the key that signed it (the hex of
	// p.Record.Holding.KeyID) was retired by an earlier event.
	Insert(p *Prepared, index uint64) error
	// RetireKey records that agency signing key kid (hex key ID) no
	// longer signs from the ledger event at index on: a licence it
	// signed is refused by a later Insert. With one process this never
	// happens (a rotation waits for the changes in flight); with several
	// sharing the backend, it stops the others from issuing with the old
	// key once the rotation is recorded.
	RetireKey(kid string, index uint64) error
	// Apply records status change c, whose ledger entry is
	// c.LedgerIndex, on its record and on the record's device copies
	// (except a copy unbound on its own). A record that has already seen
	// this event or a later one (LastEvent > c.LedgerIndex) is left as it
	// is, so applying a change twice is harmless. ErrNotFound if there is
	// no such record.
	Apply(c Change) error
	// PutSeal records a seal made by the ledger entry r.LedgerIndex; a
	// seal already recorded is left as it is.
	PutSeal(r SealRecord) error
	// RevokeSeal records the revocation, by the ledger entry at index, of
	// seal esid, known to the state or not (the revocation must reach
	// counters whatever the state holds); a seal already revoked keeps
	// its first revocation.
	RevokeSeal(esid string, at time.Time, reason string, index uint64) error
	// PutAudit keeps the personal values (field → value) that the ledger
	// event at index commits to, so the issuer can open the commitments
	// for an auditor (Store.Audit). The public ledger holds only the
	// commitments.
	PutAudit(index uint64, values map[string]string) error
	ConsentTx
}

// Prepared is a new licence made ready for Tx.Insert by Store.Prepare,
// before the ledger's writer takes it: the backend encodes the record,
// credential and claim ticket there, so the writer only copies bytes.
// Record and Claim must not change between Prepare and Insert.
type Prepared struct {
	Record *Record
	Claim  *Claim // nil: no claim ticket
	// Encoded is the backend's encoding of Record and Claim, read only by
	// the backend that made it.
	Encoded any
}
