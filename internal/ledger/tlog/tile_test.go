package tlog

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestTilePath(t *testing.T) {
	for _, tc := range []struct {
		tile Tile
		path string
	}{
		{Tile{Index: 0, Width: 256}, "tile/0/000"},
		{Tile{Index: 0, Width: 1}, "tile/0/000.p/1"},
		{Tile{Level: 1, Index: 999, Width: 255}, "tile/1/999.p/255"},
		{Tile{Level: 2, Index: 1000, Width: 256}, "tile/2/x001/000"},
		{Tile{Index: 1234067, Width: 256, Entries: true}, "tile/entries/x001/x234/067"},
		{Tile{Index: 1234067, Width: 8, Entries: true}, "tile/entries/x001/x234/067.p/8"},
		{Tile{Index: 16777215, Width: 256}, "tile/0/x016/x777/215"},
	} {
		if got := tc.tile.Path(); got != tc.path {
			t.Errorf("%+v.Path() = %q, want %q", tc.tile, got, tc.path)
		}
		got, err := ParseTilePath(tc.path)
		if err != nil || got != tc.tile {
			t.Errorf("ParseTilePath(%q) = %+v, %v; want %+v", tc.path, got, err, tc.tile)
		}
	}
}

func TestParseTilePathRejects(t *testing.T) {
	for _, p := range []string{
		"", "tile", "tile/", "tile/0", "tile/0/", "0/000", "/tile/0/000", "tile/0/000/",
		"tile/8/000", "tile/00/000", "tile/-1/000", "tile/data/000", "tile/entries/000.p",
		"tile/0/00", "tile/0/0000", "tile/0/x000/000", "tile/0/x001", "tile/0/001/x002",
		"tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/01", "tile/0/000.p/+1", "tile/0/000.p/",
		"tile/0/000.q/5", "tile/0/x001.p/5/000", "tile/0/+12", "tile/0/1a2",
		"tile/0/x001/x002/x003/x004/x005/x006/x007/000", // too many groups
		"tile/0/x018/x446/x744/x073/x709/551/616",       // past 2^64
		"tile/0/x018/x014/x398/x509/x481/984",           // past MaxTreeSize leaves
		"tile/7/001",                                    // past MaxTreeSize at level 7
	} {
		if tl, err := ParseTilePath(p); !errors.Is(err, ErrBadTile) {
			t.Errorf("ParseTilePath(%q) = %+v, %v; want ErrBadTile", p, tl, err)
		}
	}
}

func FuzzParseTilePath(f *testing.F) {
	f.Add("tile/entries/x001/x234/067.p/8")
	f.Fuzz(func(t *testing.T, p string) {
		tl, err := ParseTilePath(p)
		if err != nil {
			if !errors.Is(err, ErrBadTile) {
				t.Fatalf("error %v does not wrap ErrBadTile", err)
			}
			return
		}
		if tl.Path() != p {
			t.Fatalf("%q parses to %+v, which is %q", p, tl, tl.Path())
		}
		if err := tl.check(); err != nil {
			t.Fatalf("%q parses to an impossible tile: %v", p, err)
		}
	})
}

