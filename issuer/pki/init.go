package pki

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"elicense/certs/agencycert"
	"elicense/internal/gm"
)

// Default lifetimes.
const (
	DefaultValidity     = 2 * 365 * 24 * time.Hour  // agency and ledger certificates
	DefaultRootValidity = 10 * 365 * 24 * time.Hour // the root
	// backdate is how far before Now certificates start, for clock skew.
	backdate = 5 * time.Minute
)

// InitOptions configure Init.
type InitOptions struct {
	// Dir is the PKI directory. It must not exist, or be empty.
	Dir string
	// Passphrase encrypts every private key. Required.
	Passphrase []byte
	// WritePassphraseFile writes Passphrase to Dir/passphrase (mode 0600)
	// along with the rest, for a CLI that generated the passphrase itself.
	WritePassphraseFile bool
	// Agencies to certify (see DefaultAgencies). Required.
	Agencies []AgencyConfig
	// Validity of the agency and ledger certificates; zero means
	// DefaultValidity. They never outlive the root.
	Validity time.Duration
	// RootValidity of the root certificate; zero means
	// DefaultRootValidity.
	RootValidity time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// KeyEncryption tunes key encryption; nil means gm's defaults.
	KeyEncryption *gm.KeyEncryption
}

// Result is what Init made.
type Result struct {
	Dir            string   // the PKI directory, absolute
	Manifest       Manifest // as written to pki.json
	Files          []string // every file written, relative, slash-separated
	PassphraseFile string   // Dir/passphrase when written, else ""
}

// Init makes a new PKI in opts.Dir: the root, one certificate per agency,
// the ledger certificate and the manifest (see the package documentation).
// Everything is written to a temporary directory beside Dir and renamed
// into place, so Dir ends up either untouched or complete. If Dir already
// holds a PKI, Init fails with ErrExists; if it holds anything else, with
// ErrNotEmpty; either way nothing is changed.
func Init(opts InitOptions) (*Result, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("%w: no directory given", ErrConfig)
	}
	if len(opts.Passphrase) == 0 {
		return nil, fmt.Errorf("%w: %w: no passphrase given", ErrConfig, ErrPassphrase)
	}
	if err := checkAgencies(opts.Agencies); err != nil {
		return nil, err
	}
	if opts.Validity < 0 || opts.RootValidity < 0 {
		return nil, fmt.Errorf("%w: negative validity", ErrConfig)
	}
	dir, err := targetDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := checkTarget(dir); err != nil {
		return nil, err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".init-*")
	if err != nil {
		return nil, err
	}
	renamed := false
	defer func() {
		if !renamed {
			os.RemoveAll(tmp)
		}
	}()

	m, files, err := build(tmp, opts)
	if err != nil {
		return nil, err
	}
	if opts.WritePassphraseFile {
		if err := writeFile(filepath.Join(tmp, PassphraseFile), append(append([]byte{}, opts.Passphrase...), '\n'), 0o600); err != nil {
			return nil, err
		}
		files = append(files, PassphraseFile)
	}
	for _, d := range []string{filepath.Join(tmp, AgenciesDir), tmp} {
		if err := syncDir(d); err != nil {
			return nil, err
		}
	}
	// rename(2) replaces an empty directory and refuses a non-empty one,
	// so a PKI made meanwhile by someone else is never overwritten.
	// (os.Rename refuses any existing directory.)
	if err := syscall.Rename(tmp, dir); err != nil {
		if cerr := checkTarget(dir); cerr != nil {
			return nil, cerr
		}
		return nil, &os.LinkError{Op: "rename", Old: tmp, New: dir, Err: err}
	}
	renamed = true
	if err := syncDir(parent); err != nil {
		return nil, err
	}
	res := &Result{Dir: dir, Manifest: *m, Files: files}
	if opts.WritePassphraseFile {
		res.PassphraseFile = filepath.Join(dir, PassphraseFile)
	}
	return res, nil
}

