package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
)

// TestReadTile checks the tiles read from a log's store against a MemTree
// holding the same entries, and that proofs built from them are the log's.
func TestReadTile(t *testing.T) {
	l, err := openAt(filepath.Join(t.TempDir(), "l.db"), nil, ledger.Options{Origin: testOrigin, Signer: testKey(t), CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	m := tlog.NewMemTree(tlog.SM3)
	var entries [][]byte
	for i := range 600 {
		e := fmt.Appendf(nil, "entry %d", i)
		entries = append(entries, e)
		m.AppendEntry(e)
	}
	if _, err := l.AppendAll(ctx, entries); err != nil {
		t.Fatal(err)
	}
	const size = 600
	fetch := func(ts []tlog.Tile) ([][]byte, error) {
		out := make([][]byte, len(ts))
		for i, tl := range ts {
			var err error
			if out[i], err = ledger.ReadTile(ctx, l.Store(), size, tl); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	for _, tl := range tlog.NewTiles(0, size) {
		data, err := ledger.ReadTile(ctx, l.Store(), size, tl)
		if err != nil {
			t.Fatalf("%s: %v", tl.Path(), err)
		}
		if tl.Entries {
			es, err := tlog.ParseEntryBundle(tl, data)
			if err != nil || !bytes.Equal(es[0], entries[tl.Index*tlog.TileWidth]) {
				t.Fatalf("%s: %v", tl.Path(), err)
			}
			continue
		}
		want, _ := m.ReadNodes(tlog.TileNodes(tl))
		if !bytes.Equal(data, tlog.AppendHashTile(nil, want)) {
			t.Fatalf("%s differs from the MemTree's", tl.Path())
		}
	}
	for _, old := range []uint64{1, 255, 256, 300, 599} {
		want, _ := l.ConsistencyProof(old, size)
		got, err := tlog.SM3.ConsistencyProof(old, size, tlog.NewTileReader(tlog.SM3, size, fetch))
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("consistency %d→%d from tiles: %v", old, size, err)
		}
	}
	// A narrower version of a tile is served; a wider one, or one beyond
	// the tree, is not.
	if d, err := ledger.ReadTile(ctx, l.Store(), size, tlog.Tile{Index: 2, Width: 10}); err != nil || len(d) != 10*tlog.HashSize {
		t.Errorf("narrower tile: %d bytes, %v", len(d), err)
	}
	for _, tl := range []tlog.Tile{{Index: 2, Width: 89}, {Index: 3, Width: 1}, {Level: 1, Width: 3}, {Level: 2, Width: 1}} {
		if _, err := ledger.ReadTile(ctx, l.Store(), size, tl); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", tl.Path(), err)
		}
	}
}
