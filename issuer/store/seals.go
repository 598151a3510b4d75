package store

import (
	"bytes"
	"fmt"
	"time"

	json "github.com/go-json-experiment/json"
	bolt "go.etcd.io/bbolt"
)

var bucketSeals = []byte("seals") // esID → SealRecord JSON

// SealRecord is an electronic seal as the ledger recorded it.
type SealRecord struct {
	ESID        string    `json:"esid"`
	Agency      string    `json:"agency"`
	HolderCode  string    `json:"holder_code,omitempty"`
	MadeAt      time.Time `json:"made_at"`
	LedgerIndex uint64    `json:"ledger_index"`
	RevokedAt   time.Time `json:"revoked_at,omitzero"`
	Reason      string    `json:"reason,omitempty"`
}

// PutSeal records a seal made (from its ledger event, at replay);
// repeating it is harmless.
func (s *Store) PutSeal(r SealRecord) error {
	return s.db.Update(func(tx *bolt.Tx) error { return PutSealTx(tx, r) })
}

// PutSealTx is PutSeal in the transaction that appends the seal's ledger
// event (r.LedgerIndex set from it).
func PutSealTx(tx *bolt.Tx, r SealRecord) error {
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
	return advance(tx, r.LedgerIndex+1)
}

// RevokeSeal records a seal's revocation (from its ledger event, at
// replay). An unknown seal is recorded too: the revocation must reach
// counters whatever this store knows.
func (s *Store) RevokeSeal(esid string, at time.Time, reason string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return revokeSeal(tx, esid, at, reason) })
}

// RevokeSealTx is RevokeSeal in the transaction that appends the
// revocation to the ledger at ledgerIndex.
func RevokeSealTx(tx *bolt.Tx, esid string, at time.Time, reason string, ledgerIndex uint64) error {
	if err := revokeSeal(tx, esid, at, reason); err != nil {
		return err
	}
	return advance(tx, ledgerIndex+1)
}

func revokeSeal(tx *bolt.Tx, esid string, at time.Time, reason string) error {
	b, err := tx.CreateBucketIfNotExists(bucketSeals)
	if err != nil {
		return err
	}
	r := SealRecord{ESID: esid}
	if v := b.Get([]byte(esid)); v != nil {
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: seal %s: %v", ErrCorrupt, esid, err)
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
func (s *Store) RevokedSeals() ([]SealRecord, error) {
	var out []SealRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSeals)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var r SealRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: seal %s: %v", ErrCorrupt, k, err)
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
func (s *Store) Seal(esid string) (*SealRecord, error) {
	var r SealRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSeals)
		var v []byte
		if b != nil {
			v = b.Get([]byte(esid))
		}
		if v == nil {
			return fmt.Errorf("%w: seal %s", ErrNotFound, esid)
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
		err = fmt.Errorf("%w: seal of agency %s", ErrNotFound, code)
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
