package pki

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"elicense/internal/gm"
)

// AddReceiptKey gives a PKI made before receipt keys existed its receipt
// key (docs/consent.md §9): an SM2 key certified by the root (whose key it
// decrypts with passphrase) with role receipt, encrypted like the others,
// valid as long as the ledger certificate. The key and certificate are
// written beside their final names, then renamed into place, the manifest
// last, so a crash leaves the PKI as it was or complete. A PKI that has
// one already is left alone (ErrExists). The directory must be writable:
// replicas that share a read-only one have it made beforehand
// (elicense pki receipt-key, docs/deployment.md).
func AddReceiptKey(dir string, passphrase []byte, enc *gm.KeyEncryption) error {
	now := time.Now()
	l := loader{dir: dir, at: now}
	m, err := l.manifest()
	if err != nil {
		return err
	}
	if m.Receipt != nil {
		return fmt.Errorf("%w: %s already has a receipt key", ErrExists, dir)
	}
	root, err := LoadRootSigner(dir, passphrase)
	if err != nil {
		return err
	}
	key, err := gm.GenerateKey()
	if err != nil {
		return err
	}
	t0 := now.UTC().Truncate(time.Second)
	notAfter := m.Ledger.NotAfter
	if !notAfter.After(t0) {
		notAfter = t0.Add(DefaultValidity)
	}
	if notAfter.After(root.Cert.NotAfter) {
		notAfter = root.Cert.NotAfter
	}
	tmpl, err := receiptTemplate(t0.Add(-backdate), notAfter)
	if err != nil {
		return err
	}
	if tmpl.SerialNumber, err = randomSerial(); err != nil {
		return err
	}
	der, err := gm.CreateCertificate(tmpl, root.Cert, key.PublicKey(), root.Signer)
	if err != nil {
		return err
	}
	c, err := gm.ParseCertificate(der)
	if err != nil {
		return err
	}
	keyPEM, err := gm.MarshalEncryptedPrivateKey(key, passphrase, enc)
	if err != nil {
		return err
	}
	m.Receipt = &CertEntry{Subject: c.Subject.String(), Cert: ReceiptCertFile, Key: ReceiptKeyFile,
		KeyID: gm.KeyIDString(der), NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC()}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	steps := []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{ReceiptKeyFile, keyPEM, 0o600},
		{ReceiptCertFile, gm.EncodeCertificatePEM(der), 0o644},
		{ManifestFile, append(js, '\n'), 0o644},
	}
	path := func(n string) string { return filepath.Join(dir, n) }
	for _, s := range steps {
		os.Remove(path(s.name) + ".new")
		if err := writeFile(path(s.name)+".new", s.data, s.perm); err != nil {
			return err
		}
	}
	for _, s := range steps {
		if err := os.Rename(path(s.name)+".new", path(s.name)); err != nil {
			return fmt.Errorf("pki: adding the receipt key interrupted at %s: %w", s.name, err)
		}
	}
	return syncDir(dir)
}
