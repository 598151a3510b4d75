package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/internal/issuertest"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/pki"
)

// TestJourney drives the whole system as its users do, with the three
// real programs on free loopback ports and nothing shared but what the
// users share: an admin serves on a fresh data directory and gives
// operator tokens to the nine agencies' clerks; the clerks issue one
// licence of each of the 17 classes; the holder claims the 营业执照 with
// elicense-wallet and again in the web wallet in Chromium, where the
// clerk also opens the licence face; a counter pins the root by its
// fingerprint, syncs, and checks a fresh presentation (VALID, disclosed
// fields shown), the same text again (REPLAYED), its screenshot scanned
// after the window (PRESENTATION_EXPIRED), a forgery (BAD_SIGNATURE) and
// the face's static QR (VALID_STATIC); the agency revokes, and the
// counter says VALID with the status age before it syncs and REVOKED
// after; the counter uploads its receipts; then every event above is
// proved in the ledger, offline, against the final checkpoint, and
// `elicense ledger verify` passes on the stopped server's data.
func TestJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("the journey builds three programs and drives Chromium; skipped with -short")
	}
	j := newJourney(t)
	began := time.Now()
	for _, s := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"operator tokens", j.operatorTokens},
		{"issue the 17 classes", j.issueAll},
		{"claim with elicense-wallet", j.claimCLI},
		{"web wallet and licence face", j.browser},
		{"counter pins and syncs", j.counterSetup},
		{"presentation", j.presentation},
		{"forgery", j.forgery},
		{"static QR", j.staticQR},
		{"revoke", j.revoke},
		{"counter before and after sync", j.afterRevoke},
		{"receipts", j.receipts},
		{"ledger proofs offline", j.ledgerProofs},
		{"ledger verify", j.ledgerVerify},
	} {
		start := time.Now()
		if !t.Run(s.name, s.run) {
			t.FailNow()
		}
		t.Logf("%-32s %v", s.name, time.Since(start).Round(time.Millisecond))
	}
	t.Logf("the journey took %v after the builds (%v)", time.Since(began).Round(time.Millisecond), j.built.Round(time.Millisecond))
}

// journey is what TestJourney's steps share.
type journey struct {
	bin, walletBin, verifyBin string
	built                     time.Duration // building the three programs
	url, data, dir            string
	srv                       *exec.Cmd
	srvLog                    *bytes.Buffer
	admin                     string
	root                      string // the root certificate a wallet and a counter pin

	agencies map[string]string // agency code → name
	agencyOf map[string]string // class key → agency code
	ops      map[string]string // agency code → operator token

	issued map[string]journeyLicence // class key → licence
	bl     journeyLicence            // the 营业执照 the holder claims
	fields map[string]string         // its sample record

	walletDir, counter string
	cliCopy, webCopy   string
	faceQR             []string  // PNGs of the static QR on the licence face, as Chromium shows it
	lastPresented      time.Time // when the CLI wallet last presented
	receiptsAccepted   int
	counterName        string
	checks             int             // checks the counter made (check, image)
	finalCheckpoint    tlog.Checkpoint // the one every event was proved against
}

// journeyLicence is an issued licence as the API answers.
type journeyLicence struct {
	ID          string `json:"id"`
	Class       string `json:"class"`
	Agency      string `json:"agency"`
	HolderName  string `json:"holder_name"`
	Status      string `json:"status"`
	Credential  string `json:"credential"`
	LedgerIndex uint64 `json:"ledger_index"`
	QR          string `json:"qr"`
	ClaimCode   string `json:"claim_code"`
}

const journeyClass = "business-license"

