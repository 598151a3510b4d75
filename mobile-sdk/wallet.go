package mobilesdk

import (
	"encoding/hex"
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"elicense/internal/gm"
)

// MinPassphraseLen is the shortest passphrase (or PIN) a wallet accepts.
const MinPassphraseLen = 4

// keyIterations is the PBKDF2-HMAC-SM3 work factor of the device key file;
// tests lower it.
var keyIterations = gm.DefaultKeyIterations

// Wallet is one holder's wallet on one device: the SM2 device key and the
// licences claimed with it. Its methods are safe for concurrent use.
//
// Key protection: the device key is made on the device the first time the
// wallet is opened and kept as an encrypted PKCS#8 file (PBES2:
// PBKDF2-HMAC-SM3 over the passphrase, 100,000 iterations, SM4-CBC;
// gm.MarshalEncryptedPrivateKey). The licence files are sealed with
// SM4-GCM under a store key derived from the device key,
// SM3("elicense/wallet/store-key/v1" 0x00 ‖ d)[:16], so the passphrase
// unlocks everything through one slow KDF, changing it rewrites one file,
// and the GCM tag (over the file name too) detects any tampering.
type Wallet struct {
	mu       sync.Mutex
	st       Storage
	key      *gm.PrivateKey
	pub      []byte // compressed device key
	storeKey []byte
	client   *http.Client
	now      func() time.Time
}

// Open opens (or, the first time, creates) the wallet kept in directory
// dir under passphrase. A wrong passphrase gives ErrWrongPassphrase.
func Open(dir, passphrase string) (*Wallet, error) {
	st, err := NewDirStorage(dir)
	if err != nil {
		return nil, err
	}
	return OpenStorage(st, passphrase)
}

// OpenStorage is Open over any Storage (browser storage, the platform's
// secure store, memory).
func OpenStorage(st Storage, passphrase string) (*Wallet, error) {
	if st == nil {
		return nil, wrapf(ErrInvalidArgument, "no storage")
	}
	if len(passphrase) < MinPassphraseLen {
		return nil, wrapf(ErrPassphraseTooShort, "the passphrase must have at least %d characters", MinPassphraseLen)
	}
	pemBytes, err := st.Load(keyFile)
	if err != nil {
		return nil, &StoreError{File: keyFile, err: err}
	}
	var key *gm.PrivateKey
	if pemBytes == nil {
		if key, err = gm.GenerateKey(); err != nil {
			return nil, err
		}
		enc, err := gm.MarshalEncryptedPrivateKey(key, []byte(passphrase), &gm.KeyEncryption{Iterations: keyIterations})
		if err != nil {
			return nil, err
		}
		if err := st.Save(keyFile, enc); err != nil {
			return nil, &StoreError{File: keyFile, err: err}
		}
	} else {
		key, err = gm.ParsePrivateKeyPEM(pemBytes, []byte(passphrase))
		switch {
		case errors.Is(err, gm.ErrPassphrase):
			return nil, &wrapped{reason: ErrWrongPassphrase, err: err}
		case err != nil:
			return nil, &StoreError{File: keyFile, Corrupt: true, err: err}
		}
	}
	return newWallet(st, key)
}

func newWallet(st Storage, key *gm.PrivateKey) (*Wallet, error) {
	pub, err := gm.MarshalPublicKeyCompressed(key.PublicKey())
	if err != nil {
		return nil, err
	}
	sum := gm.SM3(append([]byte("elicense/wallet/store-key/v1\x00"), key.Bytes()...))
	return &Wallet{
		st: st, key: key, pub: pub, storeKey: sum[:gm.SM4KeySize],
		client: &http.Client{Timeout: 30 * time.Second},
		now:    time.Now,
	}, nil
}

