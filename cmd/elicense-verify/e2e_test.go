package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
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

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the issuer")
	}
	bin := binary(t)
	s := issuertest.Start(t)
	store := filepath.Join(t.TempDir(), "store")
	v := func(stdin string, args ...string) result { return runVerify(t, bin, store, stdin, args...) }

	// Before any trust: a trust-store error, exit 2.
	if r := v("", "check", "EL1:XYZ"); r.code != 2 {
		t.Fatalf("check without trust: %+v", r)
	}
	opToken := func(class string) string { return s.Operator(t, class) }
	samplesRaw, _ := os.ReadFile("../../certs/catalog/testdata/samples.json")
	var samples struct{ Samples map[string]map[string]string }
	json.Unmarshal(samplesRaw, &samples)
	type lic struct {
		ID        string
		ClaimCode string `json:"claim_code"`
		QR        string `json:"qr"`
	}
	issue := func(class string) lic {
		var l lic
		if st := s.Call(t, "POST", "/v1/licences", opToken(class), map[string]any{"class": class, "fields": samples.Samples[class]}, &l); st != 201 {
			t.Fatalf("issue %s: %d", class, st)
		}
		return l
	}
	bl := issue("business-license")
	dl := issue("drivers-license")

	if r := v("", "trust", "add", filepath.Join(s.Data, "pki", "root.crt.pem")); r.code != 0 {
		t.Fatalf("trust add: %+v", r)
	}
	if r := v("", "sync", "--from", s.URL); r.code != 0 || !strings.HasPrefix(r.stdout, "OK ") {
		t.Fatalf("sync: %+v", r)
	}
	if r := v("", "check", bl.QR); r.code != 0 || r.first() != "VALID_STATIC" {
		t.Fatalf("static QR: %+v", r)
	}
	if r := v(bl.QR+"\n", "check", "--lang", "en", "-"); r.code != 0 || r.first() != "VALID_STATIC" || !strings.Contains(r.stdout, "identity") {
		t.Fatalf("static QR from stdin: %+v", r)
	}

	// Claim the driving licence on a "phone" and present it.
	dev, _ := gm.GenerateKey()
	devRaw, _ := gm.MarshalPublicKeyCompressed(dev.PublicKey())
	var ch struct{ Challenge string }
	s.Call(t, "POST", "/v1/claims/challenge", "", nil, &ch)
	sig, _ := gm.SignRS(dev, append([]byte("elicense/claim/v1\x00"+ch.Challenge+"\x00"+dl.ClaimCode+"\x00"), devRaw...))
	var claimed struct {
		ID      string
		Holding json.RawMessage
	}
	if st := s.Call(t, "POST", "/v1/claims", "", map[string]string{"code": dl.ClaimCode, "device_key": base64.RawURLEncoding.EncodeToString(devRaw),
		"challenge": ch.Challenge, "signature": base64.RawURLEncoding.EncodeToString(sig)}, &claimed); st != 201 {
		t.Fatalf("claim: %d", st)
	}
	var h qr.Holding
	json.Unmarshal(claimed.Holding, &h)
	if r := v("", "sync", "--from", s.URL); r.code != 0 {
		t.Fatalf("re-sync: %+v", r)
	}
	p, err := h.Present(dev, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := v("", "check", p); r.code != 0 || r.first() != "VALID" || !strings.Contains(r.stdout, "王磊") {
		t.Fatalf("presentation: %+v", r)
	}
	if r := v("", "check", p); r.code != 1 || r.first() != "REPLAYED" {
		t.Fatalf("replay: %+v", r)
	}
	if r := v("", "check", "garbage"); r.code != 1 || r.first() != "MALFORMED" {
		t.Fatalf("garbage: %+v", r)
	}

	// Revoke the claimed copy; after a re-sync (a delta) it is REVOKED.
	if st := s.Call(t, "POST", "/v1/licences/"+url.PathEscape(dl.ID)+"/revoke", opToken("drivers-license"), map[string]string{"reason": "吊销"}, nil); st != 200 {
		t.Fatalf("revoke %q: %d", claimed.ID, st)
	}
	time.Sleep(1100 * time.Millisecond) // the checkpoint is published in batches
	r := v("", "sync", "--from", s.URL)
	if r.code != 0 || !strings.Contains(r.stderr, "delta") {
		t.Fatalf("sync after revoke: %+v", r)
	}
	p2, _ := h.Present(dev, time.Now().Add(time.Second))
	if r := v("", "check", p2); r.code != 1 || r.first() != "REVOKED" {
		t.Fatalf("revoked: %+v", r)
	}

	// Scanner input: one verdict per line.
	r = v(bl.QR+"\r\n\nnot a qr\n", "scan")
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

	// The log holds every check, verifies, exports, and detects tampering.
	if r := v("", "log", "verify"); r.code != 0 || !strings.HasPrefix(r.stdout, "OK 8 records") {
		t.Fatalf("log verify: %+v", r)
	}
	out := filepath.Join(t.TempDir(), "export.jsonl")
	if r := v("", "log", "export", "--out", out); r.code != 0 {
		t.Fatalf("log export: %+v", r)
	}
	exported, _ := os.ReadFile(out)
	if strings.Contains(string(exported), "王磊") || strings.Count(string(exported), "\n") != 8 {
		t.Fatalf("export:\n%s", exported)
	}
	logPath := filepath.Join(store, "verifications.jsonl")
	os.WriteFile(logPath, bytes.Replace(exported, []byte(`"code":"REVOKED"`), []byte(`"code":"VALID"`), 1), 0o600)
	if r := v("", "log", "verify"); r.code != 2 || !strings.Contains(r.stderr, "tampered") {
		t.Fatalf("tampered log: %+v", r)
	}

	// A corrupted cache is refused (exit 2), never trusted.
	cache := filepath.Join(store, "cache.json")
	data, _ := os.ReadFile(cache)
	os.WriteFile(cache, bytes.Replace(data, []byte(`"bundle":"ey`), []byte(`"bundle":"ex`), 1), 0o600)
	os.WriteFile(logPath, exported, 0o600)
	if r := v("", "check", bl.QR); r.code != 2 {
		t.Fatalf("corrupt cache: %+v", r)
	}
}
