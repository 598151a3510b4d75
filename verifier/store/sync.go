package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
)

// SyncOptions configure Sync.
type SyncOptions struct {
	Client *http.Client     // nil: a client with a 60 s timeout
	Now    func() time.Time // nil: time.Now
	// OnProgress, if set, is called as a large download (over 256 KiB)
	// proceeds: what is fetched, the bytes read so far and the total
	// (Content-Length, -1 when not announced); a last call has done ==
	// total when the download ends. It runs on the syncing goroutine;
	// keep it quick.
	OnProgress func(what string, done, total int64)
	Log        io.Writer // one line per step; nil: none
	// RetryPause is how long Sync waits before asking again for a
	// status list the source serves older than the trust bundle names
	// (a replica or cache edge behind, which catches up within
	// moments); it asks twice more. Zero means one second.
	RetryPause time.Duration
}

// SyncReport says what a sync did.
type SyncReport struct {
	Seq            uint64
	Checkpoint     tlog.Checkpoint
	FullLists      []string // fetched whole
	DeltaLists     []string // updated by a delta
	UnchangedLists []string // the issuer's current version is the one held
	GenuineSets    []string // compromised keys whose genuine set was fetched
	Bytes          int64
	Warnings       []string
	PreviousSeq    uint64
	PreviousCPSize uint64
	// Kept says, for each document the source served older than the one
	// held (a replica or a cache behind), that the held one was kept.
	// Nothing older is ever taken; an older copy is not an error.
	Kept []string
	// Behind names the status lists held at a version older than the one
	// the trust bundle names, the source serving nothing as new even
	// when asked again: their data is what it was, and the sync is not
	// complete (see Complete).
	Behind []string
}

// Complete reports whether the store now holds every status list at
// least at the version the trust bundle names.
func (r *SyncReport) Complete() bool { return len(r.Behind) == 0 }

// maxDocument bounds every download (a 64 Mi-entry list's token is under
// 40 MB even incompressible).
const maxDocument = 64 << 20

// Sync fetches the trust bundle, the checkpoint and every status list from
// the issuer at base (e.g. http://127.0.0.1:8080), verifies them against
// the pinned roots and the cache held, and replaces the cache atomically.
// On any error the cache is left as it was.
//
// The steps, in order and under the sync lock, are methods of syncRun:
// floor (the cache and high-water mark held), bundle, checkpoint,
// statusLists, the genuine sets of compromised keys, and commit.
func (s *Store) Sync(ctx context.Context, base string, opts SyncOptions) (*SyncReport, error) {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 60 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RetryPause <= 0 {
		opts.RetryPause = time.Second
	}
	base = strings.TrimRight(base, "/")
	src, err := openSource(base)
	if err != nil {
		return nil, err
	}
	defer src.close()
	roots, err := s.Roots()
	if err != nil {
		return nil, err
	}
	unlock, err := s.lockSync(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	r := &syncRun{s: s, ctx: ctx, base: base, src: src, opts: opts, roots: roots, now: opts.Now(), rep: &SyncReport{}}
	if err := r.floor(); err != nil {
		return nil, err
	}
	if err := r.bundle(); err != nil {
		return nil, err
	}
	if err := r.checkpoint(); err != nil {
		return nil, err
	}
	if err := r.statusLists(); err != nil {
		return nil, err
	}
	// Genuine sets of compromised keys (genuine.go): fetched once each,
	// kept beside the cache before it names them.
	s.syncGenuine(ctx, r.get, r.b, r.rep, r.logf)
	if err := r.commit(); err != nil {
		return nil, err
	}
	return r.rep, nil
}

// syncRun is the state of one Sync, filled in step by step.
type syncRun struct {
	s     *Store
	ctx   context.Context
	base  string      // the issuer's URL, without a trailing slash
	src   *source     // where documents come from (source.go)
	opts  SyncOptions // with Client and Now set
	roots []*gm.Certificate
	now   time.Time
	rep   *SyncReport

	// Set by the steps named in brackets.
	prev *Cache        // the cache held, nil if none (floor)
	hw   *highWater    // the high-water mark, nil if none or damaged (floor)
	tok  []byte        // the bundle as fetched (bundle)
	b    *trust.Bundle // the bundle verified (bundle)
	note []byte        // the checkpoint note (checkpoint)
	f    *file         // the cache to write (statusLists)
}

func (r *syncRun) logf(format string, args ...any) {
	if r.opts.Log != nil {
		fmt.Fprintf(r.opts.Log, format+"\n", args...)
	}
}

// get fetches path from the source: the body and status of a 200, a nil
// body for a 304, an error (with the body) for any other status; a file
// source answers 200 or 404 (source.go). It is a getter.
func (r *syncRun) get(path, what string) ([]byte, int, error) {
	if r.src.root != nil {
		data, code, err := r.src.getFile(path, what)
		r.rep.Bytes += int64(len(data))
		return data, code, err
	}
	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, r.base+path, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("sync: %s: %w", what, err)
	}
	defer resp.Body.Close()
	var rd io.Reader = io.LimitReader(resp.Body, maxDocument+1)
	if r.opts.OnProgress != nil {
		pr := &progressReader{r: rd, what: what, total: resp.ContentLength, f: r.opts.OnProgress}
		rd = pr
		defer pr.finish()
	}
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("sync: %s: %w", what, err)
	}
	if len(data) > maxDocument {
		return nil, resp.StatusCode, fmt.Errorf("sync: %s: larger than %d bytes", what, maxDocument)
	}
	r.rep.Bytes += int64(len(data))
	if resp.StatusCode == http.StatusNotModified {
		return nil, resp.StatusCode, nil
	}
	if resp.StatusCode != http.StatusOK {
		return data, resp.StatusCode, fmt.Errorf("sync: %s: HTTP %d: %.200s", what, resp.StatusCode, data)
	}
	return data, resp.StatusCode, nil
}

