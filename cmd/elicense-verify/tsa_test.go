package main

import (
	"archive/zip"
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/ses"
	"elicense/certs/tsp"
	"elicense/internal/gm"
	"elicense/issuer/ofdfile"
	"elicense/issuer/service"
	"elicense/verifier/counter"
	"elicense/verifier/store"
)

// testTSA is a time-stamp authority for the tests: a CA root and the TSA
// certificate it issued, which signs RFC 3161 tokens with SM3 and SM2 as
// a GM/T 0033 authority does (the same form as verifier/seal's and the
// conformance kit's test tokens, which are not exported).
type testTSA struct {
	rootPEM []byte
	root    *gm.Certificate
	key     *gm.PrivateKey
	der     []byte
	cert    *gm.Certificate
}

func newTestTSA(t *testing.T, name string) *testTSA {
	t.Helper()
	now := time.Now()
	rootKey := must(gm.GenerateKey())
	rt := &gm.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour), KeyUsage: gm.KeyUsageCertSign | gm.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true}
	rootDER := must(gm.CreateCertificate(rt, rt, rootKey.PublicKey(), rootKey))
	a := &testTSA{rootPEM: gm.EncodeCertificatePEM(rootDER), root: must(gm.ParseCertificate(rootDER)), key: must(gm.GenerateKey())}
	tt := &gm.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: gm.KeyUsageDigitalSignature, ExtKeyUsage: []gm.ExtKeyUsage{gm.ExtKeyUsageTimeStamping}, BasicConstraintsValid: true}
	a.der = must(gm.CreateCertificate(tt, a.root, a.key.PublicKey(), rootKey))
	a.cert = must(gm.ParseCertificate(a.der))
	return a
}

// stamp returns the SES_Signature sigDER with a time-stamp of its value
// at genTime.
func (a *testTSA) stamp(t *testing.T, sigDER []byte, genTime time.Time) []byte {
	t.Helper()
	sig := must(ses.ParseSignature(sigDER))
	v := *sig
	v.Timestamp = &ses.Timestamp{Token: a.token(t, sig.Value, genTime)}
	return must(v.Marshal())
}

// token is a TimeStampToken over SM3(value) at genTime, with signed
// attributes, carrying the TSA certificate.
func (a *testTSA) token(t *testing.T, value []byte, genTime time.Time) []byte {
	t.Helper()
	imprint := gm.SM3(value)
	return must(tsp.Build(tsp.Stamp{Imprint: imprint[:], GenTime: genTime, Policy: asn1.ObjectIdentifier{1, 2, 3, 4}, Serial: 42,
		TSA: a.cert, Signer: a.key}))
}

// stampOFD returns the OFD package src with its SignedValue.dat (a Seal
// signature's SES_Signature) time-stamped by a at its own signing time.
// Signature.xml names the file but does not cover its bytes, so the
// seal still verifies.
func (a *testTSA) stampOFD(t *testing.T, src []byte) []byte {
	t.Helper()
	zr := must(zip.NewReader(bytes.NewReader(src), int64(len(src))))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	stamped := false
	for _, f := range zr.File {
		rc := must(f.Open())
		b := must(io.ReadAll(rc))
		rc.Close()
		if strings.HasSuffix(f.Name, "/SignedValue.dat") {
			sig := must(ses.ParseSignature(b))
			b, stamped = a.stamp(t, b, sig.TBS.TimeInfo.Time()), true
		}
		must(must(zw.Create(f.Name)).Write(b))
	}
	if err := zw.Close(); err != nil || !stamped {
		t.Fatalf("stamp OFD: %v, stamped %v", err, stamped)
	}
	return buf.Bytes()
}

// tsaE2E is an issuer, the counter's store with its root pinned and
// synced, and two time-stamp authorities: the one that stamps, and
// another whose root does not match it.
type tsaE2E struct {
	*verifyE2E
	tsa, other         *testTSA
	tsaRoot, otherRoot string // their roots' PEM files
	dir                string
}

func (e *tsaE2E) fp(a *testTSA) string { return store.FingerprintOf(a.root).String() }

