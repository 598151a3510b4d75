package pki

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"elicense/internal/gm"
)

func TestRotateAndCompromise(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	pw := []byte("pw")
	enc := &gm.KeyEncryption{Iterations: 1000}
	if _, err := Init(InitOptions{Dir: dir, Passphrase: pw, Agencies: DefaultAgencies(), KeyEncryption: enc}); err != nil {
		t.Fatal(err)
	}
	before, err := Load(dir, pw)
	if err != nil {
		t.Fatal(err)
	}
	code := before.Agencies[0].Code
	oldKey, _ := os.ReadFile(filepath.Join(dir, agencyKeyFile(code)))

	newKID, oldKID, err := Rotate(RotateOptions{Dir: dir, Passphrase: pw, Agency: code, KeyEncryption: enc})
	if err != nil {
		t.Fatal(err)
	}
	after, err := Load(dir, pw)
	if err != nil {
		t.Fatalf("load after rotation: %v", err)
	}
	a, _ := after.Agency(code)
	if a.KeyID != newKID || oldKID != before.Agencies[0].KeyID || len(a.Previous) != 1 ||
		a.Previous[0].KeyID != oldKID || a.Previous[0].State != KeyRetired {
		t.Fatalf("after rotation: key %s, previous %+v", a.KeyID, a.Previous)
	}
	if !a.Policy.Allows(a.Classes[0]) || len(a.Classes) != len(before.Agencies[0].Classes) {
		t.Fatal("new key lost the agency's classes")
	}
	if k, _ := os.ReadFile(filepath.Join(dir, agencyKeyFile(code))); string(k) == string(oldKey) {
		t.Fatal("the old private key is still on disk")
	}
	// The other agencies are untouched.
	if after.Agencies[1].KeyID != before.Agencies[1].KeyID {
		t.Fatal("another agency's key changed")
	}

	since := time.Now().Add(-time.Hour)
	if err := Compromise(dir, code, oldKID, since); err != nil {
		t.Fatal(err)
	}
	again, _ := Load(dir, pw)
	a, _ = again.Agency(code)
	if a.Previous[0].State != KeyCompromised || !a.Previous[0].Since.Equal(since) {
		t.Fatalf("after compromise: %+v", a.Previous[0])
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"current key", Compromise(dir, code, newKID, since)},
		{"unknown key", Compromise(dir, code, "0000000000000000", since)},
		{"unknown agency", Compromise(dir, "X", oldKID, since)},
	} {
		if !errors.Is(tc.err, ErrRotate) {
			t.Errorf("%s: %v", tc.name, tc.err)
		}
	}
	if _, _, err := Rotate(RotateOptions{Dir: dir, Passphrase: pw, Agency: code, Compromised: true, Since: time.Now().Add(time.Hour)}); !errors.Is(err, ErrRotate) {
		t.Fatalf("compromise in the future: %v", err)
	}
	if _, _, err := Rotate(RotateOptions{Dir: dir, Passphrase: []byte("wrong"), Agency: code}); !errors.Is(err, gm.ErrPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
}
