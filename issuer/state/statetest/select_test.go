package statetest

import (
	"strings"
	"testing"

	"elicense/internal/ledger"
	"elicense/issuer/state"
)

// TestSelected runs the suite on the backend ELICENSE_TEST_STORE
// selects, so a new backend can be tried on the suite alone.
func TestSelected(t *testing.T) {
	Run(t, func(t testing.TB, dir string) state.Backend { return Open(t, dir) })
}

// TestSelector: the default is bbolt (PostgreSQL is selected by a DSN); an unknown name or DSN scheme fails
// with the list of what is supported, and a DSN's password stays out of
// the message.
func TestSelector(t *testing.T) {
	t.Setenv(EnvStore, "")
	if Selected() != "bbolt" {
		t.Fatalf("default selection %q", Selected())
	}
	b, err := OpenSelected("bbolt", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var _ ledger.Store[state.Tx] = b.Ledger()
	b.Close()
	for _, sel := range []string{"sqlite", "mysql://elicense:s3cret@db.example/elicense", "://"} {
		_, err := OpenSelected(sel, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), EnvStore) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: %v", sel, err)
		}
		if sel != "://" && !strings.Contains(err.Error(), "supported: bbolt, postgres, postgresql") {
			t.Errorf("%q: the message lists no supported backend: %v", sel, err)
		}
	}
}
