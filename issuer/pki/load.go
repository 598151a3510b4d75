package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"elicense/certs/agencycert"
	"elicense/internal/gm"
)

// PKI is a loaded and checked PKI directory.
type PKI struct {
	Dir      string
	Manifest Manifest
	Root     *gm.Certificate
	RootDER  []byte
	Agencies []*Agency // in manifest order
	Ledger   *Signer
	// Receipt is the receipt key, or nil in a PKI made before there was
	// one (AddReceiptKey).
	Receipt *ReceiptKey
}

// ReceiptKey is the platform's SM2 encryption key for counter receipts
// and its certificate (role receipt).
type ReceiptKey struct {
	Cert    *gm.Certificate
	CertDER []byte
	KeyID   string
	Key     *gm.PrivateKey
}

// Agency is one agency's issuing certificate and key.
type Agency struct {
	Code    string            // 颁发机构代码, from the certificate
	Name    string            // 颁发机构, from the certificate subject
	Classes []string          // class keys it may issue (type codes the catalogue does not know are kept)
	Policy  agencycert.Policy // the certificate's policy, classes as type codes
	Cert    *gm.Certificate
	CertDER []byte
	KeyID   string        // gm.KeyIDString(CertDER)
	Signer  crypto.Signer // the agency key
	// Previous are the agency's earlier keys, oldest first.
	Previous []*Previous
}

// Previous is an agency key that no longer signs.
type Previous struct {
	Cert    *gm.Certificate
	CertDER []byte
	KeyID   string
	State   string // KeyRetired or KeyCompromised
	Since   time.Time
	// Genuine is a compromised key's genuine set, if one was built;
	// GenuinePath is its file.
	Genuine     *GenuineRef
	GenuinePath string
}

// Allows reports whether the agency may issue class (a class key, type
// code or Chinese name).
func (a *Agency) Allows(class string) bool { return a.Policy.Allows(class) }

// Signer is a certificate with its key: the ledger signer, or the root
// from LoadRootSigner.
type Signer struct {
	Cert    *gm.Certificate
	CertDER []byte
	KeyID   string
	Signer  crypto.Signer
}

// Agency returns the agency with the given code.
func (p *PKI) Agency(code string) (*Agency, bool) {
	for _, a := range p.Agencies {
		if a.Code == code {
			return a, true
		}
	}
	return nil, false
}

// AgencyForClass returns the first agency (in manifest order) that may
// issue class, given as a class key, type code or Chinese name.
func (p *PKI) AgencyForClass(class string) (*Agency, bool) {
	for _, a := range p.Agencies {
		if a.Allows(class) {
			return a, true
		}
	}
	return nil, false
}

// AgenciesForClass returns every agency that may issue class.
func (p *PKI) AgenciesForClass(class string) []*Agency {
	var out []*Agency
	for _, a := range p.Agencies {
		if a.Allows(class) {
			out = append(out, a)
		}
	}
	return out
}

// Load reads the PKI in dir, decrypting the agency and ledger keys with
// passphrase, and checks it at the current time; see LoadAt.
func Load(dir string, passphrase []byte) (*PKI, error) {
	return LoadAt(dir, passphrase, time.Now())
}

// LoadAt reads the PKI in dir and checks everything at time at: the root
// is a valid self-signed root; each agency and the ledger certificate
// chains to it (gm.VerifyChain), has its role and, for an agency, a policy
// whose code matches its file name; each key decrypts and matches its
// certificate; the manifest agrees with the certificates. The root key is
// not read (see LoadRootSigner).
//
// Problems with a file are *FileError values naming it and wrapping
// ErrCorrupt (a file that does not parse or check), ErrPassphrase (a key
// that does not decrypt) or an fs error such as fs.ErrNotExist.
func LoadAt(dir string, passphrase []byte, at time.Time) (*PKI, error) {
	l := loader{dir: dir, at: at}
	m, err := l.manifest()
	if err != nil {
		return nil, err
	}
	p := &PKI{Dir: dir, Manifest: *m}
	root, rootDER, err := l.cert(m.Root, RootCertFile, agencycert.RoleRoot, nil)
	if err != nil {
		return nil, err
	}
	p.Root, p.RootDER = root, rootDER

	for _, e := range m.Agencies {
		a, err := l.agency(e, root, passphrase)
		if err != nil {
			return nil, err
		}
		p.Agencies = append(p.Agencies, a)
	}

	c, der, err := l.cert(m.Ledger, LedgerCertFile, agencycert.RoleLedger, root)
	if err != nil {
		return nil, err
	}
	key, err := l.key(m.Ledger, LedgerKeyFile, c, passphrase)
	if err != nil {
		return nil, err
	}
	p.Ledger = &Signer{Cert: c, CertDER: der, KeyID: gm.KeyIDString(der), Signer: key}

	if m.Receipt != nil {
		c, der, err := l.cert(*m.Receipt, ReceiptCertFile, agencycert.RoleReceipt, root)
		if err != nil {
			return nil, err
		}
		key, err := l.key(*m.Receipt, ReceiptKeyFile, c, passphrase)
		if err != nil {
			return nil, err
		}
		p.Receipt = &ReceiptKey{Cert: c, CertDER: der, KeyID: gm.KeyIDString(der), Key: key.(*gm.PrivateKey)}
	}
	return p, nil
}

