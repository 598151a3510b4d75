package ledger_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"elicense/internal/ledger"
	"elicense/internal/ledger/boltstore"
)

// openStore opens (or creates) a bbolt ledger store the test closes.
func openStore(t *testing.T, path string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestCopy copies a log with many checkpoints into an empty store,
// interrupted and resumed, then again (a no-op), and proves the copy.
func TestCopy(t *testing.T) {
	ctx := context.Background()
	srcPath, v := buildFile(t, 300)
	src := openStore(t, srcPath)
	dst := openStore(t, filepath.Join(t.TempDir(), "copy.db"))
	stop := errors.New("interrupted")
	writes := 0
	_, err := ledger.Copy(ctx, dst, src, ledger.CopyOptions{Batch: 32, AfterWrite: func() error {
		if writes++; writes == 3 {
			return stop
		}
		return nil
	}})
	if !errors.Is(err, stop) {
		t.Fatalf("interrupted copy: %v", err)
	}
	if _, err := ledger.VerifyCopy(ctx, dst, src); !errors.Is(err, ledger.ErrDiverged) {
		t.Fatalf("VerifyCopy of half a copy: %v, want ErrDiverged", err)
	}
	var calls int
	rep, err := ledger.Copy(ctx, dst, src, ledger.CopyOptions{Batch: 32, Progress: func(done, total uint64) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.From == 0 || rep.Size != 300 || rep.Checkpoints == 0 || calls == 0 {
		t.Fatalf("resumed copy: %+v after %d progress calls", rep, calls)
	}
	root, err := ledger.VerifyCopy(ctx, dst, src)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := ledger.Fsck(ctx, dst, ledger.FsckOptions{Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	sr, err := ledger.Fsck(ctx, src, ledger.FsckOptions{Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	if fr.Root != root || fr.Checkpoints != sr.Checkpoints || fr.Size != 300 {
		t.Fatalf("fsck of the copy: %+v, source %+v, root %s", fr, sr, root)
	}
	// A finished copy: nothing to write.
	rep, err = ledger.Copy(ctx, dst, src, ledger.CopyOptions{AfterWrite: func() error { t.Fatal("a finished copy wrote"); return nil }})
	if err != nil || rep.From != 300 || rep.Checkpoints != 0 {
		t.Fatalf("copy again: %+v, %v", rep, err)
	}
}

// TestCopyRefusesAnotherLog: a target holding another log (or more than
// the source) is refused before anything is written.
func TestCopyRefusesAnotherLog(t *testing.T) {
	ctx := context.Background()
	build := func(origin string, from, n int) *boltstore.Store {
		path := filepath.Join(t.TempDir(), "ledger.db")
		l := openTest(t, path, func(o *ledger.Options) { o.Origin = origin; o.CheckpointInterval = -1 })
		appendN(t, l, from, n, 1)
		l.Close()
		return openStore(t, path)
	}
	a := build(testOrigin, 0, 40)
	b := build(testOrigin, 1000, 20) // the same origin and key, other entries
	o := build("example.com/another", 0, 10)

	for _, tc := range []struct {
		name     string
		dst, src ledger.Store[*bolt.Tx]
	}{
		{"another origin", o, a},
		{"other entries", b, a},
		{"target longer", a, b},
	} {
		before, _ := tc.dst.State(ctx)
		_, err := ledger.Copy(ctx, tc.dst, tc.src, ledger.CopyOptions{})
		if !errors.Is(err, ledger.ErrDiverged) {
			t.Errorf("%s: %v, want ErrDiverged", tc.name, err)
		}
		after, _ := tc.dst.State(ctx)
		if after.Size != before.Size {
			t.Errorf("%s: the refused copy wrote", tc.name)
		}
	}
}
