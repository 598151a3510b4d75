package store

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicense/internal/ledger/tlog"
)

// tilesOf is the static publication of a tree's tiles: path → bytes.
func tilesOf(t *testing.T, m *tlog.MemTree) map[string][]byte {
	out := map[string][]byte{}
	for _, tl := range tlog.NewTiles(0, m.Size()) {
		if tl.Entries {
			continue
		}
		hs, err := m.ReadNodes(tlog.TileNodes(tl))
		if err != nil {
			t.Fatal(err)
		}
		out[tl.Path()] = tlog.AppendHashTile(nil, hs)
	}
	return out
}

// grow appends n entries to the world's ledger and republishes.
func grow(t *testing.T, f *fakeIssuer, n int, seq uint64) {
	for i := range n {
		f.w.Tree.AppendEntry(fmt.Appendf(nil, "entry %d", i))
	}
	f.publish(t, seq)
}

// The checkpoint's consistency is proved from tiles when the source has
// them, fetching few; a tampered tile is refused and names the proof.
func TestSyncConsistencyFromTiles(t *testing.T) {
	w, f, srv, s := setup(t)
	now := w.Now.Add(time.Hour)
	grow(t, f, 700, 1)
	if _, err := syncNow(s, srv.URL, now); err != nil {
		t.Fatal(err)
	}
	grow(t, f, 1000, 2)
	f.tiles = tilesOf(t, w.Tree)
	f.proof = func(o, n uint64) []string {
		t.Errorf("proof endpoint asked (%d→%d) though tiles are served", o, n)
		return nil
	}
	var log strings.Builder
	rep, err := s.Sync(t.Context(), srv.URL, SyncOptions{Now: func() time.Time { return now }, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if rep.PreviousCPSize != 701 || rep.Checkpoint.Size != 1701 {
		t.Fatalf("checkpoint %d → %d", rep.PreviousCPSize, rep.Checkpoint.Size)
	}
	tiles := 0
	for p := range f.requests {
		if strings.HasPrefix(p, "/v1/ledger/tile/") {
			tiles++
		}
	}
	if tiles == 0 || tiles > 8 {
		t.Errorf("fetched %d tiles", tiles)
	}

	// A tampered tile, then a tampered checkpoint, are refused; the cache
	// keeps checkpoint 1701.
	grow(t, f, 300, 3)
	good := tilesOf(t, w.Tree)
	for path := range good {
		f.tiles = map[string][]byte{}
		for k, v := range good {
			f.tiles[k] = v
		}
		b := append([]byte(nil), good[path]...)
		b[0] ^= 1
		f.tiles[path] = b
		_, err := syncNow(s, srv.URL, now)
		if err == nil {
			continue // a tile the proof from 1701 to 2001 does not read
		}
		if !errors.Is(err, tlog.ErrConsistency) || !strings.Contains(err.Error(), "proof from tiles") {
			t.Errorf("tampered %s: %v", path, err)
		}
		// Which tiles the proof reads is settled: put it back.
	}
	f.tiles = good
	f.proof = func(o, n uint64) []string { return []string{} } // the forked tree has no tiles here
	held := f.checkpoint
	forked := tlogFork(w)
	signer := must(tlog.NewNoteSigner(rep.Checkpoint.Origin, w.LedgerKey))
	f.checkpoint = must(tlog.SignCheckpoint(tlog.Checkpoint{Origin: rep.Checkpoint.Origin, Size: forked.Size(), Root: forked.Root()}, signer))
	if _, err := syncNow(s, srv.URL, now); err == nil || !strings.Contains(err.Error(), "not consistent") {
		t.Errorf("a checkpoint of another tree: %v", err)
	}
	f.checkpoint = held
	if _, err := syncNow(s, srv.URL, now); err != nil {
		t.Fatal(err)
	}
}

// Without tiles (404) the issuer's proof endpoint is asked.
func TestSyncConsistencyFallsBackToProof(t *testing.T) {
	w, f, srv, s := setup(t)
	now := w.Now.Add(time.Hour)
	if _, err := syncNow(s, srv.URL, now); err != nil {
		t.Fatal(err)
	}
	grow(t, f, 10, 2)
	if _, err := syncNow(s, srv.URL, now); err != nil {
		t.Fatal(err)
	}
	if f.requests["/v1/ledger/proof/consistency?old=1&new=11"] != 1 {
		t.Errorf("requests: %v", f.requests)
	}
}

// A file:// source reads the same paths from a directory, and nothing
// outside it.
func TestSyncFromDirectory(t *testing.T) {
	w, f, _, s := setup(t)
	now := w.Now.Add(time.Hour)
	dir := t.TempDir()
	write := func(name string, data []byte) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dump := func() {
		write("v1/trust", []byte(f.bundle))
		write("v1/ledger/checkpoint", f.checkpoint)
		for id, l := range f.lists {
			write("v1/status/"+id, []byte(l))
		}
		for p, d := range tilesOf(t, w.Tree) {
			write("v1/ledger/"+p, d)
		}
	}
	grow(t, f, 300, 1)
	dump()
	if _, err := syncNow(s, "file://"+dir, now); err != nil {
		t.Fatal(err)
	}
	grow(t, f, 300, 2)
	dump()
	rep, err := syncNow(s, "file://"+dir, now)
	if err != nil || rep.Checkpoint.Size != 601 {
		t.Fatalf("%+v, %v", rep, err)
	}
	// A list held and unchanged: the empty delta file says so.
	for id, l := range w.Lists {
		write(fmt.Sprintf("v1/status-delta/%s/%d", id, l.Version), nil)
	}
	if rep, err = syncNow(s, "file://"+dir, now); err != nil || len(rep.UnchangedLists) != len(w.Lists) || rep.Bytes != int64(len(f.bundle)+len(f.checkpoint)) {
		t.Fatalf("%+v, %v", rep, err)
	}
	// A tampered tile in the directory is refused.
	grow(t, f, 5, 3)
	dump()
	tl, _ := tlog.TileAt(w.Tree.Size(), 0, 2, false)
	b, _ := os.ReadFile(filepath.Join(dir, "v1/ledger", tl.Path()))
	b[len(b)-1] ^= 1
	write("v1/ledger/"+tl.Path(), b)
	if _, err := syncNow(s, "file://"+dir, now); !errors.Is(err, tlog.ErrConsistency) {
		t.Errorf("tampered %s: %v", tl.Path(), err)
	}

	src, err := openSource("file://" + dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	os.Symlink("/etc", filepath.Join(dir, "v1", "out"))
	for _, p := range []string{"/../x", "/v1/../../etc/passwd", "/v1/%2e%2e/%2e%2e/etc/passwd", "/v1/out/passwd"} {
		if _, code, err := src.getFile(p, "test"); err == nil || code == http.StatusOK {
			t.Errorf("%s: %d, %v; want a refusal", p, code, err)
		}
	}
	if _, code, _ := src.getFile("/v1/ledger/proof/consistency?old=1&new=2", "proof"); code != http.StatusNotFound {
		t.Errorf("proof endpoint from a directory: %d, want 404", code)
	}
	for _, bad := range []string{"ftp://x", "file://", "nonsense"} {
		if _, err := openSource(bad); err == nil {
			t.Errorf("source %q accepted", bad)
		}
	}
}
