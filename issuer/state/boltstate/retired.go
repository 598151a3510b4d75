package boltstate

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"elicense/issuer/state"
)

// bucketRetired holds the agency keys a rotation retired: key ID (hex) →
// the ledger index of the event (8 bytes). Made by the first RetireKey.
var bucketRetired = []byte("retired_keys")

// RetireKey implements state.Tx.
func (t *tx) RetireKey(kid string, index uint64) error {
	b, err := t.tx.CreateBucketIfNotExists(bucketRetired)
	if err != nil {
		return err
	}
	if b.Get([]byte(kid)) != nil {
		return nil // retired by an earlier event
	}
	return b.Put([]byte(kid), binary.BigEndian.AppendUint64(nil, index))
}

// checkKey refuses a licence signed by a key an event before index
// retired. One process never makes one (a rotation waits for the
// changes in flight), but the contract is every backend's.
func checkKey(tx *bolt.Tx, r *state.Record, index uint64) error {
	if r.Holding == nil {
		return nil
	}
	return checkKID(tx, hex.EncodeToString(r.Holding.KeyID), index)
}

// checkKID refuses a licence or grant credential signed by key kid (hex;
// "" is unknown and passes) if an event before index retired it.
func checkKID(tx *bolt.Tx, kid string, index uint64) error {
	b := tx.Bucket(bucketRetired)
	if b == nil || kid == "" {
		return nil
	}
	if v := b.Get([]byte(kid)); len(v) == 8 && binary.BigEndian.Uint64(v) < index {
		return fmt.Errorf("%w: key %s, retired by ledger entry %d", state.ErrKeyRetired, kid, binary.BigEndian.Uint64(v))
	}
	return nil
}
