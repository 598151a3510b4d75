package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
)

// Options tune the bbolt backend. The zero value is what production
// uses.
type Options struct {
	// LockTimeout is how long Open waits for the file lock another
	// process holds before failing with ledger.ErrLocked. Zero means 1 s: a
	// second server on the same file should fail fast, not hang.
	LockTimeout time.Duration
	// InitialMmapSize is the initial size of the memory map. Zero means
	// 256 MiB. The file does not grow to it (on Linux); it is address
	// space only. While the file fits in the map, bbolt never remaps, and
	// a remap is the one moment a writer waits for all readers (proof
	// requests) to finish.
	InitialMmapSize int
	// FillPercent is how full bbolt packs a page when it splits one. Zero
	// means 0.9. Keys here only ever grow, so pages are never revisited;
	// bbolt's default of 0.5 (meant for random inserts) leaves every page
	// half empty.
	FillPercent float64
	// ReadOnly opens the file with a shared lock for reading (fsck of a
	// file no server has open).
	ReadOnly bool
	// NoSync turns off fsync. Only for measuring CPU cost in benchmarks:
	// with it, acknowledged appends can be lost.
	NoSync bool
}

// Store is the ledger kept in one bbolt file: a ledger.Store whose
// transaction handle is the *bolt.Tx, so an application can keep its own
// buckets in the same file and commit them with the ledger's entries.
//
// Layout (all integer keys and values big-endian):
//
//	meta         "format" → "elicense-ledger 1"
//	             "origin" → the log origin
//	             "entry-format" → the entry-format mark (Options.EntryFormat)
//	             "size"   → uint64 number of entries
//	             "intent" → uint64 size ‖ 32-byte root (last signing intent)
//	entries      uint64 index → encoded tlog.Entry
//	hashes       uint64 stored index (tlog.StoredIndex) → 32-byte hash
//	checkpoints  uint64 tree size → signed checkpoint note
//
// bbolt settings, and why:
//   - fsync on (NoSync false, NoGrowSync false): an append is
//     acknowledged only when durable.
//   - The freelist is synced (NoFreelistSync false), hashmap type. An
//     append-only file frees only the few pages each commit copies, so
//     writing the freelist costs about a page per commit and no extra
//     fsync. Not syncing it (etcd's choice, for workloads that delete a
//     lot) would make every open walk the whole file on a bbolt goroutine
//     of its own: slow restarts for a large ledger, and a damaged page hit
//     there crashes the process instead of returning an error.
//   - FillPercent and InitialMmapSize as documented on Options. With
//     the map larger than bbolt's 16 MiB allocation step, the file grows
//     in 16 MiB steps (sparse on Linux), so growth syncs are rare.
//   - A 1 s lock timeout (Options.LockTimeout).
//
// Every bbolt call runs on the caller's goroutine with
// debug.SetPanicOnFault and a recover, so a damaged or truncated file
// gives ledger.ErrCorruptStore instead of a crash; the file size is checked
// against bbolt's metadata before the file is opened for writing.
type Store struct {
	db   *bolt.DB
	path string
	fill float64
}

var (
	bucketMeta        = []byte("meta")
	bucketEntries     = []byte("entries")
	bucketHashes      = []byte("hashes")
	bucketCheckpoints = []byte("checkpoints")

	keyFormat      = []byte("format")
	keyOrigin      = []byte("origin")
	keyEntryFormat = []byte("entry-format")
	keySize        = []byte("size")
	keyIntent      = []byte("intent")
)

// storeFormat identifies the file layout above.
const storeFormat = "elicense-ledger 1"

// guard turns a panic in bbolt (a damaged page) into ledger.ErrCorruptStore.
// Call as: defer guard(&err) after enabling SetPanicOnFault, so a SIGBUS
// from a truncated memory-mapped file is recoverable too.
func guard(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: bbolt failed reading the file: %v", ledger.ErrCorruptStore, r)
	}
}

