package boltstate

import (
	"elicense/issuer/state"
	"encoding/binary"
	"fmt"
	"slices"
	"unicode/utf8"

	json "github.com/go-json-experiment/json"

	bolt "go.etcd.io/bbolt"
)

// An audit record holds the personal values the ledger event at an index
// commits to (field → value, JSON), so the issuer can open a commitment
// for an auditor. The public ledger holds only commitments; this private
// half lives with the rest of the state, in the credentials bucket under
// the event's ledger index followed by auditSuffix: keyed by ledger index
// like the credentials, records are appended at the right edge that
// every issuance batch rewrites anyway, where a bucket of their own cost
// each commit its own right-hand leaf and branch pages (about three).
// A credential's key is the bare 8-byte index, so neither is mistaken
// for the other.
const auditSuffix = 0x01

// bucketAudit held audit records (ledger index → JSON) in the first
// builds with audit records; Audit still reads it.
var bucketAudit = []byte("audit")

// PutAudit implements state.Tx.
func (t *tx) PutAudit(index uint64, values map[string]string) error {
	v, err := encodeAudit(values)
	if err != nil {
		return err
	}
	return appendOnly(t.tx, bucketCreds).Put(t.auditKey(index), v)
}

// encodeAudit is json.Marshal(values, json.Deterministic(true)) (the
// members in byte order of their names), byte for byte. It runs on the
// ledger's writer, where every issuance waits for it, so the values
// the events carry (a few plain strings: no quote, backslash or control
// character, valid UTF-8, which need no escaping) are written by hand,
// without the reflection a map costs json; anything else goes to json.
func encodeAudit(values map[string]string) ([]byte, error) {
	var names [4]string
	keys := names[:0]
	n := len("{}")
	for k, v := range values {
		if !plainJSON(k) || !plainJSON(v) {
			return json.Marshal(values, json.Deterministic(true))
		}
		keys = append(keys, k)
		n += len(`"":"",`) + len(k) + len(v)
	}
	slices.Sort(keys)
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":"`...)
		b = append(b, values[k]...)
		b = append(b, '"')
	}
	return append(b, '}'), nil
}

// plainJSON reports whether s is valid UTF-8 that JSON writes as it is
// between quotes.
func plainJSON(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		// No byte of a multi-byte UTF-8 sequence is below 0x80.
		switch c := s[i]; {
		case c < 0x20 || c == '"' || c == '\\':
			return false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return ascii || utf8.ValidString(s)
}

// Audit returns the personal values recorded for the ledger event at
// index (ErrNotFound if none were).
func (s *Store) Audit(index uint64) (map[string]string, error) {
	var out map[string]string
	err := s.db.View(func(tx *bolt.Tx) error {
		k := binary.BigEndian.AppendUint64(make([]byte, 0, 9), index)
		v := tx.Bucket(bucketCreds).Get(append(k, auditSuffix))
		if b := tx.Bucket(bucketAudit); v == nil && b != nil {
			v = b.Get(k)
		}
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
