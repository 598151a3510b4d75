package boltstate

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"elicense/internal/ledger"
	"elicense/internal/ledger/boltstore"
	"elicense/issuer/state"
)

// TestReadOnly: a read-only open reads the state and changes nothing; a
// file without a state, or none, is refused.
func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := insert(t, s, record(1, "H", "c"), 0, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before, _ := os.ReadFile(path)

	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := ro.Get("id-001"); err != nil || r.HolderCode != "H" {
		t.Fatalf("read-only Get: %+v %v", r, err)
	}
	if err := ro.PutAgencySeal("A", []byte{1}); err == nil {
		t.Error("a read-only store wrote")
	}
	ro.Close()
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("a read-only open changed the file")
	}

	if _, err := Open(filepath.Join(dir, "missing.db"), Options{ReadOnly: true}); err == nil {
		t.Error("read-only open of a missing file")
	}
	// A ledger file with no state in it.
	bare := filepath.Join(dir, "bare.db")
	f, err := boltstore.Open(bare, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Open(bare, Options{ReadOnly: true}); !errors.Is(err, state.ErrFormat) {
		t.Errorf("read-only open of a file without a state: %v", err)
	}
	// A file a server holds.
	w, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := Open(path, Options{ReadOnly: true, LockTimeout: 50 * time.Millisecond}); !errors.Is(err, ledger.ErrLocked) {
		t.Errorf("read-only open of a file in use: %v", err)
	}
}
