package ledger_test

import (
	"encoding/binary"
	"errors"

	bolt "go.etcd.io/bbolt"

	"elicense/internal/ledger"
	"elicense/internal/ledger/boltstore"
)

// testLog is a Log over a bbolt file it owns: Close closes both.
type testLog struct {
	*ledger.Log[*bolt.Tx]
	file *boltstore.Store
}

func (l *testLog) Close() error {
	err := l.Log.Close()
	if l.file != nil {
		err = errors.Join(err, l.file.Close())
	}
	return err
}

// openAt opens the log kept in the bbolt file at path.
func openAt(path string, bo *boltstore.Options, o ledger.Options) (*testLog, error) {
	s, err := boltstore.Open(path, bo)
	if err != nil {
		return nil, err
	}
	l, err := ledger.Open(s, o)
	if err != nil {
		s.Close()
		return nil, err
	}
	return &testLog{l, s}, nil
}

// The bbolt layout (boltstore.Store), for tests that damage a file.
var (
	bucketMeta        = []byte("meta")
	bucketEntries     = []byte("entries")
	bucketHashes      = []byte("hashes")
	bucketCheckpoints = []byte("checkpoints")
	keySize           = []byte("size")
)

func be(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
