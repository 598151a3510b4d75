package archive

import (
	"archive/zip"
	"bytes"
	"errors"
	"testing"

	format "elicense/certs/archive"
)

func zipOf(t testing.TB, files map[string][]byte, order ...string) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, name := range order {
		f, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(files[name])
	}
	w.Close()
	return b.Bytes()
}

// TestVerifyRefuses: what is not a package is ErrUnreadable, with no
// report; a package whose files are missing or unlisted is a report
// naming them.
func TestVerifyRefuses(t *testing.T) {
	manifest := []byte(`{"format":"elicense-archive/1","agency":"A","from":"2026-01-01T00:00:00Z","to":"2026-02-01T00:00:00Z","count":0,"origin":"o","signer":"k","files":[{"path":"trust/root.cer","size":1,"sm3":"` + format.Digest{}.String() + `"}]}`)
	for _, tc := range []struct {
		name string
		pkg  []byte
	}{
		{"not a zip", []byte("PK\x03\x04 not really")},
		{"no manifest", zipOf(t, map[string][]byte{"README.txt": nil}, "README.txt")},
		{"bad manifest", zipOf(t, map[string][]byte{format.ManifestPath: []byte(`{"format":"x"}`)}, format.ManifestPath)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Verify(bytes.NewReader(tc.pkg), int64(len(tc.pkg)), Options{})
			if !errors.Is(err, ErrUnreadable) || rep != nil {
				t.Fatalf("got %v %+v", err, rep)
			}
		})
	}
	pkg := zipOf(t, map[string][]byte{format.ManifestPath: manifest, "licences/x/licence.ofd": nil}, format.ManifestPath, "licences/x/licence.ofd")
	rep, err := Verify(bytes.NewReader(pkg), int64(len(pkg)), Options{})
	if err != nil || rep.OK || len(rep.Problems) < 2 {
		t.Fatalf("got %v %+v", err, rep)
	}
}

// FuzzVerify: any bytes give a report or ErrUnreadable, never a panic.
func FuzzVerify(f *testing.F) {
	manifest := []byte(`{"format":"elicense-archive/1","agency":"A","from":"2026-01-01T00:00:00Z","to":"2026-02-01T00:00:00Z","count":0,"origin":"o","signer":"k","files":[]}`)
	f.Add(zipOf(f, map[string][]byte{format.ManifestPath: manifest, format.SignaturePath: {0x30, 0}}, format.ManifestPath, format.SignaturePath))
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := Verify(bytes.NewReader(b), int64(len(b)), Options{})
		if err != nil && !errors.Is(err, ErrUnreadable) {
			t.Fatalf("untyped error %v", err)
		}
		if err == nil && rep == nil {
			t.Fatal("no report and no error")
		}
	})
}
