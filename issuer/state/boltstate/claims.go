package boltstate

import (
	"elicense/issuer/state"
	"encoding/binary"
	"fmt"
	"time"

	json "github.com/go-json-experiment/json"
	bolt "go.etcd.io/bbolt"
)

// expire in the order they were made, so pruning reads from the front.
var bucketClaims = []byte("claim_tickets") // ticket number (8 bytes, big-endian) → state.Claim JSON

// putClaim stores an encoded claim ticket under the next number.
func putClaim(tx *bolt.Tx, v []byte) (uint64, error) {
	b := appendOnly(tx, bucketClaims)
	n, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	if n > state.MaxClaimTicket {
		return 0, state.ErrClaimTickets
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
			var t state.Claim
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("%w: claim ticket %x: %v", state.ErrCorrupt, k, err)
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

// PutClaim stores a claim ticket under the next number and returns it.
func (s *Store) PutClaim(c state.Claim) (uint64, error) {
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
func (s *Store) UseClaim(n uint64, verify func(state.Claim) bool) (state.Claim, error) {
	var c state.Claim
	err := s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClaims)
		k := binary.BigEndian.AppendUint64(nil, n)
		v := b.Get(k)
		if v == nil {
			return state.ErrNotFound
		}
		// bbolt runs fn again when another call in its batch fails; a
		// ticket decoded into the c of an earlier run would keep fields
		// the stored JSON omits (Used), and refuse an unspent ticket.
		c = state.Claim{}
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("%w: claim: %v", state.ErrCorrupt, err)
		}
		if !verify(c) {
			return state.ErrNotFound
		}
		if c.Used {
			return state.ErrExists
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
