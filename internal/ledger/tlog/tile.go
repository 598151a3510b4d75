package tlog

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Tiles (c2sp.org/tlog-tiles, with SM3 in place of SHA-256): the stored
// hashes of a log cut into tiles of TileWidth hashes, so that a static
// file server can serve everything a proof needs. A hash tile at level L
// holds the hashes of the tree nodes at level TileHeight·L (the leaves
// for L = 0), TileWidth of them when full; the nodes of the levels in
// between are recomputed from it. An entry bundle holds the entries of
// the level-0 tile with the same index. docs/formats.md gives the paths
// and encodings.

const (
	// TileHeight is the number of tree levels a tile spans.
	TileHeight = 8
	// TileWidth is the number of hashes (or entries) in a full tile.
	TileWidth = 1 << TileHeight
	// MaxTileLevel is the highest tile level a tree of MaxTreeSize
	// leaves has.
	MaxTileLevel = 7
	// MaxBundleEntryLen is the longest entry an entry bundle can hold
	// (its length prefix has two bytes); MaxEntryLen is one more.
	MaxBundleEntryLen = 1<<16 - 1
)

// Tile names one tile of a log: the hash tile at Level with index Index,
// or, when Entries is set, the entry bundle with that index (Level is
// then 0). Width is the number of hashes or entries it holds, 1 to
// TileWidth; a tile of TileWidth is full and never changes, a narrower
// one is partial (its path ends in .p/<Width>).
type Tile struct {
	Level   uint8
	Index   uint64
	Width   int
	Entries bool
}

// Path returns the tile's path relative to the log's prefix:
// tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>], where N is written in
// groups of three digits, all but the last prefixed by x (1234067 is
// x001/x234/067).
func (t Tile) Path() string {
	var b strings.Builder
	b.WriteString("tile/")
	if t.Entries {
		b.WriteString("entries")
	} else {
		b.WriteString(strconv.Itoa(int(t.Level)))
	}
	b.WriteByte('/')
	var groups []uint64
	for n := t.Index; ; n /= 1000 {
		groups = append(groups, n%1000)
		if n < 1000 {
			break
		}
	}
	for i := len(groups) - 1; i > 0; i-- {
		fmt.Fprintf(&b, "x%03d/", groups[i])
	}
	fmt.Fprintf(&b, "%03d", groups[0])
	if t.Width < TileWidth {
		b.WriteString(".p/")
		b.WriteString(strconv.Itoa(t.Width))
	}
	return b.String()
}

func (t Tile) String() string { return t.Path() }

// maxIndexGroups bounds the groups of a tile index: 2^64 has 20 digits.
const maxIndexGroups = 7

// ParseTilePath parses a path written by Tile.Path. It is strict: the
// path must be exactly what Path returns for the result, and the tile
// must lie within a tree of MaxTreeSize leaves. Errors wrap ErrBadTile.
func ParseTilePath(p string) (Tile, error) {
	var t Tile
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return t, fmt.Errorf("%w: path %q does not start with tile/", ErrBadTile, p)
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 {
		return t, fmt.Errorf("%w: path %q has no tile index", ErrBadTile, p)
	}
	switch lv := parts[0]; {
	case lv == "entries":
		t.Entries = true
	case len(lv) == 1 && lv[0] >= '0' && lv[0] <= '0'+MaxTileLevel:
		t.Level = lv[0] - '0'
	default:
		return t, fmt.Errorf("%w: path %q: level %q is not entries or 0 to %d", ErrBadTile, p, lv, MaxTileLevel)
	}
	parts = parts[1:]
	t.Width = TileWidth
	if n := len(parts); n >= 2 && strings.HasSuffix(parts[n-2], ".p") {
		w, err := strconv.Atoi(parts[n-1])
		if err != nil || w < 1 || w >= TileWidth || parts[n-1] != strconv.Itoa(w) {
			return t, fmt.Errorf("%w: path %q: partial width %q is not 1 to %d", ErrBadTile, p, parts[n-1], TileWidth-1)
		}
		t.Width = w
		parts[n-2] = strings.TrimSuffix(parts[n-2], ".p")
		parts = parts[:n-1]
	}
	if len(parts) > maxIndexGroups {
		return t, fmt.Errorf("%w: path %q: index has %d groups, at most %d", ErrBadTile, p, len(parts), maxIndexGroups)
	}
	for i, g := range parts {
		digits, x := strings.CutPrefix(g, "x")
		if x != (i < len(parts)-1) || len(digits) != 3 || strings.Trim(digits, "0123456789") != "" {
			return t, fmt.Errorf("%w: path %q: index element %q is not x<3 digits> (or 3 digits, last)", ErrBadTile, p, g)
		}
		d, _ := strconv.ParseUint(digits, 10, 16)
		if t.Index > (1<<64-1-d)/1000 {
			return t, fmt.Errorf("%w: path %q: index overflows", ErrBadTile, p)
		}
		t.Index = t.Index*1000 + d
	}
	if err := t.check(); err != nil {
		return Tile{}, fmt.Errorf("%w: path %q: %v", ErrBadTile, p, err)
	}
	if t.Path() != p {
		return Tile{}, fmt.Errorf("%w: path %q is not in canonical form (%q)", ErrBadTile, p, t.Path())
	}
	return t, nil
}

