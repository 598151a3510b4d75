package pgstate_test

import (
	"strings"
	"testing"

	"elicense/issuer/state/pgstate"
)

// TestStateReadOnly: `elicense ledger verify --store` reads the ledger
// through Ledger().State. On a read-only connection (an auditor's
// SELECT-only role, default_transaction_read_only) the durable read
// cannot update durable_mark; State falls back to the plain read, which
// is all a reader that appends and serves nothing needs.
func TestStateReadOnly(t *testing.T) {
	dsn := testDSN(t)
	s := openTest(t, dsn, "t_pg_readonly")
	if _, err := s.Ledger().State(ctx); err != nil {
		t.Fatalf("State read-write: %v", err)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	ro, err := pgstate.Open(ctx, dsn+sep+"options=-c%20default_transaction_read_only%3Don", pgstate.Options{Schema: "t_pg_readonly"})
	if err != nil {
		t.Fatalf("opening read-only: %v", err)
	}
	defer ro.Close()
	if _, err := ro.Ledger().State(ctx); err != nil {
		t.Errorf("State on a read-only connection (what ledger verify --store reads): %v", err)
	}
}
