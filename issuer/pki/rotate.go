package pki

import (
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
// destroyed. It is PrepareRotation and Commit on the PKI loaded from
// o.Dir, for a caller that holds no loaded PKI; a running issuer uses
// those two itself (issuer/service RotateKey), so that it signs with the
// new key at once. It returns the new key's ID and the old one's.
func Rotate(o RotateOptions) (newKID, oldKID string, err error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	p, err := LoadAt(o.Dir, o.Passphrase, now())
	if err != nil {
		return "", "", err
	}
	r, err := PrepareRotation(p, o)
	if err != nil {
		return "", "", err
	}
	if _, err := r.Commit(p, o.Genuine); err != nil {
		return "", "", err
	}
	return r.NewKID, r.OldKID, nil
}

// Rotation is an agency's next key, certified and encrypted but not yet
// in place: PrepareRotation makes it, Commit puts it in place. The slow
// part (decrypting the root key, encrypting the new one) is in
// PrepareRotation, so that an issuer need not stop signing during it.
type Rotation struct {
	Agency         string // agency code
	NewKID, OldKID string
	o              RotateOptions
	key            *gm.PrivateKey
	cert           *gm.Certificate
	der, enc       []byte // the new certificate, and the new key encrypted
}

// PrepareRotation makes the next key of agency o.Agency of p, certified
// by the root (whose key it decrypts with o.Passphrase) with the agency's
// policy, and encrypts it; nothing is written. o.Dir is ignored (p.Dir is
// used). A compromise (o.Compromised) needs o.Since at or before now and
// not before the outgoing certificate's NotBefore.
func PrepareRotation(p *PKI, o RotateOptions) (*Rotation, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	t0 := now().UTC().Truncate(time.Second)
	old, ok := p.Agency(o.Agency)
	if !ok {
		return nil, fmt.Errorf("%w: no agency %s", ErrRotate, o.Agency)
	}
	if o.Compromised {
		if err := checkCompromiseTime(old.Cert, o.Since, now()); err != nil {
			return nil, err
		}
	}
	rootSigner, err := LoadRootSigner(p.Dir, o.Passphrase)
	if err != nil {
		return nil, err
	}
	ext, err := old.Policy.Extension()
	if err != nil {
		return nil, err
	}
	key, err := gm.GenerateKey()
	if err != nil {
		return nil, err
	}
	notAfter := t0.Add(DefaultValidity)
	if notAfter.After(p.Root.NotAfter) {
		notAfter = p.Root.NotAfter
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
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
		return nil, err
	}
	cert, err := gm.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	enc, err := gm.MarshalEncryptedPrivateKey(key, o.Passphrase, o.KeyEncryption)
	if err != nil {
		return nil, err
	}
	return &Rotation{Agency: old.Code, NewKID: gm.KeyIDString(der), OldKID: old.KeyID, o: o, key: key, cert: cert, der: der, enc: enc}, nil
}

// checkCompromiseTime: a key is compromised since a time at or before
// now, and not before its certificate's NotBefore (it signed nothing
// before that).
func checkCompromiseTime(c *gm.Certificate, since, now time.Time) error {
	switch {
	case since.IsZero():
		return fmt.Errorf("%w: a compromise needs a time", ErrRotate)
	case since.After(now):
		return fmt.Errorf("%w: a compromise needs a time at or before now", ErrRotate)
	case since.Before(c.NotBefore):
		return fmt.Errorf("%w: compromised since %s, before the key's certificate starts (%s)", ErrRotate,
			since.UTC().Format(time.RFC3339), c.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

// Commit puts the rotation in place in p's directory: the agency's
// current key becomes a previous key, retired from the next whole second
// (signing times are whole seconds, truncated, so everything it signed
// up to now stays valid) or compromised since the prepared time with its
// genuine set (WriteGenuineSet, or nil), and the new key signs. The
// agency's key on disk must still be the one PrepareRotation replaced.
// It returns p with the change, made without reading any key again; p
// itself is not changed.
func (r *Rotation) Commit(p *PKI, genuine *GenuineRef) (*PKI, error) {
	now := time.Now
	if r.o.Now != nil {
		now = r.o.Now
	}
	l := loader{dir: p.Dir, at: now()}
	m, err := l.manifest()
	if err != nil {
		return nil, err
	}
	i := agencyIndex(m, r.Agency)
	old, ok := p.Agency(r.Agency)
	if i < 0 || !ok {
		return nil, fmt.Errorf("%w: no agency %s", ErrRotate, r.Agency)
	}
	e := &m.Agencies[i]
	if e.KeyID != r.OldKID || old.KeyID != r.OldKID {
		return nil, fmt.Errorf("%w: the key of agency %s changed since the rotation was prepared", ErrRotate, r.Agency)
	}
	prev := &Previous{Cert: old.Cert, CertDER: old.CertDER, KeyID: old.KeyID, State: KeyRetired,
		Since: now().UTC().Truncate(time.Second).Add(time.Second)}
	if r.o.Compromised {
		prev.State, prev.Since, prev.Genuine = KeyCompromised, r.o.Since.UTC(), genuine
		if genuine != nil {
			prev.GenuinePath = filepath.Join(p.Dir, filepath.FromSlash(genuine.File))
		}
	}
	e.Previous = append(e.Previous, PreviousKey{
		Cert: previousCertFile(e.Code, old.KeyID), KeyID: old.KeyID, State: prev.State, Since: prev.Since,
		NotBefore: old.Cert.NotBefore, NotAfter: old.Cert.NotAfter, Genuine: prev.Genuine,
	})
	e.KeyID, e.NotBefore, e.NotAfter, e.Subject = r.NewKID, r.cert.NotBefore, r.cert.NotAfter, old.Cert.Subject.String()
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	// Everything new is written beside its final name first, then renamed
	// into place: old certificate copy, new key and certificate, manifest.
	path := func(n string) string { return filepath.Join(p.Dir, filepath.FromSlash(n)) }
	steps := []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{previousCertFile(e.Code, old.KeyID), gm.EncodeCertificatePEM(old.CertDER), 0o644},
		{agencyKeyFile(e.Code), r.enc, 0o600},
		{agencyCertFile(e.Code), gm.EncodeCertificatePEM(r.der), 0o644},
		{ManifestFile, append(js, '\n'), 0o644},
	}
	for _, s := range steps {
		os.Remove(path(s.name) + ".new")
		if err := writeFile(path(s.name)+".new", s.data, s.perm); err != nil {
			return nil, err
		}
	}
	for _, s := range steps {
		if err := os.Rename(path(s.name)+".new", path(s.name)); err != nil {
			return nil, fmt.Errorf("pki: rotation interrupted at %s (the .new files hold the rest): %w", s.name, err)
		}
	}
	if err := syncDir(filepath.Join(p.Dir, AgenciesDir)); err != nil {
		return nil, err
	}
	if err := syncDir(p.Dir); err != nil {
		return nil, err
	}
	a := *old
	a.Cert, a.CertDER, a.KeyID, a.Signer = r.cert, r.der, r.NewKID, r.key
	a.Previous = append(slices.Clone(old.Previous), prev)
	return p.with(m, &a), nil
}

// with returns a copy of p with manifest m and agency a in place of the
// agency of the same code.
func (p *PKI) with(m *Manifest, a *Agency) *PKI {
	q := *p
	q.Manifest = *m
	q.Agencies = slices.Clone(p.Agencies)
	for i, b := range q.Agencies {
		if b.Code == a.Code {
			q.Agencies[i] = a
		}
	}
	return &q
}

// Compromise marks a previous key of an agency compromised since a time
// (found out after it was rotated out).
func Compromise(dir, agency, kid string, since time.Time) error {
	return CompromiseWith(dir, agency, kid, since, nil)
}

// CompromiseWith is Compromise, recording the key's genuine set
// (WriteGenuineSet) for the trust bundle.
func CompromiseWith(dir, agency, kid string, since time.Time, genuine *GenuineRef) error {
	_, err := compromiseManifest(dir, agency, kid, since, genuine)
	return err
}

// CompromisePrevious is CompromiseWith on the directory of a loaded PKI,
// returning p with the change; p itself is not changed. A running issuer
// uses it (issuer/service CompromiseKey, which checks since against its
// clock and the key) so that the next trust bundle names the key's new
// state.
func CompromisePrevious(p *PKI, agency, kid string, since time.Time, genuine *GenuineRef) (*PKI, error) {
	a, ok := p.Agency(agency)
	if !ok {
		return nil, fmt.Errorf("%w: no agency %s", ErrRotate, agency)
	}
	j := slices.IndexFunc(a.Previous, func(pk *Previous) bool { return pk.KeyID == kid })
	if j < 0 {
		if a.KeyID == kid {
			return nil, fmt.Errorf("%w: %s is the agency's current key; rotate it with Compromised set", ErrRotate, kid)
		}
		return nil, fmt.Errorf("%w: agency %s has no previous key %s", ErrRotate, agency, kid)
	}
	m, err := compromiseManifest(p.Dir, agency, kid, since, genuine)
	if err != nil {
		return nil, err
	}
	pk := *a.Previous[j]
	pk.State, pk.Since, pk.Genuine, pk.GenuinePath = KeyCompromised, since.UTC(), genuine, ""
	if genuine != nil {
		pk.GenuinePath = filepath.Join(p.Dir, filepath.FromSlash(genuine.File))
	}
	b := *a
	b.Previous = slices.Clone(a.Previous)
	b.Previous[j] = &pk
	return p.with(m, &b), nil
}

// compromiseManifest writes the manifest with previous key kid of agency
// compromised since since, and returns it.
func compromiseManifest(dir, agency, kid string, since time.Time, genuine *GenuineRef) (*Manifest, error) {
	l := loader{dir: dir, at: time.Now()}
	m, err := l.manifest()
	if err != nil {
		return nil, err
	}
	i := agencyIndex(m, agency)
	if i < 0 {
		return nil, fmt.Errorf("%w: no agency %s", ErrRotate, agency)
	}
	e := &m.Agencies[i]
	for j := range e.Previous {
		if e.Previous[j].KeyID == kid {
			e.Previous[j].State, e.Previous[j].Since, e.Previous[j].Genuine = KeyCompromised, since.UTC(), genuine
			js, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				return nil, err
			}
			tmp := filepath.Join(dir, ManifestFile+".new")
			os.Remove(tmp)
			if err := writeFile(tmp, append(js, '\n'), 0o644); err != nil {
				return nil, err
			}
			if err := os.Rename(tmp, filepath.Join(dir, ManifestFile)); err != nil {
				return nil, err
			}
			return m, syncDir(dir)
		}
	}
	if e.KeyID == kid {
		return nil, fmt.Errorf("%w: %s is the agency's current key; rotate it with Compromised set", ErrRotate, kid)
	}
	return nil, fmt.Errorf("%w: agency %s has no previous key %s", ErrRotate, agency, kid)
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
