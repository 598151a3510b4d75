package archive

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"

	format "elicense/certs/archive"
)

type entry struct {
	name    string
	data    []byte
	deflate bool
}

func zipEntries(t *testing.T, es ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, e := range es {
		h := &zip.FileHeader{Name: e.name, Method: zip.Store}
		if e.deflate {
			h.Method = zip.Deflate
		}
		f, err := w.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The container: directory entries are passed over; a climbing name, a
// second entry of a name and a zip bomb are tampering, named in an
// INVALID report, or, when they leave no manifest to read, the reason it
// cannot be checked; files over their kind's limit are refused before
// they are read.
func TestContainer(t *testing.T) {
	const sm3 = `"sm3":"0000000000000000000000000000000000000000000000000000000000000000"`
	manifest := func(files string) []byte {
		return []byte(`{"format":"elicense-archive/1","agency":"A","from":"2026-01-01T00:00:00Z","to":"2026-02-01T00:00:00Z","count":0,"origin":"o","signer":"k","files":[` + files + `]}` + "\n")
	}
	m := manifest(`{"path":"trust/root.cer","size":1,` + sm3 + `}`)
	bomb := append(manifest(""), bytes.Repeat([]byte(" "), 64<<20)...)
	for _, tc := range []struct {
		name    string
		pkg     []byte
		invalid string // a problem of an INVALID report containing it; "" when unreadable
		err     string // else the error contains it
	}{
		{"directory entries", zipEntries(t, entry{name: "trust/"}, entry{name: "licences/"}, entry{name: format.ManifestPath, data: m}), "trust/root.cer is missing", ""},
		{"only a directory named like the manifest", zipEntries(t, entry{name: "manifest.json/"}), "", "manifest.json is missing"},
		{"climbing name", zipEntries(t, entry{name: "../x"}, entry{name: format.ManifestPath, data: m}), `zip entry "../x": not a clean relative path in the package (tampering)`, ""},
		{"absolute name", zipEntries(t, entry{name: "/etc/x"}, entry{name: format.ManifestPath, data: m}), `zip entry "/etc/x": not a clean relative path`, ""},
		{"twice", zipEntries(t, entry{name: format.RootPath, data: []byte{1}}, entry{name: format.RootPath, data: []byte{2}}, entry{name: format.ManifestPath, data: m}), "zip entry trust/root.cer: twice in the package (tampering)", ""},
		{"manifest twice", zipEntries(t, entry{name: format.ManifestPath, data: m}, entry{name: format.ManifestPath, data: m}), "zip entry manifest.json: twice", ""},
		{"certificate bomb", zipEntries(t, entry{name: format.RootPath, data: make([]byte, 8<<20), deflate: true}, entry{name: format.ManifestPath, data: m}), "zip entry trust/root.cer: 8388608 bytes compressed to", ""},
		{"manifest bomb", zipEntries(t, entry{name: format.ManifestPath, data: bomb, deflate: true}), "", "(a zip bomb)"},
		{"a certificate listed over its limit", zipEntries(t, entry{name: format.ManifestPath, data: manifest(`{"path":"trust/root.cer","size":16777216,` + sm3 + `}`)}), "", "trust/root.cer: size 16777216, at most 65536"},
		{"a certificate over its limit", zipEntries(t, entry{name: format.RootPath, data: make([]byte, 70000)}, entry{name: format.ManifestPath, data: m}), "trust/root.cer: 70000 bytes, at most 65536", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Verify(bytes.NewReader(tc.pkg), int64(len(tc.pkg)), Options{})
			wantRefused(t, rep, err, tc.err, tc.invalid)
		})
	}
}

// wantRefused checks a package's verification: unreadable, with an error
// containing errText, when invalid is ""; else INVALID with a problem
// containing invalid.
func wantRefused(t *testing.T, rep *Report, err error, errText, invalid string) {
	t.Helper()
	if invalid == "" {
		if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), errText) {
			t.Fatalf("got %v, want ErrUnreadable containing %q", err, errText)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range rep.Problems {
		found = found || strings.Contains(p.Message, invalid)
	}
	if rep.Verdict != Invalid || !found {
		t.Fatalf("%s %+v, want INVALID with a problem containing %q", rep.Verdict, rep.Problems, invalid)
	}
}
