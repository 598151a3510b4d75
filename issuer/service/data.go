package service

import (
	"errors"

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

// OpenData opens or creates the data file at path. o is the ledger's
// configuration; its Path and Store are set here.
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
	o.Path, o.Store = "", f
	lg, err := ledger.Open(o)
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
