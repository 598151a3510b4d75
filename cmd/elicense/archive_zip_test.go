package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"strings"
)

type entrySpan struct{ offset, size int64 }

func zipEntry(pkg []byte, suffix string) (entrySpan, error) {
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		return entrySpan{}, err
	}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, suffix) {
			off, err := f.DataOffset()
			return entrySpan{off, int64(f.UncompressedSize64)}, err
		}
	}
	return entrySpan{}, fmt.Errorf("no entry %s", suffix)
}
