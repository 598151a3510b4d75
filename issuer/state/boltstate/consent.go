package boltstate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	json "github.com/go-json-experiment/json"
	bolt "go.etcd.io/bbolt"

	"elicense/issuer/state"
)

// What 授权用证 keeps (state.Consents, state.ConsentTx), each bucket made
// on its first write, so a file written before them reads as holding
// none. Identifiers hold no NUL byte (keyOK), so "a 0 b" keys sort by a
// and never mix two a's.
var (
	bucketParties  = []byte("relying_parties") // id → state.RelyingParty JSON
	bucketRequests = []byte("requests")        // id → state.Request JSON
	// bucketRequestExp orders requests by expiry for PruneRequests.
	bucketRequestExp = []byte("requests_by_expiry") // expiry (Unix ns, 8 bytes) ‖ id → nil
	bucketGrants     = []byte("grants")             // id → state.Grant JSON
	bucketGrantsCopy = []byte("grants_by_copy")     // copy 0 ledger index (8 bytes) → grant id
	bucketGrantsRP   = []byte("grants_by_rp")       // rp 0 ledger index (8 bytes) → grant id
	bucketUses       = []byte("uses")               // copy 0 ledger index (8 bytes) → nil
	bucketReceipts   = []byte("receipts")           // receipt id → ledger index (8 bytes)
)

// keyOK reports whether id can be a key part: not empty, no NUL byte.
func keyOK(id string) bool { return id != "" && strings.IndexByte(id, 0) < 0 }

func badKey(what, id string) error {
	return fmt.Errorf("boltstate: %s %q is empty or holds a NUL byte", what, id)
}

// pairKey is a 0 idx (8 bytes, big-endian).
func pairKey(a string, idx uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(a), 0), idx)
}

func expKey(t time.Time, id string) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())), id...)
}

func bucket(tx *bolt.Tx, name []byte) (*bolt.Bucket, error) {
	return tx.CreateBucketIfNotExists(name)
}

func getJSON[T any](tx *bolt.Tx, name []byte, id, what string) (*T, error) {
	var v []byte
	if b := tx.Bucket(name); b != nil {
		v = b.Get([]byte(id))
	}
	if v == nil {
		return nil, fmt.Errorf("%w: %s %s", state.ErrNotFound, what, id)
	}
	x := new(T)
	if err := json.Unmarshal(v, x); err != nil {
		return nil, fmt.Errorf("%w: %s %s: %v", state.ErrCorrupt, what, id, err)
	}
	return x, nil
}

func putJSON(b *bolt.Bucket, id string, x any) error {
	v, err := json.Marshal(x)
	if err != nil {
		return err
	}
	return b.Put([]byte(id), v)
}

// RelyingParty implements state.Consents.
func (s *Store) RelyingParty(id string) (rp *state.RelyingParty, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		rp, err = getJSON[state.RelyingParty](tx, bucketParties, id, "relying party")
		return err
	})
	return rp, err
}

// RelyingParties implements state.Consents.
func (s *Store) RelyingParties() ([]*state.RelyingParty, error) {
	var out []*state.RelyingParty
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketParties)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			rp := new(state.RelyingParty)
			if err := json.Unmarshal(v, rp); err != nil {
				return fmt.Errorf("%w: relying party %s: %v", state.ErrCorrupt, k, err)
			}
			out = append(out, rp)
			return nil
		})
	})
	return out, err
}

// PutRequest implements state.Consents.
func (s *Store) PutRequest(r *state.Request) error {
	if !keyOK(r.ID) {
		return badKey("request", r.ID)
	}
	if r.Answer != state.AnswerPending {
		return fmt.Errorf("boltstate: a new request %s answered %q", r.ID, r.Answer)
	}
	if r.Expires.IsZero() {
		return fmt.Errorf("boltstate: request %s has no expiry", r.ID)
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketRequests)
		if err != nil {
			return err
		}
		if b.Get([]byte(r.ID)) != nil {
			return fmt.Errorf("%w: request %s", state.ErrExists, r.ID)
		}
		e, err := bucket(tx, bucketRequestExp)
		if err != nil {
			return err
		}
		if err := e.Put(expKey(r.Expires, r.ID), nil); err != nil {
			return err
		}
		return b.Put([]byte(r.ID), v)
	})
}

