// Package boltstore keeps an elicense ledger (internal/ledger) in one
// bbolt file. It is one backend of the ledger's Store interface: its
// transaction handle is the *bolt.Tx, so an application can keep its own
// buckets in the same file and commit them with the ledger entries they
// belong to (the issuer's state does: issuer/state/boltstate).
//
// What bbolt needs and why (fsync, freelist, fill, memory map, lock
// timeout, damaged files) is documented on Store and Options.
package boltstore
