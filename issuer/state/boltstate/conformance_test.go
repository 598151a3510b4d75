package boltstate_test

import (
	"path/filepath"
	"testing"

	"elicense/issuer/state"
	"elicense/issuer/state/boltstate"
	"elicense/issuer/state/statetest"
)

// TestConformance runs the backend conformance suite on the bbolt
// backend.
func TestConformance(t *testing.T) {
	statetest.Run(t, func(t testing.TB, dir string) state.Backend {
		s, err := boltstate.Open(filepath.Join(dir, "ledger.db"), boltstate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestExport checks that Export reads every piece of the state.
func TestExport(t *testing.T) {
	statetest.RunExport(t, func(t testing.TB, dir string) state.Backend {
		s, err := boltstate.Open(filepath.Join(dir, "ledger.db"), boltstate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// BenchmarkGrantFetch: the credential fetch's read and Tx
// (statetest.BenchGrantFetch) on a data file that syncs.
func BenchmarkGrantFetch(b *testing.B) {
	statetest.BenchGrantFetch(b, func(t testing.TB, dir string) state.Backend {
		s, err := boltstate.Open(filepath.Join(dir, "ledger.db"), boltstate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