// floor loads what the sync may not go below: the cache held (even one
// older than the high-water mark, as a base for deltas) and the
// high-water mark, which only rises. A damaged or missing mark is
// re-established from this sync, which must then be at least as new as
// the cache held.
func (r *syncRun) floor() error {
	prev, err := r.s.loadCache(r.now)
	switch {
	case errors.Is(err, ErrNoCache):
		prev = nil
	case errors.Is(err, ErrCorrupt):
		// A damaged cache is no base for deltas, but the high-water mark
		// still holds this sync to at least what the store accepted.
		prev = nil
		r.logf("the cache held does not verify (%v); fetching everything", err)
	case err != nil:
		return err
	}
	r.prev = prev
	hw, err := r.s.readHighWater()
	switch {
	case err != nil:
		r.rep.Warnings = append(r.rep.Warnings, err.Error()+"; re-established from this sync")
		r.logf("%v; re-establishing it from this sync", err)
	case hw == nil && prev != nil:
		r.logf("no freshness record (%s) held; establishing it from this sync", highWaterFile)
	}
	r.hw = hw
	return nil
}

// bundle fetches the trust bundle and checks its signature, its chain to a
// pinned root and that it does not roll back the one held.
func (r *syncRun) bundle() error {
	tok, _, err := r.get("/v1/trust", "trust bundle")
	if err != nil {
		return err
	}
	var prevBundle *trust.Bundle
	if r.prev != nil {
		prevBundle = r.prev.Bundle
		r.rep.PreviousSeq = r.prev.Bundle.Seq
	}
	b, err := trust.Verify(string(tok), trust.VerifyOptions{Roots: r.roots, Previous: prevBundle, Now: r.now})
	var stale *trust.StaleError
	switch {
	case errors.Is(err, trust.ErrRollback):
		if err := r.olderBundle(tok, err); err != nil {
			return err
		}
		return nil
	case errors.As(err, &stale):
		r.rep.Warnings = append(r.rep.Warnings, stale.Error())
	case err != nil:
		return fmt.Errorf("sync: trust bundle: %w", err)
	}
	r.tok, r.b = tok, b
	r.rep.Seq = b.Seq
	r.logf("trust bundle seq %d (%d agencies, %d status lists)", b.Seq, len(b.Agencies), len(b.StatusLists))
	return nil
}

// olderBundle handles a served bundle that trust.Verify refused as a
// rollback (err). A genuine bundle of a lower seq than the one held is a
// replica or cache behind: the held bundle is kept, while it is current
// (not past its next_update). Anything else stays an error: the same seq
// with other content, an issued_at going back, or an older copy when the
// held bundle is stale and there is nothing current to keep.
func (r *syncRun) olderBundle(tok []byte, err error) error {
	held := r.prev.Bundle
	ob, verr := trust.Verify(string(tok), trust.VerifyOptions{Roots: r.roots, Now: r.now})
	var stale *trust.StaleError
	if (verr != nil && !errors.As(verr, &stale)) || ob.Seq >= held.Seq {
		return fmt.Errorf("sync: trust bundle: %w", err)
	}
	if held.Expired(r.now) {
		return fmt.Errorf("sync: trust bundle: %w; the bundle held is past its next update (%s), so there is nothing current to keep",
			err, held.NextUpdate.UTC().Format(time.RFC3339))
	}
	r.tok, r.b = []byte(r.prev.f.Bundle), held
	r.rep.Seq = held.Seq
	r.kept(fmt.Sprintf("trust bundle: seq %d < seq %d held", ob.Seq, held.Seq))
	return nil
}

