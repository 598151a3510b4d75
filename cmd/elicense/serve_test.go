package main

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"elicense/certs/credential"
	"elicense/certs/qr"
	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/internal/issuertest"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/service"
	"elicense/issuer/state/boltstate"
)

// server is a running elicense serve process.
type server struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
}

// syncBuffer is a bytes.Buffer the child's output can be written to
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitOutput reports whether the child's stderr contains substr within d.
func (s *server) waitOutput(substr string, d time.Duration) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if strings.Contains(s.stderr.String(), substr) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// startServer starts elicense serve on data with a free address and
// extra flags, and waits until it is healthy.
func startServer(t testing.TB, data string, extra ...string) *server {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatalf("building elicense: %v", err)
	}
	addr := issuertest.FreeAddr(t)
	s := &server{cmd: exec.Command(bin, append([]string{"serve", "--addr", addr, "--data", data}, extra...)...), url: "http://" + addr, stderr: &syncBuffer{}}
	s.cmd.Env = issuertest.Env()
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	if !issuertest.WaitHealthy(s.url, 60*time.Second) {
		t.Fatalf("server did not become healthy:\n%s", s.stderr)
	}
	return s
}

func readToken(t *testing.T, data string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func loadSamples(t testing.TB) map[string]map[string]string {
	t.Helper()
	raw, err := os.ReadFile("../../certs/catalog/testdata/samples.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ Samples map[string]map[string]string }
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(fmt.Errorf("samples: %w", err))
	}
	return s.Samples
}

// stop sends SIGTERM and expects a clean exit.
func (s *server) stop(t testing.TB) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server exit: %v\n%s", err, s.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop within 30 s of SIGTERM")
	}
}

func (s *server) call(t *testing.T, method, path, token string, body any, out any) int {
	t.Helper()
	return issuertest.Call(t, s.url, method, path, token, body, out)
}

// TestServeEndToEnd runs elicense serve as a process and uses it as the
// issuer's clients do: issue, verify against the trust bundle, claim and
// present, revoke and follow the status list, the ledger checkpoint, bad
// input, the CLI, an online backup, the metrics, then a restart. The
// steps run in order on one server; the first that fails ends the test.
func TestServeEndToEnd(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	s := startServer(t, data)
	for _, f := range []string{"admin.token", "passphrase", "token.key.pem", "pki/root.key.pem"} {
		st, err := os.Stat(filepath.Join(data, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v mode %v, want 0600", f, err, st.Mode())
		}
	}
	// The server logs where the token is (never the token) before it
	// listens, but exec copies the child's stderr in its own goroutine, so
	// the text may trail /healthz.
	if !s.waitOutput("first start: an admin token", 10*time.Second) {
		t.Fatalf("first start did not say where the admin token is:\n%s", s.stderr)
	}
	rootPEM, _ := os.ReadFile(filepath.Join(data, "pki", "root.crt.pem"))
	roots, err := gm.ParseCertificatesPEM(rootPEM)
	if err != nil {
		t.Fatal(err)
	}
	e := &serveE2E{s: s, data: data, admin: readToken(t, data), roots: roots, samples: loadSamples(t)}
	for _, step := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"issue", e.issue},
		{"trust bundle", e.verifyIssued},
		{"claim and present", e.claimAndPresent},
		{"status list", e.revokeAndFollowStatus},
		{"checkpoint", e.checkpoint},
		{"bad input", e.badInput},
		{"qr", e.qrForPaper},
		{"backup", e.backup},
		{"metrics", e.metrics},
		{"restart", e.restart},
	} {
		if !t.Run(step.name, step.run) {
			return
		}
	}
}

// serveE2E is what TestServeEndToEnd's steps share: the server and what
// the steps before have made.
type serveE2E struct {
	s       *server
	data    string
	admin   string
	roots   []*gm.Certificate // the pinned root, as a counter has it
	samples map[string]map[string]string

	issued map[string]serveLicence // by class
	bundle *trust.Bundle           // the trust bundle last fetched
}

// serveLicence is what the steps read of a licence.
type serveLicence struct {
	ID, Status, ClaimCode, Credential string
	ClaimCodeField                    string `json:"claim_code"`
	StatusList                        string `json:"status_list"`
	StatusIndex                       int    `json:"status_index"`
	QR                                string `json:"qr"`
	LedgerIndex                       uint64 `json:"ledger_index"`
}