// check reports whether t lies within a tree of MaxTreeSize leaves.
func (t Tile) check() error {
	if t.Width < 1 || t.Width > TileWidth {
		return fmt.Errorf("width %d is not 1 to %d", t.Width, TileWidth)
	}
	if t.Entries && t.Level != 0 {
		return fmt.Errorf("an entry bundle at level %d", t.Level)
	}
	if t.Level > MaxTileLevel {
		return fmt.Errorf("level %d is above %d", t.Level, MaxTileLevel)
	}
	// The tile's last node must be within MaxTreeSize leaves.
	shift := uint(TileHeight) * uint(t.Level)
	nodes := uint64(MaxTreeSize) >> shift
	if t.Index >= nodes/TileWidth+1 || t.Index*TileWidth+uint64(t.Width) > nodes {
		return fmt.Errorf("tile %d at level %d lies beyond a tree of %d leaves", t.Index, t.Level, uint64(MaxTreeSize))
	}
	return nil
}

// tileWidthAt returns the width of tile index n at level in a tree of
// size leaves: 0 if it has no node yet.
func tileWidthAt(size uint64, level uint8, n uint64) int {
	nodes := size >> (uint(TileHeight) * uint(level))
	if level > MaxTileLevel || nodes <= n*TileWidth {
		return 0
	}
	return int(min(nodes-n*TileWidth, TileWidth))
}

// TileAt returns the tile index n at level (an entry bundle if entries)
// as it is in a tree of size leaves; ok is false if it has no node yet.
func TileAt(size uint64, level uint8, n uint64, entries bool) (t Tile, ok bool) {
	if entries && level != 0 {
		return Tile{}, false
	}
	w := tileWidthAt(size, level, n)
	return Tile{Level: level, Index: n, Width: w, Entries: entries}, w > 0
}

// NewTiles lists the tiles of a tree of newSize leaves that a tree of
// oldSize leaves does not have at the same width: those that are new or
// grew. Each level-0 tile is followed by its entry bundle. A publisher
// that wrote the tiles of oldSize writes these to reach newSize.
func NewTiles(oldSize, newSize uint64) []Tile {
	var out []Tile
	if newSize > MaxTreeSize {
		return nil
	}
	for level := uint8(0); level <= MaxTileLevel; level++ {
		shift := uint(TileHeight) * uint(level)
		if newSize>>shift == 0 {
			break
		}
		oldNodes, newNodes := min(oldSize, newSize)>>shift, newSize>>shift
		for n := oldNodes / TileWidth; n*TileWidth < newNodes; n++ {
			w := tileWidthAt(newSize, level, n)
			if w == tileWidthAt(oldSize, level, n) {
				continue
			}
			out = append(out, Tile{Level: level, Index: n, Width: w})
			if level == 0 {
				out = append(out, Tile{Index: n, Width: w, Entries: true})
			}
		}
	}
	return out
}

// TileNodes lists the nodes whose hashes hash tile t holds, in order.
func TileNodes(t Tile) []NodeID {
	out := make([]NodeID, t.Width)
	for i := range out {
		out[i] = NodeID{Level: TileHeight * t.Level, Index: t.Index*TileWidth + uint64(i)}
	}
	return out
}

// ParseHashTile decodes the hashes of hash tile t: Width hashes of
// HashSize bytes, concatenated. Errors wrap ErrBadTile.
func ParseHashTile(t Tile, data []byte) ([]Hash, error) {
	if t.Entries {
		return nil, fmt.Errorf("%w: %s is an entry bundle, not a hash tile", ErrBadTile, t.Path())
	}
	if len(data) != t.Width*HashSize {
		return nil, fmt.Errorf("%w: %s has %d bytes, want %d (%d hashes)", ErrBadTile, t.Path(), len(data), t.Width*HashSize, t.Width)
	}
	out := make([]Hash, t.Width)
	for i := range out {
		copy(out[i][:], data[i*HashSize:])
	}
	return out, nil
}

// AppendHashTile appends the encoding of a hash tile holding hs.
func AppendHashTile(dst []byte, hs []Hash) []byte {
	for _, h := range hs {
		dst = append(dst, h[:]...)
	}
	return dst
}

// AppendBundleEntry appends one entry to an entry bundle: its length as
// two bytes, big-endian, then the entry. It fails, with ErrInvalidEntry,
// for an empty entry or one longer than MaxBundleEntryLen.
func AppendBundleEntry(dst, entry []byte) ([]byte, error) {
	if len(entry) == 0 || len(entry) > MaxBundleEntryLen {
		return dst, fmt.Errorf("%w: %d bytes cannot go in an entry bundle (1 to %d)", ErrInvalidEntry, len(entry), MaxBundleEntryLen)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(entry)))
	return append(dst, entry...), nil
}

