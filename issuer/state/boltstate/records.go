package boltstate

import (
	"elicense/issuer/state"
	"encoding/binary"
	"fmt"
	"slices"

	// json v2: the same JSON as encoding/json in well under half the
	// time; records are decoded on every read and encoded on every change.
	json "github.com/go-json-experiment/json"
	bolt "go.etcd.io/bbolt"
)

func getRecord(tx *bolt.Tx, id string) (*state.Record, error) {
	v := tx.Bucket(bucketLicences).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("%w: %s", state.ErrNotFound, id)
	}
	var r state.Record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", state.ErrCorrupt, id, err)
	}
	if err := readEvents(tx, &r); err != nil {
		return nil, err
	}
	if err := readBlob(tx, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// readEvents fills the ledger bookkeeping of r.
func readEvents(tx *bolt.Tx, r *state.Record) error {
	ev := tx.Bucket(bucketEvents).Get([]byte(r.ID))
	if len(ev) != 16 {
		return fmt.Errorf("%w: %s: ledger bookkeeping of %d bytes, want 16", state.ErrCorrupt, r.ID, len(ev))
	}
	r.LedgerIndex, r.LastEvent = binary.BigEndian.Uint64(ev), binary.BigEndian.Uint64(ev[8:])
	return nil
}

func putEvents(tx *bolt.Tx, id string, ledgerIndex, lastEvent uint64) error {
	v := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(make([]byte, 0, 16), ledgerIndex), lastEvent)
	return appending(tx, bucketEvents).Put([]byte(id), v)
}

// do not change).
func putRecord(tx *bolt.Tx, r *state.Record) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := appendOnly(tx, bucketLicences).Put([]byte(r.ID), v); err != nil {
		return err
	}
	return putEvents(tx, r.ID, r.LedgerIndex, r.LastEvent)
}

// encoded is a new licence as Prepare makes it ready for Insert: the
// record, credential blob and claim ticket encoded, and every key and
// value Insert writes carved from one buffer, so the ledger's writer
// allocates nothing for them (bbolt copies keys but keeps values until
// the commit, so the buffer lives as long as the Prepared). The
// Prepared is part of the same allocation.
type encoded struct {
	p                   state.Prepared
	record, blob, claim []byte
	id                  []byte // r.ID
	importKey           []byte // agency 0 import key; nil without one
	// The index entries (not for a device copy).
	holder, agency, class []byte // holder log value, by_agency and by_class keys
	// events is the value of the events bucket, filled by Insert.
	events [16]byte
}

// Prepare implements state.Licences: the record, its credential blob,
// its claim ticket and its index keys are made here, on the caller's
// goroutine, so Tx.Insert, on the ledger's writer, does little more
// than copy bytes.
func (s *Store) Prepare(r *state.Record, claim *state.Claim) (*state.Prepared, error) {
	v, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	blob, err := appendBlob(make([]byte, 0, 16+len(r.Credential)+len(r.QR)), r)
	if err != nil {
		return nil, err
	}
	e := &encoded{record: v, blob: blob}
	if claim != nil {
		if e.claim, err = json.Marshal(claim); err != nil {
			return nil, err
		}
	}
	n := len(r.ID)
	if r.ImportKey != "" {
		n += len(r.Agency) + 1 + len(r.ImportKey)
	}
	if r.CopyOf == "" {
		n += len(r.HolderCode) + len(r.Agency) + 2*len(r.Class) + 4 + 3*len(r.ID)
	}
	buf := make([]byte, 0, n)
	carve := func(parts ...string) []byte {
		at := len(buf)
		for i, p := range parts {
			if i > 0 {
				buf = append(buf, 0)
			}
			buf = append(buf, p...)
		}
		return buf[at:len(buf):len(buf)]
	}
	e.id = carve(r.ID)
	if r.ImportKey != "" {
		e.importKey = carve(r.Agency, r.ImportKey)
	}
	if r.CopyOf == "" {
		e.holder = carve(r.HolderCode, r.ID)
		e.agency = carve(r.Agency, r.Class, r.ID)
		e.class = carve(r.Class, r.ID)
	}
	e.p = state.Prepared{Record: r, Claim: claim, Encoded: e}
	return &e.p, nil
}

