package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	format "elicense/certs/archive"
	"elicense/internal/issuertest"
)

// TestArchiveCommands: elicense archive through the running server and
// --offline on its stopped data give the same package, and
// elicense-verify archive exits 0 on it once its root is pinned (1,
// UNPINNED, before), 1 on a changed byte (naming the file), 2 on what is
// not a package.
func TestArchiveCommands(t *testing.T) {
	vb, err := buildVerify()
	if err != nil {
		t.Fatal(err)
	}
	s := issuertest.Start(t)
	const class = "business-license"
	for range 3 {
		s.Issue(t, class)
	}
	agency := issuertest.AgencyOf(t, s.Data, class)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "admin.token")
	if err := os.WriteFile(tokenFile, []byte(s.Admin), 0o600); err != nil {
		t.Fatal(err)
	}
	// The period ends now: one that has not ended yet is refused.
	from, to := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339Nano)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	r := elicense(t, nil, "archive", "--server", s.URL, "--token-file", tokenFile, "--agency", agency, "--from", from, "--to", future, "--out", filepath.Join(dir, "x.zip"))
	if r.code != 1 || !strings.Contains(r.stderr, "422") || !strings.Contains(r.stderr, "not ended") {
		t.Fatalf("a period not ended: %d %s", r.code, r.stderr)
	}
	online := filepath.Join(dir, "online.zip")
	r = elicense(t, nil, "archive", "--server", s.URL, "--token-file", tokenFile, "--agency", agency, "--from", from, "--to", to, "--out", online)
	if r.code != 0 || !strings.Contains(r.stdout, "3 licence versions") {
		t.Fatalf("online: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// Bad requests are JSON 4xx, nothing written.
	r = elicense(t, nil, "archive", "--server", s.URL, "--token-file", tokenFile, "--agency", "NOSUCH", "--from", from, "--to", to, "--out", filepath.Join(dir, "x.zip"))
	if r.code != 1 || !strings.Contains(r.stderr, "404") {
		t.Fatalf("unknown agency: %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.zip")); err == nil {
		t.Fatal("a refused export left a file")
	}
	s.Stop(t)
	offline := filepath.Join(dir, "offline.zip")
	r = elicense(t, nil, "archive", "--offline", "--data", s.Data, "--agency", agency, "--from", from, "--to", to, "--out", offline)
	if r.code != 0 {
		t.Fatalf("offline: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	a, _ := os.ReadFile(online)
	b, _ := os.ReadFile(offline)
	if !bytes.Equal(a, b) {
		t.Fatal("the online and offline exports of one period differ")
	}

	run := func(args ...string) (int, string) {
		cmd := exec.Command(vb, append(args[:1:1], append([]string{"--store", filepath.Join(dir, "store")}, args[1:]...)...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	verify := func(path string) (int, string) { return run("archive", path) }
	// No pinned root: every check holds, but only against the package's
	// own root.
	if code, out := verify(online); code != 1 || !strings.Contains(out, "UNPINNED archive") {
		t.Fatalf("verify, no root pinned: %d\n%s", code, out)
	}
	rootPEM := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(rootPEM, s.RootPEM(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := run("trust", "add", rootPEM); code != 0 {
		t.Fatalf("trust add: %d\n%s", code, out)
	}
	if code, out := verify(online); code != 0 || !strings.Contains(out, "VALID archive") {
		t.Fatalf("verify: %d\n%s", code, out)
	}
	bad := flipIn(t, a, "/"+format.OFDFile)
	badPath := filepath.Join(dir, "bad.zip")
	os.WriteFile(badPath, bad, 0o644)
	if code, out := verify(badPath); code != 1 || !strings.Contains(out, format.OFDFile) {
		t.Fatalf("changed OFD: %d\n%s", code, out)
	}
	os.WriteFile(badPath, []byte("not a zip"), 0o644)
	if code, out := verify(badPath); code != 2 {
		t.Fatalf("not a package: %d\n%s", code, out)
	}
}
