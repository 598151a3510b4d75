package boltstate

import (
	"elicense/internal/ledger/boltstore"
	"elicense/issuer/state"
	"fmt"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketLicences = []byte("licences") // id → state.Record JSON, without Credential and QR
	// bucketCreds holds the signed credential and QR core under the ledger
	// index of the licence's issuance (events maps an ID to it): indexes
	// come in commit order, so each batch appends whole pages, where
	// identifiers, fixed before signing, arrive a little out of order and
	// left most pages holding three or four credentials over two pages.
	// It also holds the audit records (audit.go), under an event's ledger
	// index and a ninth byte.
	bucketCreds = []byte("credentials") // issuance ledger index (8 bytes) → credential_blob.go; index ‖ 0x01 → audit record

	bucketHolder = []byte("by_holder") // holder code 0 id → nil
	// bucketHolderLog holds holder-index entries not yet merged into
	// by_holder, under the ledger index of their issuance. Holder codes
	// come in no order, so writing by_holder at issuance rewrote a random
	// page (and its branch pages) for every licence, a third of the pages
	// an issuance wrote; entries are appended here instead, and
	// MergeHolderLog moves them over in large sorted transactions off the
	// acknowledgement path. Search reads both.
	bucketHolderLog = []byte("by_holder_new") // issuance ledger index (8 bytes) → holder code 0 id
	bucketClass     = []byte("by_class")      // class 0 id → nil
	bucketAgency    = []byte("by_agency")     // agency 0 class 0 id → nil
	bucketImport    = []byte("import_keys")   // agency 0 key → id
	bucketState     = []byte("state")         // the ledger's "meta" is the ledger's
	// bucketEvents holds, for each record, its issuance's ledger index and
	// one past the last event applied (16 bytes), so a status change
	// rewrites the record but looking up an index does not decode it.
	bucketEvents = []byte("events")
	keyWatermark = []byte("watermark") // last ledger index applied + 1
	keyFormat    = []byte("format")
	// bucketSnapshot holds the status lists' snapshot alone: in the state
	// bucket beside the watermark, which every change writes, bbolt
	// rewrote the whole snapshot (hundreds of pages) with each commit.
	bucketSnapshot = []byte("status_snapshot")
	keyStatus      = []byte("lists") // ledger size (8 bytes) ‖ status lists snapshot
)

// Store is the issuer's state and ledger in one bbolt file: a
// state.Backend. The ledger's buckets are internal/ledger/boltstore's;
// the state's are listed above. Its methods are safe for concurrent use.
type Store struct {
	file *boltstore.Store
	db   *bolt.DB
	// holderLog counts the entries of the holder log: counted at open,
	// then changed only by transactions that commit (tx.OnCommit; the
	// ledger rolls a whole batch back and writes it again when one
	// change in it fails).
	holderLog atomic.Int64
}

// Options tune Open. The zero value is what production uses.
type Options struct {
	// LockTimeout is how long Open waits for the file lock another
	// process holds before failing with ledger.ErrLocked; zero means
	// 1 s, so a second server on the same data fails fast.
	LockTimeout time.Duration
	// InitialMmapSize is the initial size of the memory map (zero: the
	// ledger's default; see boltstore.Options).
	InitialMmapSize int
	// NoSync turns off fsync. Only for measuring CPU cost in benchmarks:
	// with it, acknowledged changes can be lost.
	NoSync bool
	// ReadOnly opens an existing file with a shared lock, for reading
	// only (elicense migrate-ledger reads an old data file this way, so
	// it cannot change it): every write fails.
	ReadOnly bool
}

