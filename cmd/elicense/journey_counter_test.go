package main

import (
	"bytes"
	"compress/zlib"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"elicense/internal/base45"
	"elicense/internal/gm"
	"elicense/verifier/store"
)

// journeyVerdict is the verdict code a check printed first.
func journeyVerdict(r result) string { code, _, _ := strings.Cut(r.stdout, " "); return code }

// wantJourneyVerdict checks a counter's verdict and exit status (0 for VALID
// and VALID_STATIC, 1 for any other verdict).
func wantJourneyVerdict(t *testing.T, what string, r result, code string) {
	t.Helper()
	exit := 1
	if code == "VALID" || code == "VALID_STATIC" {
		exit = 0
	}
	if journeyVerdict(r) != code || r.code != exit {
		t.Fatalf("%s: %s, exit %d; want %s, exit %d\nstdout:\n%s\nstderr:\n%s", what, journeyVerdict(r), r.code, code, exit, r.stdout, r.stderr)
	}
}

// counterSetup: the counter pins the root with the fingerprint the
// issuer's administrator read out (a wrong one pins nothing), and syncs.
func (j *journey) counterSetup(t *testing.T) {
	pem, err := os.ReadFile(j.root)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := gm.ParseCertificatesPEM(pem)
	if err != nil || len(certs) != 1 {
		t.Fatalf("root certificate: %v", err)
	}
	fp := store.FingerprintOf(certs[0]).String()
	wrong := strings.Repeat("0", len(strings.ReplaceAll(fp, " ", "")))
	if r := j.verify(t, "trust", "add", "--fingerprint", wrong, j.root); r.code == 0 {
		t.Fatalf("pinned a root against a wrong fingerprint: %+v", r)
	}
	if r := j.verify(t, "sync", "--from", j.url); r.code != exitUsage || !strings.Contains(r.stderr, "trust add") {
		t.Fatalf("sync with nothing pinned: %+v", r)
	}
	if out := j.verify(t, "trust", "add", "--fingerprint", fp, j.root).want(t, 0).stdout; !strings.Contains(out, "SM3 fingerprint: "+fp) {
		t.Fatalf("trust add:\n%s", out)
	}
	if out := j.verify(t, "sync", "--from", j.url, "--quiet").want(t, 0).stdout; !strings.HasPrefix(out, "OK synced trust bundle") {
		t.Fatalf("sync:\n%s", out)
	}
}

// present has the CLI wallet make a fresh presentation of its copy.
func (j *journey) present(t *testing.T, args ...string) string {
	t.Helper()
	// A presentation is signed with its time in seconds: two made in one
	// second are one presentation, and the second is REPLAYED. A holder
	// never shows two in a second; the journey waits for the next one.
	if next := j.lastPresented.Truncate(time.Second).Add(time.Second); time.Now().Before(next) {
		time.Sleep(time.Until(next))
	}
	out := j.wallet(t, append([]string{"present", j.cliCopy}, args...)...).want(t, 0).stdout
	j.lastPresented = time.Now() // not before the wallet's signing time
	text, _, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(text, "EL2:") {
		t.Fatalf("present printed %q", out)
	}
	return text
}

// journeyStatusAge is the status age a counter's verdict shows.
var journeyStatusAge = regexp.MustCompile(`(?m)^  状态数据时长: (\S+)$`)