// TestTSAEndToEnd: a seal signature time-stamped by a test TSA, the seal
// revoked at the issuer after the time-stamp. The real elicense-verify
// binary says SEAL_REVOKED while no TSA root is pinned; VALID with the
// time-stamp trusted once the TSA's root is pinned (or given with
// --tsa-root); and SEAL_REVOKED again, the time-stamp checked but not
// trusted (a note says its authority does not chain to a pinned TSA
// root), with only another TSA's root pinned: an unknown authority is
// untrusted, not invalid (SEAL-16 item 5). The same for an OFD file
// sealed with that seal, and a licence's OFD file on the counter page.
func TestTSAEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the issuer")
	}
	e := &tsaE2E{verifyE2E: newVerifyE2E(t), tsa: newTestTSA(t, "test TSA"), other: newTestTSA(t, "other TSA"), dir: t.TempDir()}
	e.tsaRoot, e.otherRoot = filepath.Join(e.dir, "tsa-root.pem"), filepath.Join(e.dir, "other-root.pem")
	os.WriteFile(e.tsaRoot, e.tsa.rootPEM, 0o644)
	os.WriteFile(e.otherRoot, e.other.rootPEM, 0o644)
	if r := e.v("", "trust", "add", filepath.Join(e.s.Data, "pki", "root.crt.pem")); r.code != 0 {
		t.Fatalf("trust add: %+v", r)
	}
	doc, sig, ofdFile, licenceOFD := e.sealed()
	e.checkPinning()
	e.checkSeal(doc, sig)
	e.checkOFD(ofdFile)
	e.checkPage(licenceOFD)
}

// sealed makes a contract seal at the issuer for a holder, seals a
// document and an OFD file with it, time-stamped, and revokes the seal
// after the time-stamp; and fetches a licence's OFD file, time-stamped.
// Then it syncs, so the counter knows of the revocation.
func (e *tsaE2E) sealed() (doc, sig, ofdFile, licenceOFD string) {
	t := e.t
	op := e.s.Operator(t, "business-license")
	holder := must(gm.GenerateKey())
	now := time.Now()
	tmpl := &gm.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "上海浦江示例科技有限公司"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: gm.KeyUsageDigitalSignature}
	certDER := must(gm.CreateCertificate(tmpl, tmpl, holder.PublicKey(), holder))
	var made service.MadeSeal
	req := service.SealRequest{HolderName: "上海浦江示例科技有限公司", HolderCode: "91110000600037341L", Type: ses.TypeContract, SignerCert: certDER}
	if st := e.s.Call(t, "POST", "/v1/seals", op, req, &made); st != 201 {
		t.Fatalf("make seal: %d", st)
	}
	sl := must(ses.ParseSeal(made.DER))
	// Signed (and time-stamped) a second after the seal's start, so that
	// the revocation below, cut to the second, is after the time-stamp.
	time.Sleep(1100 * time.Millisecond)
	at := time.Now().UTC().Truncate(time.Second)
	body := []byte("合同正文：甲方与乙方约定……")
	signed := must(ses.SignDocument(sl, certDER, holder, body, at, "contract.txt"))
	doc, sig = filepath.Join(e.dir, "contract.txt"), filepath.Join(e.dir, "contract.txt.ses")
	os.WriteFile(doc, body, 0o644)
	os.WriteFile(sig, e.tsa.stamp(t, signed.Raw, at), 0o644)

	class, _ := catalog.Default().Lookup("business-license")
	contract := must(ofdfile.Build(&ofdfile.Licence{Class: class, ID: "TSA-TEST-1", IssuerName: "上海浦江示例科技有限公司", Fields: e.samples["business-license"]},
		ofdfile.Sealer{Seal: sl, Cert: certDER, Signer: holder}, ofdfile.Options{At: at}))
	ofdFile = filepath.Join(e.dir, "contract.ofd")
	os.WriteFile(ofdFile, e.tsa.stampOFD(t, contract), 0o644)

	bl := e.issue("business-license")
	var file []byte
	if st := e.s.Call(t, "GET", "/v1/licences/"+bl.ID+"/ofd", op, nil, &file); st != 200 {
		t.Fatalf("GET ofd: %d", st)
	}
	licenceOFD = filepath.Join(e.dir, "licence.ofd")
	os.WriteFile(licenceOFD, e.tsa.stampOFD(t, file), 0o644)

	time.Sleep(1100 * time.Millisecond)
	if st := e.s.Call(t, "POST", "/v1/seals/"+made.ESID+"/revoke", op, map[string]string{"reason": "遗失"}, nil); st != 200 {
		t.Fatalf("revoke seal: %d", st)
	}
	if r := e.v("", "sync", "--from", e.s.URL, "--quiet"); r.code != 0 {
		t.Fatalf("sync: %+v", r)
	}
	return doc, sig, ofdFile, licenceOFD
}

