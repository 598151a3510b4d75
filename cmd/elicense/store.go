package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"elicense/internal/ledger"
	"elicense/issuer/service"
	"elicense/issuer/state"
	"elicense/issuer/state/boltstate"
	"elicense/issuer/state/pgstate"
)

// storeHelp is the --store setting's description, shared by the
// commands that open the issuer's data.
const storeHelp = "where the ledger and state live: empty for DIR/ledger.db (bbolt), or a PostgreSQL `DSN` (postgres://…[?schema=NAME])"

// storeKind is what a --store value names: "bbolt" (the data directory's
// file) or "postgres".
func storeKind(store string) (string, error) {
	if store == "" || store == "bbolt" {
		return "bbolt", nil
	}
	u, err := url.Parse(store)
	if err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return "postgres", nil
	}
	if err == nil && u.Scheme == "" && strings.Contains(store, "=") {
		return "postgres", nil // a key=value connection string
	}
	return "", fmt.Errorf("--store %q names no storage this build has: empty (DIR/ledger.db) or postgres://…", redactDSN(store))
}

// redactDSN hides a DSN's password, for messages and logs.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	if strings.Contains(dsn, "password") {
		return "(a connection string with a password)"
	}
	return dsn
}

// storeName is where the data lives, for messages: the file or the
// redacted DSN.
func storeName(d dataDir, store string) string {
	if k, _ := storeKind(store); k == "bbolt" {
		return d.ledger()
	}
	return redactDSN(store)
}

// openBackend opens the storage store names (see storeKind).
func openBackend(d dataDir, store string, log *slog.Logger) (state.Backend, error) {
	kind, err := storeKind(store)
	if err != nil {
		return nil, err
	}
	if kind == "bbolt" {
		return boltstate.Open(d.ledger(), boltstate.Options{})
	}
	dsn, schema := splitSchema(store)
	return pgstate.Open(context.Background(), dsn, pgstate.Options{Schema: schema, Logger: log})
}

// splitSchema takes the schema the issuer's tables live in out of a DSN's
// query (postgres://…?schema=NAME; pgstate.DefaultSchema if none), since
// PostgreSQL would take it for a setting of its own.
func splitSchema(dsn string) (rest, schema string) {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn, ""
	}
	q := u.Query()
	schema = q.Get("schema")
	q.Del("schema")
	u.RawQuery = q.Encode()
	return u.String(), schema
}

// openData opens the issuer's ledger and state where store says (see
// storeKind): the data directory's bbolt file, or a PostgreSQL database
// that several servers share.
func openData(d dataDir, store string, o ledger.Options) (*service.Data, error) {
	b, err := openBackend(d, store, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", storeName(d, store), err)
	}
	// A migrated deployment's ledger is a later log with an origin of its
	// own (elicense migrate-ledger): the one the store records.
	st, err := b.Ledger().State(context.Background())
	if err == nil {
		o.Origin, err = epochOrigin(o.Origin, st.Origin)
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("%s: %w", storeName(d, store), err)
	}
	data, err := service.OpenData(b, o)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("%s: %w", storeName(d, store), err)
	}
	return data, nil
}
