package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProductionMode: development mode makes a PKI, a passphrase file and
// an admin token file on first start and logs where the token is, never
// the token; --production makes none of these, refuses a data directory
// without a PKI or with a passphrase kept inside it, and runs with a
// passphrase from outside; the token for it comes from `elicense token
// create`.
func TestProductionMode(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "dev")
	s := startServer(t, dev)
	s.stop(t)
	tok, err := os.ReadFile(filepath.Join(dev, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	log := s.stderr.String()
	if strings.Contains(log, strings.TrimSpace(string(tok))) {
		t.Fatal("the admin token is in the log")
	}
	if !strings.Contains(log, "admin.token") || !strings.Contains(log, "development mode") {
		t.Fatalf("the development start does not say its mode and where the token is:\n%s", log)
	}

	empty := filepath.Join(dir, "empty")
	r := elicense(t, []string{"ELICENSE_PASSPHRASE=x"}, "serve", "--production", "--addr", "127.0.0.1:0", "--data", empty)
	r.want(t, exitFail)
	if !strings.Contains(r.stderr, "production: no PKI") {
		t.Fatalf("production on an empty directory: %s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(empty, "pki")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("production made a PKI")
	}
	// The development directory keeps its passphrase beside the keys.
	r = elicense(t, nil, "serve", "--production", "--addr", "127.0.0.1:0", "--data", dev, "--passphrase-file", filepath.Join(dev, "passphrase"))
	r.want(t, exitFail)
	if !strings.Contains(r.stderr, "inside the data directory") {
		t.Fatalf("a passphrase file inside the data directory: %s", r.stderr)
	}
	outside := filepath.Join(dir, "secret.pass")
	if err := os.Rename(filepath.Join(dev, "passphrase"), outside); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dev, "admin.token"))
	p := startServer(t, dev, "--production", "--passphrase-file", outside)
	defer p.stop(t)
	if !p.waitOutput("production mode", 0) || strings.Contains(p.stderr.String(), "development mode") {
		t.Fatalf("the production start does not say its mode:\n%s", p.stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dev, "admin.token")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("production wrote an admin token")
	}
	r = elicense(t, []string{"ELICENSE_PASSPHRASE_FILE=" + outside}, "token", "create", "--data", dev, "--subject", "ops-admin", "--role", "admin")
	r.want(t, exitOK)
	admin := strings.TrimSpace(r.stdout)
	var ready struct {
		LedgerSize int `json:"ledger_size"`
	}
	if st := p.call(t, "GET", "/readyz", "", nil, &ready); st != 200 {
		t.Fatalf("readyz %d", st)
	}
	if st := p.call(t, "POST", "/v1/tokens", admin, map[string]any{"subject": "clerk", "role": "operator", "agency": "11310000PDY100010H", "ttl": "1h"}, nil); st != 201 {
		t.Fatalf("the token minted offline does not work: %d", st)
	}
}
