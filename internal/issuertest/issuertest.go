package issuertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// moduleRoot is the directory of go.mod, found from this file.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Build compiles a Go command of this module (e.g. "./cmd/elicense")
// into dir and returns the binary's path.
func Build(dir, pkg, name string) (string, error) {
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = moduleRoot()
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out, nil
}

// Binary returns the elicense binary, built once per process into a
// directory removed by Cleanup.
func Binary() (string, error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "elicense-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		binPath, buildErr = Build(dir, "./cmd/elicense", "elicense")
	})
	return binPath, buildErr
}

var binDir string

// Cleanup removes the built binary; call it from TestMain.
func Cleanup() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// Server is a running issuer.
type Server struct {
	URL   string
	Data  string // its data directory
	Admin string // the admin token
	cmd   *exec.Cmd
	log   *bytes.Buffer
	mu    sync.Mutex
	ops   map[string]string
}

// Start runs "elicense serve" on a free port with a fresh data directory
// and waits until it is healthy; it is stopped when the test ends.
func Start(t testing.TB) *Server { t.Helper(); return StartWith(t) }

// StartWith is Start with more arguments for "elicense serve".
func StartWith(t testing.TB, args ...string) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	s := &Server{URL: "http://" + addr, Data: filepath.Join(t.TempDir(), "data"), log: &bytes.Buffer{}, ops: map[string]string{}}
	s.cmd = exec.Command(bin, append([]string{"serve", "--addr", addr, "--data", s.Data}, args...)...)
	s.cmd.Env = Env()
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	if !WaitHealthy(s.URL, 60*time.Second) {
		t.Fatalf("issuer did not become healthy:\n%s", s.log)
	}
	tok, err := os.ReadFile(filepath.Join(s.Data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	s.Admin = strings.TrimSpace(string(tok))
	return s
}

// Stop stops the server with SIGTERM and waits for it to exit.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("issuer stopped: %v\n%s", err, s.log)
	}
}

// FreeAddr returns a loopback address with a port free at the moment.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Env is this process's environment without ELICENSE_ settings, so that
// a developer's own configuration does not reach a command under test.
func Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ELICENSE_") {
			env = append(env, kv)
		}
	}
	return env
}

// WaitHealthy polls base + "/healthz" until it answers 200, and reports
// whether it did within timeout.
func WaitHealthy(base string, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
	}
	return false
}

// RootPEM is the issuer's root certificate, which a wallet or counter
// pins out of band.
func (s *Server) RootPEM(t testing.TB) []byte {
	b, err := os.ReadFile(filepath.Join(s.Data, "pki", "root.crt.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Call sends a JSON request and decodes a JSON answer into out (or the
// raw body into out when it is *[]byte); it returns the HTTP status.
func (s *Server) Call(t testing.TB, method, path, token string, body, out any) int {
	t.Helper()
	return Call(t, s.URL, method, path, token, body, out)
}

// Call is Server.Call for a server at base (a URL without a trailing
// slash) that another test started.
func Call(t testing.TB, base, method, path, token string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if raw, ok := out.(*[]byte); ok {
		*raw = data
	} else if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode
}

// AgencyOf returns the code of the agency that issues class in the
// development PKI of the data directory data.
func AgencyOf(t testing.TB, data, class string) string {
	t.Helper()
	var manifest struct {
		Agencies []struct {
			Code    string
			Classes []string
		}
	}
	raw, err := os.ReadFile(filepath.Join(data, "pki", "pki.json"))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw, &manifest)
	for _, a := range manifest.Agencies {
		for _, c := range a.Classes {
			if c == class {
				return a.Code
			}
		}
	}
	t.Fatalf("no agency issues %s", class)
	return ""
}

// Operator returns an operator token of the agency that issues class.
func (s *Server) Operator(t testing.TB, class string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok, ok := s.ops[class]; ok {
		return tok
	}
	var tok struct{ Token string }
	if st := s.Call(t, "POST", "/v1/tokens", s.Admin, map[string]any{"subject": "clerk-" + class, "role": "operator", "agency": AgencyOf(t, s.Data, class), "ttl": "1h"}, &tok); st != http.StatusCreated {
		t.Fatalf("operator token: HTTP %d", st)
	}
	s.ops[class] = tok.Token
	return tok.Token
}

// Sample returns the catalogue's sample record of class.
func Sample(t testing.TB, class string) map[string]string {
	raw, err := os.ReadFile(filepath.Join(moduleRoot(), "certs", "catalog", "testdata", "samples.json"))
	if err != nil {
		t.Fatal(err)
	}
	var samples struct{ Samples map[string]map[string]string }
	if err := json.Unmarshal(raw, &samples); err != nil {
		t.Fatal(err)
	}
	f, ok := samples.Samples[class]
	if !ok {
		t.Fatalf("no sample for %s", class)
	}
	return f
}

// Issued is an issued licence with its one-time claim code.
type Issued struct {
	ID        string `json:"id"`
	ClaimCode string `json:"claim_code"`
}

// Issue issues a licence of class with its sample fields.
func (s *Server) Issue(t testing.TB, class string) Issued {
	t.Helper()
	var l Issued
	if st := s.Call(t, "POST", "/v1/licences", s.Operator(t, class), map[string]any{"class": class, "fields": Sample(t, class)}, &l); st != http.StatusCreated || l.ClaimCode == "" {
		t.Fatalf("issue %s: HTTP %d %+v", class, st, l)
	}
	return l
}

// TrustBundle returns the issuer's signed trust bundle (JWS).
func (s *Server) TrustBundle(t testing.TB) string {
	var doc []byte
	if st := s.Call(t, "GET", "/v1/trust", "", nil, &doc); st != http.StatusOK {
		t.Fatalf("trust: HTTP %d", st)
	}
	return string(doc)
}
