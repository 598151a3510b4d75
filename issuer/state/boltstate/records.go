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

// putNew writes a new record r, already encoded as v, with its
// bookkeeping and index entries (not its credential: see appendBlob).
func putNew(tx *bolt.Tx, r *state.Record, v []byte) error {
	if err := appendOnly(tx, bucketLicences).Put([]byte(r.ID), v); err != nil {
		return err
	}
	if err := putEvents(tx, r.ID, r.LedgerIndex, r.LastEvent); err != nil {
		return err
	}
	if r.CopyOf != "" {
		return nil // a device copy is found through its licence
	}
	if err := appendOnly(tx, bucketHolderLog).Put(binary.BigEndian.AppendUint64(nil, r.LedgerIndex), indexKey(r.HolderCode, r.ID)); err != nil {
		return err
	}
	if err := appending(tx, bucketAgency).Put(indexKey(r.Agency, r.Class+"\x00"+r.ID), nil); err != nil {
		return err
	}
	return appending(tx, bucketClass).Put(indexKey(r.Class, r.ID), nil)
}

// encoded is a new licence as Prepare encodes it.
type encoded struct {
	record, blob, claim []byte
}

// Prepare implements state.Licences: the record, its credential blob and
// its claim ticket are encoded here, so Tx.Insert, on the ledger's
// writer, does little more than copy bytes.
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
	return &state.Prepared{Record: r, Claim: claim, Encoded: e}, nil
}

// Insert implements state.Tx.
func (t *tx) Insert(p *state.Prepared, first uint64) error {
	e, ok := p.Encoded.(*encoded)
	if !ok {
		return fmt.Errorf("boltstate: Insert of a licence not prepared by this backend")
	}
	r, tx := p.Record, t.tx
	if err := checkKey(tx, r, first); err != nil {
		return err
	}
	if tx.Bucket(bucketLicences).Get([]byte(r.ID)) != nil {
		return fmt.Errorf("%w: %s", state.ErrExists, r.ID)
	}
	if r.ImportKey != "" {
		ib := tx.Bucket(bucketImport)
		k := indexKey(r.Agency, r.ImportKey)
		if id := ib.Get(k); id != nil {
			return fmt.Errorf("%w: import key %q is licence %s", state.ErrExists, r.ImportKey, id)
		}
		if err := ib.Put(k, []byte(r.ID)); err != nil {
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
	if err := appendOnly(tx, bucketCreds).Put(binary.BigEndian.AppendUint64(nil, first), e.blob); err != nil {
		return err
	}
	if err := putNew(tx, r, e.record); err != nil {
		return err
	}
	if r.CopyOf == "" {
		s := t.s
		tx.OnCommit(func() { s.holderLog.Add(1) })
	}
	return advance(tx, first+1)
}

// Apply implements state.Replay.
func (s *Store) Apply(c state.Change) error {
	return s.db.Batch(func(tx *bolt.Tx) error { return applyChange(tx, c) })
}

// Apply implements state.Tx.
func (t *tx) Apply(c state.Change) error { return applyChange(t.tx, c) }

func applyChange(tx *bolt.Tx, c state.Change) error {
	r, err := getRecord(tx, c.ID)
	if err != nil {
		return err
	}
	if r.LastEvent > c.LedgerIndex {
		return nil // this or a later event is already applied
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
		return err
	}
	// A licence's state is its copies' state, except for a copy
	// revoked on its own.
	for _, id := range r.Copies {
		cp, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		if cp.Unbound || cp.LastEvent > c.LedgerIndex {
			continue
		}
		cp.Status, cp.Reason, cp.UpdatedAt, cp.LastEvent = c.Status, c.Reason, c.At, c.LedgerIndex+1
		if err := putRecord(tx, cp); err != nil {
			return err
		}
	}
	return advance(tx, c.LedgerIndex+1)
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
