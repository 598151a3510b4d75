package static

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"elicense/internal/atomicfile"
	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/publish"
	"elicense/issuer/status"
)

// Paths under the directory (docs/formats.md).
const (
	TrustPath      = "v1/trust"
	GenuinePrefix  = "v1/trust/genuine/"
	CheckpointPath = "v1/ledger/checkpoint"
	TilePrefix     = "v1/ledger/" // + tlog.Tile.Path()
	StatusPrefix   = "v1/status/"
	DeltaPrefix    = "v1/status-delta/" // + <list>/<from version>
)

// Defaults for Options.
const (
	DefaultDeltaBases  = 32
	DefaultDeltaMaxAge = 7 * 24 * time.Hour
)

// ErrRollback means the directory holds a newer or different state than
// the issuer's (another issuer's directory, a log restored from an old
// backup): writing would roll counters back, so nothing is written.
var ErrRollback = errors.New("static: the directory is ahead of the issuer")

// Options configure a Writer.
type Options struct {
	// Dir is the directory to keep current (made if missing).
	Dir string
	// Ledger is the ledger's store: tiles are read from it.
	Ledger ledger.Reader
	// Checkpoint gives the latest signed checkpoint (ledger.Log's).
	Checkpoint func() ledger.SignedCheckpoint
	// Status and Publisher give the signed lists and the trust bundle.
	Status    *status.Manager
	Publisher *publish.Publisher
	// Signer and KeyID sign the deltas composed here: the status lists'
	// key (status.Options).
	Signer crypto.Signer
	KeyID  string
	// DeltaBases is how many of a list's recently published versions
	// keep a delta to the current one; a counter holding an older one
	// fetches the full list. Zero means DefaultDeltaBases.
	DeltaBases int
	// DeltaMaxAge drops bases published longer ago than this (a version
	// is its publication time in microseconds). Zero means
	// DefaultDeltaMaxAge.
	DeltaMaxAge time.Duration
	Now         func() time.Time
	Logger      *slog.Logger
}

// Writer keeps Options.Dir current. Publish calls must not overlap (one
// writer per directory; Run makes them in turn).
type Writer struct {
	o   Options
	pub *ecdsa.PublicKey
}

// New returns a writer.
func New(o Options) (*Writer, error) {
	if o.Dir == "" || o.Ledger == nil || o.Checkpoint == nil || o.Status == nil || o.Publisher == nil || o.Signer == nil || o.KeyID == "" {
		return nil, errors.New("static: Dir, Ledger, Checkpoint, Status, Publisher, Signer and KeyID are required")
	}
	pub, ok := o.Signer.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("static: the status signer is not an SM2 key")
	}
	if o.DeltaBases <= 0 {
		o.DeltaBases = DefaultDeltaBases
	}
	if o.DeltaMaxAge <= 0 {
		o.DeltaMaxAge = DefaultDeltaMaxAge
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Writer{o: o, pub: pub}, nil
}

// Report says what one Publish wrote.
type Report struct {
	Size, PreviousSize uint64 // the checkpoint's tree size, and the one the directory held
	Tiles              int    // tiles (hash tiles and entry bundles) written
	Lists              int    // full lists written
	Deltas             int    // delta files written
	Pruned             int    // files removed
	Bytes              int64  // bytes written
}