// Open opens or creates the data file at path: the ledger and the state.
// A state in another layout is refused (state.ErrFormat).
func Open(path string, o Options) (*Store, error) {
	f, err := boltstore.Open(path, &boltstore.Options{LockTimeout: o.LockTimeout, InitialMmapSize: o.InitialMmapSize, NoSync: o.NoSync, ReadOnly: o.ReadOnly})
	if err != nil {
		return nil, err
	}
	open := newStore
	if o.ReadOnly {
		open = readStore
	}
	s, err := open(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// newStore keeps the state in f's file, next to the ledger's buckets.
func newStore(f *boltstore.Store) (*Store, error) {
	db := f.DB()
	// bbolt's default group-commit window of 10 ms would add 10 ms to a
	// lone claim or token revocation (db.Batch); 2 ms still groups a burst.
	db.MaxBatchDelay = 2 * time.Millisecond
	err := db.Update(func(tx *bolt.Tx) error {
		if st := tx.Bucket(bucketState); st != nil {
			// Layout 4 is layout 5 with every holder entry merged: it
			// only lacks the (empty) holder log, made below.
			if f := st.Get(keyFormat); string(f) != stateFormat && string(f) != "elicense-state 4" {
				return fmt.Errorf("%w: the state has layout %q, this version reads %q", state.ErrFormat, f, stateFormat)
			}
		} else if tx.Bucket(bucketLicences) != nil {
			return fmt.Errorf("%w: the state has no layout mark, this version reads %q", state.ErrFormat, stateFormat)
		}
		for _, b := range [][]byte{bucketLicences, bucketCreds, bucketHolder, bucketHolderLog, bucketClass, bucketAgency, bucketImport, bucketState, bucketEvents, bucketClaims, bucketSnapshot} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketState).Put(keyFormat, []byte(stateFormat))
	})
	if err != nil {
		return nil, fmt.Errorf("boltstate: %w", err)
	}
	s := &Store{file: f, db: db}
	err = db.View(func(tx *bolt.Tx) error {
		s.holderLog.Store(int64(tx.Bucket(bucketHolderLog).Stats().KeyN))
		return nil
	})
	return s, err
}

// readStore reads the state in f's file, opened read-only: the layout
// is checked and nothing is made.
func readStore(f *boltstore.Store) (*Store, error) {
	s := &Store{file: f, db: f.DB()}
	err := s.db.View(func(tx *bolt.Tx) error {
		st := tx.Bucket(bucketState)
		if st == nil {
			return fmt.Errorf("%w: the file holds no issuer state", state.ErrFormat)
		}
		if f := st.Get(keyFormat); string(f) != stateFormat {
			return fmt.Errorf("%w: the state has layout %q, this version reads %q", state.ErrFormat, f, stateFormat)
		}
		for _, b := range [][]byte{bucketLicences, bucketCreds, bucketHolder, bucketHolderLog, bucketClass, bucketAgency, bucketImport, bucketEvents, bucketClaims, bucketSnapshot} {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("%w: the state has no bucket %q", state.ErrFormat, b)
			}
		}
		s.holderLog.Store(int64(tx.Bucket(bucketHolderLog).Stats().KeyN))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("boltstate: %w", err)
	}
	return s, nil
}

// stateFormat names the layout of the buckets (see the bucket variables);
// a store written in another layout is refused rather than misread.
const stateFormat = "elicense-state 5"

// Close closes the file. Close the ledger.Log on it first.
func (s *Store) Close() error { return s.file.Close() }

func indexKey(a, b string) []byte { return append(append([]byte(a), 0), b...) }

// appending returns a bucket whose new keys mostly come in increasing
// order (identifiers start with class and agency, then a time-ordered
// serial), so pages split full rather than at bbolt's default half: the
// pages a commit writes carry twice the records.
func appending(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(name)
	b.FillPercent = 0.9
	return b
}

// appendOnly returns a bucket whose new keys come in increasing order
// (ledger indexes, ticket numbers) or nearly so (records: see
// appending), so pages are filled whole: at 0.9, two 1.2 KB credentials
// or records filled a page where three fit. A record that arrives late,
// or grows with a status change, splits a full page, which costs less
// than leaving every page a third empty (docs/performance.md). bbolt applies a bucket's fill when the transaction
// commits, so every write to a bucket uses the same one.
func appendOnly(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(name)
	b.FillPercent = 1
	return b
}

// putRecord rewrites a stored record after a change (its index entries
