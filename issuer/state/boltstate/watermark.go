package boltstate

import (
	"bytes"
	"elicense/issuer/state"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// advance moves the watermark to w unless it is already past it.
func advance(tx *bolt.Tx, w uint64) error {
	if watermark(tx) >= w {
		return nil
	}
	return tx.Bucket(bucketState).Put(keyWatermark, binary.BigEndian.AppendUint64(nil, w))
}

func watermark(tx *bolt.Tx) uint64 {
	v := tx.Bucket(bucketState).Get(keyWatermark)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// SetWatermark records that every ledger entry below w is applied
// (after a replay). It never moves the mark back.
func (s *Store) SetWatermark(w uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error { return advance(tx, w) })
}

// PutStatusSnapshot keeps a snapshot of the status lists as they are
// when the ledger holds size entries (at a clean shutdown).
func (s *Store) PutStatusSnapshot(size uint64, data []byte) error {
	v := append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(data)), size), data...)
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSnapshot).Put(keyStatus, v) })
}

// StatusSnapshot returns the last snapshot of the status lists and the
// ledger size it was taken at; nil data if there is none.
func (s *Store) StatusSnapshot() (size uint64, data []byte, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSnapshot).Get(keyStatus)
		switch {
		case v == nil:
			return nil
		case len(v) < 8:
			return fmt.Errorf("%w: status snapshot of %d bytes", state.ErrCorrupt, len(v))
		}
		size, data = binary.BigEndian.Uint64(v), bytes.Clone(v[8:])
		return nil
	})
	return size, data, err
}

// Watermark is the ledger index replay starts from after a restart:
// one past the last entry whose state change the store holds.
func (s *Store) Watermark() (uint64, error) {
	var w uint64
	err := s.db.View(func(tx *bolt.Tx) error { w = watermark(tx); return nil })
	return w, err
}
