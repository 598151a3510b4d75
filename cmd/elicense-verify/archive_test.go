package main

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A package missing its root and keys.json: each missing file is said
// once, the root is named as missing rather than printed as a blank
// fingerprint, and the keys are said not to be cross-checked (no store).
func TestArchiveOutputMissing(t *testing.T) {
	const zero = "0000000000000000000000000000000000000000000000000000000000000000"
	manifest := `{"format":"elicense-archive/1","agency":"A","from":"2026-01-01T00:00:00Z","to":"2026-02-01T00:00:00Z","count":0,"origin":"o","signer":"k","files":[` +
		`{"path":"trust/root.cer","size":1,"sm3":"` + zero + `"},{"path":"trust/keys.json","size":1,"sm3":"` + zero + `"}]}` + "\n"
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "manifest.json", Method: zip.Store})
	w.Write([]byte(manifest))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(t.TempDir(), "p.zip")
	if err := os.WriteFile(pkg, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	code := run([]string{"archive", "--store", t.TempDir(), pkg}, env{stdin: strings.NewReader(""), stdout: &o, stderr: &e, now: time.Now})
	out := o.String()
	if code != exitVerdict || !strings.HasPrefix(out, "INVALID ") {
		t.Fatalf("exit %d\n%s%s", code, out, e.String())
	}
	for _, tc := range []struct {
		text string
		n    int
	}{
		{"trust/keys.json is missing", 1},
		{"trust/root.cer is missing", 1},
		{"root: none read", 1},
		{"root  (", 0},
		{"agency keys not cross-checked", 1},
		{"catalogue: the package carries none", 1},
	} {
		if got := strings.Count(out, tc.text); got != tc.n {
			t.Errorf("%q %d times, want %d:\n%s", tc.text, got, tc.n, out)
		}
	}
}