// kept records that the source served an older copy of what, and the held
// one was kept.
func (r *syncRun) kept(what string) {
	msg := "served an older copy of the " + what + "; kept the held one (a replica or cache behind)"
	r.rep.Kept = append(r.rep.Kept, msg)
	r.logf("%s", msg)
}

// checkpoint fetches the checkpoint (the bundle's, if the issuer serves
// none) and checks it is signed by the bundle's ledger key, has the origin
// held before, and is consistent with the one held and the bundle's.
func (r *syncRun) checkpoint() error {
	var held *tlog.Checkpoint
	origin := ""
	if r.prev != nil && r.prev.f.Checkpoint != "" {
		held = &r.prev.Checkpoint
		origin = held.Origin
		r.rep.PreviousCPSize = held.Size
	}
	b := r.b
	r.note = []byte(b.Checkpoint)
	if fetched, _, err := r.get("/v1/ledger/checkpoint", "checkpoint"); err == nil {
		r.note = fetched
	} else {
		r.logf("checkpoint endpoint: %v; using the bundle's", err)
	}
	if len(r.note) == 0 {
		if held != nil {
			return errors.New("sync: the issuer publishes no checkpoint, the cache holds one")
		}
		return nil
	}
	cp, err := verifyCheckpoint(b, r.note, origin)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	// The bundle's own checkpoint must lie on the same log: the smaller
	// of the two is a prefix of the larger, which is kept (a bundle and a
	// checkpoint fetched from two replicas may differ either way).
	if b.Checkpoint != "" && string(r.note) != b.Checkpoint {
		bcp, err := verifyCheckpoint(b, []byte(b.Checkpoint), cp.Origin)
		if err != nil {
			return fmt.Errorf("sync: bundle %w", err)
		}
		small, large := &bcp, cp
		if bcp.Size > cp.Size {
			small, large = &cp, bcp
		}
		if err := r.s.consistent(r.get, small, large); err != nil {
			return fmt.Errorf("sync: the bundle's checkpoint: %w", err)
		}
		if bcp.Size > cp.Size {
			cp, r.note = bcp, []byte(b.Checkpoint)
		}
	}
	if held != nil && cp.Size < held.Size {
		// An older copy: the held checkpoint is kept. That the older one
		// is a prefix of it is checked when the source can prove it (a
		// source behind may not serve the proof); a proof that fails is
		// a forked log.
		if err := r.s.consistent(r.get, &cp, *held); errors.Is(err, errInconsistent) {
			return fmt.Errorf("sync: the older checkpoint served: %w", err)
		} else if err != nil {
			r.logf("the older checkpoint served (size %d) is not proved a prefix of the one held: %v", cp.Size, err)
		}
		r.kept(fmt.Sprintf("checkpoint: size %d < size %d held", cp.Size, held.Size))
		cp, r.note = *held, []byte(r.prev.f.Checkpoint)
	} else if held != nil {
		if err := r.s.consistent(r.get, held, cp); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
	}
	r.rep.Checkpoint = cp
	r.logf("checkpoint %s size %d", cp.Origin, cp.Size)
	return nil
}

// commit checks the whole as Load will, against the high-water mark, then
// raises the mark and replaces the cache in one rename.
func (r *syncRun) commit() error {
	data, err := json.Marshal(r.f)
	if err != nil {
		return err
	}
	next, err := verifyFile(r.f, r.roots, r.prev, r.now)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if r.hw != nil {
		if err := r.hw.check(next); err != nil {
			return fmt.Errorf("sync: %w (the issuer, or someone in its place, served old documents)", err)
		}
	}
	// The mark first: a crash between the two renames leaves a mark
	// newer than the cache, which Load refuses until the next sync,
	// never a cache newer than the mark that a copy could undercut.
	if err := r.s.writeHighWater(r.hw.raised(next)); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(r.s.dir, cacheFile), data); err != nil {
		return err
	}
	if err := r.s.pruneGenuine(r.b); err != nil {
		r.logf("removing genuine sets no longer named: %v", err)
	}
	return nil
}