// LoadRootSigner reads the root certificate and decrypts the root key, for
// the rare operations that need it (certifying a new agency key). It
// checks the root as Load does, at the current time.
func LoadRootSigner(dir string, passphrase []byte) (*Signer, error) {
	l := loader{dir: dir, at: time.Now()}
	m, err := l.manifest()
	if err != nil {
		return nil, err
	}
	c, der, err := l.cert(m.Root, RootCertFile, agencycert.RoleRoot, nil)
	if err != nil {
		return nil, err
	}
	key, err := l.key(m.Root, RootKeyFile, c, passphrase)
	if err != nil {
		return nil, err
	}
	return &Signer{Cert: c, CertDER: der, KeyID: gm.KeyIDString(der), Signer: key}, nil
}

type loader struct {
	dir string
	at  time.Time
}

func (l *loader) path(name string) string { return filepath.Join(l.dir, filepath.FromSlash(name)) }

func (l *loader) corrupt(name, format string, args ...any) error {
	return &FileError{Path: l.path(name), Err: fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)}
}

func (l *loader) read(name string) ([]byte, error) {
	b, err := os.ReadFile(l.path(name))
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the FileError names the path
		}
		return nil, &FileError{Path: l.path(name), Err: err}
	}
	return b, nil
}

func (l *loader) manifest() (*Manifest, error) {
	b, err := l.read(ManifestFile)
	if err != nil {
		return nil, err
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, l.corrupt(ManifestFile, "not a PKI manifest: %v", err)
	}
	if m.Version != ManifestVersion {
		return nil, l.corrupt(ManifestFile, "version %d, want %d", m.Version, ManifestVersion)
	}
	if len(m.Agencies) == 0 {
		return nil, l.corrupt(ManifestFile, "no agencies")
	}
	// The layout is fixed; the file names in the manifest are informational
	// and must agree with it (a manifest cannot point outside the
	// directory or swap files).
	check := func(what string, e CertEntry, cert, key string) error {
		if e.Cert != cert || e.Key != key {
			return l.corrupt(ManifestFile, "%s files are %q and %q, want %q and %q", what, e.Cert, e.Key, cert, key)
		}
		return nil
	}
	if err := check("root", m.Root, RootCertFile, RootKeyFile); err != nil {
		return nil, err
	}
	if err := check("ledger", m.Ledger, LedgerCertFile, LedgerKeyFile); err != nil {
		return nil, err
	}
	if m.Receipt != nil {
		if err := check("receipt", *m.Receipt, ReceiptCertFile, ReceiptKeyFile); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for _, a := range m.Agencies {
		if seen[a.Code] {
			return nil, l.corrupt(ManifestFile, "agency %s is listed twice", a.Code)
		}
		seen[a.Code] = true
		if err := check("agency "+a.Code, a.CertEntry, agencyCertFile(a.Code), agencyKeyFile(a.Code)); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// cert reads, parses and checks one certificate: a single PEM block, the
// key ID recorded in the manifest, the role, and the chain to root (or
// self-signature when root is nil) at l.at.
func (l *loader) cert(e CertEntry, name string, role agencycert.Role, root *gm.Certificate) (*gm.Certificate, []byte, error) {
	b, err := l.read(name)
	if err != nil {
		return nil, nil, err
	}
	certs, err := gm.ParseCertificatesPEM(b)
	if err != nil {
		return nil, nil, l.corrupt(name, "%w", err)
	}
	if len(certs) != 1 {
		return nil, nil, l.corrupt(name, "holds %d certificates, want 1", len(certs))
	}
	c := certs[0]
	if err := agencycert.RequireRole(c, role); err != nil {
		return nil, nil, l.corrupt(name, "%w", err)
	}
	roots := []*gm.Certificate{root}
	if root == nil {
		// gm.VerifyChain accepts a certificate found among the roots
		// without checking its signature; check the self-signature here.
		if err := c.CheckSignatureFrom(c); err != nil {
			return nil, nil, l.corrupt(name, "root self-signature does not verify: %v", err)
		}
		roots = []*gm.Certificate{c}
	}
	if err := gm.VerifyChain(c, roots, nil, l.at); err != nil {
		if root == nil {
			return nil, nil, l.corrupt(name, "not a valid self-signed root at %s: %w", l.at.UTC().Format(time.RFC3339), err)
		}
		return nil, nil, l.corrupt(name, "does not chain to the root %s at %s: %w", RootCertFile, l.at.UTC().Format(time.RFC3339), err)
	}
	if id := gm.KeyIDString(c.Raw); id != e.KeyID {
		return nil, nil, l.corrupt(name, "key ID is %s but %s records %s (certificate replaced, or manifest edited)", id, ManifestFile, e.KeyID)
	}
	return c, c.Raw, nil
}

// key reads and decrypts a private key and checks it belongs to c.
func (l *loader) key(e CertEntry, name string, c *gm.Certificate, passphrase []byte) (crypto.Signer, error) {
	b, err := l.read(name)
	if err != nil {
		return nil, err
	}
	k, err := gm.ParsePrivateKeyPEM(b, passphrase)
	if err != nil {
		if errors.Is(err, gm.ErrPassphrase) {
			return nil, &FileError{Path: l.path(name), Err: err}
		}
		return nil, l.corrupt(name, "%w", err)
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(k.Public()) {
		return nil, l.corrupt(name, "key does not match certificate %s", e.Cert)
	}
	return k, nil
}

func (l *loader) agency(e AgencyEntry, root *gm.Certificate, passphrase []byte) (*Agency, error) {
	name := agencyCertFile(e.Code)
	c, der, err := l.cert(e.CertEntry, name, agencycert.RoleAgency, root)
	if err != nil {
		return nil, err
	}
	pol, err := agencycert.FromCertificate(c)
	if err != nil {
		return nil, l.corrupt(name, "%w", err)
	}
	switch {
	case pol.AgencyCode != e.Code:
		return nil, l.corrupt(name, "certificate is for agency %s, file name and %s say %s", pol.AgencyCode, ManifestFile, e.Code)
	case pol.AgencyName != e.Name:
		return nil, l.corrupt(name, "certificate names %q, %s says %q", pol.AgencyName, ManifestFile, e.Name)
	case !slices.Equal(pol.Classes, e.TypeCodes):
		return nil, l.corrupt(name, "certificate allows type codes %v, %s says %v", pol.Classes, ManifestFile, e.TypeCodes)
	case !slices.Equal(pol.ClassKeys(), e.Classes):
		return nil, l.corrupt(name, "certificate allows classes %v, %s says %v", pol.ClassKeys(), ManifestFile, e.Classes)
	}
	key, err := l.key(e.CertEntry, agencyKeyFile(e.Code), c, passphrase)
	if err != nil {
		return nil, err
	}
	var prev []*Previous
	for _, p := range e.Previous {
		pv, err := l.previous(e, p, root)
		if err != nil {
			return nil, err
		}
		prev = append(prev, pv)
	}
	return &Agency{
		Previous: prev,
		Code:     pol.AgencyCode,
		Name:     pol.AgencyName,
		Classes:  pol.ClassKeys(),
		Policy:   pol,
		Cert:     c,
		CertDER:  der,
		KeyID:    gm.KeyIDString(der),
		Signer:   key,
	}, nil
}

// previous reads a rotated-out certificate. It is checked against the
// root as of its own last valid moment (it may have expired since) and
// must be the same agency's.
func (l *loader) previous(e AgencyEntry, p PreviousKey, root *gm.Certificate) (*Previous, error) {
	name := previousCertFile(e.Code, p.KeyID)
	if p.Cert != name {
		return nil, l.corrupt(ManifestFile, "previous key of %s is in %q, want %q", e.Code, p.Cert, name)
	}
	if p.State != KeyRetired && p.State != KeyCompromised {
		return nil, l.corrupt(ManifestFile, "previous key %s of %s has state %q", p.KeyID, e.Code, p.State)
	}
	at := l.at
	if at.After(p.NotAfter) {
		at = p.NotAfter.Add(-time.Second)
	}
	sub := loader{dir: l.dir, at: at}
	c, der, err := sub.cert(CertEntry{KeyID: p.KeyID}, name, agencycert.RoleAgency, root)
	if err != nil {
		return nil, err
	}
	pol, err := agencycert.FromCertificate(c)
	if err != nil || pol.AgencyCode != e.Code {
		return nil, l.corrupt(name, "not a certificate of agency %s", e.Code)
	}
	out := &Previous{Cert: c, CertDER: der, KeyID: p.KeyID, State: p.State, Since: p.Since}
	if g := p.Genuine; g != nil {
		if p.State != KeyCompromised || g.File != genuineFile(e.Code, p.KeyID) {
			return nil, l.corrupt(ManifestFile, "genuine set of key %s of %s: %q on a %s key", p.KeyID, e.Code, g.File, p.State)
		}
		out.Genuine, out.GenuinePath = g, filepath.Join(l.dir, filepath.FromSlash(g.File))
	}
	return out, nil
}