// Open opens or creates the ledger file at path.
func Open(path string, o *Options) (s *Store, err error) {
	var opt Options
	if o != nil {
		opt = *o
	}
	if opt.LockTimeout <= 0 {
		opt.LockTimeout = time.Second
	}
	if opt.InitialMmapSize <= 0 {
		opt.InitialMmapSize = 256 << 20
	}
	if opt.FillPercent <= 0 || opt.FillPercent > 1 {
		opt.FillPercent = 0.9
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		// bbolt would silently start a new database in an empty file; for
		// a ledger that is a lost log, not a new one.
		return nil, fmt.Errorf("%w: %s exists but is empty (remove it to start a new log)", ledger.ErrCorruptStore, path)
	}
	bo := &bolt.Options{
		Timeout:         opt.LockTimeout,
		NoFreelistSync:  false,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: opt.InitialMmapSize,
		ReadOnly:        opt.ReadOnly,
		NoSync:          opt.NoSync,
	}
	if !opt.ReadOnly {
		// Before bbolt reads the freelist and starts writing, make sure
		// the file holds everything its metadata points into (a read-only
		// open touches only the meta pages).
		if _, err := os.Stat(path); err == nil {
			ro := *bo
			ro.ReadOnly = true
			db, err := openDB(path, &ro)
			if err != nil {
				return nil, err
			}
			err = checkSize(db, path)
			db.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	db, err := openDB(path, bo)
	if err != nil {
		return nil, err
	}
	s = &Store{db: db, path: path, fill: opt.FillPercent}
	if err := s.init(opt.ReadOnly); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// openDB is bolt.Open with a damaged file reported as ledger.ErrCorruptStore
// rather than a panic or a fault.
func openDB(path string, bo *bolt.Options) (db *bolt.DB, err error) {
	var file *os.File
	o := *bo
	o.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	func() {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if r := recover(); r != nil {
				if file != nil {
					file.Close() // releases the lock; the mapping is leaked
				}
				err = fmt.Errorf("%w: %s: bbolt failed opening the file: %v", ledger.ErrCorruptStore, path, r)
			}
		}()
		db, err = bolt.Open(path, 0o600, &o)
	}()
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, ledger.ErrCorruptStore):
		return nil, err
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("%w: %s (waited %v)", ledger.ErrLocked, path, o.Timeout)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrInvalidMapping):
		return nil, fmt.Errorf("%w: %s: %v", ledger.ErrCorruptStore, path, err)
	}
	if _, statErr := os.Stat(path); statErr == nil && !errors.Is(err, os.ErrPermission) {
		return nil, fmt.Errorf("%w: %s: %v", ledger.ErrCorruptStore, path, err)
	}
	return nil, fmt.Errorf("ledger: opening %s: %w", path, err)
}

// checkSize fails if the file is shorter than its metadata says.
func checkSize(db *bolt.DB, path string) (err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer guard(&err)
	return db.View(func(tx *bolt.Tx) error {
		if tx.Size() > fi.Size() {
			return fmt.Errorf("%w: %s is %d bytes but its metadata needs %d: the file was truncated",
				ledger.ErrCorruptStore, path, fi.Size(), tx.Size())
		}
		return nil
	})
}

// init checks the file is not truncated, creates the buckets of a new
// file and checks the format of an old one.
func (s *Store) init(readOnly bool) error {
	if err := checkSize(s.db, s.path); err != nil {
		return err
	}
	check := func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%w: %s has no %q bucket: not a ledger file", ledger.ErrCorruptStore, s.path, bucketMeta)
		}
		if f := meta.Get(keyFormat); string(f) != storeFormat {
			return fmt.Errorf("%w: %s has format %q, want %q", ledger.ErrCorruptStore, s.path, f, storeFormat)
		}
		for _, b := range [][]byte{bucketEntries, bucketHashes, bucketCheckpoints} {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("%w: %s has no %q bucket", ledger.ErrCorruptStore, s.path, b)
			}
		}
		return nil
	}
	if readOnly {
		return s.view(check)
	}
	return s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil && tx.Bucket(bucketEntries) == nil {
			// A new file.
			for _, b := range [][]byte{bucketMeta, bucketEntries, bucketHashes, bucketCheckpoints} {
				if _, err := tx.CreateBucket(b); err != nil {
					return err
				}
			}
			if err := tx.Bucket(bucketMeta).Put(keyFormat, []byte(storeFormat)); err != nil {
				return err
			}
		}
		return check(tx)
	})
}

func (s *Store) view(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer guard(&err)
	return s.db.View(fn)
}

func (s *Store) update(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer guard(&err)
	return s.db.Update(fn)
}

// Path is the file's path.
func (s *Store) Path() string { return s.path }

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func readSize(meta *bolt.Bucket) (uint64, error) {
	v := meta.Get(keySize)
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(v), nil
	}
	return 0, fmt.Errorf("%w: meta size is %d bytes, want 8", ledger.ErrCorruptStore, len(v))
}

