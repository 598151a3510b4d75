package service

import (
	"errors"
	"fmt"

	"elicense/internal/ledger"
	"elicense/issuer/state"
)

// Data is the issuer's data: the ledger and the state it indexes, kept
// by one backend so that a change and its ledger events commit in one
// transaction (Ledger.AppendWith).
type Data struct {
	Backend state.Backend
	Ledger  *ledger.Log[state.Tx]
	Store   state.Store
}

// EntryFormat is the ledger's entry-format mark: entries are
// certs/ledgerevent format 2.
const EntryFormat = "elicense-ledgerevent 2"

// ErrLedgerFormat means the data file's ledger holds entries of an
// earlier format (format 1, which published personal data); see
// docs/events.md for the migration.
var ErrLedgerFormat = errors.New("service: the ledger holds entries of an earlier format")

// OpenData opens the ledger kept in b (an empty backend starts one). o
// is the ledger's configuration; its EntryFormat is set here. A ledger
// of earlier entries is refused (ErrLedgerFormat). Data.Close closes b.
func OpenData(b state.Backend, o ledger.Options) (*Data, error) {
	o.EntryFormat = EntryFormat
	lg, err := ledger.Open(b.Ledger(), o)
	if errors.Is(err, ledger.ErrEntryFormat) {
		err = fmt.Errorf("%w: the ledger holds format-1 entries, which publish personal data (operator names, seal holders' codes, device keys) and cannot be unpublished; this version writes %s. Development data: remove the data directory and start again. Production: migrate to a new log as docs/events.md, Format-1 ledgers, describes (%v)", ErrLedgerFormat, EntryFormat, err)
	}
	if err != nil {
		return nil, err
	}
	return &Data{Backend: b, Ledger: lg, Store: b}, nil
}

// Close signs the ledger's last checkpoint and closes the backend.
func (d *Data) Close() error {
	return errors.Join(d.Ledger.Close(), d.Backend.Close())
}
