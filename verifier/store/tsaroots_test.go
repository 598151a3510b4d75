package store

import (
	"bytes"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"elicense/internal/gm"
)

// testCert makes a self-signed certificate named cn, a CA or not, in PEM.
func testCert(t testing.TB, cn string, ca bool) ([]byte, *gm.Certificate) {
	t.Helper()
	key, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: gm.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: ca,
	}
	if ca {
		tmpl.KeyUsage = gm.KeyUsageCertSign | gm.KeyUsageCRLSign
	}
	der, err := gm.CreateCertificate(tmpl, tmpl, key.PublicKey(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := gm.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return gm.EncodeCertificatePEM(der), c
}

func TestAddTSARoot(t *testing.T) {
	tsaPEM, tsa := testCert(t, "test TSA root", true)
	otherPEM, other := testCert(t, "other TSA root", true)
	leafPEM, _ := testCert(t, "a TSA, not its root", false)
	fp := FingerprintOf(tsa)
	wrong := fp
	wrong[31] ^= 1
	for _, tc := range []struct {
		name string
		pem  []byte
		pin  *Fingerprint // AddTSARootPinned with it, else AddTSARoot
		want error        // errors.Is; nil: pinned
		msg  string       // in the error
		held []*gm.Certificate
	}{
		{name: "CA", pem: tsaPEM, held: []*gm.Certificate{tsa}},
		{name: "two CAs", pem: append(bytes.Clone(tsaPEM), otherPEM...), held: []*gm.Certificate{tsa, other}},
		{name: "the same twice", pem: append(bytes.Clone(tsaPEM), tsaPEM...), held: []*gm.Certificate{tsa}},
		{name: "fingerprint", pem: tsaPEM, pin: &fp, held: []*gm.Certificate{tsa}},
		{name: "wrong fingerprint", pem: tsaPEM, pin: &wrong, want: ErrFingerprint, msg: fp.String()},
		{name: "fingerprint, two certificates", pem: append(bytes.Clone(tsaPEM), otherPEM...), pin: &fp, msg: "holds 2 certificates"},
		{name: "not a CA", pem: leafPEM, want: ErrNotCA, msg: `"a TSA, not its root"`},
		{name: "a CA and a leaf", pem: append(bytes.Clone(tsaPEM), leafPEM...), want: ErrNotCA},
		{name: "malformed", pem: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), want: gm.ErrMalformedCertificate},
		{name: "no certificate", pem: []byte("not PEM at all"), want: gm.ErrMalformedCertificate, msg: "TSA root"},
		{name: "a key, not a certificate", pem: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), want: gm.ErrMalformedCertificate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := must(Open(filepath.Join(t.TempDir(), "store")))
			var err error
			if tc.pin != nil {
				_, err = s.AddTSARootPinned(tc.pem, *tc.pin)
			} else {
				_, err = s.AddTSARoot(tc.pem)
			}
			failed := tc.want != nil || tc.msg != ""
			switch {
			case !failed && err != nil:
				t.Fatalf("refused: %v", err)
			case failed && err == nil:
				t.Fatal("pinned")
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("error %v, want %v", err, tc.want)
			case err != nil && !bytes.Contains([]byte(err.Error()), []byte(tc.msg)):
				t.Fatalf("error %q does not say %q", err, tc.msg)
			}
			if failed {
				if _, err := os.Stat(filepath.Join(s.Dir(), tsaRootsFile)); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("a refused TSA root wrote the file: %v", err)
				}
			}
			// A restart: the store opened again holds the same.
			held, err := must(Open(s.Dir())).TSARoots()
			if err != nil || !sameCerts(held, tc.held) {
				t.Fatalf("held %v (%v), want %v", names(held), err, names(tc.held))
			}
			// TSA roots are never issuer roots.
			if _, err := s.Roots(); !errors.Is(err, ErrNoRoots) {
				t.Fatalf("a TSA root became an issuer root: %v", err)
			}
		})
	}
}