func FuzzParseEntryBundle(f *testing.F) {
	b, _ := AppendBundleEntry(nil, []byte("one"))
	b, _ = AppendBundleEntry(b, []byte("two"))
	f.Add(b, 2)
	f.Add([]byte{0, 0}, 1)
	f.Fuzz(func(t *testing.T, data []byte, w int) {
		tl := Tile{Width: max(1, min(w, TileWidth)), Entries: true}
		es, err := ParseEntryBundle(tl, data)
		if err != nil {
			if !errors.Is(err, ErrBadTile) {
				t.Fatalf("error %v does not wrap ErrBadTile", err)
			}
			return
		}
		var re []byte
		for _, e := range es {
			if re, err = AppendBundleEntry(re, e); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(re, data) {
			t.Fatalf("bundle %x re-encodes to %x", data, re)
		}
	})
}

func TestEntryBundle(t *testing.T) {
	tl := Tile{Width: 3, Entries: true}
	var b []byte
	entries := [][]byte{[]byte("a"), bytes.Repeat([]byte("b"), 300), bytes.Repeat([]byte("c"), MaxBundleEntryLen)}
	for _, e := range entries {
		var err error
		if b, err = AppendBundleEntry(b, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ParseEntryBundle(tl, b)
	if err != nil || len(got) != 3 || !bytes.Equal(got[2], entries[2]) {
		t.Fatalf("ParseEntryBundle: %d entries, %v", len(got), err)
	}
	if _, err := AppendBundleEntry(nil, make([]byte, MaxBundleEntryLen+1)); !errors.Is(err, ErrInvalidEntry) {
		t.Errorf("an entry of %d bytes: %v, want ErrInvalidEntry", MaxBundleEntryLen+1, err)
	}
	for name, bad := range map[string][]byte{
		"truncated length": b[:1],
		"short entry":      b[:len(b)-1],
		"trailing":         append(append([]byte(nil), b...), 0, 1, 'x'),
		"empty entry":      {0, 0},
	} {
		if _, err := ParseEntryBundle(tl, bad); !errors.Is(err, ErrBadTile) {
			t.Errorf("%s: %v, want ErrBadTile", name, err)
		}
	}
	if _, err := ParseEntryBundle(Tile{Width: 4, Entries: true}, b); !errors.Is(err, ErrBadTile) {
		t.Errorf("3 entries for width 4: %v, want ErrBadTile", err)
	}
	if _, err := ParseHashTile(Tile{Width: 2}, make([]byte, 63)); !errors.Is(err, ErrBadTile) {
		t.Errorf("63-byte hash tile: %v, want ErrBadTile", err)
	}
}

// tileSet is a static publication of a MemTree: its tiles by path.
func tileSet(t testing.TB, m *MemTree) map[string][]byte {
	out := map[string][]byte{}
	for _, tl := range NewTiles(0, m.Size()) {
		if tl.Entries {
			continue
		}
		hs, err := m.ReadNodes(TileNodes(tl))
		if err != nil {
			t.Fatal(err)
		}
		out[tl.Path()] = AppendHashTile(nil, hs)
	}
	return out
}

func fetchFrom(set map[string][]byte, fetched *[]string) TileFetcher {
	return func(ts []Tile) ([][]byte, error) {
		out := make([][]byte, len(ts))
		for i, tl := range ts {
			d, ok := set[tl.Path()]
			if !ok {
				return nil, fmt.Errorf("no tile %s", tl.Path())
			}
			if fetched != nil {
				*fetched = append(*fetched, tl.Path())
			}
			out[i] = d
		}
		return out, nil
	}
}

// TestTileProofs checks that proofs built from tiles are the proofs built
// from stored hashes, for many sizes around tile boundaries.
func TestTileProofs(t *testing.T) {
	m := NewMemTree(SM3)
	sizes := []uint64{1, 2, 3, 7, 8, 9, 255, 256, 257, 511, 512, 513, 1000, 65535, 65536, 65537, 70000}
	for _, n := range sizes {
		for m.Size() < n {
			m.AppendEntry(fmt.Appendf(nil, "entry %d", m.Size()))
		}
		set := tileSet(t, m)
		tr := NewTileReader(SM3, n, fetchFrom(set, nil))
		root, err := SM3.RootAt(n, tr)
		if want := m.Root(); err != nil || root != want {
			t.Fatalf("size %d: root from tiles %v, %v; want %v", n, root, err, want)
		}
		for _, old := range []uint64{0, 1, n / 3, n / 2, n - 1, n} {
			old = min(old, n)
			want, err := m.ConsistencyProof(old, n)
			if err != nil {
				t.Fatal(err)
			}
			got, err := SM3.ConsistencyProof(old, n, NewTileReader(SM3, n, fetchFrom(set, nil)))
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("consistency %d→%d from tiles: %v, %v; want %v", old, n, got, err, want)
			}
		}
		for _, i := range []uint64{0, n / 2, n - 1} {
			want, _ := m.InclusionProof(i, n)
			got, err := SM3.InclusionProof(i, n, tr)
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("inclusion %d in %d from tiles: %v, %v; want %v", i, n, got, err, want)
			}
		}
	}
}

// TestTileReaderFetchesFew checks a consistency proof between two large
// trees needs a handful of tiles, and that a wider tile than asked for
// (the full tile once the partial is gone) is taken.
func TestTileReaderFetchesFew(t *testing.T) {
	m := NewMemTree(SM3)
	for m.Size() < 70000 {
		m.AppendEntry(fmt.Appendf(nil, "entry %d", m.Size()))
	}
	set := tileSet(t, m)
	var fetched []string
	n := uint64(69999) // tiles of 69999: level 0 tile 273 is partial (width 111)
	wider := func(ts []Tile) ([][]byte, error) {
		out := make([][]byte, len(ts))
		for i, tl := range ts {
			full, _ := TileAt(70000, tl.Level, tl.Index, false)
			fetched = append(fetched, tl.Path())
			out[i] = set[full.Path()]
		}
		return out, nil
	}
	tr := NewTileReader(SM3, n, wider)
	want, _ := m.ConsistencyProof(50000, n)
	got, err := SM3.ConsistencyProof(50000, n, tr)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("consistency from wider tiles: %v", err)
	}
	if len(fetched) > 8 {
		t.Errorf("fetched %d tiles for one consistency proof: %v", len(fetched), fetched)
	}
	if _, err := SM3.ConsistencyProof(50000, 70001, NewTileReader(SM3, 70000, wider)); !errors.Is(err, ErrProofGeneration) {
		t.Errorf("proof beyond the reader's size: %v", err)
	}
}