// Insert implements state.Tx.
func (t *tx) Insert(p *state.Prepared, first uint64) error {
	e, ok := p.Encoded.(*encoded)
	if !ok || &e.p != p {
		return fmt.Errorf("boltstate: Insert of a licence not prepared by this backend")
	}
	r, tx := p.Record, t.tx
	if err := checkKey(tx, r, first); err != nil {
		return err
	}
	lic := appendOnly(tx, bucketLicences)
	if lic.Get(e.id) != nil {
		return fmt.Errorf("%w: %s", state.ErrExists, r.ID)
	}
	if e.importKey != nil {
		ib := tx.Bucket(bucketImport)
		if id := ib.Get(e.importKey); id != nil {
			return fmt.Errorf("%w: import key %q is licence %s", state.ErrExists, r.ImportKey, id)
		}
		if err := ib.Put(e.importKey, e.id); err != nil {
			return err
		}
	}
	if e.claim != nil {
		n, err := putClaim(tx, e.claim)
		if err != nil {
			return err
		}
		p.Claim.Ticket = n
	}
	if r.CopyOf != "" {
		parent, err := getRecord(tx, r.CopyOf)
		if err != nil {
			return err
		}
		if !slices.Contains(parent.Copies, r.ID) {
			parent.Copies = append(parent.Copies, r.ID)
			if err := putRecord(tx, parent); err != nil {
				return err
			}
		}
	}
	r.LedgerIndex, r.LastEvent = first, first+1
	if err := appendOnly(tx, bucketCreds).Put(t.seqKey(first), e.blob); err != nil {
		return err
	}
	if err := lic.Put(e.id, e.record); err != nil {
		return err
	}
	binary.BigEndian.PutUint64(e.events[:8], r.LedgerIndex)
	binary.BigEndian.PutUint64(e.events[8:], r.LastEvent)
	if err := appending(tx, bucketEvents).Put(e.id, e.events[:]); err != nil {
		return err
	}
	if r.CopyOf == "" {
		// A device copy is found through its licence: no index entries.
		if err := appendOnly(tx, bucketHolderLog).Put(t.seqKey(first), e.holder); err != nil {
			return err
		}
		if err := appending(tx, bucketAgency).Put(e.agency, nil); err != nil {
			return err
		}
		if err := appending(tx, bucketClass).Put(e.class, nil); err != nil {
			return err
		}
		t.holders++
	}
	t.advance(first + 1)
	return nil
}

// Apply implements state.Replay.
func (s *Store) Apply(c state.Change) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		if applied, err := applyChange(tx, c); !applied {
			return err
		}
		return advance(tx, c.LedgerIndex+1)
	})
}

// Apply implements state.Tx.
func (t *tx) Apply(c state.Change) error {
	if applied, err := applyChange(t.tx, c); !applied {
		return err
	}
	t.advance(c.LedgerIndex + 1)
	return nil
}

// applyChange records c on its record and copies, and reports whether
// it did (not if the record had seen c or a later event); the caller
// moves the watermark when it did.
func applyChange(tx *bolt.Tx, c state.Change) (applied bool, err error) {
	r, err := getRecord(tx, c.ID)
	if err != nil {
		return false, err
	}
	if r.LastEvent > c.LedgerIndex {
		return false, nil // this or a later event is already applied
	}
	r.Status, r.Reason, r.UpdatedAt = c.Status, c.Reason, c.At
	r.LastEvent = c.LedgerIndex + 1
	if c.SupersededBy != "" {
		r.SupersededBy = c.SupersededBy
	}
	if c.Unbind {
		r.Unbound = true
	}
	if err := putRecord(tx, r); err != nil {
		return false, err
	}
	// A licence's state is its copies' state, except for a copy
	// revoked on its own.
	for _, id := range r.Copies {
		cp, err := getRecord(tx, id)
		if err != nil {
			return false, err
		}
		if cp.Unbound || cp.LastEvent > c.LedgerIndex {
			continue
		}
		cp.Status, cp.Reason, cp.UpdatedAt, cp.LastEvent = c.Status, c.Reason, c.At, c.LedgerIndex+1
		if err := putRecord(tx, cp); err != nil {
			return false, err
		}
	}
	return true, nil
}

// Get returns the record with that identifier.
func (s *Store) Get(id string) (*state.Record, error) {
	var r *state.Record
	err := s.db.View(func(tx *bolt.Tx) (err error) { r, err = getRecord(tx, id); return err })
	return r, err
}

// ByImportKey returns the licence an agency issued under an idempotency key.
func (s *Store) ByImportKey(agency, key string) (*state.Record, error) {
	var r *state.Record
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		id := tx.Bucket(bucketImport).Get(indexKey(agency, key))
		if id == nil {
			return fmt.Errorf("%w: import key %q", state.ErrNotFound, key)
		}
		r, err = getRecord(tx, string(id))
		return err
	})
	return r, err
}

// ForEach calls fn for every record (for rebuilding status lists at
// start), without its Credential and QR.
func (s *Store) ForEach(fn func(*state.Record) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLicences).ForEach(func(k, v []byte) error {
			var r state.Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: %s: %v", state.ErrCorrupt, k, err)
			}
			if err := readEvents(tx, &r); err != nil {
				return err
			}
			return fn(&r)
		})
	})
}

// ForEachSigned calls fn for every licence and device copy with its
// signed credential and QR core (Holding, or QR for a record stored
// verbatim) read back, in one read transaction: what a key signed, for
// its genuine set when it is marked compromised.
func (s *Store) ForEachSigned(fn func(*state.Record) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLicences).ForEach(func(k, v []byte) error {
			var r state.Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: %s: %v", state.ErrCorrupt, k, err)
			}
			if err := readEvents(tx, &r); err != nil {
				return err
			}
			if err := readBlob(tx, &r); err != nil {
				return err
			}
			return fn(&r)
		})
	})
}