// ChangePassphrase re-encrypts the device key under a new passphrase.
// The licences need no change.
func (w *Wallet) ChangePassphrase(newPassphrase string) error {
	if len(newPassphrase) < MinPassphraseLen {
		return wrapf(ErrPassphraseTooShort, "the passphrase must have at least %d characters", MinPassphraseLen)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	enc, err := gm.MarshalEncryptedPrivateKey(w.key, []byte(newPassphrase), &gm.KeyEncryption{Iterations: keyIterations})
	if err != nil {
		return err
	}
	if err := w.st.Save(keyFile, enc); err != nil {
		return &StoreError{File: keyFile, err: err}
	}
	return nil
}

// DeviceKey returns the device's SM2 public key, compressed (33 bytes).
func (w *Wallet) DeviceKey() []byte { return append([]byte(nil), w.pub...) }

// DeviceKeyID is a short hex name for the device key: the first 8 bytes
// of SM3 over the compressed key, as the issuer names device copies
// ("licence#id").
func (w *Wallet) DeviceKeyID() string {
	sum := gm.SM3(w.pub)
	return hex.EncodeToString(sum[:8])
}

// SetTimeout sets the network timeout of Claim, in seconds (default 30).
func (w *Wallet) SetTimeout(seconds int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.client = &http.Client{Timeout: time.Duration(seconds) * time.Second}
}

// SetTrustRoot pins the root certificate (PEM) of the licence system.
// From then on Claim also fetches the issuer's trust bundle, verifies it
// against this root, and verifies the claimed credential and QR core
// against it; an answer that does not check is refused with
// ErrForgedAnswer. The root is kept sealed in the wallet.
func (w *Wallet) SetTrustRoot(rootPEM []byte) error {
	certs, err := gm.ParseCertificatesPEM(rootPEM)
	if err != nil || len(certs) == 0 {
		return wrapf(ErrInvalidArgument, "not a PEM certificate: %v", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.saveSealed(trustFile, rootPEM)
}

// TrustRoot returns the pinned root certificate (PEM), or nil.
func (w *Wallet) TrustRoot() ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.loadSealed(trustFile)
}

func (w *Wallet) saveSealed(name string, pt []byte) error {
	data, err := sealFile(w.storeKey, name, pt)
	if err != nil {
		return err
	}
	if err := w.st.Save(name, data); err != nil {
		return &StoreError{File: name, err: err}
	}
	return nil
}

func (w *Wallet) loadSealed(name string) ([]byte, error) {
	data, err := w.st.Load(name)
	if err != nil {
		return nil, &StoreError{File: name, err: err}
	}
	if data == nil {
		return nil, nil
	}
	return openFile(w.storeKey, name, data)
}

func (w *Wallet) load(id string) (*record, error) {
	name := licFileName(id)
	data, err := w.st.Load(name)
	if err != nil {
		return nil, &StoreError{File: name, err: err}
	}
	if data == nil {
		return nil, wrapf(ErrNotFound, "%q", id)
	}
	return decodeLicenceFile(w.storeKey, name, data)
}

func (w *Wallet) save(r *record) error {
	pt, err := marshalRecord(r)
	if err != nil {
		return err
	}
	return w.saveSealed(licFileName(r.ID), pt)
}

// Get returns the licence id names (see Resolve), with its Index.
func (w *Wallet) Get(id string) (*Licence, error) {
	r, err := w.resolve(id)
	if err != nil {
		return nil, err
	}
	l := r.licence()
	l.Index = w.indexOf(r.ID)
	return l, nil
}

// Credential returns the licence's full credential (compact JWS).
func (w *Wallet) Credential(id string) (string, error) {
	r, err := w.resolve(id)
	if err != nil {
		return "", err
	}
	return r.Credential, nil
}

// Delete removes a licence from the wallet, named as Resolve takes it, or
// a damaged one by its copy ID. (The issuer still has the device copy;
// ask the agency to unbind a lost device.)
func (w *Wallet) Delete(id string) error {
	r, err := w.resolve(id)
	switch {
	case err == nil:
		id = r.ID
	case errors.Is(err, ErrCorrupt):
		id = strings.TrimSpace(id) // a damaged file goes too, named by its copy ID
	default:
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	name := licFileName(id)
	data, err := w.st.Load(name)
	if err != nil {
		return &StoreError{File: name, err: err}
	}
	if data == nil {
		return wrapf(ErrNotFound, "%q", id)
	}
	if err := w.st.Remove(name); err != nil {
		return &StoreError{File: name, err: err}
	}
	if err := w.st.Remove(ofdFileName(id)); err != nil { // its OFD file, if fetched
		return &StoreError{File: ofdFileName(id), err: err}
	}
	return nil
}

// List returns every licence in the wallet in the order they were claimed,
// each with its number (Licence.Index, from 1), which Resolve and every
// method taking a licence ID accept. A damaged file does not hide the
// others: it is skipped and reported by the list's Err.
func (w *Wallet) List() (*LicenceList, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	names, err := w.st.Names()
	if err != nil {
		return nil, &StoreError{File: "(directory)", err: err}
	}
	l := &LicenceList{}
	for _, name := range splitNames(names) {
		if !strings.HasPrefix(name, licPrefix) || !strings.HasSuffix(name, licSuffix) {
			continue
		}
		data, err := w.st.Load(name)
		if err == nil && data == nil {
			continue // removed meanwhile
		}
		var r *record
		if err != nil {
			err = &StoreError{File: name, err: err}
		} else {
			r, err = decodeLicenceFile(w.storeKey, name, data)
		}
		if err != nil {
			l.damaged = append(l.damaged, err)
			continue
		}
		l.items = append(l.items, r.licence())
	}
	// In the order claimed, so that a licence keeps its number when
	// another is claimed.
	sort.Slice(l.items, func(i, j int) bool {
		a, b := l.items[i], l.items[j]
		return a.ClaimedAt < b.ClaimedAt || a.ClaimedAt == b.ClaimedAt && a.ID < b.ID
	})
	for i, x := range l.items {
		x.Index = int64(i + 1)
	}
	return l, nil
}

// LicenceList is the wallet's licences (an indexed list, as gomobile
// binds no slices of structs).
type LicenceList struct {
	items   []*Licence
	damaged []error
}

// Len is the number of readable licences.
func (l *LicenceList) Len() int64 { return int64(len(l.items)) }

// At returns the i-th licence (0 ≤ i < Len), or nil.
func (l *LicenceList) At(i int64) *Licence {
	if i < 0 || i >= int64(len(l.items)) {
		return nil
	}
	return l.items[i]
}

// Damaged is the number of store files that could not be read.
func (l *LicenceList) Damaged() int64 { return int64(len(l.damaged)) }

// Err returns the first damaged file's error (a *StoreError matching
// ErrCorrupt when the file was tampered with), or nil.
func (l *LicenceList) Err() error {
	if len(l.damaged) == 0 {
		return nil
	}
	return l.damaged[0]
}