// progressReader reports the reads of a download to a progress callback
// once the download is large (over 256 KiB, or announced so), and a last
// time with done == total when it ends (total is then what was read, if
// the length was not announced).
type progressReader struct {
	r           io.Reader
	what        string
	done, total int64
	reported    bool
	f           func(what string, done, total int64)
}

const progressAbove = 256 << 10

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if n > 0 && (p.total > progressAbove || p.done > progressAbove) {
		p.reported = true
		p.f(p.what, p.done, p.total)
	}
	return n, err
}

func (p *progressReader) finish() {
	if p.reported && p.done != p.total {
		p.f(p.what, p.done, p.done)
	}
}

type getter func(path, what string) ([]byte, int, error)

// deltaPath is where the delta from version from of list id is.
func deltaPath(id string, from uint64) string {
	return "/v1/status-delta/" + url.PathEscape(id) + "/" + strconv.FormatUint(from, 10)
}

// consistent checks that the log of checkpoint old is a prefix of the log
// of checkpoint next: with a consistency proof built from the ledger's
// tiles (c2sp.org/tlog-tiles, fetched as needed), or, when the source
// serves no tiles, with the issuer's proof endpoint.
func (s *Store) consistent(get getter, old *tlog.Checkpoint, next tlog.Checkpoint) error {
	switch {
	case old.Origin != next.Origin:
		return fmt.Errorf("checkpoint origin %q, held %q", next.Origin, old.Origin)
	case next.Size < old.Size:
		return fmt.Errorf("checkpoint rollback: size %d, held %d", next.Size, old.Size)
	case next.Size == old.Size:
		if next.Root != old.Root {
			return fmt.Errorf("%w: checkpoint of size %d with another root than the one held: the log forked", errInconsistent, next.Size)
		}
		return nil
	case old.Size == 0:
		return nil
	}
	tiles := tileFetcher(get)
	proof, err := tlog.SM3.ConsistencyProof(old.Size, next.Size, tlog.NewTileReader(tlog.SM3, next.Size, tiles.fetch))
	how := "proof from tiles"
	if errors.Is(err, errNoTile) {
		how = "the issuer's proof"
		proof, err = proofFromEndpoint(get, old.Size, next.Size)
	}
	if err != nil {
		return fmt.Errorf("consistency of checkpoint %d with the held checkpoint %d: %w", next.Size, old.Size, err)
	}
	if err := tlog.VerifyConsistency(old.Size, next.Size, proof, old.Root, next.Root); err != nil {
		return fmt.Errorf("%w: checkpoint %d is not consistent with the held checkpoint %d (%s): %w", errInconsistent, next.Size, old.Size, how, err)
	}
	return nil
}

// errInconsistent means a consistency proof was had and failed, or two
// checkpoints of one size have different roots: the log forked.
var errInconsistent = errors.New("inconsistent checkpoints")

// errNoTile means the source does not serve a tile (404): it publishes no
// tiles, or not yet, and the proof endpoint is asked instead.
var errNoTile = errors.New("the source serves no such tile")

// tileFetcher fetches ledger tiles through a getter: a partial tile that
// is gone is taken from the full tile that replaced it.
type tileFetcher getter

func (g tileFetcher) fetch(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		data, code, err := g("/v1/ledger/"+t.Path(), "ledger "+t.Path())
		if code == http.StatusNotFound && t.Width < tlog.TileWidth {
			full := t
			full.Width = tlog.TileWidth
			data, code, err = g("/v1/ledger/"+full.Path(), "ledger "+full.Path())
		}
		switch {
		case code == http.StatusNotFound:
			return nil, fmt.Errorf("%w: %s", errNoTile, t.Path())
		case err != nil:
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

// proofFromEndpoint asks the issuer for a consistency proof.
func proofFromEndpoint(get getter, oldSize, newSize uint64) ([]tlog.Hash, error) {
	raw, _, err := get(fmt.Sprintf("/v1/ledger/proof/consistency?old=%d&new=%d", oldSize, newSize), "consistency proof")
	if err != nil {
		return nil, err
	}
	var p struct {
		Old, New uint64
		Proof    []string
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("consistency proof: %w", err)
	}
	proof := make([]tlog.Hash, len(p.Proof))
	for i, h := range p.Proof {
		b, err := base64.StdEncoding.DecodeString(h)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("consistency proof: hash %d is not base64 of %d bytes", i, tlog.HashSize)
		}
		copy(proof[i][:], b)
	}
	return proof, nil
}
