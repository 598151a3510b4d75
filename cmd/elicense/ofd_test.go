package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOFDCommand runs "elicense ofd" against a stand-in server: the path
// and token it sends, the file it writes, and what it refuses. The
// server side is issuer/api's TestLicenceOFD*.
func TestOFDCommand(t *testing.T) {
	const id = "1.2.156.3005.2.11310000PDY00001XQ001.11310000PDY100010H.20261125ABCD1234.001.7"
	file := []byte("PK\x03\x04 an OFD file")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "Bearer tok":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			w.Write([]byte(`{"code":"unauthorized","message":"a bearer token is required"}`))
		case r.URL.Path == "/v1/licences/"+id+"/ofd":
			w.Header().Set("Content-Type", "application/ofd")
			w.Write(file)
		case r.URL.Path == "/v1/licences/html/ofd":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>"))
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			w.Write([]byte(`{"code":"not_found","message":"no licence"}`))
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	tf := filepath.Join(dir, "tok")
	os.WriteFile(tf, []byte("tok\n"), 0o600)
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("nope"), 0o600)
	out := filepath.Join(dir, "licence.ofd")
	noEnv := func(string) (string, bool) { return "", false }
	// The help names everyone who may fetch the file.
	var help bytes.Buffer
	if code := run([]string{"help", "ofd"}, &env{stdout: &help, stderr: &help, lookupEnv: noEnv}); code != exitOK ||
		!strings.Contains(help.String(), "operator") || !strings.Contains(help.String(), "auditor") || !strings.Contains(help.String(), "admin") {
		t.Errorf("help ofd: exit %d\n%s", code, help.String())
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"ok", []string{"ofd", "--server", srv.URL, "--token-file", tf, "--out", out, id}, exitOK, ""},
		{"flags after the id", []string{"ofd", id, "--server", srv.URL, "--token-file", tf, "--out", out}, exitOK, ""},
		{"no id", []string{"ofd", "--server", srv.URL, "--token-file", tf, "--out", out}, exitUsage, "name the licence identifier"},
		{"no out", []string{"ofd", "--server", srv.URL, "--token-file", tf, id}, exitUsage, "--out is required"},
		{"no token", []string{"ofd", "--server", srv.URL, "--out", out, id}, exitUsage, "no token"},
		{"refused token", []string{"ofd", "--server", srv.URL, "--token-file", bad, "--out", out, id}, exitFail, "server answered 401"},
		{"unknown licence", []string{"ofd", "--server", srv.URL, "--token-file", tf, "--out", out, "1.2.3"}, exitFail, "server answered 404"},
		{"not an OFD", []string{"ofd", "--server", srv.URL, "--token-file", tf, "--out", out, "html"}, exitFail, "not an OFD file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(out)
			if tc.code == exitOK {
				os.WriteFile(out, nil, 0o644) // replaced, and no longer readable by others
			}
			var so, se bytes.Buffer
			code := run(tc.args, &env{stdout: &so, stderr: &se, lookupEnv: noEnv})
			if code != tc.code || !strings.Contains(se.String(), tc.stderr) {
				t.Fatalf("exit %d, want %d; stderr %q, want %q", code, tc.code, se.String(), tc.stderr)
			}
			got, err := os.ReadFile(out)
			if tc.code == exitOK && (err != nil || !bytes.Equal(got, file) || !strings.Contains(so.String(), "wrote "+out)) {
				t.Fatalf("wrote %q (%v), stdout %q", got, err, so.String())
			}
			if tc.code != exitOK && err == nil {
				t.Fatal("a file was written on failure")
			}
			if st, err := os.Stat(out); err == nil && st.Mode().Perm() != 0o600 {
				t.Errorf("%s is %v, want 0600 (personal data)", out, st.Mode().Perm())
			}
		})
	}
}
