package pki

import (
	"crypto/ecdsa"
	"errors"
	"os"
	"path/filepath"
	"reflect"
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

// TestCommitMatchesLoad: the PKI Commit and CompromisePrevious return
// (which a running issuer signs with) is what Load then reads from the
// directory, and the PKI they were given is left as it was.
func TestCommitMatchesLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	pw := []byte("pw")
	enc := &gm.KeyEncryption{Iterations: 1000}
	if _, err := Init(InitOptions{Dir: dir, Passphrase: pw, Agencies: DefaultAgencies(), KeyEncryption: enc}); err != nil {
		t.Fatal(err)
	}
	p, err := Load(dir, pw)
	if err != nil {
		t.Fatal(err)
	}
	code := p.Agencies[2].Code
	oldKID := p.Agencies[2].KeyID
	now := time.Now()
	r, err := PrepareRotation(p, RotateOptions{Passphrase: pw, Agency: code, KeyEncryption: enc, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := Load(dir, pw); again.Agencies[2].KeyID != oldKID {
		t.Fatal("PrepareRotation changed the directory")
	}
	q, err := r.Commit(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Agencies[2].KeyID != oldKID || len(p.Agencies[2].Previous) != 0 {
		t.Fatal("Commit changed the PKI it was given")
	}
	// Retired from the whole second after the rotation.
	if since := q.Agencies[2].Previous[0].Since; !since.Equal(now.UTC().Truncate(time.Second).Add(time.Second)) {
		t.Fatalf("retired since %v, rotated at %v", since, now)
	}
	if _, err := r.Commit(q, nil); !errors.Is(err, ErrRotate) {
		t.Fatalf("a second commit of one rotation: %v", err)
	}
	since := now.Add(-time.Minute).UTC().Truncate(time.Second)
	ref, err := WriteGenuineSet(dir, code, oldKID, []byte("doc"), 0)
	if err != nil {
		t.Fatal(err)
	}
	q, err = CompromisePrevious(q, code, oldKID, since, ref)
	if err != nil {
		t.Fatal(err)
	}
	disk, err := Load(dir, pw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(summary(q), summary(disk)) {
		t.Fatalf("in memory:\n%v\non disk:\n%v", summary(q), summary(disk))
	}
	a, _ := q.Agency(code)
	b, _ := disk.Agency(code)
	if !a.Signer.Public().(*ecdsa.PublicKey).Equal(b.Signer.Public()) || !reflect.DeepEqual(q.Manifest, disk.Manifest) {
		t.Fatal("the new key or the manifest differs from the directory's")
	}
	for _, tc := range []struct {
		name string
		kid  string
	}{{"current key", a.KeyID}, {"unknown key", "0000000000000000"}} {
		if _, err := CompromisePrevious(q, code, tc.kid, since, nil); !errors.Is(err, ErrRotate) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// summary is what a PKI says of its agency keys.
func summary(p *PKI) []string {
	var out []string
	for _, a := range p.Agencies {
		out = append(out, a.Code+" "+a.KeyID)
		for _, pk := range a.Previous {
			g := ""
			if pk.Genuine != nil {
				g = pk.Genuine.SM3 + " " + pk.GenuinePath
			}
			out = append(out, "  "+pk.KeyID+" "+pk.State+" "+pk.Since.UTC().Format(time.RFC3339Nano)+" "+g+" "+pk.Cert.Subject.String())
		}
	}
	return out
}