// opToken mints an operator token for the agency issuing class.
func (e *serveE2E) opToken(t *testing.T, class string) string {
	t.Helper()
	var tok struct{ Token string }
	if st := e.s.call(t, "POST", "/v1/tokens", e.admin, map[string]any{"subject": "clerk-" + class, "role": "operator", "agency": issuertest.AgencyOf(t, e.data, class), "ttl": "1h"}, &tok); st != 201 {
		t.Fatalf("token: %d", st)
	}
	return tok.Token
}

// fetchBundle fetches and verifies the trust bundle, as a counter does.
func (e *serveE2E) fetchBundle(t *testing.T) *trust.Bundle {
	t.Helper()
	var doc []byte
	if st := e.s.call(t, "GET", "/v1/trust", "", nil, &doc); st != 200 {
		t.Fatalf("trust: %d", st)
	}
	b, err := trust.Verify(string(doc), trust.VerifyOptions{Roots: e.roots})
	if err != nil {
		t.Fatalf("trust bundle: %v", err)
	}
	e.bundle = b
	return b
}

// getList fetches and verifies the status list sl.
func (e *serveE2E) getList(t *testing.T, sl trust.StatusList) *statuslist.Signed {
	t.Helper()
	resp, err := http.Get(sl.URI)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	signed, err := statuslist.Parse(string(doc), statuslist.VerifyOptions{URI: sl.URI, Keys: e.bundle.StatusKeys(sl.ID)})
	if err != nil {
		t.Fatalf("status list: %v", err)
	}
	return signed
}

// issue issues a licence of four classes.
func (e *serveE2E) issue(t *testing.T) {
	e.issued = map[string]serveLicence{}
	for _, class := range []string{"business-license", "food-operation-permit", "drivers-license", "marriage-certificate"} {
		var l serveLicence
		if st := e.s.call(t, "POST", "/v1/licences", e.opToken(t, class), map[string]any{"class": class, "fields": e.samples[class]}, &l); st != 201 {
			t.Fatalf("issue %s: %d", class, st)
		}
		e.issued[class] = l
	}
}

// verifyIssued verifies every credential and static QR issued against
// the trust bundle, as a counter that pins the root does.
func (e *serveE2E) verifyIssued(t *testing.T) {
	keys := e.fetchBundle(t).Resolver()
	for class, l := range e.issued {
		if _, err := credential.Verify(l.Credential, credential.VerifyOptions{Keys: keys}); err != nil {
			t.Fatalf("%s credential against the trust bundle: %v", class, err)
		}
		tok, err := qr.Decode(l.QR)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tok.Verify(qr.VerifyOptions{Keys: keys}); err != nil {
			t.Fatalf("%s static QR: %v", class, err)
		}
	}
}

