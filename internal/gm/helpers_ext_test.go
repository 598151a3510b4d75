package gm_test

import (
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"elicense/internal/gm"
)

// newKey returns a fresh SM2 key or stops the test.
func newKey(tb testing.TB) *gm.PrivateKey {
	tb.Helper()
	k, err := gm.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// testChain is a self-signed root and a leaf it issued, made by gm.
type testChain struct {
	rootKey, leafKey    *gm.PrivateKey
	rootDER, leafDER    []byte
	root, leaf          *gm.Certificate
	notBefore, notAfter time.Time
}

// newChain issues a root (CA, certSign) and a leaf (digitalSignature) with
// gm.CreateCertificate, valid from an hour ago for a day.
func newChain(tb testing.TB) *testChain {
	tb.Helper()
	c := &testChain{rootKey: newKey(tb), leafKey: newKey(tb)}
	c.notBefore = time.Now().Add(-time.Hour).Truncate(time.Second)
	c.notAfter = c.notBefore.Add(24 * time.Hour)
	rootTmpl := &gm.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "elicense interop root", Organization: []string{"elicense"}},
		NotBefore:             c.notBefore,
		NotAfter:              c.notAfter,
		KeyUsage:              gm.KeyUsageCertSign | gm.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	var err error
	if c.rootDER, err = gm.CreateCertificate(rootTmpl, rootTmpl, c.rootKey.PublicKey(), c.rootKey); err != nil {
		tb.Fatal(err)
	}
	if c.root, err = gm.ParseCertificate(c.rootDER); err != nil {
		tb.Fatal(err)
	}
	leafTmpl := &gm.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "上海市市场监督管理局 signing key"},
		NotBefore:    c.notBefore,
		NotAfter:     c.notAfter,
		KeyUsage:     gm.KeyUsageDigitalSignature,
	}
	if c.leafDER, err = gm.CreateCertificate(leafTmpl, c.root, c.leafKey.PublicKey(), c.rootKey); err != nil {
		tb.Fatal(err)
	}
	if c.leaf, err = gm.ParseCertificate(c.leafDER); err != nil {
		tb.Fatal(err)
	}
	return c
}
