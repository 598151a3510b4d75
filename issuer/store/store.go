package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	// json v2: records are decoded on every read and encoded on every
	// change; it takes 14 µs for a licence record where encoding/json
	// takes 33 µs, with the same JSON.
	json "github.com/go-json-experiment/json"
	bolt "go.etcd.io/bbolt"

	"elicense/certs/qr"
)

// Status is a licence's state in the issuer.
type Status string

// Licence states. Superseded is a revoked-by-re-issue: the licence was
// replaced by a newer version of its identifier.
const (
	StatusValid      Status = "valid"
	StatusSuspended  Status = "suspended"
	StatusRevoked    Status = "revoked"
	StatusSuperseded Status = "superseded"
)

// Record is one licence version as the issuer keeps it.
type Record struct {
	ID             string            `json:"id"`
	Class          string            `json:"class"`
	Agency         string            `json:"agency"`
	HolderCode     string            `json:"holder_code"`
	HolderName     string            `json:"holder_name"`
	Fields         map[string]string `json:"fields"`
	Status         Status            `json:"status"`
	Reason         string            `json:"reason,omitempty"`
	StatusList     string            `json:"status_list"`
	StatusIndex    uint64            `json:"status_index"`
	Credential     string            `json:"-"` // kept in the credentials bucket, see putBlob
	CredentialHash string            `json:"credential_hash"`
	QR             []byte            `json:"-"` // qr.Holding JSON, only on a record read back whose credential is stored verbatim (others carry Holding)
	IssuedAt       time.Time         `json:"issued_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	LedgerIndex    uint64            `json:"-"` // kept in the events bucket, see getRecord
	SupersededBy   string            `json:"superseded_by,omitempty"`
	Supersedes     string            `json:"supersedes,omitempty"`
	ImportKey      string            `json:"import_key,omitempty"` // caller's idempotency key
	// LastEvent is one past the ledger index of the last event applied to
	// this record, so replaying the ledger applies each event once and
	// never lets an older one overwrite a newer.
	LastEvent uint64 `json:"-"`

	IssuedOn string `json:"issued_on"`        // 颁证日期 as signed, YYYY-MM-DD
	Number   string `json:"number,omitempty"` // 证照编号 as printed
	// A device-bound copy has ID parent#devicekeyid, CopyOf the parent's
	// ID, its own credential and status position, and Device the holder's
	// device key (hex, compressed). The parent lists its copies.
	CopyOf  string   `json:"copy_of,omitempty"`
	Device  string   `json:"device,omitempty"`
	Copies  []string `json:"copies,omitempty"`
	Unbound bool     `json:"unbound,omitzero"` // a copy revoked on its own (device lost)

	// ClaimCode and ClaimExpires are set on the record returned by an
	// issuance only; the store keeps the code's hash (Insert's claim).
	ClaimCode    string    `json:"-"`
	ClaimExpires time.Time `json:"-"`
	// Existing is set on a record an issuance returned because its import
	// key had been used before.
	Existing bool `json:"-"`
	// Holding is the QR core with what the holder needs to present it:
	// set by issuance and on reading a licence stored compactly (see
	// blob.go), so neither encodes nor decodes JSON on the way.
	Holding *qr.Holding `json:"-"`
}

var (
	// ErrNotFound means no record has that identifier.
	ErrNotFound = errors.New("store: not found")
	// ErrExists means a record or idempotency key is already taken.
	ErrExists = errors.New("store: already exists")
	// ErrCorrupt means a stored value could not be decoded.
	ErrCorrupt = errors.New("store: corrupt record")
	// ErrFormat means the state was written in a layout this version
	// does not read.
	ErrFormat = errors.New("store: unknown layout")
)

var (
	bucketLicences = []byte("licences") // id → Record JSON, without Credential and QR
	// bucketCreds holds the signed credential and QR core under the ledger
	// index of the licence's issuance (events maps an ID to it): indexes
	// come in commit order, so each batch appends whole pages, where
	// identifiers, fixed before signing, arrive a little out of order and
	// left most pages holding three or four credentials over two pages.
	bucketCreds = []byte("credentials") // issuance ledger index (8 bytes) → blob.go

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

// Store is the issuer's state. Its methods are safe for concurrent use.
type Store struct {
	db  *bolt.DB
	own bool // Close closes db
	// holderLog counts the entries of the holder log: counted at open,
	// then changed only by transactions that commit (tx.OnCommit; the
	// ledger rolls a whole batch back and writes it again when one
	// change in it fails).
	holderLog atomic.Int64
}

// Options tune Open.
type Options struct {
	// LockTimeout bounds the wait for another process holding the file;
	// zero means 5 s, so a second server on the same data fails fast.
	LockTimeout time.Duration
}

// Open opens or creates a state file of its own at path (tools and
// tests; the server keeps its state in the ledger's file, see New).
func Open(path string, o *Options) (*Store, error) {
	var opts Options
	if o != nil {
		opts = *o
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 5 * time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	s, err := New(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.own = true
	return s, nil
}

// New keeps the state in db, next to whatever else it holds (the
// ledger's buckets: the server writes a licence and its ledger event in
// one transaction, see Insert). Close does not close db.
func New(db *bolt.DB) (*Store, error) {
	// bbolt's default group-commit window of 10 ms would add 10 ms to a
	// lone claim or token revocation (db.Batch); 2 ms still groups a burst.
	db.MaxBatchDelay = 2 * time.Millisecond
	err := db.Update(func(tx *bolt.Tx) error {
		if st := tx.Bucket(bucketState); st != nil {
			// Layout 4 is layout 5 with every holder entry merged: it
			// only lacks the (empty) holder log, made below.
			if f := st.Get(keyFormat); string(f) != stateFormat && string(f) != "elicense-state 4" {
				return fmt.Errorf("%w: the state has layout %q, this version reads %q", ErrFormat, f, stateFormat)
			}
		} else if tx.Bucket(bucketLicences) != nil {
			return fmt.Errorf("%w: the state has no layout mark, this version reads %q", ErrFormat, stateFormat)
		}
		for _, b := range [][]byte{bucketLicences, bucketCreds, bucketHolder, bucketHolderLog, bucketClass, bucketAgency, bucketImport, bucketState, bucketEvents, bucketClaims, bucketSnapshot} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketState).Put(keyFormat, []byte(stateFormat))
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Store{db: db}
	err = db.View(func(tx *bolt.Tx) error {
		s.holderLog.Store(int64(tx.Bucket(bucketHolderLog).Stats().KeyN))
		return nil
	})
	return s, err
}

// stateFormat names the layout of the buckets (see the bucket variables);
// a store written in another layout is refused rather than misread.
const stateFormat = "elicense-state 5"

// Close closes a store made by Open.
func (s *Store) Close() error {
	if s.own {
		return s.db.Close()
	}
	return nil
}

func indexKey(a, b string) []byte { return append(append([]byte(a), 0), b...) }

func getRecord(tx *bolt.Tx, id string) (*Record, error) {
	v := tx.Bucket(bucketLicences).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	var r Record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, id, err)
	}
	if err := readEvents(tx, &r); err != nil {
		return nil, err
	}
	if err := readBlob(tx, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// readEvents fills the ledger bookkeeping of r.
func readEvents(tx *bolt.Tx, r *Record) error {
	ev := tx.Bucket(bucketEvents).Get([]byte(r.ID))
	if len(ev) != 16 {
		return fmt.Errorf("%w: %s: ledger bookkeeping of %d bytes, want 16", ErrCorrupt, r.ID, len(ev))
	}
	r.LedgerIndex, r.LastEvent = binary.BigEndian.Uint64(ev), binary.BigEndian.Uint64(ev[8:])
	return nil
}

func putEvents(tx *bolt.Tx, id string, ledgerIndex, lastEvent uint64) error {
	v := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(make([]byte, 0, 16), ledgerIndex), lastEvent)
	return appending(tx, bucketEvents).Put([]byte(id), v)
}

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
// than leaving every page a third empty (pages written per issuance
// 2.45 → 2.2). bbolt applies a bucket's fill when the transaction
// commits, so every write to a bucket uses the same one.
func appendOnly(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(name)
	b.FillPercent = 1
	return b
}

// putRecord rewrites a stored record after a change (its index entries
// do not change).
func putRecord(tx *bolt.Tx, r *Record) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := appendOnly(tx, bucketLicences).Put([]byte(r.ID), v); err != nil {
		return err
	}
	return putEvents(tx, r.ID, r.LedgerIndex, r.LastEvent)
}

// putNew writes a new record r, already encoded as v, with its
// bookkeeping and index entries (not its credential: see appendBlob).
func putNew(tx *bolt.Tx, r *Record, v []byte) error {
	if err := appendOnly(tx, bucketLicences).Put([]byte(r.ID), v); err != nil {
		return err
	}
	if err := putEvents(tx, r.ID, r.LedgerIndex, r.LastEvent); err != nil {
		return err
	}
	if r.CopyOf != "" {
		return nil // a device copy is found through its licence
	}
	if err := appendOnly(tx, bucketHolderLog).Put(binary.BigEndian.AppendUint64(nil, r.LedgerIndex), indexKey(r.HolderCode, r.ID)); err != nil {
		return err
	}
	if err := appending(tx, bucketAgency).Put(indexKey(r.Agency, r.Class+"\x00"+r.ID), nil); err != nil {
		return err
	}
	return appending(tx, bucketClass).Put(indexKey(r.Class, r.ID), nil)
}

// advance moves the watermark to w unless it is already past it.
func advance(tx *bolt.Tx, w uint64) error {
	if watermark(tx) >= w {
		return nil
	}
	return tx.Bucket(bucketState).Put(keyWatermark, binary.BigEndian.AppendUint64(nil, w))
}

// Insert prepares a new licence record for the transaction that appends
// its issuance to the ledger: the returned function (a ledger.ApplyFunc)
// writes the record at the ledger index it is given, with its indexes, its
// import key, the claim ticket (if not nil; its number is set in
// claim.Ticket), and for a device copy
// its place in the parent's list of copies. The record is encoded here,
// so the ledger's writer does little more than copy bytes. The function
// fails with ErrExists, writing nothing, if the identifier or the import
// key is taken. It sets r.LedgerIndex and r.LastEvent.
func (s *Store) Insert(r *Record, claim *Claim) (func(tx *bolt.Tx, first uint64) error, error) {
	v, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	blob, err := appendBlob(make([]byte, 0, 16+len(r.Credential)+len(r.QR)), r)
	if err != nil {
		return nil, err
	}
	var cv []byte
	if claim != nil {
		if cv, err = json.Marshal(claim); err != nil {
			return nil, err
		}
	}
	return func(tx *bolt.Tx, first uint64) error {
		if tx.Bucket(bucketLicences).Get([]byte(r.ID)) != nil {
			return fmt.Errorf("%w: %s", ErrExists, r.ID)
		}
		if r.ImportKey != "" {
			ib := tx.Bucket(bucketImport)
			k := indexKey(r.Agency, r.ImportKey)
			if id := ib.Get(k); id != nil {
				return fmt.Errorf("%w: import key %q is licence %s", ErrExists, r.ImportKey, id)
			}
			if err := ib.Put(k, []byte(r.ID)); err != nil {
				return err
			}
		}
		if cv != nil {
			n, err := putClaim(tx, cv)
			if err != nil {
				return err
			}
			claim.Ticket = n
		}
		if r.CopyOf != "" {
			parent, err := getRecord(tx, r.CopyOf)
			if err != nil {
				return err
			}
			if !slices.Contains(parent.Copies, r.ID) {
				parent.Copies = append(parent.Copies, r.ID)
				if err := putRecord(tx, parent); err != nil {
					return err
				}
			}
		}
		r.LedgerIndex, r.LastEvent = first, first+1
		if err := appendOnly(tx, bucketCreds).Put(binary.BigEndian.AppendUint64(nil, first), blob); err != nil {
			return err
		}
		if err := putNew(tx, r, v); err != nil {
			return err
		}
		if r.CopyOf == "" {
			tx.OnCommit(func() { s.holderLog.Add(1) })
		}
		return advance(tx, first+1)
	}, nil
}

// Change is a status change to apply to a record.
type Change struct {
	ID           string
	Status       Status
	Reason       string
	At           time.Time
	LedgerIndex  uint64
	SupersededBy string
	Unbind       bool // a copy revoked on its own: its device was lost
}

// Apply records a status change that the ledger already holds at
// c.LedgerIndex (replay after a restart). Applying the same change twice
// is harmless.
func (s *Store) Apply(c Change) error {
	return s.db.Batch(func(tx *bolt.Tx) error { return ApplyTx(tx, c) })
}

// ApplyTx is Apply inside a transaction: the server calls it in the one
// that appends the change to the ledger (with c.LedgerIndex set from the
// index that transaction is given).
func ApplyTx(tx *bolt.Tx, c Change) error {
	r, err := getRecord(tx, c.ID)
	if err != nil {
		return err
	}
	if r.LastEvent > c.LedgerIndex {
		return nil // this or a later event is already applied
	}
	r.Status, r.Reason, r.UpdatedAt = c.Status, c.Reason, c.At
	r.LastEvent = c.LedgerIndex + 1
	if c.SupersededBy != "" {
		r.SupersededBy = c.SupersededBy
	}
	if c.Unbind {
		r.Unbound = true
	}
	if err := putRecord(tx, r); err != nil {
		return err
	}
	// A licence's state is its copies' state, except for a copy
	// revoked on its own.
	for _, id := range r.Copies {
		cp, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		if cp.Unbound || cp.LastEvent > c.LedgerIndex {
			continue
		}
		cp.Status, cp.Reason, cp.UpdatedAt, cp.LastEvent = c.Status, c.Reason, c.At, c.LedgerIndex+1
		if err := putRecord(tx, cp); err != nil {
			return err
		}
	}
	return advance(tx, c.LedgerIndex+1)
}

func watermark(tx *bolt.Tx) uint64 {
	v := tx.Bucket(bucketState).Get(keyWatermark)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// SetWatermark records that every ledger entry below w is applied
// (after a replay). It never moves the mark back.
func (s *Store) SetWatermark(w uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error { return advance(tx, w) })
}

// PutStatusSnapshot keeps a snapshot of the status lists as they are
// when the ledger holds size entries (at a clean shutdown).
func (s *Store) PutStatusSnapshot(size uint64, data []byte) error {
	v := append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(data)), size), data...)
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSnapshot).Put(keyStatus, v) })
}

// StatusSnapshot returns the last snapshot of the status lists and the
// ledger size it was taken at; nil data if there is none.
func (s *Store) StatusSnapshot() (size uint64, data []byte, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSnapshot).Get(keyStatus)
		switch {
		case v == nil:
			return nil
		case len(v) < 8:
			return fmt.Errorf("%w: status snapshot of %d bytes", ErrCorrupt, len(v))
		}
		size, data = binary.BigEndian.Uint64(v), bytes.Clone(v[8:])
		return nil
	})
	return size, data, err
}

// Watermark is the ledger index replay starts from after a restart:
// one past the last entry whose state change the store holds.
func (s *Store) Watermark() (uint64, error) {
	var w uint64
	err := s.db.View(func(tx *bolt.Tx) error { w = watermark(tx); return nil })
	return w, err
}

// Get returns the record with that identifier.
func (s *Store) Get(id string) (*Record, error) {
	var r *Record
	err := s.db.View(func(tx *bolt.Tx) (err error) { r, err = getRecord(tx, id); return err })
	return r, err
}

// ByImportKey returns the licence an agency issued under an idempotency key.
func (s *Store) ByImportKey(agency, key string) (*Record, error) {
	var r *Record
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		id := tx.Bucket(bucketImport).Get(indexKey(agency, key))
		if id == nil {
			return fmt.Errorf("%w: import key %q", ErrNotFound, key)
		}
		r, err = getRecord(tx, string(id))
		return err
	})
	return r, err
}

// Query selects records. Empty fields match everything; HolderCode or
// Class select an index, Agency and Status filter.
type Query struct {
	HolderCode string
	Class      string
	Agency     string
	Status     Status
	After      string // resume after this identifier (paging)
	Limit      int    // zero means 100
}

// Search returns records matching q in identifier order within the index
// used, and the identifier to pass as After for the next page ("" when
// there is none). Device copies are not listed (their licence is).
// Agency, with or without Class, and HolderCode are answered from an
// index in time proportional to the page; Status filters within it.
func (s *Store) Search(q Query) ([]*Record, string, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 100
	}
	var out []*Record
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
// one run at a time (a 32,768-entry merge into 500,000 licences held it
// for 330 ms in one transaction; a run of 2,048 holds it a few to 20 ms).
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
	// since the read above lies after last. Deleting is done in runs too
	// (32,768 deletions in one transaction took 70–250 ms).
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

// ForEach calls fn for every record (for rebuilding status lists at
// start), without its Credential and QR.
func (s *Store) ForEach(fn func(*Record) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLicences).ForEach(func(k, v []byte) error {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrCorrupt, k, err)
			}
			if err := readEvents(tx, &r); err != nil {
				return err
			}
			return fn(&r)
		})
	})
}

// ForEachSigned calls fn for every licence and device copy with its
// signed credential and QR core (Holding, or QR for a record stored
// verbatim) read back, in one read transaction: what a key signed, for
// its genuine set when it is marked compromised.
func (s *Store) ForEachSigned(fn func(*Record) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLicences).ForEach(func(k, v []byte) error {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrCorrupt, k, err)
			}
			if err := readEvents(tx, &r); err != nil {
				return err
			}
			if err := readBlob(tx, &r); err != nil {
				return err
			}
			return fn(&r)
		})
	})
}

var bucketTokens = []byte("revoked_tokens") // jti → expiry (Unix seconds)

// RevokeToken records that the operator token with that ID is revoked
// until its expiry.
func (s *Store) RevokeToken(jti string, exp time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketTokens)
		if err != nil {
			return err
		}
		return b.Put([]byte(jti), binary.BigEndian.AppendUint64(nil, uint64(exp.Unix())))
	})
}

// TokenRevoked reports whether the token with that ID was revoked.
func (s *Store) TokenRevoked(jti string) (bool, error) {
	var revoked bool
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketTokens); b != nil {
			revoked = b.Get([]byte(jti)) != nil
		}
		return nil
	})
	return revoked, err
}

// bucketClaims holds claim tickets under their numbers, which are handed
// out in increasing order: a ticket made with an issuance is appended at
// the B-tree's right edge instead of rewriting a random page (keyed by a
// hash of the code it cost ≈ 1.1 extra pages per issuance), and tickets
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