// Publish brings the directory up to date. On an error the directory is
// left in a state a reader can use (each file is whole, and none is
// written before what it depends on), and the next Publish completes it.
func (w *Writer) Publish(ctx context.Context) (*Report, error) {
	rep := &Report{}
	if err := os.MkdirAll(w.o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	// Taken in this order so that the bundle names nothing newer than
	// what is written with it: a checkpoint and list versions at most
	// those written below.
	bundle, _ := w.o.Publisher.TrustBundle()
	cp := w.o.Checkpoint()
	if err := w.genuineSets(rep); err != nil {
		return rep, err
	}
	if err := w.tiles(ctx, cp, rep); err != nil {
		return rep, err
	}
	for _, l := range w.o.Status.Lists() {
		if err := w.list(l.ID, rep); err != nil {
			return rep, err
		}
	}
	if len(cp.Note) > 0 {
		if err := w.write(CheckpointPath, cp.Note, rep); err != nil {
			return rep, err
		}
	}
	if len(bundle) == 0 {
		return rep, errors.New("static: the trust bundle could not be signed")
	}
	if err := w.write(TrustPath, bundle, rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// path is name (slash-separated) under the directory.
func (w *Writer) path(name string) string { return filepath.Join(w.o.Dir, filepath.FromSlash(name)) }

// write replaces name with data, atomically and durably.
func (w *Writer) write(name string, data []byte, rep *Report) error {
	p := w.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("static: %w", err)
	}
	if err := atomicfile.Write(p, data, 0o644); err != nil {
		return fmt.Errorf("static: %s: %w", name, err)
	}
	rep.Bytes += int64(len(data))
	return nil
}

func (w *Writer) read(name string) ([]byte, error) { return os.ReadFile(w.path(name)) }

// genuineSets writes the genuine sets of compromised keys not yet there:
// each is immutable (the bundle names it by SM3).
func (w *Writer) genuineSets(rep *Report) error {
	for _, kid := range w.o.Publisher.GenuineKeys() {
		if !safeName(kid) {
			return fmt.Errorf("static: key ID %q cannot be a file name", kid)
		}
		name := GenuinePrefix + kid
		if _, err := os.Stat(w.path(name)); err == nil {
			continue
		}
		doc, _, ok, err := w.o.Publisher.GenuineSet(kid)
		if err != nil || !ok {
			return fmt.Errorf("static: genuine set of %s: %v", kid, err)
		}
		if err := w.write(name, doc, rep); err != nil {
			return err
		}
	}
	return nil
}

// heldCheckpoint is the checkpoint the directory holds, if it parses.
func (w *Writer) heldCheckpoint() (*tlog.Checkpoint, error) {
	note, err := w.read(CheckpointPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	n, err := tlog.ParseNote(note)
	if err != nil {
		return nil, nil // damaged: every tile is written again
	}
	c, err := tlog.ParseCheckpoint(n.Text)
	if err != nil {
		return nil, nil
	}
	return &c, nil
}

// tiles writes the tiles of cp's tree that the directory's checkpoint
// does not cover, after checking the directory holds a prefix of this
// log, and removes the partial tiles a full one replaces.
func (w *Writer) tiles(ctx context.Context, cp ledger.SignedCheckpoint, rep *Report) error {
	rep.Size = cp.Size
	held, err := w.heldCheckpoint()
	if err != nil {
		return err
	}
	var from uint64
	nodes := storeNodes{ctx, w.o.Ledger}
	if held != nil {
		switch {
		case held.Origin != cp.Origin:
			return fmt.Errorf("%w: it holds a checkpoint of log %q, this issuer's is %q", ErrRollback, held.Origin, cp.Origin)
		case held.Size > cp.Size:
			return fmt.Errorf("%w: it holds a checkpoint of size %d, the issuer's latest is %d", ErrRollback, held.Size, cp.Size)
		}
		root, err := tlog.SM3.RootAt(held.Size, nodes)
		if err != nil {
			return fmt.Errorf("static: root at the directory's size %d: %w", held.Size, err)
		}
		if root != held.Root {
			return fmt.Errorf("%w: its checkpoint of size %d has another root than this ledger's", ErrRollback, held.Size)
		}
		from = held.Size
	}
	rep.PreviousSize = from
	if root, err := tlog.SM3.RootAt(cp.Size, nodes); err != nil || root != cp.Root {
		return fmt.Errorf("static: the ledger's root at size %d is not the checkpoint's (%v)", cp.Size, err)
	}
	for _, t := range tlog.NewTiles(from, cp.Size) {
		data, err := ledger.ReadTile(ctx, w.o.Ledger, cp.Size, t)
		if err != nil {
			return fmt.Errorf("static: %s: %w", t.Path(), err)
		}
		if err := w.write(TilePrefix+t.Path(), data, rep); err != nil {
			return err
		}
		rep.Tiles++
		if t.Width == tlog.TileWidth {
			// Its partial versions: a reader that asks for one after this
			// takes the full tile instead.
			p := w.path(TilePrefix + t.Path() + ".p")
			if _, err := os.Stat(p); err == nil {
				if err := os.RemoveAll(p); err != nil {
					return fmt.Errorf("static: %w", err)
				}
				rep.Pruned++
			}
		}
	}
	return nil
}

// storeNodes reads stored hashes for tlog (ledger's own adapter is not
// exported).
type storeNodes struct {
	ctx context.Context
	r   ledger.Reader
}

func (s storeNodes) ReadNodes(ids []tlog.NodeID) ([]tlog.Hash, error) {
	idx := make([]uint64, len(ids))
	for i, id := range ids {
		idx[i] = tlog.StoredIndex(id)
	}
	out := make([]tlog.Hash, len(ids))
	return out, s.r.Hashes(s.ctx, idx, out)
}

// safeName reports whether s can be one path element: list IDs and key
// IDs are short, and never '.', '..' or slashes.
func safeName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 128 {
		return false
	}
	return !strings.ContainsAny(s, "/\\\x00") && bytes.IndexFunc([]byte(s), func(r rune) bool { return r < 0x20 }) < 0
}
