package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	json "github.com/go-json-experiment/json"
	bolt "go.etcd.io/bbolt"
)

// expire in the order they were made, so pruning reads from the front.
var bucketClaims = []byte("claim_tickets") // ticket number (8 bytes, big-endian) → Claim JSON

// MaxClaimTicket is the highest ticket number: seven base-32 characters
// of a claim code.
const MaxClaimTicket = 1<<35 - 1

// ErrClaimTickets means every ticket number has been handed out.
var ErrClaimTickets = errors.New("store: claim ticket numbers exhausted")

// putClaim stores an encoded claim ticket under the next number.
func putClaim(tx *bolt.Tx, v []byte) (uint64, error) {
	b := appendOnly(tx, bucketClaims)
	n, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	if n > MaxClaimTicket {
		return 0, ErrClaimTickets
	}
	return n, b.Put(binary.BigEndian.AppendUint64(nil, n), v)
}

// PruneClaims deletes up to max claim tickets that expired before now,
// used or not, oldest first, and returns how many it deleted. Tickets are
// made with every issuance; pruning keeps them to those still usable. It
// stops at the first ticket still valid: tickets live a fixed time, so
// the ones after it were made later (after a clock step back, a few may
// wait for a later pass).
func (s *Store) PruneClaims(now time.Time, max int) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketClaims).Cursor()
		for k, v := c.First(); k != nil && n < max; k, v = c.First() {
			var t Claim
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("%w: claim ticket %x: %v", ErrCorrupt, k, err)
			}
			if !t.Expires.Before(now) {
				return nil
			}
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// Claim is a one-time claim code's ticket. A code is the ticket's number
// and a secret; the store keeps only a salted hash of the secret, which
// the caller makes and checks (see UseClaim).
type Claim struct {
	LicenceID string    `json:"licence_id"`
	Expires   time.Time `json:"expires"`
	Used      bool      `json:"used,omitzero"`
	Salt      []byte    `json:"salt"`
	Verifier  []byte    `json:"verifier"`
	// Ticket is the number the store gave the ticket (set by PutClaim and
	// by the transaction Insert prepares).
	Ticket uint64 `json:"-"`
}

// PutClaim stores a claim ticket under the next number and returns it.
func (s *Store) PutClaim(c Claim) (uint64, error) {
	v, err := json.Marshal(c)
	if err != nil {
		return 0, err
	}
	var n uint64
	err = s.db.Batch(func(tx *bolt.Tx) (err error) {
		n, err = putClaim(tx, v)
		return err
	})
	return n, err
}

// UseClaim marks ticket n used and returns it, durably, in one step: a
// code can be spent once. verify checks the code's secret against the
// stored ticket (in constant time); a ticket it refuses is reported as
// ErrNotFound, like an unknown number, and stays usable. A spent ticket
// gives ErrExists; the caller checks expiry.
func (s *Store) UseClaim(n uint64, verify func(Claim) bool) (Claim, error) {
	var c Claim
	err := s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClaims)
		k := binary.BigEndian.AppendUint64(nil, n)
		v := b.Get(k)
		if v == nil {
			return ErrNotFound
		}
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("%w: claim: %v", ErrCorrupt, err)
		}
		if !verify(c) {
			return ErrNotFound
		}
		if c.Used {
			return ErrExists
		}
		c.Used = true
		v, err := json.Marshal(c)
		if err != nil {
			return err
		}
		return b.Put(k, v)
	})
	c.Ticket = n
	return c, err
}