// claimAndPresent claims the driving licence on a phone and presents it.
func (e *serveE2E) claimAndPresent(t *testing.T) {
	s, dl := e.s, e.issued["drivers-license"]
	dev, _ := gm.GenerateKey()
	devRaw, _ := gm.MarshalPublicKeyCompressed(dev.PublicKey())
	var ch struct{ Challenge string }
	s.call(t, "POST", "/v1/claims/challenge", "", nil, &ch)
	sig, _ := gm.SignRS(dev, service.ClaimSigningInput(ch.Challenge, dl.ClaimCodeField, devRaw))
	var claimed struct {
		ID      string
		Holding json.RawMessage
	}
	if st := s.call(t, "POST", "/v1/claims", "", map[string]string{"code": dl.ClaimCodeField, "device_key": base64.RawURLEncoding.EncodeToString(devRaw),
		"challenge": ch.Challenge, "signature": base64.RawURLEncoding.EncodeToString(sig)}, &claimed); st != 201 {
		t.Fatalf("claim: %d", st)
	}
	var h qr.Holding
	json.Unmarshal(claimed.Holding, &h)
	text, err := h.Present(dev, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	bundle := e.fetchBundle(t) // the claim opened no new list, but fetch as a counter would
	ptok, err := qr.Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ptok.Verify(qr.VerifyOptions{Keys: bundle.Resolver()})
	if err != nil || !res.Bound {
		t.Fatalf("presentation: %v", err)
	}
}

// revokeAndFollowStatus revokes the business licence. A counter holds its
// status list, and one that held the earlier version fetches only a
// delta.
func (e *serveE2E) revokeAndFollowStatus(t *testing.T) {
	bl := e.issued["business-license"]
	held, ok := e.bundle.StatusList(bl.StatusList)
	if !ok {
		t.Fatalf("trust bundle lacks status list %s", bl.StatusList)
	}
	base := e.getList(t, held)
	if st := e.s.call(t, "POST", "/v1/licences/"+bl.ID+"/revoke", e.opToken(t, "business-license"), map[string]string{"reason": "吊销"}, nil); st != 200 {
		t.Fatalf("revoke: %d", st)
	}
	bundle := e.fetchBundle(t)
	sl, ok := bundle.StatusList(bl.StatusList)
	if !ok {
		t.Fatalf("trust bundle lacks status list %s", bl.StatusList)
	}
	signed := e.getList(t, sl)
	resp, err := http.Get(fmt.Sprintf("%s?from=%d", sl.URI, base.Version))
	if err != nil {
		t.Fatal(err)
	}
	deltaDoc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d, err := statuslist.ParseDelta(deltaDoc, statuslist.VerifyOptions{URI: sl.URI, Keys: bundle.StatusKeys(sl.ID)})
	if err != nil {
		t.Fatalf("delta (%d): %v", resp.StatusCode, err)
	}
	applied, err := statuslist.Apply(base, d)
	if err != nil || !applied.List.Equal(signed.List) || len(deltaDoc) > 1024 {
		t.Fatalf("delta of %d bytes does not give the current list: %v", len(deltaDoc), err)
	}
	// A counter already holding the current version is told so, with no body.
	if resp, err := http.Get(fmt.Sprintf("%s?from=%d", sl.URI, signed.Version)); err != nil || resp.StatusCode != http.StatusNotModified {
		t.Fatalf("delta from the current version: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if st, _ := signed.Status(bl.StatusIndex); st != statuslist.Revoked {
		t.Fatalf("revoked licence's status entry: %v", st)
	}
	if st, _ := signed.Status(e.issued["food-operation-permit"].StatusIndex); st != statuslist.Valid {
		t.Fatalf("valid licence's status entry: %v", st)
	}
}

// checkpoint waits (a second or so) for the bundle to carry a checkpoint
// covering all six events, signed by the ledger key it names.
func (e *serveE2E) checkpoint(t *testing.T) {
	bundle := e.bundle
	ledgerCert, err := gm.ParseCertificate(bundle.LedgerKey.Cert)
	if err != nil {
		t.Fatal(err)
	}
	nv, err := tlog.NewNoteVerifier(ledgerOrigin(bundle.Root), ledgerCert.PublicKey.(*ecdsa.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	var cp tlog.Checkpoint
	for deadline := time.Now().Add(10 * time.Second); ; bundle = e.fetchBundle(t) {
		if cp, err = tlog.VerifyCheckpoint([]byte(bundle.Checkpoint), ledgerOrigin(bundle.Root), nv); err != nil {
			t.Fatalf("bundle checkpoint: %v", err)
		}
		if cp.Size == 6 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if cp.Size != 6 {
		t.Fatalf("bundle checkpoint covers %d entries, want 6", cp.Size)
	}
}

// badInput checks that bad input is a 4xx JSON error, never a 500.
func (e *serveE2E) badInput(t *testing.T) {
	var er struct{ Code, Message string }
	if st := e.s.call(t, "POST", "/v1/licences", e.opToken(t, "business-license"), map[string]any{"class": "营业执照", "fields": map[string]string{"uscc": "123"}}, &er); st != 422 || er.Code != "invalid" {
		t.Fatalf("bad licence: %d %+v", st, er)
	}
}

// qrForPaper has the CLI render a static QR for paper.
func (e *serveE2E) qrForPaper(t *testing.T) {
	png := filepath.Join(t.TempDir(), "qr.png")
	tf := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(tf, []byte(e.admin), 0o600)
	if r := elicense(t, nil, "qr", "--server", e.s.url, "--token-file", tf, "--out", png, e.issued["food-operation-permit"].ID); r.code != 0 {
		t.Fatalf("qr: %s %s", r.stdout, r.stderr)
	}
	if b, _ := os.ReadFile(png); !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatal("qr did not write a PNG")
	}
}

// backup takes an online backup: it passes fsck and holds the licences
// with their ledger events.
func (e *serveE2E) backup(t *testing.T) {
	var backup []byte
	if st := e.s.call(t, "GET", "/v1/backup", e.admin, nil, &backup); st != 200 || len(backup) == 0 {
		t.Fatalf("backup: %d", st)
	}
	bdir := filepath.Join(t.TempDir(), "backup")
	os.MkdirAll(filepath.Join(bdir, "pki"), 0o700)
	for _, f := range []string{"root.crt.pem", "ledger.crt.pem"} {
		b, _ := os.ReadFile(filepath.Join(e.data, "pki", f))
		os.WriteFile(filepath.Join(bdir, "pki", f), b, 0o644)
	}
	os.WriteFile(filepath.Join(bdir, "ledger.db"), backup, 0o600)
	if v := elicense(t, nil, "ledger", "verify", "--data", bdir); v.code != 0 || !strings.Contains(v.stdout, "OK ") {
		t.Fatalf("backup verify: %s %s", v.stdout, v.stderr)
	}
	bst, err := boltstate.Open(filepath.Join(bdir, "ledger.db"), boltstate.Options{})
	if err != nil {
		t.Fatalf("backup state: %v", err)
	}
	defer bst.Close()
	for class, rec := range e.issued {
		if got, err := bst.Get(rec.ID); err != nil || got.LedgerIndex != rec.LedgerIndex {
			t.Errorf("%s licence %s in the backup: %+v %v", class, rec.ID, got, err)
		}
	}
}

// metrics checks that the Prometheus metrics count what happened above.
func (e *serveE2E) metrics(t *testing.T) {
	var prom []byte
	if st := e.s.call(t, "GET", "/metrics", "", nil, &prom); st != 200 {
		t.Fatalf("metrics: %d", st)
	}
	for _, want := range []string{
		`elicense_ledger_size 6`,
		`elicense_licences_issued_total [1-9]`,
		`elicense_status_changes_total\{action="revoke"\} [1-9]`,
		`elicense_http_requests_total\{code="201",method="POST",route="/v1/licences"\} [1-9]`,
		`elicense_http_request_seconds_bucket\{method="POST",route="/v1/licences",le="\+Inf"\} [1-9]`,
		`elicense_ledger_append_seconds_count [1-9]`,
		`elicense_holder_log_entries [0-9]`,
		`go_goroutines [1-9]`,
		`process_resident_memory_bytes [1-9]`,
	} {
		if !regexp.MustCompile(`(?m)^` + want).Match(prom) {
			t.Errorf("metrics have no line like %s", want)
		}
	}
}

// restart stops the server cleanly, verifies the ledger and restarts:
// nothing acknowledged is lost.
func (e *serveE2E) restart(t *testing.T) {
	e.s.stop(t)
	v := elicense(t, nil, "ledger", "verify", "--data", e.data)
	v.want(t, 0)
	if !strings.HasPrefix(v.stdout, "OK ") || !strings.Contains(v.stdout, " 6 entries") {
		t.Fatalf("ledger verify: %s", v.stdout)
	}
	s2 := startServer(t, e.data)
	var got serveLicence
	if st := s2.call(t, "GET", "/v1/licences/"+e.issued["business-license"].ID, e.admin, nil, &got); st != 200 || got.Status != "revoked" {
		t.Fatalf("after restart: %d %s", st, got.Status)
	}
	var ready struct {
		LedgerSize int `json:"ledger_size"`
	}
	s2.call(t, "GET", "/readyz", "", nil, &ready)
	if ready.LedgerSize != 6 {
		t.Fatalf("ledger size after restart %d, want 6", ready.LedgerSize)
	}
	s2.stop(t) // after Wait the child's stderr is complete
	if strings.Contains(s2.stderr.String(), "first start: an admin token") {
		t.Fatal("second start made a new admin token")
	}
}

func newCmd(bin string, args ...string) *exec.Cmd {
	c := exec.Command(bin, args...)
	c.Env = issuertest.Env()
	return c
}