// targetDir makes dir absolute and resolves a symbolic link at its end, so
// that the rename replaces the directory, not the link.
func targetDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if fi, err := os.Lstat(abs); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return filepath.EvalSymlinks(abs)
	}
	return abs, nil
}

// checkTarget returns nil if dir does not exist or is an empty directory.
func checkTarget(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%w: %s exists and is not a directory", ErrNotEmpty, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	for _, f := range []string{ManifestFile, RootCertFile, RootKeyFile} {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			return fmt.Errorf("%w: %s (found %s); remove it first to make a new one", ErrExists, dir, f)
		}
	}
	return fmt.Errorf("%w: %s holds %d entries (e.g. %s) but no PKI; choose an empty or new directory",
		ErrNotEmpty, dir, len(entries), entries[0].Name())
}

// build writes the keys, certificates and manifest into tmp.
func build(tmp string, opts InitOptions) (*Manifest, []string, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	t0 := now().UTC().Truncate(time.Second)
	validity, rootValidity := opts.Validity, opts.RootValidity
	if validity == 0 {
		validity = DefaultValidity
	}
	if rootValidity == 0 {
		rootValidity = DefaultRootValidity
	}
	notBefore := t0.Add(-backdate)
	rootNotAfter := t0.Add(rootValidity)
	leafNotAfter := t0.Add(validity)
	if leafNotAfter.After(rootNotAfter) {
		leafNotAfter = rootNotAfter
	}

	w := &writer{dir: tmp, passphrase: opts.Passphrase, enc: opts.KeyEncryption}
	if err := os.Mkdir(filepath.Join(tmp, AgenciesDir), 0o700); err != nil {
		return nil, nil, err
	}

	// The root.
	rootKey, err := gm.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	rootExt, err := agencycert.RoleExtension(agencycert.RoleRoot)
	if err != nil {
		return nil, nil, err
	}
	rootTmpl := &gm.Certificate{
		Subject: pkix.Name{
			Country:      []string{"CN"},
			Organization: []string{"elicense (development)"},
			CommonName:   "elicense development root CA",
		},
		NotBefore:             notBefore,
		NotAfter:              rootNotAfter,
		KeyUsage:              gm.KeyUsageCertSign | gm.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true, // agencies are certified directly by the root
		ExtraExtensions:       []pkix.Extension{rootExt},
	}
	root, rootEntry, err := w.issue(rootTmpl, nil, rootKey, nil, RootCertFile, RootKeyFile)
	if err != nil {
		return nil, nil, err
	}

	m := &Manifest{Version: ManifestVersion, CreatedAt: t0, Root: rootEntry}

	// The agencies.
	for _, a := range opts.Agencies {
		pol := agencycert.Policy{AgencyCode: a.Code, AgencyName: a.Name, Classes: a.Classes}
		ext, err := pol.Extension()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: agency %s: %w", ErrConfig, a.Code, err)
		}
		key, err := gm.GenerateKey()
		if err != nil {
			return nil, nil, err
		}
		tmpl := &gm.Certificate{
			Subject: pkix.Name{
				Country:      []string{"CN"},
				Province:     []string{"上海市"},
				Organization: []string{a.Name},
				SerialNumber: a.Code,
				CommonName:   a.Name + " 电子证照签发",
			},
			NotBefore:             notBefore,
			NotAfter:              leafNotAfter,
			KeyUsage:              gm.KeyUsageDigitalSignature | gm.KeyUsageContentCommitment,
			BasicConstraintsValid: true,
			ExtraExtensions:       []pkix.Extension{ext},
		}
		c, entry, err := w.issue(tmpl, root, key, rootKey, agencyCertFile(a.Code), agencyKeyFile(a.Code))
		if err != nil {
			return nil, nil, err
		}
		got, err := agencycert.FromCertificate(c)
		if err != nil {
			return nil, nil, err
		}
		m.Agencies = append(m.Agencies, AgencyEntry{
			Code: a.Code, Name: a.Name, Classes: got.ClassKeys(), TypeCodes: got.Classes, CertEntry: entry,
		})
	}

	// The ledger signer.
	ledgerKey, err := gm.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	ledgerExt, err := agencycert.RoleExtension(agencycert.RoleLedger)
	if err != nil {
		return nil, nil, err
	}
	ledgerTmpl := &gm.Certificate{
		Subject: pkix.Name{
			Country:      []string{"CN"},
			Organization: []string{"elicense (development)"},
			CommonName:   "elicense ledger and status signer",
		},
		NotBefore:             notBefore,
		NotAfter:              leafNotAfter,
		KeyUsage:              gm.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{ledgerExt},
	}
	if _, m.Ledger, err = w.issue(ledgerTmpl, root, ledgerKey, rootKey, LedgerCertFile, LedgerKeyFile); err != nil {
		return nil, nil, err
	}

	// The receipt key.
	receiptKey, err := gm.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	receiptTmpl, err := receiptTemplate(notBefore, leafNotAfter)
	if err != nil {
		return nil, nil, err
	}
	_, re, err := w.issue(receiptTmpl, root, receiptKey, rootKey, ReceiptCertFile, ReceiptKeyFile)
	if err != nil {
		return nil, nil, err
	}
	m.Receipt = &re

	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	if err := w.write(ManifestFile, append(js, '\n'), 0o644); err != nil {
		return nil, nil, err
	}
	return m, w.files, nil
}

