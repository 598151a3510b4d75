package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"elicense/certs/ses"
	"elicense/internal/gm"
)

const ofdSamples = "../../certs/ofd/testdata/"

// modifyOFD rewrites the zip at src with one byte of the entry name
// changed (keeping its XML well-formed: the case of the encoding's "u").
func modifyOFD(t *testing.T, src []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name == name {
			i := bytes.Index(b, []byte(`encoding="UTF-8"`))
			if i < 0 {
				t.Fatalf("%s has no encoding declaration", name)
			}
			b[i+len(`encoding="`)] ^= 0x20
		}
		w, _ := zw.Create(f.Name)
		w.Write(b)
	}
	zw.Close()
	return buf.Bytes()
}

// TestOFDE2E runs the built binary on the samples and on a modified copy.
func TestOFDE2E(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "store")

	// The tax sample's maker certificate, trusted directly (PEM).
	tax, err := os.ReadFile(ofdSamples + "tax-seal.ofd")
	if err != nil {
		t.Fatal(err)
	}
	zr, _ := zip.NewReader(bytes.NewReader(tax), int64(len(tax)))
	var value []byte
	for _, f := range zr.File {
		if f.Name == "Doc_0/Signs/Sign_0/SignedValue.dat" {
			rc, _ := f.Open()
			value, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	sig, err := ses.ParseSignature(value)
	if err != nil {
		t.Fatal(err)
	}
	maker := filepath.Join(dir, "maker.pem")
	os.WriteFile(maker, gm.EncodeCertificatePEM(sig.TBS.Seal.MakerCert), 0o600)
	modified := filepath.Join(dir, "modified.ofd")
	os.WriteFile(modified, modifyOFD(t, tax, "Doc_0/Pages/Page_0/Content.xml"), 0o600)
	garbage := filepath.Join(dir, "garbage.ofd")
	os.WriteFile(garbage, []byte("not a zip"), 0o600)
	taxPath := ofdSamples + "tax-seal.ofd"
	// The GM/T 0010 sample without its second signature, which alone
	// protects OFD.xml; its first signer trusted directly.
	gmt, err := os.ReadFile(ofdSamples + "gmt0010-sign.ofd")
	if err != nil {
		t.Fatal(err)
	}
	oneSign := filepath.Join(dir, "one-sign.ofd")
	os.WriteFile(oneSign, rewriteOFD(t, gmt, "Doc_0/Signs/Signatures.xml", func(b []byte) []byte {
		i, j := bytes.Index(b, []byte(`<ofd:Signature ID="2"`)), bytes.Index(b, []byte(`</ofd:Signatures>`))
		return append(bytes.Clone(b[:i]), b[j:]...)
	}), 0o600)
	signer0 := filepath.Join(dir, "signer0.pem")
	os.WriteFile(signer0, gm.EncodeCertificatePEM(firstCert(t, zipFile(t, gmt, "Doc_0/Signs/Sign_0/SignedValue.dat"))), 0o600)

	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		verdict string
		sigs    []string
	}{
		{"valid as of signing, maker trusted", []string{"ofd", "--as-of-signing", "--trust", maker, "--json", taxPath}, 0, "VALID", []string{"VALID"}},
		{"maker not trusted", []string{"ofd", "--as-of-signing", "--json", taxPath}, 1, "UNTRUSTED_MAKER", []string{"UNTRUSTED_MAKER"}},
		{"trusted, checked now", []string{"ofd", "--trust", maker, "--json", taxPath}, 1, "EXPIRED", []string{"EXPIRED"}},
		{"modified page", []string{"ofd", "--as-of-signing", "--trust", maker, "--json", modified}, 1, "DOCUMENT_MODIFIED", []string{"DOCUMENT_MODIFIED"}},
		{"modified, untrusted", []string{"ofd", "--json", modified}, 1, "DOCUMENT_MODIFIED", []string{"DOCUMENT_MODIFIED"}},
		{"not an OFD", []string{"ofd", "--json", garbage}, 2, "MALFORMED", nil},
		{"one of two signatures, trusted: OFD.xml unprotected", []string{"ofd", "--json", "--as-of-signing", "--trust", signer0, oneSign}, 1, "PARTIALLY_PROTECTED", []string{"VALID"}},
		{"two Sign signatures, untrusted", []string{"ofd", "--json", "--as-of-signing", ofdSamples + "gmt0010-sign.ofd"}, 1, "UNTRUSTED_SIGNER", []string{"UNTRUSTED_SIGNER", "UNTRUSTED_SIGNER"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runVerify(t, bin, store, "", tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", r.code, tc.code, r.stdout, r.stderr)
			}
			var out struct {
				Verdict    string `json:"verdict"`
				Signatures []struct {
					Verdict string `json:"verdict"`
				} `json:"signatures"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || strings.Count(strings.TrimSpace(r.stdout), "\n") != 0 {
				t.Fatalf("not one JSON object: %v\n%s", err, r.stdout)
			}
			var got []string
			for _, s := range out.Signatures {
				got = append(got, s.Verdict)
			}
			if out.Verdict != tc.verdict || strings.Join(got, ",") != strings.Join(tc.sigs, ",") {
				t.Fatalf("verdict %s %v, want %s %v", out.Verdict, got, tc.verdict, tc.sigs)
			}
		})
	}

	// Text output names each signature; --help has examples; seal --help
	// shows the flags ofd shares with it.
	r := runVerify(t, bin, store, "", "ofd", "--as-of-signing", "--trust", maker, "--lang", "en", taxPath)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "VALID ") || !strings.Contains(r.stdout, "signature 2 (Seal, Doc_0/Signs/Sign_0/Signature.xml): VALID") {
		t.Fatalf("text: %d\n%s", r.code, r.stdout)
	}
	for _, c := range []string{"ofd", "seal"} {
		h := runVerify(t, bin, store, "", c, "--help")
		for _, want := range []string{"-store", "-as-of-signing", "Examples:"} {
			if h.code != 0 || !strings.Contains(h.stdout, want) {
				t.Errorf("%s --help lacks %s", c, want)
			}
		}
	}
	if h := runVerify(t, bin, store, "", "ofd", "--help"); !strings.Contains(h.stdout, "-trust") || !strings.Contains(h.stdout, "-json") {
		t.Error("ofd --help lacks --trust or --json")
	}
	if u := runVerify(t, bin, store, "", "ofd"); u.code != 2 {
		t.Errorf("no file: exit %d", u.code)
	}
}

// zipFile returns one file of a zip.
func zipFile(t *testing.T, data []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == name {
			rc, _ := f.Open()
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("no %s", name)
	return nil
}

// rewriteOFD zips data's entries again, with edit applied to name.
func rewriteOFD(t *testing.T, data []byte, name string, edit func([]byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		b := zipFile(t, data, f.Name)
		if f.Name == name {
			b = edit(b)
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// firstCert is the first certificate of a GM/T 0010 SignedData: the
// SEQUENCE after the [0] IMPLICIT tag (A0 82 len) that opens them.
func firstCert(t *testing.T, sd []byte) []byte {
	t.Helper()
	i := bytes.Index(sd[20:], []byte{0xa0, 0x82})
	if i < 0 {
		t.Fatal("no certificates in the SignedData")
	}
	start := 20 + i + 4
	return sd[start : start+4+(int(sd[start+2])<<8|int(sd[start+3]))]
}

// A file larger than any OFD package may be is refused before it is read.
func TestOFDFileTooLarge(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.ofd")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxOFDFile + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	r := runIn(t, "ofd", "--store", filepath.Join(dir, "store"), big)
	if r.code != exitUsage || !strings.Contains(r.stderr, "larger than") {
		t.Fatalf("%+v", r)
	}
}