// newJourney builds the programs and starts elicense serve on a fresh
// data directory.
func newJourney(t *testing.T) *journey {
	t.Helper()
	start := time.Now()
	dir := t.TempDir()
	bin, err := binary()
	if err != nil {
		t.Fatalf("building elicense: %v", err)
	}
	vb, err := buildVerify()
	if err != nil {
		t.Fatal(err)
	}
	wb, err := issuertest.Build(dir, "./cmd/elicense-wallet", "elicense-wallet")
	if err != nil {
		t.Fatal(err)
	}
	j := &journey{bin: bin, walletBin: wb, verifyBin: vb, built: time.Since(start), dir: dir,
		data: filepath.Join(dir, "elicense-data"), walletDir: filepath.Join(dir, "wallet"), counter: filepath.Join(dir, "counter"),
		issued: map[string]journeyLicence{}, fields: issuertest.Sample(t, journeyClass), counterName: "浦东新区市民中心 3号窗口"}
	addr := issuertest.FreeAddr(t)
	j.url = "http://" + addr
	j.srvLog = &bytes.Buffer{}
	j.srv = exec.Command(bin, "serve", "--addr", addr, "--data", j.data)
	j.srv.Env = issuertest.Env()
	j.srv.Stderr = j.srvLog
	if err := j.srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if j.srv.ProcessState == nil {
			j.srv.Process.Kill()
			j.srv.Wait()
		}
	})
	if !issuertest.WaitHealthy(j.url, 60*time.Second) {
		t.Fatalf("elicense serve did not become healthy:\n%s", j.srvLog)
	}
	tok, err := os.ReadFile(filepath.Join(j.data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	j.admin = strings.TrimSpace(string(tok))
	j.root = filepath.Join(j.data, "pki", pki.RootCertFile)
	return j
}

// call is an API request with a bearer token; it returns the status.
func (j *journey) call(t *testing.T, method, path, token string, body, out any) int {
	t.Helper()
	return issuertest.Call(t, j.url, method, path, token, body, out)
}

// run runs one of the programs with the journey's environment.
func (j *journey) run(t *testing.T, bin string, args ...string) result {
	t.Helper()
	return runBinary(t, bin, append(issuertest.Env(), "ELICENSE_WALLET_PASSPHRASE=correct horse battery", "LANG=zh_CN.UTF-8"), args...)
}

func (j *journey) wallet(t *testing.T, args ...string) result {
	t.Helper()
	return j.run(t, j.walletBin, append(args, "--dir", j.walletDir)...)
}

func (j *journey) verify(t *testing.T, args ...string) result {
	t.Helper()
	args = append(args, "--store", j.counter)
	if args[0] == "check" || args[0] == "image" {
		args = append(args, "--counter", j.counterName)
		j.checks++
	}
	return j.run(t, j.verifyBin, args...)
}

// operatorTokens: the admin mints an operator token for a clerk of each
// agency of the development PKI, as the README's tour does; a token is
// good for its own agency's classes only.
func (j *journey) operatorTokens(t *testing.T) {
	m := readManifest(t, filepath.Join(j.data, "pki"))
	if len(m.Agencies) < 2 {
		t.Fatalf("the development PKI has %d agencies", len(m.Agencies))
	}
	j.agencies, j.agencyOf, j.ops = map[string]string{}, map[string]string{}, map[string]string{}
	for _, a := range m.Agencies {
		j.agencies[a.Code] = a.Name
		for _, c := range a.Classes {
			j.agencyOf[c] = a.Code
		}
		var tok struct{ Token string }
		body := map[string]any{"subject": "clerk-" + a.Code[len(a.Code)-4:], "role": "operator", "agency": a.Code, "ttl": "8h"}
		if st := j.call(t, "POST", "/v1/tokens", j.admin, body, &tok); st != http.StatusCreated || tok.Token == "" {
			t.Fatalf("operator token for %s: HTTP %d", a.Code, st)
		}
		j.ops[a.Code] = tok.Token
	}
	if len(j.agencyOf) != len(catalog.Default().Classes()) {
		t.Fatalf("the agencies cover %d classes, want all %d", len(j.agencyOf), len(catalog.Default().Classes()))
	}
	// The 营业执照 clerk cannot issue a 结婚证.
	var e struct{ Code string }
	st := j.call(t, "POST", "/v1/licences", j.ops[j.agencyOf[journeyClass]],
		map[string]any{"class": "结婚证", "fields": issuertest.Sample(t, "marriage-certificate")}, &e)
	if st != http.StatusForbidden {
		t.Fatalf("a 营业执照 clerk issuing a 结婚证: HTTP %d %+v, want 403", st, e)
	}
}

// issueAll: each agency's clerk issues the sample licence of each of its
// classes, by the class's Chinese name as a clerk writes it.
func (j *journey) issueAll(t *testing.T) {
	var samples struct{ Samples map[string]map[string]string }
	journeyReadJSON(t, "../../certs/catalog/testdata/samples.json", &samples)
	if len(samples.Samples) != 17 {
		t.Fatalf("%d sample classes, want 17", len(samples.Samples))
	}
	var indices []uint64
	for _, cl := range catalog.Default().Classes() {
		fields, ok := samples.Samples[cl.Key]
		if !ok {
			t.Fatalf("no sample record of %s", cl.Key)
		}
		agency := j.agencyOf[cl.Key]
		var l journeyLicence
		if st := j.call(t, "POST", "/v1/licences", j.ops[agency], map[string]any{"class": cl.NameZH, "fields": fields}, &l); st != http.StatusCreated {
			t.Fatalf("issuing a %s: HTTP %d %+v", cl.NameZH, st, l)
		}
		if l.Class != cl.Key || l.Agency != agency || l.Status != "valid" || l.ClaimCode == "" || !strings.HasPrefix(l.QR, "EL2:") ||
			l.HolderName != fields[cl.HolderNameField] || !strings.HasPrefix(l.ID, "1.2.156.3005.2."+cl.TypeCode+"."+agency+".") {
			t.Fatalf("issued %s: %+v", cl.NameZH, l)
		}
		if r := elicense(t, nil, "validate", "license-id", l.ID); r.code != exitOK {
			t.Errorf("the identifier of the %s does not validate: %s %s", cl.NameZH, l.ID, r.stdout)
		}
		j.issued[cl.Key] = l
		indices = append(indices, l.LedgerIndex)
	}
	if slices.Sort(indices); len(slices.Compact(slices.Clone(indices))) != 17 {
		t.Fatalf("17 issuances at ledger indices %v: not 17 distinct", indices)
	}
	j.bl = j.issued[journeyClass]
}

// claimCLI: the holder claims the 营业执照 with elicense-wallet, pinning
// the root, and lists it as valid.
func (j *journey) claimCLI(t *testing.T) {
	out := j.wallet(t, "claim", "--json", "--server", j.url, "--trust-root", j.root, j.bl.ClaimCode).want(t, 0).stdout
	var claimed struct{ ID string }
	if err := json.Unmarshal([]byte(out), &claimed); err != nil {
		t.Fatalf("claim --json: %v\n%s", err, out)
	}
	j.cliCopy = claimed.ID
	if !strings.HasPrefix(j.cliCopy, j.bl.ID+"#") {
		t.Fatalf("claim printed %q, want a copy of %s", out, j.bl.ID)
	}
	// The claim code is single-use.
	if r := j.run(t, j.walletBin, "claim", "--dir", filepath.Join(j.dir, "wallet2"), "--server", j.url, j.bl.ClaimCode); r.code == 0 {
		t.Fatalf("a used claim code claimed again: %+v", r)
	}
	list := j.wallet(t, "list").want(t, 0).stdout
	if !strings.Contains(list, j.bl.ID) || !strings.Contains(list, "valid") || !strings.Contains(list, j.fields["name"]) {
		t.Fatalf("the wallet lists:\n%s", list)
	}
}

// journeyReadJSON decodes a JSON file.
func journeyReadJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// stopServer stops elicense serve with SIGTERM, as an operator does.
func (j *journey) stopServer(t *testing.T) {
	t.Helper()
	j.srv.Process.Signal(syscall.SIGTERM)
	if err := j.srv.Wait(); err != nil {
		t.Fatalf("elicense serve stopped: %v\n%s", err, j.srvLog)
	}
}
