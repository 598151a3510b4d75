package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/internal/ledger/boltstore"
	"elicense/internal/ledger/tlog"
)

// buildFile makes a closed ledger file with n entries (appended in
// batches by several writers, with several checkpoints).
func buildFile(t *testing.T, n int) (string, *tlog.NoteVerifier) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l := openTest(t, path, func(o *ledger.Options) { o.CheckpointInterval = -1 })
	appendN(t, l, 0, n, 8)
	v := l.Verifier()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path, v
}

// usedSize is how much of a bbolt file holds data (the rest is slack
// bbolt preallocated).
func usedSize(t *testing.T, path string) int64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n
}

func copyFile(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "copy.db")
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return to
}

// tamper edits the raw bbolt file with fn.
func tamper(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	db.Close()
}

func fsckFile(t *testing.T, path string, v *tlog.NoteVerifier) (*ledger.FsckReport, error) {
	t.Helper()
	return boltstore.Fsck(context.Background(), path, ledger.FsckOptions{Verifier: v})
}

func TestFsckClean(t *testing.T) {
	path, v := buildFile(t, 3000)
	var calls int
	rep, err := boltstore.Fsck(context.Background(), path, ledger.FsckOptions{Verifier: v, Progress: func(done, total uint64) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Size != 3000 || rep.Entries != 3000 || rep.Latest == nil || rep.Latest.Size != 3000 || rep.Root != rep.Latest.Root || calls == 0 {
		t.Fatalf("report %+v, %d progress calls", rep, calls)
	}
	t.Logf("fsck: %d entries, %d checkpoints in %v", rep.Entries, rep.Checkpoints, rep.Elapsed)
}

func TestFsckFindsTampering(t *testing.T) {
	path, v := buildFile(t, 1000)
	other, _ := gm.GenerateKey()
	otherSigner, _ := tlog.NewNoteSigner(testOrigin, other)

	cases := []struct {
		name  string
		edit  func(tx *bolt.Tx) error
		index uint64
		what  string
		want  error
	}{
		{"empty entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketEntries).Put(be(417), []byte{})
		}, 417, "entry", ledger.ErrCorruptEntry},
		{"different entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketEntries).Put(be(5), []byte{1, 2, 3})
		}, 5, "entry", ledger.ErrHashMismatch},
		{"flipped bit in an entry", func(tx *bolt.Tx) error {
			b := bytes.Clone(tx.Bucket(bucketEntries).Get(be(999)))
			b[20] ^= 0x04 // inside the credential hash
			return tx.Bucket(bucketEntries).Put(be(999), b)
		}, 999, "entry", ledger.ErrHashMismatch},
		{"interior hash", func(tx *bolt.Tx) error {
			j := tlog.StoredIndex(tlog.NodeID{Level: 3, Index: 20})
			h := bytes.Clone(tx.Bucket(bucketHashes).Get(be(j)))
			h[0] ^= 1
			return tx.Bucket(bucketHashes).Put(be(j), h)
		}, 167, "hash", ledger.ErrHashMismatch},
		{"short hash", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketHashes).Put(be(10), []byte{1})
		}, 0, "", ledger.ErrCorruptStore},
		{"missing entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketEntries).Delete(be(300))
		}, 300, "entry", ledger.ErrCorruptStore},
		{"forged checkpoint", func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketCheckpoints)
			k, note := c.Cursor().Last()
			n, _ := tlog.ParseNote(note)
			cp, _ := tlog.ParseCheckpoint(n.Text)
			cp.Root[3] ^= 1
			msg, _ := tlog.SignCheckpoint(cp, otherSigner) // signed by a key we do not trust
			return c.Put(bytes.Clone(k), msg)
		}, 1000, "checkpoint", ledger.ErrInconsistent},
		{"checkpoint by another key", func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketCheckpoints)
			k, note := c.Cursor().Last()
			n, _ := tlog.ParseNote(note)
			cp, _ := tlog.ParseCheckpoint(n.Text)
			msg, _ := tlog.SignCheckpoint(cp, otherSigner)
			return c.Put(bytes.Clone(k), msg)
		}, 1000, "checkpoint", tlog.ErrNoKnownSignature},
		{"checkpoint with a broken signature", func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketCheckpoints)
			k, note := c.Cursor().Last()
			bad := bytes.Clone(note)
			bad[len(bad)-10] ^= 1 // inside the base64 signature
			if bad[len(bad)-10] == '+' || bad[len(bad)-10] == '/' {
				bad[len(bad)-10] = 'A'
			}
			return c.Put(bytes.Clone(k), bad)
		}, 1000, "checkpoint", nil},
		{"checkpoint under the wrong size", func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketCheckpoints)
			_, note := c.Cursor().Last()
			return c.Put(be(999), bytes.Clone(note))
		}, 999, "checkpoint", ledger.ErrBadCheckpoint},
		{"checkpoint beyond the log", func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketCheckpoints)
			_, note := c.Cursor().Last()
			return c.Put(be(5000), bytes.Clone(note))
		}, 5000, "checkpoint", ledger.ErrInconsistent},
		{"size counter", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keySize, be(1001))
		}, 0, "", ledger.ErrCorruptStore},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := copyFile(t, path)
			tamper(t, p, c.edit)
			_, err := fsckFile(t, p, v)
			if err == nil {
				t.Fatal("fsck passed")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if c.what != "" {
				var ie *ledger.IndexError
				if !errors.As(err, &ie) || ie.Index != c.index || ie.What != c.what {
					t.Fatalf("got %v, want a problem at %s %d", err, c.what, c.index)
				}
			}
			t.Log(err)
			// The Log refuses to open, or opens and its own fsck fails;
			// nothing panics either way.
			if l, err := openAt(p, nil, ledger.Options{Origin: testOrigin, Signer: testKey(t)}); err == nil {
				if _, err := l.Fsck(context.Background(), ledger.FsckOptions{}); err == nil && c.what != "checkpoint" {
					t.Error("Open accepted the store and its fsck passed")
				}
				l.Close()
			}
		})
	}
}