// checkPinning: trust add --tsa refuses a wrong fingerprint and a
// certificate that is no CA, pins the TSA root apart from the issuer
// root, and trust remove --tsa unpins it.
func (e *tsaE2E) checkPinning() {
	t := e.t
	fp := e.fp(e.tsa)
	wrong := "0000" + fp[4:]
	leaf := filepath.Join(e.dir, "tsa-leaf.pem")
	os.WriteFile(leaf, gm.EncodeCertificatePEM(e.tsa.der), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"trust", "list"}, 0, "no TSA root pinned"},
		{[]string{"trust", "add", "--tsa", "--fingerprint", wrong, e.tsaRoot}, 2, "fingerprint mismatch"},
		{[]string{"trust", "add", "--tsa", leaf}, 2, "not a CA certificate"},
		{[]string{"trust", "add", "--tsa", "--fingerprint", strings.ReplaceAll(fp, " ", ":"), e.tsaRoot}, 0, "pinned TSA root \"test TSA root\""},
		{[]string{"trust", "list"}, 0, "TSA root CN=test TSA root\n"},
		{[]string{"trust", "remove", "--tsa", e.fp(e.other)}, 2, "no root with that fingerprint"},
		{append([]string{"trust", "remove", "--tsa"}, strings.Fields(fp)...), 0, "removed TSA root \"test TSA root\""},
	} {
		r := e.v("", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
			t.Fatalf("%v: %+v, want %d and %q", tc.args, r, tc.code, tc.want)
		}
	}
	roots := must(must(store.Open(e.store)).Roots())
	if len(roots) != 1 || !strings.Contains(e.v("", "trust", "list").stdout, "issuer root "+roots[0].Subject.String()) {
		t.Fatal("the issuer root is not listed as one")
	}
}

// checkSeal: seal, text and --json, under each TSA trust.
func (e *tsaE2E) checkSeal(doc, sig string) {
	t := e.t
	type sealOut struct {
		Verdict          string
		TimestampAt      time.Time `json:"timestamp_at"`
		TimestampTrusted bool      `json:"timestamp_trusted"`
		RevokedSince     time.Time `json:"revoked_since"`
	}
	check := func(name string, pin *testTSA, extra []string, code int, verdict string, trusted bool, text ...string) {
		t.Helper()
		e.pinOnly(pin)
		r := e.v("", append(append([]string{"seal"}, extra...), doc, sig)...)
		t.Logf("seal, %s:\n%s", name, r.stdout)
		if r.code != code || r.first() != verdict {
			t.Fatalf("%s: %+v", name, r)
		}
		for _, x := range text {
			if !strings.Contains(r.stdout, x) {
				t.Fatalf("%s: no %q in\n%s", name, x, r.stdout)
			}
		}
		j := e.v("", append(append([]string{"seal", "--json"}, extra...), doc, sig)...)
		var out sealOut
		if err := json.Unmarshal([]byte(j.stdout), &out); err != nil || j.code != code || out.Verdict != verdict || out.TimestampTrusted != trusted ||
			// BAD_TIMESTAMP stops before the seal's status is asked.
			(verdict == "BAD_TIMESTAMP") != out.RevokedSince.IsZero() || (verdict != "BAD_TIMESTAMP" && !out.TimestampAt.Before(out.RevokedSince)) {
			t.Fatalf("%s --json: %v %+v", name, err, j)
		}
	}
	check("no TSA root", nil, nil, 1, "SEAL_REVOKED", false, "time-stamp ", "not trusted (no TSA root pinned")
	check("the TSA's root pinned", e.tsa, nil, 0, "VALID", true, ": trusted (its authority chains to a TSA root)", "after the trusted time-stamp")
	check("the TSA's root given once", nil, []string{"--tsa-root", e.tsaRoot}, 0, "VALID", true, ": trusted")
	check("another TSA's root", e.other, nil, 1, "SEAL_REVOKED", false, ": not trusted (its authority chains to no TSA root given)",
		"note: the time-stamp verifies but is not trusted: its authority \"test TSA\" does not chain to a pinned TSA root")
	check("another TSA's root, and the TSA's once", e.other, []string{"--tsa-root", e.tsaRoot}, 0, "VALID", true, ": trusted")
}

