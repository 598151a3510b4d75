package boltstate

import (
	"bytes"
	"elicense/issuer/state"
	"fmt"
	"time"

	json "github.com/go-json-experiment/json"
	bolt "go.etcd.io/bbolt"
)

var bucketSeals = []byte("seals") // esID → state.SealRecord JSON

// PutSeal implements state.Tx.
func (t *tx) PutSeal(r state.SealRecord) error {
	tx := t.tx
	b, err := tx.CreateBucketIfNotExists(bucketSeals)
	if err != nil {
		return err
	}
	if b.Get([]byte(r.ESID)) == nil {
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(r.ESID), v); err != nil {
			return err
		}
	}
	t.advance(r.LedgerIndex + 1)
	return nil
}

// RevokeSeal implements state.Seals (replay).
func (s *Store) RevokeSeal(esid string, at time.Time, reason string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return revokeSeal(tx, esid, at, reason) })
}

// RevokeSeal implements state.Tx.
func (t *tx) RevokeSeal(esid string, at time.Time, reason string, ledgerIndex uint64) error {
	if err := revokeSeal(t.tx, esid, at, reason); err != nil {
		return err
	}
	t.advance(ledgerIndex + 1)
	return nil
}

func revokeSeal(tx *bolt.Tx, esid string, at time.Time, reason string) error {
	b, err := tx.CreateBucketIfNotExists(bucketSeals)
	if err != nil {
		return err
	}
	r := state.SealRecord{ESID: esid}
	if v := b.Get([]byte(esid)); v != nil {
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: seal %s: %v", state.ErrCorrupt, esid, err)
		}
	}
	if !r.RevokedAt.IsZero() {
		return nil
	}
	r.RevokedAt, r.Reason = at, reason
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return b.Put([]byte(esid), v)
}

// RevokedSeals lists the revoked seals, for the trust bundle.
func (s *Store) RevokedSeals() ([]state.SealRecord, error) {
	var out []state.SealRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSeals)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var r state.SealRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: seal %s: %v", state.ErrCorrupt, k, err)
			}
			if !r.RevokedAt.IsZero() {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}

// Seal returns the record of a seal.
func (s *Store) Seal(esid string) (*state.SealRecord, error) {
	var r state.SealRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSeals)
		var v []byte
		if b != nil {
			v = b.Get([]byte(esid))
		}
		if v == nil {
			return fmt.Errorf("%w: seal %s", state.ErrNotFound, esid)
		}
		return json.Unmarshal(v, &r)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

var bucketAgencySeals = []byte("agency_seals") // agency code → SES_Seal DER

// AgencySeal returns the official seal an agency puts on licence faces.
func (s *Store) AgencySeal(code string) ([]byte, error) {
	var der []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketAgencySeals); b != nil {
			der = bytes.Clone(b.Get([]byte(code)))
		}
		return nil
	})
	if err == nil && der == nil {
		err = fmt.Errorf("%w: seal of agency %s", state.ErrNotFound, code)
	}
	return der, err
}

// PutAgencySeal records an agency's official seal.
func (s *Store) PutAgencySeal(code string, der []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketAgencySeals)
		if err != nil {
			return err
		}
		return b.Put([]byte(code), der)
	})
}