// TestBitFlips flips random bits all over a closed file. Whatever
// happens, nothing panics; a flip either is caught (an error from open or
// fsck) or landed where it changes nothing the log reads (a free page,
// slack space), in which case fsck passes and every entry reads back
// unchanged.
func TestBitFlips(t *testing.T) {
	path, v := buildFile(t, 1500)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := boltstore.Fsck(context.Background(), path, ledger.FsckOptions{Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	used := int(usedSize(t, path))
	trials := 100
	if testing.Short() {
		trials = 30
	}
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("LEDGER_FLIP_TRIALS"); s != "" {
		trials, _ = strconv.Atoi(s)
	}
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	var caught, harmless int
	for i := range trials {
		b := bytes.Clone(orig[:used]) // the rest is preallocated slack
		for range 1 + rng.IntN(3) {
			off := rng.IntN(used)
			b[off] ^= 1 << rng.IntN(8)
		}
		p := filepath.Join(dir, fmt.Sprintf("flip%d.db", i))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := boltstore.Fsck(context.Background(), p, ledger.FsckOptions{Verifier: v})
		if err != nil {
			caught++
			if i < 5 {
				t.Logf("trial %d: %v", i, err)
			}
			continue
		}
		if rep.Root != want.Root || rep.Size != want.Size {
			t.Fatalf("trial %d: fsck passed with root %s size %d, want %s %d", i, rep.Root, rep.Size, want.Root, want.Size)
		}
		// The Log opens it for writing and keeps working.
		l, err := openAt(p, nil, ledger.Options{Origin: testOrigin, Signer: testKey(t)})
		if err != nil {
			t.Logf("trial %d: fsck passed, Open refused: %v", i, err)
			continue
		}
		if _, err := l.Append(context.Background(), testEntry(9999)); err != nil {
			t.Logf("trial %d: append after a harmless flip: %v", i, err)
		}
		l.Close()
		harmless++
	}
	t.Logf("%d flips caught, %d harmless", caught, harmless)
}

func TestTruncatedFile(t *testing.T) {
	path, v := buildFile(t, 1500)
	used := usedSize(t, path)
	for _, size := range []int64{0, 100, 4096, 3 * 4096, used / 2, used - 4096, used - 1} {
		p := copyFile(t, path)
		if err := os.Truncate(p, size); err != nil {
			t.Fatal(err)
		}
		if _, err := fsckFile(t, p, v); err == nil {
			t.Errorf("truncated to %d: fsck passed", size)
		} else {
			t.Logf("truncated to %d: %v", size, err)
		}
		if l, err := openAt(p, nil, ledger.Options{Origin: testOrigin, Signer: testKey(t)}); err == nil {
			_, err := l.Fsck(context.Background(), ledger.FsckOptions{})
			l.Close()
			if err == nil {
				t.Errorf("truncated to %d: Open and fsck passed", size)
			}
		} else if !errors.Is(err, ledger.ErrCorruptStore) && !errors.Is(err, ledger.ErrInconsistent) {
			t.Errorf("truncated to %d: Open: %v, want ErrCorruptStore", size, err)
		}
	}
}

// TestFsckCheck checks that Fsck hands every entry to Options.Check, in
// order, and reports the first it refuses at its index.
func TestFsckCheck(t *testing.T) {
	path, v := buildFile(t, 300)
	var next uint64
	refuse := errors.New("not in the catalogue")
	rep, err := boltstore.Fsck(context.Background(), path, ledger.FsckOptions{Verifier: v, Check: func(i uint64, e []byte) error {
		if i != next || !bytes.HasPrefix(e, []byte("issue ")) {
			t.Errorf("Check(%d, %q), want entry %d", i, e, next)
		}
		next++
		if i == 123 {
			return refuse
		}
		return nil
	}})
	var ie *ledger.IndexError
	if !errors.Is(err, ledger.ErrCorruptEntry) || !errors.Is(err, refuse) || !errors.As(err, &ie) || ie.Index != 123 || rep.FirstBad != ie {
		t.Fatalf("fsck = %+v, %v; want entry 123 refused", rep, err)
	}
}