// Request implements state.Consents.
func (s *Store) Request(id string) (r *state.Request, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		r, err = getJSON[state.Request](tx, bucketRequests, id, "request")
		return err
	})
	return r, err
}

// answer marks request id answered; tx is writable.
func answer(tx *bolt.Tx, id string, a state.Answer, at time.Time, grant string) error {
	r, err := getJSON[state.Request](tx, bucketRequests, id, "request")
	if err != nil {
		return err
	}
	if r.Answer != state.AnswerPending {
		return fmt.Errorf("%w: request %s was %s", state.ErrExists, id, r.Answer)
	}
	r.Answer, r.AnsweredAt, r.Grant = a, at, grant
	return putJSON(tx.Bucket(bucketRequests), id, r)
}

// RefuseRequest implements state.Consents.
func (s *Store) RefuseRequest(id string, at time.Time) error {
	return s.db.Batch(func(tx *bolt.Tx) error { return answer(tx, id, state.AnswerRefused, at, "") })
}

// PruneRequests implements state.Consents.
func (s *Store) PruneRequests(now time.Time, max int) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		n = 0 // Update does not run fn twice, but keep the count honest
		e, r := tx.Bucket(bucketRequestExp), tx.Bucket(bucketRequests)
		if e == nil || r == nil {
			return nil
		}
		end := binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano()))
		c := e.Cursor()
		for k, _ := c.First(); k != nil && n < max && bytes.Compare(k[:8], end) < 0; k, _ = c.First() {
			if err := r.Delete(k[8:]); err != nil {
				return err
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

// Grant implements state.Consents.
func (s *Store) Grant(id string) (g *state.Grant, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		g, err = getJSON[state.Grant](tx, bucketGrants, id, "grant")
		return err
	})
	return g, err
}

// grantsFrom reads the grants an index bucket lists under prefix from
// the key start on, up to limit (0: all), and returns the ledger index
// of the next one (0 if none).
func grantsFrom(tx *bolt.Tx, index []byte, prefix, start []byte, limit int) ([]*state.Grant, uint64, error) {
	b := tx.Bucket(index)
	if b == nil {
		return nil, 0, nil
	}
	var out []*state.Grant
	c := b.Cursor()
	for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, v = c.Next() {
		if limit > 0 && len(out) == limit {
			return out, binary.BigEndian.Uint64(k[len(prefix):]), nil
		}
		g, err := getJSON[state.Grant](tx, bucketGrants, string(v), "grant")
		if err != nil {
			return nil, 0, err
		}
		out = append(out, g)
	}
	return out, 0, nil
}

// GrantsOfCopy implements state.Consents.
func (s *Store) GrantsOfCopy(copy string) (gs []*state.Grant, err error) {
	if !keyOK(copy) {
		return nil, nil
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		p := append([]byte(copy), 0)
		gs, _, err = grantsFrom(tx, bucketGrantsCopy, p, p, 0)
		return err
	})
	return gs, err
}

// GrantsOfParty implements state.Consents.
func (s *Store) GrantsOfParty(rp string, from uint64, limit int) (gs []*state.Grant, next uint64, err error) {
	if !keyOK(rp) || limit <= 0 {
		return nil, 0, nil
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		gs, next, err = grantsFrom(tx, bucketGrantsRP, append([]byte(rp), 0), pairKey(rp, from), limit)
		return err
	})
	return gs, next, err
}

// Uses implements state.Consents.
func (s *Store) Uses(copy string) ([]uint64, error) {
	out := []uint64{}
	if !keyOK(copy) {
		return out, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUses)
		if b == nil {
			return nil
		}
		p := append([]byte(copy), 0)
		c := b.Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			if len(k) == len(p)+8 {
				out = append(out, binary.BigEndian.Uint64(k[len(p):]))
			}
		}
		return nil
	})
	return out, err
}