// presentation: the holder shows a presentation disclosing 住所 (and
// keeps a screenshot of it); the counter accepts it once, with the
// fields it shows, refuses the same text again, and refuses the
// screenshot scanned after the presentation window.
func (j *journey) presentation(t *testing.T) {
	shot := filepath.Join(j.dir, "presentation.png")
	text := j.present(t, "--disclose", "domicile", "--png", shot)
	r := j.verify(t, "check", text)
	wantJourneyVerdict(t, "a fresh presentation", r, "VALID")
	for _, want := range []string{"  证照: 营业执照\n", "  持证主体: " + j.fields["name"] + "\n", "  证照标识: " + j.bl.ID + "\n",
		"  颁发机构: " + j.agencies[j.bl.Agency] + " (" + j.bl.Agency + ")\n", "  出示信息:\n",
		"    住所: " + j.fields["domicile"] + "\n", ": " + j.fields["legal_rep"] + "\n", ": " + j.fields["term"] + "\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the VALID verdict does not show %q:\n%s", want, r.stdout)
		}
	}
	for _, hidden := range []string{j.fields["business_scope"], j.fields["registered_capital"]} {
		if strings.Contains(r.stdout, hidden) {
			t.Errorf("the counter shows %q, which the holder did not disclose", hidden)
		}
	}
	if !journeyStatusAge.MatchString(r.stdout) {
		t.Errorf("the verdict shows no status age:\n%s", r.stdout)
	}
	t.Logf("the counter on a fresh presentation:\n%s", r.stdout)
	wantJourneyVerdict(t, "the same text again", j.verify(t, "check", text), "REPLAYED")
	later := time.Now().Add(2 * time.Minute).Format(time.RFC3339)
	r = j.verify(t, "image", "--at", later, shot)
	wantJourneyVerdict(t, "its screenshot two minutes later", r, "PRESENTATION_EXPIRED")
	t.Logf("the counter on the screenshot two minutes later:\n%s", r.stdout)
}

