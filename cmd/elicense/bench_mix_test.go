package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"elicense/issuer/loadtest"
)

// TestBenchMix runs the short version of the day's mixed load against the
// real server: every kind runs, none fails, the server's memory is read,
// and every write the bench counted is in the ledger.
func TestBenchMix(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	// Claims count per holder address, as behind a reverse proxy.
	s := startServer(t, data, "--trusted-proxies", "127.0.0.1")
	defer s.stop(t)
	tok, root := filepath.Join(data, "admin.token"), filepath.Join(data, "pki", "root.crt.pem")
	args := []string{"bench", "--mix", "--duration", "5s", "--server", s.url, "--token-file", tok, "--trust-root", root, "--sample-every", "1s"}

	r := elicense(t, nil, append(args, "--json")...)
	r.want(t, exitOK)
	var res loadtest.MixResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	checkMixResult(t, res)
	var ready struct {
		LedgerSize uint64 `json:"ledger_size"`
	}
	s.call(t, "GET", "/readyz", "", nil, &ready)
	writes := uint64(0)
	for _, k := range res.Kinds {
		if k.Name == "issue" || k.Name == "claim" || k.Name == "revoke" {
			writes += k.Count
		}
	}
	if ready.LedgerSize < writes {
		t.Errorf("the ledger holds %d entries, fewer than the %d writes the bench counted", ready.LedgerSize, writes)
	}

	// The text report, a kind turned off, and the clients set.
	r = elicense(t, nil, append(args, "--duration", "2s", "--weights", "revoke=0", "--clients", "4")...)
	r.want(t, exitOK)
	for _, re := range []string{`mixed load: 2\.\d s, 4 clients, \d+ requests \([0-9.]+/s\), 0 errors\n`,
		`\nverify +30 +\d+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +0 +\d+\n`, `\nrevoke +0 +0 `,
		`answered 304 Not Modified .*status-304 \d+ of \d+, trust-304 \d+ of \d+\n`,
		`RSS start [0-9.]+ MiB, end [0-9.]+ MiB, max [0-9.]+ MiB: growth [-+][0-9.]+ MiB`} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("the report does not match %q:\n%s", re, r.stdout)
		}
	}
	checkMixRefusals(t, s, args, data)
}

func checkMixResult(t *testing.T, res loadtest.MixResult) {
	t.Helper()
	want, _ := loadtest.Weights(loadtest.DefaultWeights)
	if len(res.Kinds) != len(want) || res.Errors != 0 || res.Clients != 16 || res.Seconds < 5 || res.Requests == 0 {
		t.Errorf("result: %d kinds, %d errors, %d clients, %.1f s, %d requests", len(res.Kinds), res.Errors, res.Clients, res.Seconds, res.Requests)
	}
	for _, k := range res.Kinds {
		if k.Weight != want[k.Name] || k.Count == 0 || k.Errors != 0 || k.P50 <= 0 || k.P99 < k.P50 || k.Max < k.P99 || k.Rate <= 0 {
			t.Errorf("kind %+v", k)
		}
	}
	for _, name := range []string{"status-304", "trust-304"} {
		if c := res.NotModified[name]; c.Requests == 0 || c.NotModified == 0 {
			t.Errorf("%s: %d of %d answered 304", name, c.NotModified, c.Requests)
		}
	}
	m := res.Memory
	if len(m.Samples) < 4 || m.Start == 0 || m.Max < m.End || m.Max < m.Start || m.Samples[0].Heap == 0 || m.Samples[0].Goal == 0 || m.Failures != 0 {
		t.Errorf("server memory: %+v", m)
	}
}

// checkMixRefusals: usage errors exit 2 before any request; a refused
// request exits 1 and says why.
func checkMixRefusals(t *testing.T, s *server, args []string, data string) {
	t.Helper()
	for _, c := range []struct {
		extra []string
		want  string
	}{
		{[]string{"--weights", "nap=3"}, `no kind "nap"`},
		{[]string{"--weights", "verify=x"}, "want name=N"},
		{[]string{"--body", "x.json"}, "--body is for issuance only"},
		{[]string{"--trust-root", filepath.Join(data, "nothing.pem")}, "--trust-root: "},
		{[]string{"--duration", "0s"}, "positive --duration"},
	} {
		r := elicense(t, nil, append(args, c.extra...)...)
		r.want(t, exitUsage)
		if !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: %s", c.extra, r.stderr)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.token")
	os.WriteFile(bad, []byte("not-a-token"), 0o600)
	r := elicense(t, nil, "bench", "--mix", "--duration", "1s", "--server", s.url, "--token-file", bad, "--trust-root", filepath.Join(data, "pki", "root.crt.pem"))
	r.want(t, exitFail)
	if !strings.Contains(r.stderr, "preparing: issue: POST /v1/licences: 401") {
		t.Errorf("a bad token: %s", r.stderr)
	}
}