// PutRelyingParty implements state.ConsentTx: a replace keeps the
// stored state and VoidBefore, read in this transaction.
func (t *tx) PutRelyingParty(rp *state.RelyingParty, create bool, index uint64) error {
	if !keyOK(rp.ID) {
		return badKey("relying party", rp.ID)
	}
	b, err := bucket(t.tx, bucketParties)
	if err != nil {
		return err
	}
	old, err := getJSON[state.RelyingParty](t.tx, bucketParties, rp.ID, "relying party")
	switch {
	case create && err == nil:
		return fmt.Errorf("%w: relying party %s", state.ErrExists, rp.ID)
	case !create && err != nil:
		return err
	case !create && old.State == state.PartyRemoved:
		return fmt.Errorf("%w: relying party %s was removed", state.ErrRevoked, rp.ID)
	case !create:
		rp.State, rp.VoidBefore = old.State, old.VoidBefore
	}
	rp.LedgerIndex = index
	t.advance(index + 1)
	return putJSON(b, rp.ID, rp)
}

// SetPartyState implements state.ConsentTx.
func (t *tx) SetPartyState(id string, st state.PartyState, at time.Time, index uint64) error {
	if !keyOK(id) {
		return badKey("relying party", id)
	}
	rp, err := getJSON[state.RelyingParty](t.tx, bucketParties, id, "relying party")
	if err != nil {
		return err
	}
	if rp.State == state.PartyRemoved {
		return fmt.Errorf("%w: relying party %s was removed", state.ErrRevoked, id)
	}
	rp.State, rp.LedgerIndex = st, index
	if st != state.PartyActive && at.After(rp.VoidBefore) {
		rp.VoidBefore = at
	}
	t.advance(index + 1)
	return putJSON(t.tx.Bucket(bucketParties), id, rp)
}

// PutGrant implements state.ConsentTx.
func (t *tx) PutGrant(g *state.Grant, index uint64) error {
	if !keyOK(g.ID) || !keyOK(g.Copy) || !keyOK(g.RP) {
		return badKey("grant, copy or relying party", g.ID+" "+g.Copy+" "+g.RP)
	}
	b, err := bucket(t.tx, bucketGrants)
	if err != nil {
		return err
	}
	if b.Get([]byte(g.ID)) != nil {
		return fmt.Errorf("%w: grant %s", state.ErrExists, g.ID)
	}
	if err := checkKID(t.tx, g.KeyID, index); err != nil {
		return err
	}
	if err := answer(t.tx, g.Request, state.AnswerGranted, g.Created, g.ID); err != nil {
		return err
	}
	g.LedgerIndex = index
	if err := putJSON(b, g.ID, g); err != nil {
		return err
	}
	for _, ix := range []struct {
		bucket []byte
		key    string
	}{{bucketGrantsCopy, g.Copy}, {bucketGrantsRP, g.RP}} {
		ib, err := bucket(t.tx, ix.bucket)
		if err != nil {
			return err
		}
		if err := ib.Put(pairKey(ix.key, index), []byte(g.ID)); err != nil {
			return err
		}
	}
	t.advance(index + 1)
	return t.AddUse(g.Copy, index)
}

