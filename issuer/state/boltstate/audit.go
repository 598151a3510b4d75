package boltstate

import (
	"elicense/issuer/state"
	"encoding/binary"
	"fmt"

	json "github.com/go-json-experiment/json"

	bolt "go.etcd.io/bbolt"
)

// bucketAudit holds, under a ledger index, the personal values the
// event at that index commits to (field → value), so the issuer can open
// a commitment for an auditor. The public ledger holds only commitments;
// this private half lives with the rest of the state. Made on first use.
var bucketAudit = []byte("audit") // ledger index (8 bytes) → JSON object of strings

// PutAudit implements state.Tx.
func (t *tx) PutAudit(index uint64, values map[string]string) error {
	b, err := t.tx.CreateBucketIfNotExists(bucketAudit)
	if err != nil {
		return err
	}
	v, err := json.Marshal(values, json.Deterministic(true)) // on the ledger's writer: the fast encoder
	if err != nil {
		return err
	}
	b.FillPercent = 0.9 // keys only grow
	return b.Put(binary.BigEndian.AppendUint64(nil, index), v)
}

// Audit returns the personal values recorded for the ledger event at
// index (ErrNotFound if none were).
func (s *Store) Audit(index uint64) (map[string]string, error) {
	var out map[string]string
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		if b == nil {
			return state.ErrNotFound
		}
		v := b.Get(binary.BigEndian.AppendUint64(nil, index))
		if v == nil {
			return state.ErrNotFound
		}
		if err := json.Unmarshal(v, &out); err != nil {
			return fmt.Errorf("%w: audit record %d: %v", state.ErrCorrupt, index, err)
		}
		return nil
	})
	return out, err
}
