package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBenchCommand load-tests a real server with elicense bench, one
// licence per request and then batches, and checks the report against
// the ledger: every issuance it counts is in it.
func TestBenchCommand(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	s := startServer(t, data)
	defer s.stop(t)
	samples := loadSamples(t)
	one := map[string]any{"class": "business-license", "agency": "11310000PDY100010H", "fields": samples["business-license"]}
	write := func(name string, v any) string {
		b, _ := json.Marshal(v)
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o600)
		return p
	}
	single, batch := write("one.json", one), write("batch.json", map[string]any{"licences": []any{one, one, one}})
	tok := filepath.Join(data, "admin.token")

	r := elicense(t, nil, "bench", "--server", s.url, "--token-file", tok, "--body", single, "--requests", "120", "--clients", "8")
	r.want(t, 0)
	if !strings.HasPrefix(r.stdout, "120 requests in ") || !strings.Contains(r.stdout, "answers: 201 ×120\n") ||
		!regexp.MustCompile(`latency: p50 [0-9.]+ ms, p90 [0-9.]+ ms, p99 [0-9.]+ ms, max [0-9.]+ ms`).MatchString(r.stdout) {
		t.Fatalf("report:\n%s", r.stdout)
	}
	r = elicense(t, nil, "bench", "--server", s.url, "--token-file", tok, "--body", batch, "--requests", "10", "--clients", "2")
	r.want(t, 0)
	if !strings.Contains(r.stdout, "10 requests in ") || !strings.Contains(r.stdout, ", 30 licences (") {
		t.Fatalf("batch report:\n%s", r.stdout)
	}
	var ready struct {
		LedgerSize int `json:"ledger_size"`
	}
	s.call(t, "GET", "/readyz", "", nil, &ready)
	if ready.LedgerSize != 150 {
		t.Fatalf("ledger holds %d entries after 120 + 30 issuances", ready.LedgerSize)
	}

	// A server URL it cannot use is a usage error, before any request.
	r = elicense(t, nil, "bench", "--server", "ftp://"+strings.TrimPrefix(s.url, "http://"), "--token-file", tok, "--body", single, "--requests", "1")
	r.want(t, 2)
	if !strings.Contains(r.stderr, `URL scheme "ftp"`) {
		t.Fatalf("ftp server URL: %s", r.stderr)
	}

	// Refused requests are counted, reported and make the exit status 1.
	bad := write("bad.json", map[string]any{"class": "business-license", "agency": "11310000PDY100010H", "fields": map[string]string{"uscc": "x"}})
	r = elicense(t, nil, "bench", "--server", s.url, "--token-file", tok, "--body", bad, "--requests", "4", "--clients", "2")
	r.want(t, 1)
	if !strings.Contains(r.stdout, "answers: 422 ×4") || !strings.Contains(r.stderr, "first failure: 422") {
		t.Fatalf("refused requests: %s %s", r.stdout, r.stderr)
	}
}