// pinOnly leaves a's root the only TSA root pinned (none for nil).
func (e *tsaE2E) pinOnly(a *testTSA) {
	e.t.Helper()
	for _, x := range []*testTSA{e.tsa, e.other} {
		e.v("", "trust", "remove", "--tsa", e.fp(x))
	}
	if a != nil {
		f := map[*testTSA]string{e.tsa: e.tsaRoot, e.other: e.otherRoot}[a]
		if r := e.v("", "trust", "add", "--tsa", f); r.code != 0 {
			e.t.Fatalf("trust add --tsa: %+v", r)
		}
	}
}

// checkOFD: the OFD file sealed with the revoked seal, time-stamped.
func (e *tsaE2E) checkOFD(file string) {
	t := e.t
	for _, tc := range []struct {
		name       string
		pin        *testTSA
		extra      []string
		sigVerdict string
		trusted    bool
		text       string
	}{
		{"no TSA root", nil, nil, "REVOKED", false, ": not trusted (no TSA root pinned"},
		{"the TSA's root pinned", e.tsa, nil, "VALID", true, ": trusted (its authority chains to a TSA root)"},
		{"the TSA's root given once", nil, []string{"--tsa-root", e.tsaRoot}, "VALID", true, ": trusted"},
		{"another TSA's root", e.other, nil, "REVOKED", false, "does not chain to a pinned TSA root"},
	} {
		e.pinOnly(tc.pin)
		r := e.v("", append(append([]string{"ofd"}, tc.extra...), file)...)
		t.Logf("ofd, %s:\n%s", tc.name, r.stdout)
		if r.code != 1 || !strings.Contains(r.stdout, "): "+tc.sigVerdict+"\n") || !strings.Contains(r.stdout, tc.text) {
			t.Fatalf("ofd, %s: %+v", tc.name, r)
		}
		var out struct {
			Verdict    string
			Signatures []struct {
				Verdict          string
				TimestampAt      time.Time `json:"timestamp_at"`
				TimestampTrusted bool      `json:"timestamp_trusted"`
			}
		}
		j := e.v("", append(append([]string{"ofd", "--json"}, tc.extra...), file)...)
		if err := json.Unmarshal([]byte(j.stdout), &out); err != nil || len(out.Signatures) != 1 {
			t.Fatalf("ofd --json, %s: %v %+v", tc.name, err, j)
		}
		// The document is sealed by the holder, not a licence's agency: at
		// best LICENCE_NOT_GENUINE, but REVOKED only while the seal is.
		s := out.Signatures[0]
		if s.Verdict != tc.sigVerdict || s.TimestampTrusted != tc.trusted || (tc.sigVerdict != "SIGNATURE_INVALID" && s.TimestampAt.IsZero()) ||
			(out.Verdict == "REVOKED") != (tc.sigVerdict == "REVOKED") {
			t.Fatalf("ofd --json, %s: %s", tc.name, j.stdout)
		}
	}
}

// checkPage: a licence's OFD file, time-stamped, uploaded to the counter
// page: the TSA root pinned while serve runs counts from the next upload.
func (e *tsaE2E) checkPage(file string) {
	t := e.t
	e.pinOnly(nil)
	page := launchServe(t, e.bin, e.store, "--sync-every", "0")
	data := must(os.ReadFile(file))
	upload := func() counter.OFDResult {
		req, _ := http.NewRequest("POST", page.base+"/api/ofd", bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/ofd")
		req.Header.Set(counter.TokenHeader, page.token)
		resp := must(http.DefaultClient.Do(req))
		defer resp.Body.Close()
		var res counter.OFDResult
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != 200 || len(res.Signatures) != 1 {
			t.Fatalf("ofd upload: %d %v %+v", resp.StatusCode, err, res)
		}
		return res
	}
	if res := upload(); res.Code != "VALID" || res.Signatures[0].TimestampAt.IsZero() || res.Signatures[0].TimestampTrusted {
		t.Fatalf("page, no TSA root: %+v", res)
	}
	e.pinOnly(e.tsa)
	if res := upload(); res.Code != "VALID" || !res.Signatures[0].TimestampTrusted {
		t.Fatalf("page, the TSA's root pinned: %+v", res)
	}
	// Another TSA's root only: the time-stamp is untrusted, as with none,
	// and the licence file VALID, not refused.
	e.pinOnly(e.other)
	if res := upload(); res.Code != "VALID" || res.Signatures[0].TimestampAt.IsZero() || res.Signatures[0].TimestampTrusted {
		t.Fatalf("page, another TSA's root: %+v", res)
	}
}
