package boltstate

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"

	bolt "go.etcd.io/bbolt"

	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/state"
)

// tx is a state.Tx over the bbolt transaction that writes a ledger batch.
// What every change of the batch touches is written once, when all the
// callers' functions have run (finish), rather than by each: the
// watermark and the count of holder-log entries.
type tx struct {
	tx *bolt.Tx
	s  *Store
	// mark is the watermark the batch's changes move to (0: none);
	// holders is how many holder-log entries they add.
	mark    uint64
	holders int64
	key     [9]byte // scratch for a key: bbolt copies keys
}

// advance records that the batch moves the watermark to w, unless a
// change of it already moved it further; finish writes it.
func (t *tx) advance(w uint64) { t.mark = max(t.mark, w) }

// finish writes what the batch's changes share, after the last of them.
func (t *tx) finish() error {
	if n := t.holders; n > 0 {
		s := t.s
		t.tx.OnCommit(func() { s.holderLog.Add(n) })
	}
	return advance(t.tx, t.mark)
}

// seqKey returns i as a key in t's scratch, valid until the next call:
// bbolt's Put copies its key.
func (t *tx) seqKey(i uint64) []byte {
	binary.BigEndian.PutUint64(t.key[:], i)
	return t.key[:8]
}

// auditKey is the key of the audit record of the event at index i
// (audit.go), in t's scratch like seqKey's.
func (t *tx) auditKey(i uint64) []byte {
	binary.BigEndian.PutUint64(t.key[:], i)
	t.key[8] = auditSuffix
	return t.key[:]
}

// Ledger implements state.Backend: the file as the ledger's store, whose
// Write runs the callers' functions with a state.Tx over its bbolt
// transaction.
func (s *Store) Ledger() ledger.Store[state.Tx] { return ledgerStore{s} }

// ledgerStore is a Store seen as the ledger's store.
type ledgerStore struct{ s *Store }

func (l ledgerStore) State(ctx context.Context) (ledger.State, error) { return l.s.file.State(ctx) }

func (l ledgerStore) Entries(ctx context.Context, start, end uint64, fn func(uint64, []byte) error) error {
	return l.s.file.Entries(ctx, start, end, fn)
}

func (l ledgerStore) Hashes(ctx context.Context, idx []uint64, dst []tlog.Hash) error {
	return l.s.file.Hashes(ctx, idx, dst)
}

func (l ledgerStore) Checkpoints(ctx context.Context, from uint64, fn func(uint64, []byte) error) error {
	return l.s.file.Checkpoints(ctx, from, fn)
}

func (l ledgerStore) Write(ctx context.Context, b *ledger.Batch, apply func(state.Tx) error) error {
	if apply == nil {
		return l.s.file.Write(ctx, b, nil)
	}
	return l.s.file.Write(ctx, b, func(btx *bolt.Tx) error { return l.s.inTx(btx, apply) })
}

// inTx runs apply with a state.Tx over btx, then writes what its changes
// share.
func (s *Store) inTx(btx *bolt.Tx, apply func(state.Tx) error) error {
	t := &tx{tx: btx, s: s}
	if err := apply(t); err != nil {
		return err
	}
	return t.finish()
}

// Backup implements state.Backend: a copy of the whole file from one
// bbolt read transaction, taken while the server works. It opens as a
// data file.
func (s *Store) Backup(w io.Writer) (int64, error) { return s.file.Backup(w) }

// WriteStats reports the pages bbolt has allocated and the page writes
// it has made since the file was opened: they show a change to the write
// path when a rate is too noisy to.
func (s *Store) WriteStats() (pages, writes int64) {
	st := s.db.Stats().TxStats
	return st.GetPageCount(), st.GetWrite()
}

// StoredCredential returns the stored form of the credential issued by
// the ledger entry at index (credential_blob.go), for tests of the
// layout.
func (s *Store) StoredCredential(index uint64) ([]byte, error) {
	var v []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket(bucketCreds).Get(binary.BigEndian.AppendUint64(nil, index)))
		return nil
	})
	if err == nil && v == nil {
		err = state.ErrNotFound
	}
	return v, err
}

var _ state.Backend = (*Store)(nil)