func lastKey(b *bolt.Bucket) (uint64, bool, error) {
	k, _ := b.Cursor().Last()
	if k == nil {
		return 0, false, nil
	}
	if len(k) != 8 {
		return 0, false, fmt.Errorf("%w: key %x is not 8 bytes", ledger.ErrCorruptStore, k)
	}
	return binary.BigEndian.Uint64(k), true, nil
}

// State implements ledger.Reader. It cross-checks the size against the last keys
// of the entries and hashes buckets.
func (s *Store) State(ctx context.Context) (ledger.State, error) {
	var st ledger.State
	err := s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		size, err := readSize(meta)
		if err != nil {
			return err
		}
		st.Size = size
		st.Origin = string(meta.Get(keyOrigin))
		st.EntryFormat = string(meta.Get(keyEntryFormat))
		if v := meta.Get(keyIntent); v != nil {
			if len(v) != 8+tlog.HashSize {
				return fmt.Errorf("%w: signing intent is %d bytes, want %d", ledger.ErrCorruptStore, len(v), 8+tlog.HashSize)
			}
			in := &ledger.Intent{Size: binary.BigEndian.Uint64(v)}
			copy(in.Root[:], v[8:])
			st.Intent = in
		}
		last, ok, err := lastKey(tx.Bucket(bucketEntries))
		if err != nil {
			return fmt.Errorf("entries: %w", err)
		}
		if ok != (size > 0) || (ok && last != size-1) {
			return fmt.Errorf("%w: meta says %d entries but the last entry key is %d (present: %t)", ledger.ErrCorruptStore, size, last, ok)
		}
		last, ok, err = lastKey(tx.Bucket(bucketHashes))
		if err != nil {
			return fmt.Errorf("hashes: %w", err)
		}
		if n := tlog.StoredHashCount(size); ok != (n > 0) || (ok && last != n-1) {
			return fmt.Errorf("%w: %d entries need %d stored hashes but the last hash key is %d (present: %t)", ledger.ErrCorruptStore, size, n, last, ok)
		}
		k, v := tx.Bucket(bucketCheckpoints).Cursor().Last()
		if k != nil {
			if len(k) != 8 {
				return fmt.Errorf("%w: checkpoint key %x is not 8 bytes", ledger.ErrCorruptStore, k)
			}
			st.CheckpointSize = binary.BigEndian.Uint64(k)
			st.Checkpoint = bytes.Clone(v)
		}
		return nil
	})
	return st, err
}

// Write implements ledger.Store: one bbolt read-write transaction,
// committed with fsync; apply gets that transaction to write the
// caller's own buckets in.
func (s *Store) Write(ctx context.Context, b *ledger.Batch, apply func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n := uint64(len(b.Entries))
	if want := tlog.StoredHashCount(b.Start+n) - tlog.StoredHashCount(b.Start); uint64(len(b.Hashes)) != want {
		return fmt.Errorf("ledger: batch of %d entries from %d carries %d hashes, want %d", n, b.Start, len(b.Hashes), want)
	}
	return s.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		size, err := readSize(meta)
		if err != nil {
			return err
		}
		if size != b.Start {
			return fmt.Errorf("%w: batch starts at %d, store holds %d entries", ledger.ErrConflict, b.Start, size)
		}
		if b.Origin != "" {
			switch o := meta.Get(keyOrigin); {
			case o == nil:
				if err := meta.Put(keyOrigin, []byte(b.Origin)); err != nil {
					return err
				}
			case string(o) != b.Origin:
				return fmt.Errorf("%w: store has origin %q, batch %q", ledger.ErrOrigin, o, b.Origin)
			}
		}
		if b.EntryFormat != "" {
			switch f := meta.Get(keyEntryFormat); {
			case f == nil && size == 0:
				if err := meta.Put(keyEntryFormat, []byte(b.EntryFormat)); err != nil {
					return err
				}
			case string(f) != b.EntryFormat:
				have := string(f)
				if f == nil {
					have = "none"
				}
				return &ledger.EntryFormatError{Have: have, Want: b.EntryFormat, Size: size}
			}
		}
		keys := make([]byte, 8*(len(b.Entries)+len(b.Hashes)))
		if n > 0 {
			eb := tx.Bucket(bucketEntries)
			eb.FillPercent = s.fill
			for i, e := range b.Entries {
				k := keys[:8:8]
				keys = keys[8:]
				binary.BigEndian.PutUint64(k, b.Start+uint64(i))
				if err := eb.Put(k, e); err != nil {
					return err
				}
			}
			hb := tx.Bucket(bucketHashes)
			hb.FillPercent = s.fill
			first := tlog.StoredHashCount(b.Start)
			for i := range b.Hashes {
				k := keys[:8:8]
				keys = keys[8:]
				binary.BigEndian.PutUint64(k, first+uint64(i))
				if err := hb.Put(k, b.Hashes[i][:]); err != nil {
					return err
				}
			}
			if err := meta.Put(keySize, be64(b.Start+n)); err != nil {
				return err
			}
		}
		if b.Intent != nil {
			v := append(be64(b.Intent.Size), b.Intent.Root[:]...)
			if err := meta.Put(keyIntent, v); err != nil {
				return err
			}
		}
		if c := b.Checkpoint; c != nil {
			cb := tx.Bucket(bucketCheckpoints)
			cb.FillPercent = s.fill
			if k := be64(c.Size); cb.Get(k) == nil {
				if err := cb.Put(k, c.Note); err != nil {
					return err
				}
			}
		}
		if apply != nil {
			return apply(tx)
		}
		return nil
	})
}