func TestRemoveTSARoot(t *testing.T) {
	aPEM, a := testCert(t, "TSA root A", true)
	bPEM, b := testCert(t, "TSA root B", true)
	issuerPEM, issuer := testCert(t, "issuer root", true)
	s := must(Open(filepath.Join(t.TempDir(), "store")))
	must(s.AddRoot(issuerPEM))
	must(s.AddTSARoot(append(bytes.Clone(aPEM), bPEM...)))
	must(s.AddTSARoot(issuerPEM)) // a root may be both (the conformance kit's is)
	for _, tc := range []struct {
		name string
		fp   Fingerprint
		want error
		held []*gm.Certificate
	}{
		{"B", FingerprintOf(b), nil, []*gm.Certificate{a, issuer}},
		{"B again", FingerprintOf(b), ErrNotPinned, []*gm.Certificate{a, issuer}},
		{"the issuer root as a TSA root", FingerprintOf(issuer), nil, []*gm.Certificate{a}},
		{"A, the last", FingerprintOf(a), nil, nil},
		{"none left", FingerprintOf(a), ErrNotPinned, nil},
	} {
		gone, err := s.RemoveTSARoot(tc.fp)
		if !errors.Is(err, tc.want) || (err == nil && FingerprintOf(gone) != tc.fp) {
			t.Fatalf("%s: removed %v, %v; want %v", tc.name, gone, err, tc.want)
		}
		if held, err := s.TSARoots(); err != nil || !sameCerts(held, tc.held) {
			t.Fatalf("%s: held %v (%v), want %v", tc.name, names(held), err, names(tc.held))
		}
		if roots, err := s.Roots(); err != nil || !sameCerts(roots, []*gm.Certificate{issuer}) {
			t.Fatalf("%s: the issuer roots changed: %v %v", tc.name, names(roots), err)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), tsaRootsFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("removing the last TSA root left the file: %v", err)
	}
}

// TestDamagedTSARoots: a TSA roots file that does not parse is an error,
// never "no TSA roots", and is not overwritten by a new pin.
func TestDamagedTSARoots(t *testing.T) {
	pemData, c := testCert(t, "TSA root", true)
	s := must(Open(filepath.Join(t.TempDir(), "store")))
	path := filepath.Join(s.Dir(), tsaRootsFile)
	damaged := []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	if err := os.WriteFile(path, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TSARoots(); !errors.Is(err, gm.ErrMalformedCertificate) || !bytes.Contains([]byte(err.Error()), []byte("trust add --tsa")) {
		t.Fatalf("damaged: %v", err)
	}
	if _, err := s.AddTSARoot(pemData); err == nil {
		t.Fatal("pinned over a damaged file")
	}
	if _, err := s.RemoveTSARoot(FingerprintOf(c)); err == nil || errors.Is(err, ErrNotPinned) {
		t.Fatalf("remove from a damaged file: %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, damaged) {
		t.Fatal("the damaged file was changed")
	}
}

// TestConcurrentTrustChanges: pins made at once (as by several processes;
// flock excludes each open of the lock file) all survive, issuer roots
// and TSA roots alike.
func TestConcurrentTrustChanges(t *testing.T) {
	const n = 6
	dir := filepath.Join(t.TempDir(), "store")
	var tsas, roots []*gm.Certificate
	var pems [][]byte
	for i := range 2 * n {
		p, c := testCert(t, fmt.Sprintf("root %d", i), true)
		pems = append(pems, p)
		if i%2 == 0 {
			tsas = append(tsas, c)
		} else {
			roots = append(roots, c)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i, p := range pems {
		wg.Go(func() {
			s, err := Open(dir) // one store value per "process"
			if err == nil {
				if i%2 == 0 {
					_, err = s.AddTSARoot(p)
				} else {
					_, err = s.AddRoot(p)
				}
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := must(Open(dir))
	if held := must(s.TSARoots()); !sameSet(held, tsas) {
		t.Fatalf("TSA roots %v, want %v", names(held), names(tsas))
	}
	if held := must(s.Roots()); !sameSet(held, roots) {
		t.Fatalf("roots %v, want %v", names(held), names(roots))
	}
}

func sameCerts(a, b []*gm.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Raw, b[i].Raw) {
			return false
		}
	}
	return true
}

func sameSet(a, b []*gm.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range b {
		found := false
		for _, y := range a {
			found = found || bytes.Equal(x.Raw, y.Raw)
		}
		if !found {
			return false
		}
	}
	return true
}

func names(cs []*gm.Certificate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Subject.CommonName)
	}
	return out
}
