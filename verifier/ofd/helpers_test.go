package ofd_test

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"elicense/certs/ses"
	"elicense/internal/gm"
)

const sampleDir = "../../certs/ofd/testdata/"

func readSample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(sampleDir + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// zipEntries returns a package's entries in order.
func zipEntries(tb testing.TB, data []byte) ([]string, map[string][]byte) {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		names = append(names, f.Name)
		files[f.Name] = b
	}
	return names, files
}

// rezip writes the entries again, with edit applied to each file's
// bytes (nil: drop the file).
func rezip(tb testing.TB, data []byte, edit func(name string, b []byte) []byte) []byte {
	tb.Helper()
	names, files := zipEntries(tb, data)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		b := files[n]
		if !strings.HasSuffix(n, "/") {
			if b = edit(n, b); b == nil {
				continue
			}
		}
		w, err := zw.Create(n)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// changeByte changes one byte of b and keeps XML well-formed: the case
// of the "u" of the declared encoding, or else the middle byte.
func changeByte(b []byte) []byte {
	out := bytes.Clone(b)
	for _, enc := range []string{`encoding="UTF-8"`, `encoding="utf-8"`} {
		if i := bytes.Index(out, []byte(enc)); i >= 0 {
			out[i+len(`encoding="`)] ^= 0x20
			return out
		}
	}
	out[len(out)/2] ^= 0x01
	return out
}

// signatureCerts returns the maker (Seal) or signer (Sign) certificate of
// each signature in a sample, to trust directly.
func sampleTrust(tb testing.TB, data []byte) []*gm.Certificate {
	tb.Helper()
	_, files := zipEntries(tb, data)
	var out []*gm.Certificate
	for name, b := range files {
		if !strings.HasSuffix(name, "SignedValue.dat") {
			continue
		}
		if sig, err := ses.ParseSignature(b); err == nil {
			c, err := sig.TBS.Seal.MakerCertificate()
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, c)
			continue
		}
		c, err := gm.ParseCertificate(cutFirstCert(tb, b))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// cutFirstCert returns the first certificate of a SignedData: the
// SEQUENCE after the [0] tag A0 82 xx xx that opens the certificates.
func cutFirstCert(tb testing.TB, b []byte) []byte {
	tb.Helper()
	// ContentInfo / [0] / SignedData / version, digestAlgorithms,
	// contentInfo, then [0] certificates: find "a0 82" after the
	// contentInfo, which in these samples is at a fixed place.
	i := bytes.Index(b[20:], []byte{0xa0, 0x82})
	if i < 0 {
		tb.Fatal("no certificates in the SignedData")
	}
	start := 20 + i + 4
	l := int(b[start+2])<<8 | int(b[start+3])
	return b[start : start+4+l]
}
