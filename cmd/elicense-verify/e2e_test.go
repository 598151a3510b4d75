package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/qr"
	"elicense/internal/gm"
	"elicense/internal/issuertest"
)

var (
	buildOnce sync.Once
	binDir    string
	verifyBin string
	buildErr  error
)

// binary builds elicense-verify once; the issuer the tests run against
// is the real elicense binary, started by issuertest.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "elicense-verify-e2e"); buildErr == nil {
			verifyBin, buildErr = issuertest.Build(binDir, "./cmd/elicense-verify", "elicense-verify")
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return verifyBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	issuertest.Cleanup()
	os.Exit(code)
}

// lockedBuffer is a bytes.Buffer a child process writes to while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) first() string { w, _, _ := strings.Cut(r.stdout, " "); return w }

func runVerify(t *testing.T, bin, store string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(issuertest.Env(), "ELICENSE_VERIFY_STORE="+store)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, o.String(), e.String()}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// claim claims a licence by its claim code on a new "phone" key.
func claim(t *testing.T, s *issuertest.Server, code string) (*qr.Holding, *gm.PrivateKey) {
	t.Helper()
	dev, _ := gm.GenerateKey()
	devRaw, _ := gm.MarshalPublicKeyCompressed(dev.PublicKey())
	var ch struct{ Challenge string }
	s.Call(t, "POST", "/v1/claims/challenge", "", nil, &ch)
	sig, _ := gm.SignRS(dev, append([]byte("elicense/claim/v1\x00"+ch.Challenge+"\x00"+code+"\x00"), devRaw...))
	var claimed struct {
		ID      string
		Holding json.RawMessage
	}
	if st := s.Call(t, "POST", "/v1/claims", "", map[string]string{"code": code, "device_key": base64.RawURLEncoding.EncodeToString(devRaw),
		"challenge": ch.Challenge, "signature": base64.RawURLEncoding.EncodeToString(sig)}, &claimed); st != 201 {
		t.Fatalf("claim: %d", st)
	}
	var h qr.Holding
	if err := json.Unmarshal(claimed.Holding, &h); err != nil {
		t.Fatal(err)
	}
	return &h, dev
}

// verifyE2E is an end-to-end run against a real issuer: the
// elicense-verify binary, its store, and the catalogue's sample fields to
// issue licences with.
type verifyE2E struct {
	t       *testing.T
	bin     string
	s       *issuertest.Server
	store   string
	samples map[string]map[string]string
}

// issued is a licence as the issuer's API returns it.
type issued struct {
	ID        string
	ClaimCode string `json:"claim_code"`
	QR        string `json:"qr"`
}

func newVerifyE2E(t *testing.T) *verifyE2E {
	t.Helper()
	e := &verifyE2E{t: t, bin: binary(t), s: issuertest.Start(t), store: filepath.Join(t.TempDir(), "store")}
	samplesRaw, _ := os.ReadFile("../../certs/catalog/testdata/samples.json")
	var samples struct{ Samples map[string]map[string]string }
	json.Unmarshal(samplesRaw, &samples)
	e.samples = samples.Samples
	return e
}

// v runs elicense-verify on the store with stdin.
func (e *verifyE2E) v(stdin string, args ...string) result {
	e.t.Helper()
	return runVerify(e.t, e.bin, e.store, stdin, args...)
}

func (e *verifyE2E) issue(class string) issued {
	e.t.Helper()
	var l issued
	if st := e.s.Call(e.t, "POST", "/v1/licences", e.s.Operator(e.t, class), map[string]any{"class": class, "fields": e.samples[class]}, &l); st != 201 {
		e.t.Fatalf("issue %s: %d", class, st)
	}
	return l
}

// revoke revokes l at the issuer and waits for the checkpoint to cover it.
func (e *verifyE2E) revoke(l issued, class string) {
	e.t.Helper()
	if st := e.s.Call(e.t, "POST", "/v1/licences/"+url.PathEscape(l.ID)+"/revoke", e.s.Operator(e.t, class), map[string]string{"reason": "吊销"}, nil); st != 200 {
		e.t.Fatalf("revoke %q: %d", l.ID, st)
	}
	time.Sleep(1100 * time.Millisecond) // the checkpoint is published in batches
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the issuer")
	}
	e := newVerifyE2E(t)

	// Before any trust: a trust-store error, exit 2.
	if r := e.v("", "check", "EL1:XYZ"); r.code != 2 {
		t.Fatalf("check without trust: %+v", r)
	}
	bl := e.issue("business-license")
	dl := e.issue("drivers-license")
	e.pinAndSync()
	e.checkStatic(bl)
	e.checkJSONAndStdin(bl)
	h, dev := e.checkPresentation(dl)
	e.checkRevoked(dl, h, dev)
	e.checkScan(bl)
	exported, logPath := e.checkLog()
	e.checkDamagedReplay(bl, logPath, exported)
	e.checkCorruptCache(bl, logPath, exported)
}

