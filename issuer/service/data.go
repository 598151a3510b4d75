package service

import (
	"errors"
	"fmt"

	"elicense/internal/ledger"
	"elicense/issuer/store"
)

// Data is the issuer's data file: the ledger and the state it indexes, in
// one bbolt file so that a change and its ledger event commit in one
// transaction (Ledger.AppendWith).
type Data struct {
	File   *ledger.BoltStore
	Ledger *ledger.Log
	Store  *store.Store
}

// EntryFormat is the ledger's entry-format mark: entries are
// certs/ledgerevent format 2.
const EntryFormat = "elicense-ledgerevent 2"

// ErrLedgerFormat means the data file's ledger holds entries of an
// earlier format (format 1, which published personal data); see
// docs/events.md for the migration.
var ErrLedgerFormat = errors.New("service: the ledger holds entries of an earlier format")

// OpenData opens or creates the data file at path. o is the ledger's
// configuration; its Path, Store and EntryFormat are set here. A ledger
// of earlier entries is refused (ErrLedgerFormat).
func OpenData(path string, o ledger.Options) (*Data, error) {
	f, err := ledger.OpenBolt(path, o.Bolt)
	if err != nil {
		return nil, err
	}
	st, err := store.New(f.DB())
	if err != nil {
		f.Close()
		return nil, err
	}
	o.Path, o.Store, o.EntryFormat = "", f, EntryFormat
	lg, err := ledger.Open(o)
	if errors.Is(err, ledger.ErrEntryFormat) {
		err = fmt.Errorf("%w: %s holds format-1 ledger entries, which publish personal data (operator names, seal holders' codes, device keys) and cannot be unpublished; this version writes %s. Development data: remove the data directory and start again. Production: migrate to a new log as docs/events.md, Format-1 ledgers, describes (%v)", ErrLedgerFormat, path, EntryFormat, err)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Data{File: f, Ledger: lg, Store: st}, nil
}

// Close signs the ledger's last checkpoint and closes the file.
func (d *Data) Close() error {
	return errors.Join(d.Ledger.Close(), d.Store.Close(), d.File.Close())
}
