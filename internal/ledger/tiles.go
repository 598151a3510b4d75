package ledger

import (
	"context"
	"fmt"

	"elicense/internal/ledger/tlog"
)

// ReadTile returns the contents of tile t of the tree of the first size
// entries (c2sp.org/tlog-tiles with SM3; tlog.Tile), read from r: a hash
// tile is its Width stored hashes at tree level tlog.TileHeight·Level, an
// entry bundle its Width entries, each prefixed by its length. It fails
// with ErrNotFound unless t is exactly a tile of that tree or a narrower
// version of one (the partial tile a smaller tree had), and with
// tlog.ErrInvalidEntry for an entry too long for a bundle.
func ReadTile(ctx context.Context, r Reader, size uint64, t tlog.Tile) ([]byte, error) {
	have, ok := tlog.TileAt(size, t.Level, t.Index, t.Entries)
	if !ok || t.Width < 1 || t.Width > have.Width {
		return nil, fmt.Errorf("%w: %s is not a tile of a tree of %d entries", ErrNotFound, t.Path(), size)
	}
	if t.Entries {
		start := t.Index * tlog.TileWidth
		out := make([]byte, 0, 256*t.Width)
		err := r.Entries(ctx, start, start+uint64(t.Width), func(_ uint64, e []byte) error {
			var err error
			out, err = tlog.AppendBundleEntry(out, e)
			return err
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	ids := tlog.TileNodes(t)
	idx := make([]uint64, len(ids))
	for i, id := range ids {
		idx[i] = tlog.StoredIndex(id)
	}
	hs := make([]tlog.Hash, len(ids))
	if err := r.Hashes(ctx, idx, hs); err != nil {
		return nil, err
	}
	return tlog.AppendHashTile(make([]byte, 0, len(hs)*tlog.HashSize), hs), nil
}
