package main

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"elicense/internal/gm"
	"elicense/internal/issuertest"
)

// TestLicenceFileStatus: a counter verifying a licence file (the sealed
// OFD) judges the licence it carries, not only its seal. The file of a
// valid licence is VALID once the counter has synced; before, its status
// is LICENCE_UNCHECKED. The same file re-sealed with another seal the
// agency made (a company's, chaining to the same root) is
// LICENCE_NOT_GENUINE although that seal's signature is valid; once the
// licence is revoked, its genuine, unchanged file is LICENCE_NOT_VALID.
func TestLicenceFileStatus(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	s := startServer(t, data)
	admin := readToken(t, data)
	samples := loadSamples(t)
	const class = "business-license"
	var tok struct{ Token string }
	if st := s.call(t, "POST", "/v1/tokens", admin, map[string]any{"subject": "clerk", "role": "operator", "agency": issuertest.AgencyOf(t, data, class), "ttl": "1h"}, &tok); st != 201 {
		t.Fatalf("token: %d", st)
	}
	var l serveLicence
	if st := s.call(t, "POST", "/v1/licences", tok.Token, map[string]any{"class": class, "fields": samples[class]}, &l); st != 201 {
		t.Fatalf("issue: %d", st)
	}
	var file []byte
	if st := s.call(t, "GET", "/v1/licences/"+l.ID+"/ofd", tok.Token, nil, &file); st != 200 {
		t.Fatalf("ofd: %d", st)
	}
	genuine := filepath.Join(dir, "licence.ofd")
	os.WriteFile(genuine, file, 0o600)

	// Another seal of the same maker: a company's contract seal.
	pass := filepath.Join(dir, "holder.pass")
	os.WriteFile(pass, []byte("holder secret\n"), 0o600)
	key, cert, sealFile := filepath.Join(dir, "h.key.pem"), filepath.Join(dir, "h.crt.pem"), filepath.Join(dir, "h.esl")
	elicense(t, nil, "seal", "keygen", "--name", "上海浦江示例网络科技有限公司", "--key-out", key, "--cert-out", cert, "--passphrase-file", pass).want(t, 0)
	elicense(t, nil, "seal", "make", "--agency", issuertest.AgencyOf(t, data, class), "--holder-name", "上海浦江示例网络科技有限公司",
		"--holder-code", "91310115MA1FPA014G", "--type", "4", "--signer-cert", cert, "--out", sealFile, "--server", s.url, "--token-file", filepath.Join(data, "admin.token")).want(t, 0)
	const sigXML, sigValue = "Doc_0/Signs/Sign_0/Signature.xml", "Doc_0/Signs/Sign_0/SignedValue.dat"
	sx := filepath.Join(dir, "Signature.xml")
	os.WriteFile(sx, zipEntryBytes(t, file, sigXML), 0o600)
	elicense(t, []string{"ELICENSE_SEAL_PASSPHRASE=holder secret"}, "seal", "sign", "--seal", sealFile, "--key", key, "--cert", cert, sx).want(t, 0)
	resealed, err := os.ReadFile(sx + ".ses")
	if err != nil {
		t.Fatal(err)
	}
	forged := filepath.Join(dir, "forged.ofd")
	os.WriteFile(forged, replaceZipEntry(t, file, sigValue, resealed), 0o600)

	// The same, with the metadata that makes it a licence file stripped
	// (OFD.xml's 证照标识 and 证照二维码) and its new digest in Signature.xml.
	ofdXML := regexp.MustCompile(`<ofd:CustomData Name="(证照标识|证照二维码)">[^<]*</ofd:CustomData>`).ReplaceAll(zipEntryBytes(t, file, "OFD.xml"), nil)
	sum := gm.SM3(ofdXML)
	strippedSig := regexp.MustCompile(`(FileRef="/OFD.xml"><ofd:CheckValue>)[^<]*`).ReplaceAll(zipEntryBytes(t, file, sigXML), []byte("${1}"+base64.StdEncoding.EncodeToString(sum[:])))
	os.WriteFile(sx, strippedSig, 0o600)
	elicense(t, []string{"ELICENSE_SEAL_PASSPHRASE=holder secret"}, "seal", "sign", "--seal", sealFile, "--key", key, "--cert", cert, sx).want(t, 0)
	resealed, err = os.ReadFile(sx + ".ses")
	if err != nil {
		t.Fatal(err)
	}
	stripped := filepath.Join(dir, "stripped.ofd")
	b := replaceZipEntry(t, file, "OFD.xml", ofdXML)
	b = replaceZipEntry(t, b, sigXML, strippedSig)
	os.WriteFile(stripped, replaceZipEntry(t, b, sigValue, resealed), 0o600)

	verify, err := buildVerify()
	if err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "counter")
	check := func(args ...string) (string, int) {
		t.Helper()
		full := append([]string{args[0], "--store", store}, args[1:]...)
		if args[0] == "trust" {
			full = append([]string{"trust", args[1], "--store", store}, args[2:]...)
		}
		cmd := exec.Command(verify, full...)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	type report struct {
		Verdict    string
		Signatures []struct{ Verdict string }
		Licence    *struct {
			Verdict, ID, Holder string
			QR                  *struct{ Code string }
		}
	}
	want := func(name, path string, code int, verdict, sigVerdict, licence, qr string) {
		t.Helper()
		out, c := check("ofd", "--json", path)
		var r report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		got := []string{r.Verdict, "", "", ""}
		if len(r.Signatures) == 1 {
			got[1] = r.Signatures[0].Verdict
		}
		if r.Licence != nil {
			got[2] = r.Licence.Verdict
			if r.Licence.QR != nil {
				got[3] = r.Licence.QR.Code
			}
			if r.Licence.ID != l.ID {
				t.Errorf("%s: licence %q, want %q", name, r.Licence.ID, l.ID)
			}
		}
		if c != code || strings.Join(got, " ") != strings.Join([]string{verdict, sigVerdict, licence, qr}, " ") {
			t.Errorf("%s: exit %d %v, want %d %s %s %s %s\n%s", name, c, got, code, verdict, sigVerdict, licence, qr, out)
		}
	}
	if out, c := check("trust", "add", filepath.Join(data, "pki", "root.crt.pem")); c != 0 {
		t.Fatalf("trust add: %s", out)
	}
	want("unsynced", genuine, 1, "LICENCE_UNCHECKED", "VALID", "LICENCE_UNCHECKED", "NO_TRUST")
	if out, c := check("sync", "--from", s.url); c != 0 {
		t.Fatalf("sync: %s", out)
	}
	want("genuine", genuine, 0, "VALID", "VALID", "VALID", "VALID_STATIC")
	want("re-sealed by another seal", forged, 1, "LICENCE_NOT_GENUINE", "VALID", "LICENCE_NOT_GENUINE", "VALID_STATIC")
	if out, _ := check("ofd", genuine); !strings.Contains(out, "licence "+l.ID) {
		t.Errorf("the text output does not name the licence:\n%s", out)
	}
	// Stripped of its licence metadata, the company-sealed page is a
	// document whose signatures hold, and is said to be no licence file.
	want("stripped and re-sealed", stripped, 0, "VALID", "VALID", "", "")
	if out, _ := check("ofd", stripped); !strings.Contains(out, "not a licence file") || !strings.Contains(out, "合同专用章") {
		t.Errorf("the text output does not say the stripped file is no licence file, sealed by the company:\n%s", out)
	}

	if st := s.call(t, "POST", "/v1/licences/"+l.ID+"/revoke", tok.Token, map[string]string{"reason": "吊销"}, nil); st != 200 {
		t.Fatalf("revoke: %d", st)
	}
	if out, c := check("sync", "--from", s.url); c != 0 {
		t.Fatalf("sync: %s", out)
	}
	want("revoked", genuine, 1, "LICENCE_NOT_VALID", "VALID", "LICENCE_NOT_VALID", "REVOKED")
	if out, _ := check("ofd", "--lang", "en", genuine); !strings.Contains(out, "no longer valid") || !strings.Contains(out, "REVOKED") {
		t.Errorf("the text output does not say the licence is revoked:\n%s", out)
	}
}

// zipEntryBytes returns the bytes of one entry of a zip.
func zipEntryBytes(t *testing.T, data []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// replaceZipEntry writes data's entries again, name's with b.
func replaceZipEntry(t *testing.T, data []byte, name string, b []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		content := b
		if f.Name != name {
			content = zipEntryBytes(t, data, f.Name)
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
