package boltstate

import (
	"bytes"
	"iter"
	"slices"

	bolt "go.etcd.io/bbolt"
)

func holderIDs(tx *bolt.Tx, holder, after string) iter.Seq[string] {
	prefix := indexKey(holder, "")
	var recent []string
	c := tx.Bucket(bucketHolderLog).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if bytes.HasPrefix(v, prefix) {
			if id := string(v[len(prefix):]); id > after {
				recent = append(recent, id)
			}
		}
	}
	slices.Sort(recent)
	return func(yield func(string) bool) {
		for id := range indexIDs(tx.Bucket(bucketHolder).Cursor(), prefix, after, false) {
			// An entry a merge has put but not yet deleted from the log
			// is in both: list it once.
			for len(recent) > 0 && recent[0] <= id {
				if recent[0] < id && !yield(recent[0]) {
					return
				}
				recent = recent[1:]
			}
			if !yield(id) {
				return
			}
		}
		for _, id := range recent {
			if !yield(id) {
				return
			}
		}
	}
}

// HolderLogLen is how many holder-index entries wait in the log for
// MergeHolderLog.
func (s *Store) HolderLogLen() int { return int(s.holderLog.Load()) }

// mergeChunk is how many sorted holder entries one merge transaction
// puts: a merge's entries are sorted once and put in runs of disjoint key
// ranges, so every index page is still rewritten once per merge, but the
// ledger's writer, which shares bbolt's one write transaction, waits for
// one run at a time rather than for the whole merge.
const mergeChunk = 2048

// MergeHolderLog moves up to max of the oldest holder-log entries into
// the holder index and returns how many it moved. The entries are sorted
// and put in transactions of mergeChunk, then deleted from the log's
// front, mergeChunk a transaction. Meanwhile an entry may be in both places, which searches skip
// (holderIDs); a crash in between leaves it in both, and the next merge
// puts it again, which changes nothing.
func (s *Store) MergeHolderLog(max int) (int, error) {
	var keys [][]byte
	var last []byte // the last log key read: the log is deleted up to it
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketHolderLog).Cursor()
		for k, v := c.First(); k != nil && len(keys) < max; k, v = c.Next() {
			keys, last = append(keys, bytes.Clone(v)), bytes.Clone(k)
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	slices.SortFunc(keys, bytes.Compare)
	for run := range slices.Chunk(keys, mergeChunk) {
		err := s.db.Update(func(tx *bolt.Tx) error {
			hb := tx.Bucket(bucketHolder)
			for _, k := range run {
				if err := hb.Put(k, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	// Log keys are ledger indexes, which only grow: whatever was appended
	// since the read above lies after last. Deleting is done in runs too,
	// for the same reason.
	total := 0
	for done := false; !done; {
		var n int
		err = s.db.Update(func(tx *bolt.Tx) error {
			n, done = 0, true
			c := tx.Bucket(bucketHolderLog).Cursor()
			for k, _ := c.First(); k != nil && bytes.Compare(k, last) <= 0; k, _ = c.First() {
				if n == mergeChunk {
					done = false
					break
				}
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
			tx.OnCommit(func() { s.holderLog.Add(-int64(n)) })
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
