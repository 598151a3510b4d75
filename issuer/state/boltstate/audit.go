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

// bucketAudit holds, under a ledger index, the personal values the
// event at that index commits to (field → value), so the issuer can open
// a commitment for an auditor. The public ledger holds only commitments;
// this private half lives with the rest of the state. Made on first use.
var bucketAudit = []byte("audit") // ledger index (8 bytes) → JSON object of strings

// PutAudit implements state.Tx.
func (t *tx) PutAudit(index uint64, values map[string]string) error {
	if t.audit == nil {
		b, err := t.tx.CreateBucketIfNotExists(bucketAudit)
		if err != nil {
			return err
		}
		b.FillPercent = 1 // keys are ledger indexes: pages are filled whole
		t.audit = b
	}
	v, err := encodeAudit(values)
	if err != nil {
		return err
	}
	return t.audit.Put(t.seqKey(index), v)
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
