package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"elicense/internal/issuertest"
	"elicense/internal/ledger/tlog"
)

// publishedSize is the tree size of the checkpoint in a static
// publication (0 if none yet).
func publishedSize(t *testing.T, dir string) uint64 {
	note, err := os.ReadFile(filepath.Join(dir, "v1", "ledger", "checkpoint"))
	if err != nil {
		return 0
	}
	n, err := tlog.ParseNote(note)
	if err != nil {
		t.Fatalf("published checkpoint: %v", err)
	}
	c, err := tlog.ParseCheckpoint(n.Text)
	if err != nil {
		t.Fatal(err)
	}
	return c.Size
}

// waitPublished waits until dir's checkpoint covers the issuer's ledger.
func waitPublished(t *testing.T, s *issuertest.Server, dir string) uint64 {
	t.Helper()
	var ready struct {
		LedgerSize uint64 `json:"ledger_size"`
	}
	s.Call(t, "GET", "/readyz", "", nil, &ready)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if n := publishedSize(t, dir); n >= ready.LedgerSize {
			return n
		}
	}
	t.Fatalf("the publication did not reach ledger size %d (at %d)", ready.LedgerSize, publishedSize(t, dir))
	return 0
}

var syncedRE = regexp.MustCompile(`checkpoint size (\d+) \(was (\d+)\)`)

func syncedSizes(t *testing.T, r result) (now, was uint64) {
	m := syncedRE.FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("sync: %+v", r)
	}
	a, _ := strconv.ParseUint(m[1], 10, 64)
	b, _ := strconv.ParseUint(m[2], 10, 64)
	return a, b
}

// TestStaticPublication: a server keeps a directory current
// (--publish-dir), a plain static file server serves it, and a counter
// syncs from it before and after a revocation, proving the ledger's
// consistency from tiles (the file server has no proof endpoint); then
// from file://DIR; then "elicense publish --to DIR2" from the stopped
// server's data, refused while it runs.
func TestStaticPublication(t *testing.T) {
	bin := binary(t)
	pubDir := filepath.Join(t.TempDir(), "pub")
	s := issuertest.StartWith(t, "--publish-dir", pubDir)
	e := &verifyE2E{t: t, bin: bin, s: s, store: filepath.Join(t.TempDir(), "store")}
	e.samples = map[string]map[string]string{"business-license": issuertest.Sample(t, "business-license")}
	bl := e.issue("business-license")
	other := e.issue("business-license")
	waitPublished(t, s, pubDir)

	fileSrv := httptest.NewServer(http.FileServer(http.Dir(pubDir)))
	defer fileSrv.Close()
	rootPEM := filepath.Join(s.Data, "pki", "root.crt.pem")
	if r := e.v("", "trust", "add", rootPEM); r.code != 0 {
		t.Fatalf("trust add: %+v", r)
	}
	if n, _ := syncedSizes(t, e.v("", "sync", "--from", fileSrv.URL+"/")); n == 0 {
		t.Fatal("synced an empty ledger")
	}
	if r := e.v("", "check", bl.QR); r.first() != "VALID_STATIC" {
		t.Fatalf("before revocation: %+v", r)
	}

	if st := s.Call(t, "POST", "/v1/licences/"+url.PathEscape(bl.ID)+"/revoke", s.Operator(t, "business-license"), map[string]string{"reason": "吊销"}, nil); st != 200 {
		t.Fatalf("revoke: %d", st)
	}
	time.Sleep(1100 * time.Millisecond) // the checkpoint is signed in batches
	size := waitPublished(t, s, pubDir)
	// The status list too: the bundle is written last.
	time.Sleep(1500 * time.Millisecond)
	r := e.v("", "sync")
	now, was := syncedSizes(t, r)
	if now <= was || now < size || !strings.Contains(r.stderr, "delta") {
		t.Fatalf("second sync: checkpoint %d (was %d), published %d:\n%s%s", now, was, size, r.stdout, r.stderr)
	}
	if r := e.v("", "check", bl.QR); r.code != 1 || r.first() != "REVOKED" {
		t.Fatalf("revoked licence: %+v", r)
	}
	if r := e.v("", "check", other.QR); r.first() != "VALID_STATIC" {
		t.Fatalf("other licence: %+v", r)
	}

	// The directory itself, on a fresh counter.
	fresh := &verifyE2E{t: t, bin: bin, s: s, store: filepath.Join(t.TempDir(), "store2")}
	fresh.v("", "trust", "add", rootPEM)
	syncedSizes(t, fresh.v("", "sync", "--from", "file://"+pubDir))
	if r := fresh.v("", "check", bl.QR); r.first() != "REVOKED" {
		t.Fatalf("from file://: %+v", r)
	}

	// elicense publish: refused while the server holds the store, then
	// written from its data once it is stopped.
	elicense, err := issuertest.Binary()
	if err != nil {
		t.Fatal(err)
	}
	pub2 := filepath.Join(t.TempDir(), "pub2")
	publish := func() (string, error) {
		cmd := exec.Command(elicense, "publish", "--to", pub2, "--data", s.Data, "--public-url", s.URL)
		cmd.Env = issuertest.Env()
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := publish(); err == nil || !strings.Contains(out, "in use by a running server") || !strings.Contains(out, "--publish-dir") {
		t.Fatalf("publish while serving: %v\n%s", err, out)
	}
	s.Stop(t)
	out, err := publish()
	if err != nil || !strings.HasPrefix(out, "OK published") {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	// The counter moves to the new directory: same log, same lists.
	if r := e.v("", "sync", "--from", "file://"+pub2); r.code != 0 {
		t.Fatalf("sync from the one-shot publication: %+v", r)
	}
	if r := e.v("", "check", bl.QR); r.first() != "REVOKED" {
		t.Fatalf("after the one-shot publication: %+v", r)
	}
	// Publishing again with nothing new writes no tile.
	if out, err := publish(); err != nil || !strings.Contains(out, " 0 tiles") {
		t.Fatalf("publish again: %v\n%s", err, out)
	}
}