// receiptTemplate is the receipt certificate: an encryption key, role
// receipt, keyEncipherment only.
func receiptTemplate(notBefore, notAfter time.Time) (*gm.Certificate, error) {
	ext, err := agencycert.RoleExtension(agencycert.RoleReceipt)
	if err != nil {
		return nil, err
	}
	return &gm.Certificate{
		Subject: pkix.Name{
			Country:      []string{"CN"},
			Organization: []string{"elicense (development)"},
			CommonName:   "elicense counter receipt key",
		},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              gm.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{ext},
	}, nil
}

// writer writes the files of a new PKI.
type writer struct {
	dir        string
	passphrase []byte
	enc        *gm.KeyEncryption
	files      []string
}

func (w *writer) write(name string, data []byte, perm os.FileMode) error {
	if err := writeFile(filepath.Join(w.dir, filepath.FromSlash(name)), data, perm); err != nil {
		return err
	}
	w.files = append(w.files, name)
	return nil
}

// issue signs tmpl for key (by parentKey on behalf of parent, or
// self-signed when parent is nil) and writes the certificate and the
// encrypted key.
func (w *writer) issue(tmpl, parent *gm.Certificate, key, parentKey *gm.PrivateKey, certFile, keyFile string) (*gm.Certificate, CertEntry, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, CertEntry{}, err
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := gm.CreateCertificate(tmpl, parent, key.PublicKey(), parentKey)
	if err != nil {
		return nil, CertEntry{}, err
	}
	c, err := gm.ParseCertificate(der)
	if err != nil {
		return nil, CertEntry{}, err
	}
	keyPEM, err := gm.MarshalEncryptedPrivateKey(key, w.passphrase, w.enc)
	if err != nil {
		return nil, CertEntry{}, err
	}
	if err := w.write(certFile, gm.EncodeCertificatePEM(der), 0o644); err != nil {
		return nil, CertEntry{}, err
	}
	if err := w.write(keyFile, keyPEM, 0o600); err != nil {
		return nil, CertEntry{}, err
	}
	return c, CertEntry{
		Subject:   c.Subject.String(),
		Cert:      certFile,
		Key:       keyFile,
		KeyID:     gm.KeyIDString(der),
		NotBefore: c.NotBefore.UTC(),
		NotAfter:  c.NotAfter.UTC(),
	}, nil
}

// randomSerial returns a positive 127-bit serial number (RFC 5280: at most
// 20 octets, positive; CA/B practice: at least 64 random bits).
func randomSerial() (*big.Int, error) {
	b := make([]byte, 16)
	for {
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		b[0] &= 0x7f
		if n := new(big.Int).SetBytes(b); n.Sign() > 0 {
			return n, nil
		}
	}
}

// writeFile creates name (which must not exist), writes data and syncs it.
func writeFile(name string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
