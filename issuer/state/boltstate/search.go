package boltstate

import (
	"bytes"
	"elicense/issuer/state"
	"iter"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Search returns records matching q in identifier order within the index
// used, and the identifier to pass as After for the next page ("" when
// there is none). Device copies are not listed (their licence is).
// Agency, with or without Class, and HolderCode are answered from an
// index in time proportional to the page; Status filters within it.
func (s *Store) Search(q state.Query) ([]*state.Record, string, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 100
	}
	var out []*state.Record
	next := ""
	err := s.db.View(func(tx *bolt.Tx) error {
		var ids iter.Seq[string]
		switch {
		case q.HolderCode != "":
			ids = holderIDs(tx, q.HolderCode, q.After)
		case q.Agency != "" && q.Class != "":
			ids = indexIDs(tx.Bucket(bucketAgency).Cursor(), indexKey(q.Agency, q.Class+"\x00"), q.After, false)
		case q.Agency != "":
			after := q.After
			if after != "" {
				r, err := getRecord(tx, after)
				if err != nil {
					return err
				}
				after = r.Class + "\x00" + after
			}
			// by_agency without a class: keys go on class 0 id.
			ids = indexIDs(tx.Bucket(bucketAgency).Cursor(), indexKey(q.Agency, ""), after, true)
		case q.Class != "":
			ids = indexIDs(tx.Bucket(bucketClass).Cursor(), indexKey(q.Class, ""), q.After, false)
		default:
			ids = indexIDs(tx.Bucket(bucketLicences).Cursor(), nil, q.After, false)
		}
		for id := range ids {
			r, err := getRecord(tx, id)
			if err != nil {
				return err
			}
			if r.CopyOf != "" || (q.Class != "" && r.Class != q.Class) || (q.Agency != "" && r.Agency != q.Agency) || (q.Status != "" && r.Status != q.Status) {
				continue
			}
			if len(out) == q.Limit {
				next = out[len(out)-1].ID
				break
			}
			out = append(out, r)
		}
		return nil
	})
	return out, next, err
}

// indexIDs lists the identifiers of an index's keys that start with
// prefix, from the one after after. With classInKey, keys go on class 0
// id after the prefix.
func indexIDs(c *bolt.Cursor, prefix []byte, after string, classInKey bool) iter.Seq[string] {
	return func(yield func(string) bool) {
		start := append(bytes.Clone(prefix), after...)
		k, _ := c.Seek(start)
		if after != "" && bytes.Equal(k, start) {
			k, _ = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			id := string(k[len(prefix):])
			if classInKey {
				_, id, _ = strings.Cut(id, "\x00")
			}
			if !yield(id) {
				return
			}
		}
	}
}

// holderIDs lists a holder's licence identifiers after after, in order:
// by_holder's and the holder log's, merged. The log is read whole; it is
// kept short (see MergeHolderLog).
