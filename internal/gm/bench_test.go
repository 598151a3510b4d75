package gm_test

// Benchmarks, benchstat-friendly:
//
//	go test -run='^$' -bench=. -benchtime=2s -count=6 ./internal/gm/ | tee new.txt
//	benchstat old.txt new.txt
//
// BenchmarkTjfoc measures tjfoc/gmsm v1.4.1 on the same inputs, the measured
// reason DESIGN.md §3 gives for building on emmansun/gmsm.

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	tjsm2 "github.com/tjfoc/gmsm/sm2"
	tjsm3 "github.com/tjfoc/gmsm/sm3"
	tjx509 "github.com/tjfoc/gmsm/x509"

	"elicense/internal/gm"
)

// benchMessage is the 256-byte message the SM2 benchmarks sign.
var benchMessage = bytes.Repeat([]byte("elicense"), 32)

func BenchmarkSign(b *testing.B) {
	k := newKey(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gm.Sign(k, benchMessage); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	k := newKey(b)
	der, err := gm.Sign(k, benchMessage)
	if err != nil {
		b.Fatal(err)
	}
	pub := k.PublicKey()
	b.ReportAllocs()
	for b.Loop() {
		if err := gm.Verify(pub, benchMessage, der); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRS(b *testing.B) {
	k := newKey(b)
	rs, err := gm.SignRS(k, benchMessage)
	if err != nil {
		b.Fatal(err)
	}
	pub := k.PublicKey()
	b.ReportAllocs()
	for b.Loop() {
		if err := gm.VerifyRS(pub, benchMessage, rs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSM3_1KiB(b *testing.B) {
	data := make([]byte, 1024)
	rand.Read(data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		gm.SM3(data)
	}
}

func BenchmarkGenerateKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gm.GenerateKey(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCertificate(b *testing.B) {
	c := newChain(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gm.ParseCertificate(c.leafDER); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyChain verifies an already parsed leaf against its root
// (one SM2 signature plus chain building).
func BenchmarkVerifyChain(b *testing.B) {
	c := newChain(b)
	roots := []*gm.Certificate{c.root}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if err := gm.VerifyChain(c.leaf, roots, nil, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseAndVerifyCertificate is the X.509 figure DESIGN.md quotes:
// parse a DER leaf and check its SM2 signature against the parsed root.
func BenchmarkParseAndVerifyCertificate(b *testing.B) {
	c := newChain(b)
	b.ReportAllocs()
	for b.Loop() {
		leaf, err := gm.ParseCertificate(c.leafDER)
		if err != nil {
			b.Fatal(err)
		}
		if err := leaf.CheckSignatureFrom(c.root); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTjfoc runs the same operations with tjfoc/gmsm v1.4.1.
func BenchmarkTjfoc(b *testing.B) {
	k, err := tjsm2.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Sign(rand.Reader, benchMessage, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		der, err := k.Sign(rand.Reader, benchMessage, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if !k.PublicKey.Verify(benchMessage, der) {
				b.Fatal("verify failed")
			}
		}
	})
	b.Run("keygen", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tjsm2.GenerateKey(rand.Reader); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sm3_1KiB", func(b *testing.B) {
		data := make([]byte, 1024)
		rand.Read(data)
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			tjsm3.Sm3Sum(data)
		}
	})
	b.Run("cert_parse_verify", func(b *testing.B) {
		// The same gm-made chain, parsed and checked by tjfoc.
		c := newChain(b)
		root, err := tjx509.ParseCertificate(c.rootDER)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			leaf, err := tjx509.ParseCertificate(c.leafDER)
			if err != nil {
				b.Fatal(err)
			}
			if err := leaf.CheckSignatureFrom(root); err != nil {
				b.Fatal(err)
			}
		}
	})
}