// pinAndSync pins the issuer's root with a fingerprint: a wrong one pins
// nothing; the right one (flag after the file) pins, and trust list shows
// it. Then a first sync.
func (e *verifyE2E) pinAndSync() {
	t := e.t
	rootPEM := filepath.Join(e.s.Data, "pki", "root.crt.pem")
	rootDER, _ := pem.Decode(must(os.ReadFile(rootPEM)))
	sum := gm.SM3(rootDER.Bytes)
	fp := strings.ToUpper(hex.EncodeToString(sum[:]))
	wrong := "00" + fp[2:]
	if r := e.v("", "trust", "add", "--fingerprint", wrong, rootPEM); r.code != 2 || !strings.Contains(r.stderr, "fingerprint mismatch") || !strings.Contains(r.stderr, fp[:4]+" "+fp[4:8]) {
		t.Fatalf("trust add, wrong fingerprint: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(e.store, "roots.pem")); !os.IsNotExist(err) {
		t.Fatalf("a refused root was written: %v", err)
	}
	if r := e.v("", "trust", "add", rootPEM, "--fingerprint", strings.ToLower(fp)); r.code != 0 || !strings.Contains(r.stdout, "SM3 fingerprint: "+fp[:4]+" "+fp[4:8]) {
		t.Fatalf("trust add: %+v", r)
	}
	if r := e.v("", "trust", "list"); r.code != 0 || !strings.Contains(r.stdout, "CN=") || !strings.Contains(r.stdout, "valid 20") || !strings.Contains(r.stdout, fp[60:]) {
		t.Fatalf("trust list: %+v", r)
	}
	if r := e.v("", "sync", "--from", e.s.URL); r.code != 0 || !strings.HasPrefix(r.stdout, "OK ") {
		t.Fatalf("sync: %+v", r)
	}
}

// checkStatic checks a static QR; plain check prints the disclosed fields
// under their printed labels, in the catalogue's order.
func (e *verifyE2E) checkStatic(bl issued) {
	t := e.t
	r := e.v("", "check", bl.QR)
	if r.code != 0 || r.first() != "VALID_STATIC" {
		t.Fatalf("static QR: %+v", r)
	}
	cl, _ := catalog.Default().Lookup("business-license")
	_, shown, ok := strings.Cut(r.stdout, "  出示信息:\n")
	last, n := -1, 0
	for line := range strings.Lines(shown) {
		label, value, ok := strings.Cut(strings.TrimPrefix(line, "    "), ": ")
		if !ok || !strings.HasPrefix(line, "    ") {
			break
		}
		i := slices.IndexFunc(cl.Fields, func(f catalog.Field) bool { return f.Label == label })
		if i <= last || e.samples["business-license"][cl.Fields[i].Key] != strings.TrimSpace(value) {
			t.Fatalf("field %q out of order or wrong:\n%s", line, r.stdout)
		}
		last, n = i, n+1
	}
	if !ok || n < 2 {
		t.Fatalf("disclosed fields missing:\n%s", r.stdout)
	}
}

// checkJSONAndStdin: --json (before or after the text) prints one JSON
// object, nothing else; "-" reads the text from stdin.
func (e *verifyE2E) checkJSONAndStdin(bl issued) {
	t := e.t
	for _, args := range [][]string{{"check", "--json", bl.QR}, {"check", bl.QR, "--json"}} {
		r := e.v("", args...)
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil || r.code != 0 || obj["code"] != "VALID_STATIC" || dec.More() || strings.Count(r.stdout, "\n") != 1 || !strings.HasPrefix(r.stdout, "{") {
			t.Fatalf("%v: %v %+v", args, err, r)
		}
	}
	if r := e.v(bl.QR+"\n", "check", "--lang", "en", "-"); r.code != 0 || r.first() != "VALID_STATIC" || !strings.Contains(r.stdout, "identity") {
		t.Fatalf("static QR from stdin: %+v", r)
	}
}

// checkPresentation claims the driving licence on a "phone" and presents
// it: VALID once, then REPLAYED; garbage is MALFORMED.
func (e *verifyE2E) checkPresentation(dl issued) (*qr.Holding, *gm.PrivateKey) {
	t := e.t
	h, dev := claim(t, e.s, dl.ClaimCode)
	if r := e.v("", "sync", "--from", e.s.URL); r.code != 0 {
		t.Fatalf("re-sync: %+v", r)
	}
	p, err := h.Present(dev, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := e.v("", "check", p); r.code != 0 || r.first() != "VALID" || !strings.Contains(r.stdout, "王磊") {
		t.Fatalf("presentation: %+v", r)
	}
	if r := e.v("", "check", p); r.code != 1 || r.first() != "REPLAYED" {
		t.Fatalf("replay: %+v", r)
	}
	if r := e.v("", "check", "garbage"); r.code != 1 || r.first() != "MALFORMED" {
		t.Fatalf("garbage: %+v", r)
	}
	return h, dev
}

// checkRevoked revokes the claimed copy; after a re-sync (a delta) it is
// REVOKED.
func (e *verifyE2E) checkRevoked(dl issued, h *qr.Holding, dev *gm.PrivateKey) {
	t := e.t
	e.revoke(dl, "drivers-license")
	r := e.v("", "sync") // from the URL the last sync used
	if r.code != 0 || !strings.Contains(r.stderr, "delta") {
		t.Fatalf("sync after revoke: %+v", r)
	}
	p2, _ := h.Present(dev, time.Now().Add(time.Second))
	if r := e.v("", "check", p2); r.code != 1 || r.first() != "REVOKED" {
		t.Fatalf("revoked: %+v", r)
	}
}

// checkScan: scanner input gives one verdict per line.
func (e *verifyE2E) checkScan(bl issued) {
	t := e.t
	r := e.v(bl.QR+"\r\n\nnot a qr\n", "scan")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var codes []string
	for _, l := range lines {
		if !strings.HasPrefix(l, " ") {
			codes = append(codes, strings.Fields(l)[0])
		}
	}
	if r.code != 0 || strings.Join(codes, ",") != "VALID_STATIC,MALFORMED" {
		t.Fatalf("scan: %+v", r)
	}
	r = e.v(bl.QR+"\nnot a qr\n", "scan", "--json", "--sync-every", "0")
	lines = strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], `{"code":"VALID_STATIC",`) || !strings.HasPrefix(lines[1], `{"code":"MALFORMED",`) {
		t.Fatalf("scan --json: %+v", r)
	}
}