// TestTamperedTile checks a proof built from a tampered tile does not
// verify, and a tile of the wrong length is refused.
func TestTamperedTile(t *testing.T) {
	m := NewMemTree(SM3)
	for m.Size() < 1000 {
		m.AppendEntry(fmt.Appendf(nil, "entry %d", m.Size()))
	}
	root600, _ := m.RootAt(600)
	set := tileSet(t, m)
	want, _ := m.ConsistencyProof(600, 1000)
	spoiled := 0
	for path := range set {
		bad := map[string][]byte{}
		for k, v := range set {
			bad[k] = v
		}
		b := append([]byte(nil), set[path]...)
		b[len(b)-1] ^= 1
		bad[path] = b
		p, err := SM3.ConsistencyProof(600, 1000, NewTileReader(SM3, 1000, fetchFrom(bad, nil)))
		if err != nil {
			t.Fatal(err)
		}
		// A tile the proof does not read cannot spoil it; one it reads must
		// make it fail.
		err = SM3.VerifyConsistency(600, 1000, p, root600, m.Root())
		if fmt.Sprint(p) != fmt.Sprint(want) {
			spoiled++
			if !errors.Is(err, ErrConsistency) {
				t.Errorf("tampered %s: the proof changed and still verifies (%v)", path, err)
			}
		}
		bad[path] = b[:len(b)-1]
		tl, _ := ParseTilePath(path)
		if _, err := NewTileReader(SM3, 1000, fetchFrom(bad, nil)).ReadNodes(TileNodes(tl)); !errors.Is(err, ErrBadTile) {
			t.Errorf("short %s: %v, want ErrBadTile", path, err)
		}
	}
	if spoiled == 0 {
		t.Error("no tampered tile changed the proof")
	}
}

func TestNewTiles(t *testing.T) {
	for _, tc := range []struct {
		old, new uint64
		want     string
	}{
		{0, 1, "[tile/0/000.p/1 tile/entries/000.p/1]"},
		{1, 1, "[]"},
		{255, 256, "[tile/0/000 tile/entries/000 tile/1/000.p/1]"},
		{256, 513, "[tile/0/001 tile/entries/001 tile/0/002.p/1 tile/entries/002.p/1 tile/1/000.p/2]"},
		{65535, 65536, "[tile/0/255 tile/entries/255 tile/1/000 tile/2/000.p/1]"},
	} {
		if got := fmt.Sprint(NewTiles(tc.old, tc.new)); got != tc.want {
			t.Errorf("NewTiles(%d, %d) = %s, want %s", tc.old, tc.new, got, tc.want)
		}
	}
}