// UseGrant implements state.ConsentTx: the party and the licence are
// read in this transaction.
func (t *tx) UseGrant(id string, index uint64) error {
	return t.changeGrant(id, index, func(g *state.Grant) error {
		switch {
		case !g.RevokedAt.IsZero():
			return fmt.Errorf("%w: grant %s", state.ErrRevoked, id)
		case g.Use == state.UseOnce && g.Fetches > 0:
			return fmt.Errorf("%w: grant %s was used", state.ErrExists, id)
		}
		rp, err := getJSON[state.RelyingParty](t.tx, bucketParties, g.RP, "relying party")
		switch {
		case errors.Is(err, state.ErrNotFound):
			return fmt.Errorf("%w: relying party %s is missing", state.ErrSuspended, g.RP)
		case err != nil:
			return err
		case rp.State != state.PartyActive:
			return fmt.Errorf("%w: relying party %s is %s", state.ErrSuspended, g.RP, rp.State)
		case g.Created.Before(rp.VoidBefore):
			return fmt.Errorf("%w: grant %s was made before its party's last suspension", state.ErrRevoked, id)
		}
		if err := validCopy(t.tx, g.Copy); err != nil {
			return err
		}
		g.Fetches++
		return nil
	})
}

// validCopy refuses (ErrNotValid) a licence copy that is missing,
// unbound or not valid, or whose licence is missing or not valid.
func validCopy(tx *bolt.Tx, copy string) error {
	cp, err := statusOf(tx, copy)
	if err != nil {
		return err
	}
	if cp.Unbound || cp.Status != state.StatusValid || cp.CopyOf == "" {
		return fmt.Errorf("%w: licence copy %s is %s", state.ErrNotValid, copy, cp.Status)
	}
	l, err := statusOf(tx, cp.CopyOf)
	if err != nil {
		return err
	}
	if l.Status != state.StatusValid {
		return fmt.Errorf("%w: licence %s is %s", state.ErrNotValid, cp.CopyOf, l.Status)
	}
	return nil
}

// statusOf decodes record id's JSON alone (no credential, no ledger
// bookkeeping): a missing one is ErrNotValid.
func statusOf(tx *bolt.Tx, id string) (*state.Record, error) {
	var v []byte
	if b := tx.Bucket(bucketLicences); b != nil {
		v = b.Get([]byte(id))
	}
	if v == nil {
		return nil, fmt.Errorf("%w: licence %s is missing", state.ErrNotValid, id)
	}
	r := new(state.Record)
	if err := json.Unmarshal(v, r); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", state.ErrCorrupt, id, err)
	}
	return r, nil
}

// RevokeGrant implements state.ConsentTx.
func (t *tx) RevokeGrant(id string, at time.Time, by state.RevokedBy, index uint64) error {
	if at.IsZero() {
		return fmt.Errorf("boltstate: revoking grant %s at the zero time", id)
	}
	return t.changeGrant(id, index, func(g *state.Grant) error {
		if !g.RevokedAt.IsZero() {
			return fmt.Errorf("%w: grant %s", state.ErrRevoked, id)
		}
		g.RevokedAt, g.RevokedBy = at, by
		return nil
	})
}

// changeGrant rewrites grant id as fn changes it and adds index to its
// copy's uses.
func (t *tx) changeGrant(id string, index uint64, fn func(*state.Grant) error) error {
	g, err := getJSON[state.Grant](t.tx, bucketGrants, id, "grant")
	if err != nil {
		return err
	}
	if err := fn(g); err != nil {
		return err
	}
	if err := putJSON(t.tx.Bucket(bucketGrants), id, g); err != nil {
		return err
	}
	t.advance(index + 1)
	return t.AddUse(g.Copy, index)
}

// AddUse implements state.ConsentTx.
func (t *tx) AddUse(copy string, index uint64) error {
	if !keyOK(copy) {
		return badKey("licence copy", copy)
	}
	b, err := bucket(t.tx, bucketUses)
	if err != nil {
		return err
	}
	return b.Put(pairKey(copy, index), nil)
}

// TakeReceipt implements state.ConsentTx.
func (t *tx) TakeReceipt(id string, index uint64) error {
	if !keyOK(id) {
		return badKey("receipt", id)
	}
	b, err := bucket(t.tx, bucketReceipts)
	if err != nil {
		return err
	}
	if b.Get([]byte(id)) != nil {
		return fmt.Errorf("%w: receipt %s", state.ErrExists, id)
	}
	t.advance(index + 1)
	return b.Put([]byte(id), binary.BigEndian.AppendUint64(nil, index))
}