// checkLog: the log holds every check, verifies, exports, and detects
// tampering. It returns the export and the log's path, which it leaves
// tampered with.
func (e *verifyE2E) checkLog() (exported []byte, logPath string) {
	t := e.t
	if r := e.v("", "log", "verify"); r.code != 0 || !strings.HasPrefix(r.stdout, "OK 12 records") {
		t.Fatalf("log verify: %+v", r)
	}
	out := filepath.Join(t.TempDir(), "export.jsonl")
	if r := e.v("", "log", "export", "--out", out); r.code != 0 {
		t.Fatalf("log export: %+v", r)
	}
	exported, _ = os.ReadFile(out)
	if strings.Contains(string(exported), "王磊") || strings.Count(string(exported), "\n") != 12 {
		t.Fatalf("export:\n%s", exported)
	}
	logPath = filepath.Join(e.store, "verifications.jsonl")
	os.WriteFile(logPath, bytes.Replace(exported, []byte(`"code":"REVOKED"`), []byte(`"code":"VALID"`), 1), 0o600)
	if r := e.v("", "log", "verify"); r.code != 2 || !strings.Contains(r.stderr, "tampered") || !strings.Contains(r.stderr, "move it aside") {
		t.Fatalf("tampered log: %+v", r)
	}
	return exported, logPath
}

// checkDamagedReplay: a damaged replay memory fails closed and says how
// to recover. The log is first put back as exported.
func (e *verifyE2E) checkDamagedReplay(bl issued, logPath string, exported []byte) {
	t := e.t
	os.WriteFile(logPath, exported, 0o600)
	replay := filepath.Join(e.store, "replay.bin")
	os.WriteFile(replay, []byte("not a replay memory"), 0o600)
	if r := e.v("", "check", bl.QR); r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "move replay.bin aside") {
		t.Fatalf("damaged replay memory: %+v", r)
	}
	os.Rename(replay, replay+".damaged")
	if r := e.v("", "check", bl.QR); r.code != 0 {
		t.Fatalf("after moving replay.bin aside: %+v", r)
	}
}

// checkCorruptCache: a corrupted cache is refused (exit 2), never trusted.
func (e *verifyE2E) checkCorruptCache(bl issued, logPath string, exported []byte) {
	t := e.t
	cache := filepath.Join(e.store, "cache.json")
	data, _ := os.ReadFile(cache)
	os.WriteFile(cache, bytes.Replace(data, []byte(`"bundle":"ey`), []byte(`"bundle":"ex`), 1), 0o600)
	os.WriteFile(logPath, exported, 0o600)
	if r := e.v("", "check", bl.QR); r.code != 2 {
		t.Fatalf("corrupt cache: %+v", r)
	}
}