// forgery: someone edits the company name in a fresh presentation (the
// QR text decoded, the name's bytes changed, encoded again); the issuer's
// signature over it no longer verifies.
func (j *journey) forgery(t *testing.T) {
	text := j.present(t)
	raw, err := base45.Decode(strings.TrimPrefix(text, "EL2:"))
	if err != nil {
		t.Fatal(err)
	}
	if raw[0] == 0x78 { // zlib, for long presentations
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	name := []byte(j.fields["name"])
	if !bytes.Contains(raw, name) {
		t.Fatalf("the presentation does not carry the holder's name %s", name)
	}
	forgedName := bytes.Replace(name, []byte("科技"), []byte("贸易"), 1) // same length: the CBOR stays well formed
	forged := "EL2:" + base45.Encode(bytes.Replace(raw, name, forgedName, 1))
	wantJourneyVerdict(t, "a forged presentation", j.verify(t, "check", forged), "BAD_SIGNATURE")
}

// staticQR: the static QR on the licence face (Chromium's screenshot),
// the PNG the README's tour fetches and the one `elicense qr` writes
// for paper all verify as VALID_STATIC, as often as they are scanned.
func (j *journey) staticQR(t *testing.T) {
	op := j.ops[j.bl.Agency]
	var png []byte
	if st := j.call(t, "GET", "/v1/licences/"+j.bl.ID+"/qr?format=png&scale=4", op, nil, &png); st != http.StatusOK {
		t.Fatalf("GET qr: HTTP %d", st)
	}
	tourPNG := filepath.Join(j.dir, "qr.png")
	tokFile := filepath.Join(j.dir, "op.token")
	paperPNG := filepath.Join(j.dir, "licence.png")
	if err := os.WriteFile(tourPNG, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokFile, []byte(op+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	elicense(t, nil, "qr", "--server", j.url, "--token-file", tokFile, "--out", paperPNG, j.bl.ID).want(t, exitOK)
	face := j.scanFace(t)
	for _, c := range []struct{ what, file string }{{"the face's QR", face}, {"the tour's qr.png", tourPNG}, {"elicense qr's PNG", paperPNG}, {"the face's QR again", face}} {
		r := j.verify(t, "image", c.file)
		wantJourneyVerdict(t, c.what, r, "VALID_STATIC")
		if !strings.Contains(r.stdout, "  持证主体: "+j.fields["name"]+"\n") || !strings.Contains(r.stdout, "  证照标识: "+j.bl.ID+"\n") {
			t.Errorf("%s: the verdict does not name the licence:\n%s", c.what, r.stdout)
		}
	}
	wantJourneyVerdict(t, "the static QR text of the issuance answer", j.verify(t, "check", j.bl.QR), "VALID_STATIC")
}

// scanFace returns the first capture of the face's QR the counter finds a
// QR code in. The decoder (gozxing, verifier/scan) misses about one clean
// 600-pixel capture in 25; a clerk then scans again, and the second
// capture, at another scale, stands for that.
func (j *journey) scanFace(t *testing.T) string {
	t.Helper()
	for _, f := range j.faceQR {
		r := j.verify(t, "image", f)
		if r.code == 2 && strings.Contains(r.stderr, "no QR code found") {
			j.checks-- // not a check: nothing logged
			t.Logf("the counter found no QR code in %s; scanning again", filepath.Base(f))
			continue
		}
		wantJourneyVerdict(t, "the face's QR", r, "VALID_STATIC")
		return f
	}
	t.Fatalf("the counter found no QR code in any capture of the licence face: %v", j.faceQR)
	return ""
}

// revoke: the agency's clerk revokes the 营业执照 (吊销).
func (j *journey) revoke(t *testing.T) {
	var l journeyLicence
	if st := j.call(t, "POST", "/v1/licences/"+j.bl.ID+"/revoke", j.ops[j.bl.Agency], map[string]string{"reason": "吊销"}, &l); st != http.StatusOK || l.Status != "revoked" {
		t.Fatalf("revoke: HTTP %d %+v", st, l)
	}
}

// afterRevoke: the holder's wallet has not refreshed and still presents;
// the counter, not synced since, says VALID and how old its status data
// is; once synced it says REVOKED. The wallet, refreshed, refuses to
// present.
func (j *journey) afterRevoke(t *testing.T) {
	r := j.verify(t, "check", j.present(t))
	wantJourneyVerdict(t, "before the counter syncs", r, "VALID")
	m := journeyStatusAge.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("the verdict before sync shows no status age:\n%s", r.stdout)
	}
	if age, err := time.ParseDuration(m[1]); err != nil || age < 0 {
		t.Fatalf("status age %q: %v", m[1], err)
	}
	t.Logf("the counter before it syncs:\n%s", r.stdout)
	// The issuer publishes the change within about a second: sync until
	// the counter sees it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		// BEHIND (exit 1): a list not yet at the bundle's version; again.
		if s := j.verify(t, "sync", "--quiet"); s.code != 0 && !strings.HasPrefix(s.stdout, "BEHIND") {
			t.Fatalf("sync: %+v", s)
		}
		r = j.verify(t, "check", j.present(t))
		if journeyVerdict(r) != "VALID" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	wantJourneyVerdict(t, "after the counter synced", r, "REVOKED")
	if !strings.Contains(r.stdout, "  状态: revoked") {
		t.Errorf("the REVOKED verdict does not show the status:\n%s", r.stdout)
	}
	t.Logf("the counter after it synced:\n%s", r.stdout)
	if out := j.wallet(t, "refresh").want(t, 0).stdout; !strings.Contains(out, j.cliCopy+"\trevoked") {
		t.Fatalf("wallet refresh:\n%s", out)
	}
	if r := j.wallet(t, "present", j.cliCopy); r.code != 3 || r.stdout != "" || !strings.Contains(r.stderr, "请联系颁发机构") {
		t.Fatalf("present after the wallet learnt of the revocation: %+v, want exit 3 and the reason", r)
	}
}

// receipts: the counter uploads its receipts under a counter token the
// admin minted offline with `elicense token create`.
func (j *journey) receipts(t *testing.T) {
	tok := elicense(t, nil, "token", "create", "--data", j.data, "--subject", j.counterName, "--role", "counter",
		"--agency", j.bl.Agency, "--ttl", "8784h").want(t, exitOK).stdout
	tf := filepath.Join(j.dir, "counter.token")
	if err := os.WriteFile(tf, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	out := j.verify(t, "receipts", "upload", "--to", j.url, "--token-file", tf).want(t, 0).stdout
	m := regexp.MustCompile(`accepted (\d+)\b`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("receipts upload:\n%s", out)
	}
	j.receiptsAccepted, _ = strconv.Atoi(m[1])
	if j.receiptsAccepted < 5 {
		t.Fatalf("receipts upload accepted %d, want one per check of a licence:\n%s", j.receiptsAccepted, out)
	}
	// Every check above is one line of the counter's hash-chained log.
	out = j.verify(t, "log", "verify").want(t, 0).stdout
	if m := regexp.MustCompile(`^OK (\d+) records, head `).FindStringSubmatch(out); m == nil || m[1] != strconv.Itoa(j.checks) {
		t.Fatalf("log verify: %q, want OK and the %d checks made", out, j.checks)
	}
}