// DB is the open bbolt file, for an application that keeps its own
// buckets next to the ledger's (issuer/state/boltstate) and writes them in
// Write's apply. Its buckets must not be named like the ledger's (meta,
// entries, hashes, checkpoints).
func (s *Store) DB() *bolt.DB { return s.db }

// Entries implements ledger.Reader.
func (s *Store) Entries(ctx context.Context, start, end uint64, fn func(uint64, []byte) error) error {
	return s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEntries).Cursor()
		k, v := c.Seek(be64(start))
		for i := start; i < end; i++ {
			if i&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if len(k) != 8 || binary.BigEndian.Uint64(k) != i {
				return &ledger.IndexError{Index: i, What: "entry", Err: fmt.Errorf("%w: entry missing (found key %x)", ledger.ErrCorruptStore, k)}
			}
			if err := fn(i, v); err != nil {
				return err
			}
			k, v = c.Next()
		}
		return nil
	})
}

// Hashes implements ledger.Reader. Runs of consecutive indexes are read with a
// cursor rather than one lookup each.
func (s *Store) Hashes(ctx context.Context, idx []uint64, dst []tlog.Hash) error {
	if len(dst) < len(idx) {
		return fmt.Errorf("ledger: Hashes: dst holds %d, need %d", len(dst), len(idx))
	}
	return s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketHashes).Cursor()
		var k, v []byte
		for i, x := range idx {
			if i > 0 && k != nil && x == idx[i-1]+1 {
				k, v = c.Next()
			} else {
				k, v = c.Seek(be64(x))
			}
			if len(k) != 8 || binary.BigEndian.Uint64(k) != x {
				return fmt.Errorf("%w: stored hash %d missing", ledger.ErrCorruptStore, x)
			}
			if len(v) != tlog.HashSize {
				return fmt.Errorf("%w: stored hash %d is %d bytes, want %d", ledger.ErrCorruptStore, x, len(v), tlog.HashSize)
			}
			copy(dst[i][:], v)
		}
		return nil
	})
}

// Checkpoints implements ledger.Reader.
func (s *Store) Checkpoints(ctx context.Context, from uint64, fn func(uint64, []byte) error) error {
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketCheckpoints).Cursor()
		for k, v := c.Seek(be64(from)); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if len(k) != 8 {
				return fmt.Errorf("%w: checkpoint key %x is not 8 bytes", ledger.ErrCorruptStore, k)
			}
			if err := fn(binary.BigEndian.Uint64(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ledger.ErrStop) {
		return nil
	}
	return err
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Backup writes a consistent copy of the file (the ledger and any
// application buckets kept with it) to w while the log
// stays in use (a bbolt read transaction), and returns the bytes written.
// The copy opens as a ledger and passes fsck.
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.view(func(tx *bolt.Tx) (err error) {
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// Fsck runs ledger.Fsck on the ledger file at path, which no process may
// have open for writing (it takes a shared lock).
func Fsck(ctx context.Context, path string, o ledger.FsckOptions) (*ledger.FsckReport, error) {
	s, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		return &ledger.FsckReport{}, err
	}
	defer s.Close()
	return ledger.Fsck(ctx, s, o)
}

var _ ledger.Store[*bolt.Tx] = (*Store)(nil)
