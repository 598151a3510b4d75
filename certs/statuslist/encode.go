package statuslist

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"slices"
)

// DefaultMaxEntries bounds the lists Parse, ParseDelta and DecodeList
// accept unless told otherwise: 64 Mi entries, 16 MiB inflated.
const DefaultMaxEntries = 64 << 20

// EncodeList returns the list's packed byte array compressed with DEFLATE
// in the ZLIB format (RFC 1950/1951), the "lst" of the IETF Token Status
// List before base64url. The output is deterministic.
func EncodeList(l *List) []byte { return zlibRLE(l.b) }

// DecodeList inflates a ZLIB stream into a list. It refuses, with
// ErrTooLarge, a stream that inflates to more than maxEntries entries
// (maxEntries ≤ 0 means DefaultMaxEntries), and, with ErrMalformed, one
// that is not a single valid ZLIB stream (bad header, preset dictionary,
// bad checksum, trailing bytes).
func DecodeList(z []byte, maxEntries int) (*List, error) {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	maxBytes := (maxEntries + perByte - 1) / perByte
	br := bytes.NewReader(z)
	zr, err := zlib.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%w: lst: %v", ErrMalformed, err)
	}
	defer zr.Close()
	// Read at most maxBytes+1 bytes, growing the buffer by doubling; the
	// extra byte tells "too large".
	limit := maxBytes + 1
	buf := make([]byte, 0, min(limit, max(4*len(z), 4096)))
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(len(buf), limit-len(buf)))
		}
		n, err := zr.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: lst: %v", ErrMalformed, err)
		}
	}
	if len(buf) > maxBytes {
		return nil, fmt.Errorf("%w: inflates beyond %d entries", ErrTooLarge, maxEntries)
	}
	if br.Len() != 0 {
		return nil, fmt.Errorf("%w: lst: %d bytes after the ZLIB stream", ErrMalformed, br.Len())
	}
	return &List{b: buf}, nil
}