// ParseEntryBundle decodes entry bundle t: exactly Width entries, each
// non-empty and prefixed by its length. The entries alias data. Errors
// wrap ErrBadTile.
func ParseEntryBundle(t Tile, data []byte) ([][]byte, error) {
	if !t.Entries {
		return nil, fmt.Errorf("%w: %s is a hash tile, not an entry bundle", ErrBadTile, t.Path())
	}
	out := make([][]byte, 0, t.Width)
	for len(data) > 0 {
		if len(out) == t.Width {
			return nil, fmt.Errorf("%w: %s has %d bytes after its %d entries", ErrBadTile, t.Path(), len(data), t.Width)
		}
		if len(data) < 2 {
			return nil, fmt.Errorf("%w: %s: entry %d has a truncated length", ErrBadTile, t.Path(), len(out))
		}
		n := int(binary.BigEndian.Uint16(data))
		data = data[2:]
		switch {
		case n == 0:
			return nil, fmt.Errorf("%w: %s: entry %d is empty", ErrBadTile, t.Path(), len(out))
		case n > len(data):
			return nil, fmt.Errorf("%w: %s: entry %d has %d bytes of %d", ErrBadTile, t.Path(), len(out), len(data), n)
		}
		out = append(out, data[:n:n])
		data = data[n:]
	}
	if len(out) != t.Width {
		return nil, fmt.Errorf("%w: %s has %d entries, want %d", ErrBadTile, t.Path(), len(out), t.Width)
	}
	return out, nil
}

// TileFetcher returns the contents of the hash tiles asked for, in order.
// For a partial tile it may return a wider version of the same tile (the
// full one, once the partial is gone): every tile's first hashes never
// change.
type TileFetcher func(tiles []Tile) ([][]byte, error)

// TileReader is a NodeReader over the hash tiles of a tree of a given
// size, fetched as needed by a caller's function (from a file system, a
// web server, a CDN). It does not trust the tiles: a proof built from
// them verifies only if they are right, so a caller verifies what it
// builds (VerifyConsistency, VerifyInclusion) against signed roots. It
// keeps the tiles it fetched; it is not safe for concurrent use.
type TileReader struct {
	t     *TreeHasher
	size  uint64
	fetch TileFetcher
	tiles map[[2]uint64][]Hash // (level, index) → hashes
	// Fetched counts the tiles fetched so far.
	Fetched int
}

// NewTileReader returns a reader of the nodes of the tree of size leaves
// over t, from the tiles fetch returns.
func NewTileReader(t *TreeHasher, size uint64, fetch TileFetcher) *TileReader {
	return &TileReader{t: t, size: size, fetch: fetch, tiles: map[[2]uint64][]Hash{}}
}

// ReadNodes implements NodeReader. A node at a level between two tile
// levels is hashed from the tile below it. Errors for nodes outside the
// tree wrap ErrProofGeneration; for tiles that do not decode, ErrBadTile.
func (r *TileReader) ReadNodes(ids []NodeID) ([]Hash, error) {
	var need []Tile
	seen := map[[2]uint64]bool{}
	for _, id := range ids {
		if id.Level > 62 || r.size>>id.Level <= id.Index {
			return nil, fmt.Errorf("%w: node %v is not in a tree of size %d", ErrProofGeneration, id, r.size)
		}
		level := id.Level / TileHeight
		n := (id.Index << (id.Level % TileHeight)) / TileWidth
		key := [2]uint64{uint64(level), n}
		if r.tiles[key] == nil && !seen[key] {
			seen[key] = true
			t, _ := TileAt(r.size, level, n, false)
			need = append(need, t)
		}
	}
	if len(need) > 0 {
		data, err := r.fetch(need)
		if err != nil {
			return nil, err
		}
		if len(data) != len(need) {
			return nil, fmt.Errorf("%w: fetched %d tiles for %d", ErrBadTile, len(data), len(need))
		}
		for i, t := range need {
			d := data[i]
			if len(d) > t.Width*HashSize && len(d) <= TileWidth*HashSize && len(d)%HashSize == 0 {
				d = d[:t.Width*HashSize] // a wider version of the tile
			}
			hs, err := ParseHashTile(t, d)
			if err != nil {
				return nil, err
			}
			r.tiles[[2]uint64{uint64(t.Level), t.Index}] = hs
		}
		r.Fetched += len(need)
	}
	out := make([]Hash, len(ids))
	for i, id := range ids {
		k := id.Level % TileHeight
		first := id.Index << k
		hs := r.tiles[[2]uint64{uint64(id.Level / TileHeight), first / TileWidth}]
		start := first % TileWidth
		out[i] = r.t.subtree(hs[start : start+1<<k])
	}
	return out, nil
}

// subtree hashes a power-of-two run of adjacent nodes into their root.
func (t *TreeHasher) subtree(hs []Hash) Hash {
	if len(hs) == 1 {
		return hs[0]
	}
	cur := append([]Hash(nil), hs...)
	for len(cur) > 1 {
		for i := 0; i < len(cur)/2; i++ {
			cur[i] = t.HashChildren(cur[2*i], cur[2*i+1])
		}
		cur = cur[:len(cur)/2]
	}
	return cur[0]
}
