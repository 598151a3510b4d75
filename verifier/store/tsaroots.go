package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"elicense/internal/atomicfile"
	"elicense/internal/gm"
)

// tsaRootsFile holds the pinned time-stamp authority (TSA) roots, apart
// from the issuer's roots in roots.pem: a TSA root vouches only for when a
// seal signature existed (a trusted time-stamp keeps a seal revoked or
// expired after it valid, SEAL-15 and SEAL-16 of docs/spec/seals-ofd.md),
// never for a seal maker, a licence or the synced trust data, so it must
// not be able to become one of those roots.
const tsaRootsFile = "tsaroots.pem"

// Errors of pinning and removing roots.
var (
	// ErrNotCA: a certificate to pin as a root is not a CA certificate
	// (basic constraints cA false or absent).
	ErrNotCA = errors.New("store: not a CA certificate")
	// ErrNotPinned: no pinned root has the fingerprint given.
	ErrNotPinned = errors.New("store: no root with that fingerprint is pinned")
)

// TSARoots returns the pinned TSA roots; none pinned is nil and no
// error, since a counter need not trust any time-stamp authority. A file
// that does not parse is an error wrapping gm.ErrMalformedCertificate:
// the caller must not silently verify without the roots the operator
// pinned.
func (s *Store) TSARoots() ([]*gm.Certificate, error) {
	path := filepath.Join(s.dir, tsaRootsFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	certs, err := gm.ParseCertificatesPEM(data)
	if err != nil {
		return nil, fmt.Errorf("store: %s does not parse (%w); remove it and pin the TSA roots again with trust add --tsa", path, err)
	}
	return certs, nil
}

// AddTSARoot pins the TSA root certificates in pemData (PEM) as AddRoot
// pins issuer roots: each must be a CA certificate (else ErrNotCA, and
// nothing is pinned), one already pinned is not added twice, and the file
// is replaced atomically under the store's trust lock.
func (s *Store) AddTSARoot(pemData []byte) ([]*gm.Certificate, error) {
	certs, err := parseRoots("TSA root", pemData)
	if err != nil {
		return nil, err
	}
	unlock, err := s.lockTrust(context.Background())
	if err != nil {
		return nil, err
	}
	defer unlock()
	held, err := s.TSARoots()
	if err != nil {
		return nil, err
	}
	return certs, writeAtomic(filepath.Join(s.dir, tsaRootsFile), encodeCerts(mergeCerts(held, certs)))
}

// AddTSARootPinned is AddTSARoot for a file that must hold exactly one
// certificate, whose fingerprint must be want; on a mismatch
// (ErrFingerprint) nothing is written.
func (s *Store) AddTSARootPinned(pemData []byte, want Fingerprint) ([]*gm.Certificate, error) {
	if err := checkPinned("TSA root", pemData, want); err != nil {
		return nil, err
	}
	return s.AddTSARoot(pemData)
}

// RemoveTSARoot unpins the TSA root with fingerprint fp and returns it;
// ErrNotPinned when none has it. Removing the last one removes the file.
func (s *Store) RemoveTSARoot(fp Fingerprint) (*gm.Certificate, error) {
	unlock, err := s.lockTrust(context.Background())
	if err != nil {
		return nil, err
	}
	defer unlock()
	held, err := s.TSARoots()
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(held, func(c *gm.Certificate) bool { return FingerprintOf(c) == fp })
	if i < 0 {
		return nil, fmt.Errorf("%w: no TSA root has fingerprint %s (trust list shows the pinned ones)", ErrNotPinned, fp)
	}
	gone := held[i]
	rest := slices.Delete(held, i, i+1)
	path := filepath.Join(s.dir, tsaRootsFile)
	if len(rest) == 0 {
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		// Durable, as the writes are: an unpinned root must not come
		// back after a crash.
		if err := atomicfile.SyncDir(s.dir); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		return gone, nil
	}
	return gone, writeAtomic(path, encodeCerts(rest))
}

// parseRoots reads the certificates of a file to pin as what ("root",
// "TSA root"): at least one, each a CA certificate.
func parseRoots(what string, pemData []byte) ([]*gm.Certificate, error) {
	certs, err := gm.ParseCertificatesPEM(pemData)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	for _, c := range certs {
		if !c.IsCA {
			return nil, fmt.Errorf("%w: %s %q cannot be pinned: it is an end-entity certificate; pin the CA certificate it chains to", ErrNotCA, what, c.Subject.CommonName)
		}
	}
	return certs, nil
}

// checkPinned checks that pemData holds exactly one certificate, with
// fingerprint want.
func checkPinned(what string, pemData []byte, want Fingerprint) error {
	certs, err := gm.ParseCertificatesPEM(pemData)
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if len(certs) != 1 {
		return fmt.Errorf("store: %s: the file holds %d certificates; a fingerprint pins exactly one", what, len(certs))
	}
	if got := FingerprintOf(certs[0]); got != want {
		return fmt.Errorf("%w: the certificate %q has fingerprint\n  %s\nnot the expected\n  %s\nnothing was pinned", ErrFingerprint, certs[0].Subject.CommonName, got, want)
	}
	return nil
}

// mergeCerts is held followed by those of add it does not hold.
func mergeCerts(held, add []*gm.Certificate) []*gm.Certificate {
	out := slices.Clone(held)
	for _, c := range add {
		if !slices.ContainsFunc(out, func(h *gm.Certificate) bool { return bytes.Equal(h.Raw, c.Raw) }) {
			out = append(out, c)
		}
	}
	return out
}

// encodeCerts is certs in PEM.
func encodeCerts(certs []*gm.Certificate) []byte {
	var out bytes.Buffer
	for _, c := range certs {
		out.Write(gm.EncodeCertificatePEM(c.Raw))
	}
	return out.Bytes()
}
