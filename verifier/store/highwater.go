package store

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"elicense/internal/gm"
)

// The high-water file records the newest trust data this store ever
// accepted: the highest trust bundle sequence and, per status list URI, the
// highest list version. Sync writes it (only ever raising it) before it
// replaces the cache, and Load refuses a cache older than it, so copying an
// older signed cache.json over the store cannot bring a revoked licence
// back. It lives apart from the cache because the cache holds only signed
// documents, which an attacker can replay whole; the high-water file holds
// nothing signed and is worth nothing to copy from elsewhere.
//
// Format (text, one record a line, LF):
//
//	elicense-verify high-water 1
//	bundle <seq>
//	list <version> <uri>        (zero or more, URIs in increasing order)
//	sm3 <64 hex digits>         (SM3 of every byte before this line)
//
// The checksum catches a truncated or damaged file; the file is not
// secret and not signed.
const (
	highWaterFile   = "highwater"
	highWaterHeader = "elicense-verify high-water 1"
	maxHighWater    = 1 << 20 // bytes
)

// Errors about freshness.
var (
	// ErrHighWater means the high-water file is missing while a cache is
	// held, or damaged. The store fails closed until a sync re-establishes
	// it (see docs/status-and-trust.md §4).
	ErrHighWater = errors.New("store: the freshness record (highwater) is missing or damaged")
	// ErrRolledBack means trust data older than what this store already
	// accepted: a copied-back cache, or an issuer (or an attacker in its
	// place) serving old documents.
	ErrRolledBack = errors.New("store: trust data older than this store already accepted")
)

// highWater is the parsed high-water file.
type highWater struct {
	Seq   uint64            // trust bundle sequence
	Lists map[string]uint64 // status list URI → version
}

// parseHighWater parses a high-water file. Any deviation from the format is
// an error wrapping ErrHighWater.
func parseHighWater(data []byte) (*highWater, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrHighWater, fmt.Sprintf(format, args...))
	}
	if len(data) > maxHighWater {
		return nil, bad("larger than %d bytes", maxHighWater)
	}
	i := bytes.LastIndex(data, []byte("\nsm3 "))
	if i < 0 {
		return nil, bad("no checksum line (truncated?)")
	}
	body, sumLine := data[:i+1], string(data[i+1:])
	if sumLine != checksumLine(body) {
		return nil, bad("checksum does not match its contents")
	}
	hw := &highWater{Lists: map[string]uint64{}}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if lines[0] != highWaterHeader {
		return nil, bad("first line %.40q, want %q", lines[0], highWaterHeader)
	}
	if len(lines) < 2 {
		return nil, bad("no bundle line")
	}
	seq, ok := strings.CutPrefix(lines[1], "bundle ")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil || seq != strconv.FormatUint(n, 10) {
		return nil, bad("line 2: %.40q is not \"bundle <seq>\"", lines[1])
	}
	hw.Seq = n
	prev := ""
	for k, line := range lines[2:] {
		rest, ok := strings.CutPrefix(line, "list ")
		ver, uri, ok2 := strings.Cut(rest, " ")
		v, err := strconv.ParseUint(ver, 10, 64)
		switch {
		case !ok || !ok2 || err != nil || ver != strconv.FormatUint(v, 10) || v == 0:
			return nil, bad("line %d: %.40q is not \"list <version> <uri>\"", k+3, line)
		case uri == "" || len(uri) > 2048 || !utf8.ValidString(uri) || strings.ContainsFunc(uri, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			return nil, bad("line %d: the URI is empty, too long or not printable UTF-8", k+3)
		case k > 0 && uri <= prev:
			return nil, bad("line %d: URIs out of order or repeated", k+3)
		}
		hw.Lists[uri], prev = v, uri
	}
	return hw, nil
}

// encode returns the file form of hw.
func (hw *highWater) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nbundle %d\n", highWaterHeader, hw.Seq)
	uris := make([]string, 0, len(hw.Lists))
	for u := range hw.Lists {
		uris = append(uris, u)
	}
	slices.SortFunc(uris, cmp.Compare)
	for _, u := range uris {
		fmt.Fprintf(&b, "list %d %s\n", hw.Lists[u], u)
	}
	return append(b.Bytes(), checksumLine(b.Bytes())...)
}

// checksumLine is the last line of a high-water file whose other lines are
// body.
func checksumLine(body []byte) string {
	sum := gm.SM3(body)
	return "sm3 " + hex.EncodeToString(sum[:]) + "\n"
}

// readHighWater reads the store's high-water file; (nil, nil) when there
// is none.
func (s *Store) readHighWater() (*highWater, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, highWaterFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return parseHighWater(data)
}

// check refuses c if it is older than hw in its bundle or any list.
func (hw *highWater) check(c *Cache) error {
	if c.Bundle.Seq < hw.Seq {
		return fmt.Errorf("%w: the trust bundle is seq %d, this store already accepted seq %d", ErrRolledBack, c.Bundle.Seq, hw.Seq)
	}
	for id, l := range c.Lists {
		if v, ok := hw.Lists[l.URI]; ok && l.Version < v {
			return fmt.Errorf("%w: status list %s is version %d, this store already accepted version %d", ErrRolledBack, id, l.Version, v)
		}
	}
	return nil
}

// raised returns hw (which may be nil) raised to c's versions; it never
// lowers a mark, and keeps the marks of lists c no longer holds.
func (hw *highWater) raised(c *Cache) *highWater {
	out := &highWater{Lists: map[string]uint64{}}
	if hw != nil {
		out.Seq = hw.Seq
		for u, v := range hw.Lists {
			out.Lists[u] = v
		}
	}
	out.Seq = max(out.Seq, c.Bundle.Seq)
	for _, l := range c.Lists {
		out.Lists[l.URI] = max(out.Lists[l.URI], l.Version)
	}
	return out
}

// writeHighWater replaces the high-water file atomically (synced before
// the rename, the directory after). It refuses to write what it could not
// read back.
func (s *Store) writeHighWater(hw *highWater) error {
	data := hw.encode()
	if _, err := parseHighWater(data); err != nil {
		return fmt.Errorf("store: cannot record %v", err)
	}
	return writeAtomic(filepath.Join(s.dir, highWaterFile), data)
}
