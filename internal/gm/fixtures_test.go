package gm_test

// Fixed artifacts in testdata/fixtures/, made once by gm and by the OpenSSL
// command line, so that the fuzz seeds are stable and the OpenSSL-made data
// is checked even where no openssl binary is installed. Regenerate with
//
//	go test -run '^TestWriteFixtures$' ./internal/gm/ -args -update-fixtures

import (
	"crypto/ecdsa"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"elicense/internal/gm"
)

var updateFixtures = flag.Bool("update-fixtures", false, "rewrite testdata/fixtures (needs openssl)")

// fixturePassphrase encrypts the *-enc.pem fixtures.
const fixturePassphrase = "fixture passphrase"

// fixtureMessage is what openssl-leaf.sig signs (default UID).
const fixtureMessage = "营业执照 fixture message\n"

func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fixtures", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestWriteFixtures(t *testing.T) {
	if !*updateFixtures {
		t.Skip("run with -update-fixtures to rewrite testdata/fixtures")
	}
	dir := filepath.Join("testdata", "fixtures")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	put := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// gm: a ten-year root and leaf, and the leaf key.
	rootKey, leafKey := newKey(t), newKey(t)
	nb := time.Now().Add(-time.Hour).Truncate(time.Hour)
	na := nb.AddDate(10, 0, 0)
	rootTmpl := &gm.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gm fixture root", Organization: []string{"elicense"}},
		NotBefore: nb, NotAfter: na, KeyUsage: gm.KeyUsageCertSign | gm.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true,
	}
	rootDER, err := gm.CreateCertificate(rootTmpl, rootTmpl, rootKey.PublicKey(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, err := gm.ParseCertificate(rootDER)
	if err != nil {
		t.Fatal(err)
	}
	leafDER, err := gm.CreateCertificate(&gm.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "gm fixture leaf"},
		NotBefore: nb, NotAfter: na, KeyUsage: gm.KeyUsageDigitalSignature,
	}, root, leafKey.PublicKey(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	put("gm-root.pem", gm.EncodeCertificatePEM(rootDER))
	put("gm-leaf.pem", gm.EncodeCertificatePEM(leafDER))
	plain, err := gm.MarshalPrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	put("gm-leaf-key.pem", plain)
	enc, err := gm.MarshalEncryptedPrivateKey(leafKey, []byte(fixturePassphrase), &gm.KeyEncryption{Iterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	put("gm-leaf-key-enc.pem", enc)

	// OpenSSL: a root and leaf, the leaf key plain and encrypted, and a
	// signature by the leaf key.
	o := newOpenSSL(t)
	openSSLChain(o)
	o.run("pkcs8", "-topk8", "-nocrypt", "-in", "leaf.key", "-out", "leaf8.key")
	o.write("pw", []byte(fixturePassphrase+"\n"))
	o.run("pkcs8", "-topk8", "-v2", "sm4-cbc", "-v2prf", "hmacWithSHA256", "-iter", "1000",
		"-in", "leaf.key", "-passout", "file:pw", "-out", "leaf-enc.key")
	o.write("msg", []byte(fixtureMessage))
	o.run("pkeyutl", "-sign", "-inkey", "leaf.key", "-rawin", "-digest", "sm3", "-pkeyopt", distID,
		"-in", "msg", "-out", "msg.sig")
	version := o.run("version")
	for from, to := range map[string]string{
		"root.pem": "openssl-root.pem", "leaf.pem": "openssl-leaf.pem",
		"leaf8.key": "openssl-leaf-key.pem", "leaf-enc.key": "openssl-leaf-key-enc.pem", "msg.sig": "openssl-leaf.sig",
	} {
		put(to, o.read(from))
	}
	put("openssl-version.txt", []byte(version))
}

// TestFixtures checks the stored artifacts with gm alone.
func TestFixtures(t *testing.T) {
	certs := func(names ...string) []*gm.Certificate {
		var out []*gm.Certificate
		for _, n := range names {
			cs, err := gm.ParseCertificatesPEM(fixture(t, n))
			if err != nil {
				t.Fatalf("%s: %v", n, err)
			}
			out = append(out, cs...)
		}
		return out
	}
	for _, pair := range [][2]string{{"gm-root.pem", "gm-leaf.pem"}, {"openssl-root.pem", "openssl-leaf.pem"}} {
		cs := certs(pair[0], pair[1])
		root, leaf := cs[0], cs[1]
		at := leaf.NotBefore.Add(time.Minute)
		if err := gm.VerifyChain(leaf, []*gm.Certificate{root}, nil, at); err != nil {
			t.Errorf("%s under %s: %v", pair[1], pair[0], err)
		}
		if err := gm.VerifyChain(leaf, []*gm.Certificate{root}, nil, leaf.NotAfter.Add(time.Minute)); !errors.Is(err, gm.ErrUntrusted) {
			t.Errorf("%s after expiry: %v", pair[1], err)
		}
	}

	for _, prefix := range []string{"gm", "openssl"} {
		leaf := certs(prefix + "-leaf.pem")[0]
		plain, err := gm.ParsePrivateKeyPEM(fixture(t, prefix+"-leaf-key.pem"), nil)
		if err != nil {
			t.Fatalf("%s-leaf-key.pem: %v", prefix, err)
		}
		enc, err := gm.ParsePrivateKeyPEM(fixture(t, prefix+"-leaf-key-enc.pem"), []byte(fixturePassphrase))
		if err != nil {
			t.Fatalf("%s-leaf-key-enc.pem: %v", prefix, err)
		}
		if !plain.Equal(enc) || !plain.PublicKey().Equal(leaf.PublicKey) {
			t.Fatalf("%s: keys and certificate disagree", prefix)
		}
	}

	leaf := certs("openssl-leaf.pem")[0]
	if err := gm.Verify(leaf.PublicKey.(*ecdsa.PublicKey), []byte(fixtureMessage), fixture(t, "openssl-leaf.sig")); err != nil {
		t.Fatalf("openssl-leaf.sig: %v", err)
	}
}
