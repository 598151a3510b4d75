package ofd

import (
	"archive/zip"
	"bytes"
	"sort"
	"time"
)

// Writer builds an OFD container deterministically: the same files give
// the same bytes. Entries are written OFD.xml first, then by name, deflated,
// with a fixed modification time and no extra fields that vary.
type Writer struct {
	files map[string][]byte
}

// writerTime is the modification time of every entry.
var writerTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Add puts a file at the package path name (a clean relative path, as
// [Open] requires). Adding a name twice (also differing only in case) is
// an error wrapping ErrPath.
func (w *Writer) Add(name string, data []byte) error {
	n, dir, err := checkEntryName(name)
	if err != nil {
		return err
	}
	if dir {
		return errorf(ErrPath, name, "a file name must not end with /")
	}
	if w.files == nil {
		w.files = map[string][]byte{}
	}
	for have := range w.files {
		if foldName(have) == foldName(n) {
			return errorf(ErrPath, name, "already added as %q", have)
		}
	}
	w.files[n] = bytes.Clone(data)
	return nil
}

// Bytes returns the zip container.
func (w *Writer) Bytes() ([]byte, error) {
	names := make([]string, 0, len(w.files))
	for n := range w.files {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == RootPath) != (names[j] == RootPath) {
			return names[i] == RootPath
		}
		return names[i] < names[j]
	})
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: writerTime})
		if err != nil {
			return nil, errorf(ErrZip, n, "%v", err)
		}
		if _, err := f.Write(w.files[n]); err != nil {
			return nil, errorf(ErrZip, n, "%v", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, errorf(ErrZip, "", "%v", err)
	}
	return buf.Bytes(), nil
}
