package pki

import (
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"elicense/certs/agencycert"
	"elicense/certs/receipt"
	"elicense/internal/gm"
)

func TestReceiptKeyOnInit(t *testing.T) {
	dir, _ := newPKI(t)
	p, err := Load(dir, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if p.Receipt == nil {
		t.Fatal("Init made no receipt key")
	}
	if err := agencycert.RequireRole(p.Receipt.Cert, agencycert.RoleReceipt); err != nil {
		t.Fatal(err)
	}
	if err := gm.VerifyChain(p.Receipt.Cert, []*gm.Certificate{p.Root}, nil, p.Receipt.Cert.NotBefore.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, p)
	fi, err := os.Stat(filepath.Join(dir, ReceiptKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("receipt key file: %v, %v", fi, err)
	}
	if err := AddReceiptKey(dir, testPass, fastKeys); !errors.Is(err, ErrExists) {
		t.Fatalf("AddReceiptKey on a PKI with one: %v, want ErrExists", err)
	}
}

// roundTrip seals to the loaded key's certificate and opens with its key.
func roundTrip(t *testing.T, p *PKI) {
	t.Helper()
	pub := p.Receipt.Cert.PublicKey.(*ecdsa.PublicKey)
	const id = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
	ct, err := receipt.Seal(pub, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := receipt.Open(p.Receipt.Key, ct)
	if err != nil || l.ID != id {
		t.Fatalf("%+v %v", l, err)
	}
}

// TestAddReceiptKey: a PKI made before receipt keys (no receipt entry, no
// files) loads without one, and gets one from AddReceiptKey.
func TestAddReceiptKey(t *testing.T) {
	dir, _ := newPKI(t)
	// Make it an old PKI.
	var m map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "receipt")
	b, _ = json.MarshalIndent(m, "", "  ")
	os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644)
	os.Remove(filepath.Join(dir, ReceiptCertFile))
	os.Remove(filepath.Join(dir, ReceiptKeyFile))

	p, err := Load(dir, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if p.Receipt != nil {
		t.Fatal("an old PKI has a receipt key")
	}
	if err := AddReceiptKey(dir, []byte("wrong"), fastKeys); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if err := AddReceiptKey(dir, testPass, fastKeys); err != nil {
		t.Fatal(err)
	}
	p, err = Load(dir, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if p.Receipt == nil || p.Receipt.KeyID != p.Manifest.Receipt.KeyID {
		t.Fatal("no receipt key after AddReceiptKey")
	}
	if p.Receipt.Cert.NotAfter.After(p.Root.NotAfter) {
		t.Fatal("receipt certificate outlives the root")
	}
	roundTrip(t, p)
	// A receipt certificate replaced by the ledger's is refused.
	lc, _ := os.ReadFile(filepath.Join(dir, LedgerCertFile))
	os.WriteFile(filepath.Join(dir, ReceiptCertFile), lc, 0o644)
	if _, err := Load(dir, testPass); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ledger certificate as receipt: %v, want ErrCorrupt", err)
	}
}
