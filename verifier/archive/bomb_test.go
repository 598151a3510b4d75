package archive

import (
	"archive/zip"
	"bytes"
	"fmt"
	"hash/crc32"
	"runtime"
	"testing"

	format "elicense/certs/archive"
)

// raw is a zip entry written as is, with the sizes its headers declare.
type raw struct {
	name                 string
	data                 []byte
	compressed, inflated uint64 // declared; 0: len(data)
}

func rawZip(t *testing.T, es ...raw) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, e := range es {
		h := &zip.FileHeader{Name: e.name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(e.data),
			CompressedSize64: uint64(len(e.data)), UncompressedSize64: uint64(len(e.data))}
		if e.compressed != 0 {
			h.CompressedSize64 = e.compressed
		}
		if e.inflated != 0 {
			h.UncompressedSize64 = e.inflated
		}
		f, err := w.CreateRaw(h)
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

// allocated is the bytes f allocates.
func allocated(f func()) uint64 {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	f()
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc
}

// A package's declared sizes do not make the verifier allocate: an
// entry whose data would run past the end of the package is refused, a
// package whose entries would inflate like a zip bomb is not read at all,
// and an entry is read into memory only as its bytes arrive.
func TestDeclaredSizesAllocateNothing(t *testing.T) {
	const sm3 = `"sm3":"0000000000000000000000000000000000000000000000000000000000000000"`
	m := []byte(`{"format":"elicense-archive/1","agency":"A","from":"2026-01-01T00:00:00Z","to":"2026-02-01T00:00:00Z","count":1,"origin":"o","signer":"k","files":[` +
		`{"path":"README.txt","size":307200,` + sm3 + `},{"path":"licences/x/licence.ofd","size":16777216,` + sm3 + `}]}` + "\n")
	readme := raw{name: format.ReadmePath, data: bytes.Repeat([]byte("x"), 600<<10)} // room for large claims within the package's bound
	const ofd = "licences/x/licence.ofd"
	for _, tc := range []struct {
		name    string
		pkg     []byte
		invalid string // a problem of an INVALID report containing it; "" when unreadable
		err     string // else the error contains it
	}{
		{"a tiny package declaring a 250 MiB manifest",
			rawZip(t, raw{name: format.ManifestPath, data: []byte("{}"), compressed: 250 << 20, inflated: 250 << 20}), "",
			"zip entry manifest.json: 262144000 bytes of data declared at offset 43, past the end of the package (126 bytes)"},
		{"a licence file declaring 16 MiB past the package's end",
			rawZip(t, readme, raw{name: ofd, data: []byte("0123456789"), compressed: 16 << 20, inflated: 16 << 20}, raw{name: format.ManifestPath, data: m}),
			"zip entry " + ofd + ": 16777216 bytes of data declared at offset", ""},
		{"a manifest declaring 32 MiB, holding its bytes",
			rawZip(t, readme, raw{name: format.ManifestPath, data: m, inflated: 32 << 20}), "", "manifest.json: unexpected EOF"},
		{"entries each within bounds, together a zip bomb", manyDeflated(t, 1000, 64<<10), "", "(a zip bomb)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rep *Report
			var err error
			n := allocated(func() { rep, err = Verify(bytes.NewReader(tc.pkg), int64(len(tc.pkg)), Options{}) })
			if n > 4<<20 {
				t.Errorf("a package of %d bytes allocated %d", len(tc.pkg), n)
			}
			wantRefused(t, rep, err, tc.err, tc.invalid)
		})
	}
}

// manyDeflated is a package of n deflated licence files of size zero
// bytes each, and a manifest.
func manyDeflated(t *testing.T, n, size int) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	zero := make([]byte, size)
	for i := range n {
		f, err := w.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("licences/%d/licence.ofd", i), Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(zero)
	}
	f, err := w.Create(format.ManifestPath)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte(`{}`))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readGrowing reads what there is, up to its limit, and allocates about
// what it reads (its buffer doubles), not the limit.
func TestReadGrowing(t *testing.T) {
	for _, tc := range []struct{ n, limit int }{{0, 1}, {10, 11}, {10, 5}, {readChunk, readChunk + 1}, {3*readChunk + 7, 16 << 20}, {4 << 20, 4<<20 + 1}} {
		data := bytes.Repeat([]byte{'a', 'b', 'c'}, tc.n/3+1)[:tc.n]
		var b []byte
		var err error
		n := allocated(func() { b, err = readGrowing(bytes.NewReader(data), int64(tc.limit)) })
		if err != nil || !bytes.Equal(b, data[:min(tc.n, tc.limit)]) {
			t.Errorf("%d bytes, limit %d: %d bytes read, %v", tc.n, tc.limit, len(b), err)
		}
		if n > uint64(4*tc.n+2*readChunk) {
			t.Errorf("%d bytes, limit %d: allocated %d", tc.n, tc.limit, n)
		}
	}
}
