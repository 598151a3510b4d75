package pki

import (
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"elicense/internal/gm"
)

// RotateOptions say which agency key to replace and why.
type RotateOptions struct {
	Dir        string
	Passphrase []byte
	Agency     string // agency code
	// Compromised marks the outgoing key compromised since Since (a
	// key known to be stolen); otherwise it is retired at Now.
	Compromised bool
	Since       time.Time
	// Genuine is the outgoing key's genuine set when it is compromised
	// (WriteGenuineSet), or nil.
	Genuine *GenuineRef
	Now     func() time.Time
	// KeyEncryption tunes how the new key is encrypted (nil: defaults).
	KeyEncryption *gm.KeyEncryption
}

// ErrRotate means a rotation or compromise request cannot be done as asked.
var ErrRotate = errors.New("pki: cannot change the agency key")

// Rotate gives an agency a new signing key, certified by the root with
// the same policy, and keeps the old certificate as a previous key
// (retired, or compromised since Since). The old private key is
// destroyed. The server must be restarted to sign with the new key; the
// trust bundle then lists both. It returns the new key's ID and the old
// one's.
func Rotate(o RotateOptions) (newKID, oldKID string, err error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	t0 := now().UTC().Truncate(time.Second)
	l := loader{dir: o.Dir, at: t0}
	m, err := l.manifest()
	if err != nil {
		return "", "", err
	}
	i := agencyIndex(m, o.Agency)
	if i < 0 {
		return "", "", fmt.Errorf("%w: no agency %s", ErrRotate, o.Agency)
	}
	e := &m.Agencies[i]
	rootSigner, err := LoadRootSigner(o.Dir, o.Passphrase)
	if err != nil {
		return "", "", err
	}
	p, err := LoadAt(o.Dir, o.Passphrase, t0)
	if err != nil {
		return "", "", err
	}
	old, _ := p.Agency(o.Agency)
	state, since := KeyRetired, t0
	if o.Compromised {
		state, since = KeyCompromised, o.Since
		if since.IsZero() || since.After(t0) {
			return "", "", fmt.Errorf("%w: a compromise needs a time at or before now", ErrRotate)
		}
	}
	ext, err := old.Policy.Extension()
	if err != nil {
		return "", "", err
	}
	key, err := gm.GenerateKey()
	if err != nil {
		return "", "", err
	}
	notAfter := t0.Add(DefaultValidity)
	if notAfter.After(p.Root.NotAfter) {
		notAfter = p.Root.NotAfter
	}
	serial, err := randomSerial()
	if err != nil {
		return "", "", err
	}
	tmpl := &gm.Certificate{
		SerialNumber: serial, Subject: pkix.Name(old.Cert.Subject),
		NotBefore: t0.Add(-backdate), NotAfter: notAfter,
		KeyUsage:              gm.KeyUsageDigitalSignature | gm.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{ext},
	}
	der, err := gm.CreateCertificate(tmpl, p.Root, key.PublicKey(), rootSigner.Signer)
	if err != nil {
		return "", "", err
	}
	enc, err := gm.MarshalEncryptedPrivateKey(key, o.Passphrase, o.KeyEncryption)
	if err != nil {
		return "", "", err
	}
	newKID = gm.KeyIDString(der)
	e.Previous = append(e.Previous, PreviousKey{
		Cert: previousCertFile(e.Code, old.KeyID), KeyID: old.KeyID, State: state, Since: since.UTC(),
		NotBefore: old.Cert.NotBefore, NotAfter: old.Cert.NotAfter,
	})
	if o.Compromised {
		e.Previous[len(e.Previous)-1].Genuine = o.Genuine
	}
	e.KeyID, e.NotBefore, e.NotAfter, e.Subject = newKID, tmpl.NotBefore, notAfter, old.Cert.Subject.String()
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", "", err
	}
	// Everything new is written beside its final name first, then renamed
	// into place: old certificate copy, new key and certificate, manifest.
	path := func(n string) string { return filepath.Join(o.Dir, filepath.FromSlash(n)) }
	steps := []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{previousCertFile(e.Code, old.KeyID), gm.EncodeCertificatePEM(old.CertDER), 0o644},
		{agencyKeyFile(e.Code), enc, 0o600},
		{agencyCertFile(e.Code), gm.EncodeCertificatePEM(der), 0o644},
		{ManifestFile, append(js, '\n'), 0o644},
	}
	for _, s := range steps {
		os.Remove(path(s.name) + ".new")
		if err := writeFile(path(s.name)+".new", s.data, s.perm); err != nil {
			return "", "", err
		}
	}
	for _, s := range steps {
		if err := os.Rename(path(s.name)+".new", path(s.name)); err != nil {
			return "", "", fmt.Errorf("pki: rotation interrupted at %s (the .new files hold the rest): %w", s.name, err)
		}
	}
	if err := syncDir(filepath.Join(o.Dir, AgenciesDir)); err != nil {
		return "", "", err
	}
	return newKID, old.KeyID, syncDir(o.Dir)
}

// Compromise marks a previous key of an agency compromised since a time
// (found out after it was rotated out).
func Compromise(dir, agency, kid string, since time.Time) error {
	return CompromiseWith(dir, agency, kid, since, nil)
}

// CompromiseWith is Compromise, recording the key's genuine set
// (WriteGenuineSet) for the trust bundle.
func CompromiseWith(dir, agency, kid string, since time.Time, genuine *GenuineRef) error {
	l := loader{dir: dir, at: time.Now()}
	m, err := l.manifest()
	if err != nil {
		return err
	}
	i := agencyIndex(m, agency)
	if i < 0 {
		return fmt.Errorf("%w: no agency %s", ErrRotate, agency)
	}
	e := &m.Agencies[i]
	for j := range e.Previous {
		if e.Previous[j].KeyID == kid {
			e.Previous[j].State, e.Previous[j].Since, e.Previous[j].Genuine = KeyCompromised, since.UTC(), genuine
			js, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				return err
			}
			tmp := filepath.Join(dir, ManifestFile+".new")
			os.Remove(tmp)
			if err := writeFile(tmp, append(js, '\n'), 0o644); err != nil {
				return err
			}
			return os.Rename(tmp, filepath.Join(dir, ManifestFile))
		}
	}
	if e.KeyID == kid {
		return fmt.Errorf("%w: %s is the agency's current key; rotate it with Compromised set", ErrRotate, kid)
	}
	return fmt.Errorf("%w: agency %s has no previous key %s", ErrRotate, agency, kid)
}

// WriteGenuineSet keeps doc, the genuine set of agency key kid (built by
// the issuer from its records when the key is marked compromised), in the
// PKI directory and returns its reference for Rotate or CompromiseWith.
func WriteGenuineSet(dir, agency, kid string, doc []byte, count uint64) (*GenuineRef, error) {
	name := genuineFile(agency, kid)
	p := filepath.Join(dir, filepath.FromSlash(name))
	os.Remove(p + ".new")
	if err := writeFile(p+".new", doc, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(p+".new", p); err != nil {
		return nil, err
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return nil, err
	}
	sum := gm.SM3(doc)
	return &GenuineRef{File: name, Count: count, SM3: hex.EncodeToString(sum[:])}, nil
}

func agencyIndex(m *Manifest, code string) int {
	for i, a := range m.Agencies {
		if a.Code == code {
			return i
		}
	}
	return -1
}
