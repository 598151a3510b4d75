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

	"elicense/certs/statuslist"
	"elicense/certs/trust"
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
}

// maxDocument bounds every download (a 64 Mi-entry list's token is under
// 40 MB even incompressible).
const maxDocument = 64 << 20

// Sync fetches the trust bundle, the checkpoint and every status list from
// the issuer at base (e.g. http://127.0.0.1:8080), verifies them against
// the pinned roots and the cache held, and replaces the cache atomically.
// On any error the cache is left as it was.
func (s *Store) Sync(ctx context.Context, base string, opts SyncOptions) (*SyncReport, error) {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 60 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", args...)
		}
	}
	base = strings.TrimRight(base, "/")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sync: --from %q is not an http(s) URL", base)
	}
	roots, err := s.Roots()
	if err != nil {
		return nil, err
	}
	unlock, err := s.lockSync(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	now := opts.Now()
	rep := &SyncReport{}
	// The floor: the cache held (even one older than the high-water mark,
	// as a base for deltas) and the high-water mark, which only rises. A
	// damaged or missing mark is re-established from this sync, which must
	// then be at least as new as the cache held.
	prev, err := s.loadCache(now)
	switch {
	case errors.Is(err, ErrNoCache):
		prev = nil
	case errors.Is(err, ErrCorrupt):
		// A damaged cache is no base for deltas, but the high-water mark
		// still holds this sync to at least what the store accepted.
		prev = nil
		logf("the cache held does not verify (%v); fetching everything", err)
	case err != nil:
		return nil, err
	}
	hw, err := s.readHighWater()
	switch {
	case err != nil:
		rep.Warnings = append(rep.Warnings, err.Error()+"; re-established from this sync")
		logf("%v; re-establishing it from this sync", err)
	case hw == nil && prev != nil:
		logf("no freshness record (%s) held; establishing it from this sync", highWaterFile)
	}
	get := func(path, what string) ([]byte, int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return nil, 0, err
		}
		resp, err := opts.Client.Do(req)
		if err != nil {
			return nil, 0, fmt.Errorf("sync: %s: %w", what, err)
		}
		defer resp.Body.Close()
		var r io.Reader = io.LimitReader(resp.Body, maxDocument+1)
		if opts.OnProgress != nil {
			pr := &progressReader{r: r, what: what, total: resp.ContentLength, f: opts.OnProgress}
			r = pr
			defer pr.finish()
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, resp.StatusCode, fmt.Errorf("sync: %s: %w", what, err)
		}
		if len(data) > maxDocument {
			return nil, resp.StatusCode, fmt.Errorf("sync: %s: larger than %d bytes", what, maxDocument)
		}
		rep.Bytes += int64(len(data))
		if resp.StatusCode == http.StatusNotModified {
			return nil, resp.StatusCode, nil
		}
		if resp.StatusCode != http.StatusOK {
			return data, resp.StatusCode, fmt.Errorf("sync: %s: HTTP %d: %.200s", what, resp.StatusCode, data)
		}
		return data, resp.StatusCode, nil
	}

	// 1. The trust bundle: signature, chain to a pinned root, no rollback.
	tok, _, err := get("/v1/trust", "trust bundle")
	if err != nil {
		return nil, err
	}
	var prevBundle *trust.Bundle
	if prev != nil {
		prevBundle = prev.Bundle
		rep.PreviousSeq = prev.Bundle.Seq
	}
	b, err := trust.Verify(string(tok), trust.VerifyOptions{Roots: roots, Previous: prevBundle, Now: now})
	var stale *trust.StaleError
	if errors.As(err, &stale) {
		rep.Warnings = append(rep.Warnings, stale.Error())
	} else if err != nil {
		return nil, fmt.Errorf("sync: trust bundle: %w", err)
	}
	rep.Seq = b.Seq
	logf("trust bundle seq %d (%d agencies, %d status lists)", b.Seq, len(b.Agencies), len(b.StatusLists))

	// 2. The checkpoint: signed by the bundle's ledger key, same origin as
	// before, and consistent with the one held.
	var held *tlog.Checkpoint
	origin := ""
	if prev != nil && prev.f.Checkpoint != "" {
		held = &prev.Checkpoint
		origin = held.Origin
		rep.PreviousCPSize = held.Size
	}
	note := []byte(b.Checkpoint)
	if fetched, _, err := get("/v1/ledger/checkpoint", "checkpoint"); err == nil {
		note = fetched
	} else {
		logf("checkpoint endpoint: %v; using the bundle's", err)
	}
	var cp tlog.Checkpoint
	if len(note) > 0 {
		if cp, err = verifyCheckpoint(b, note, origin); err != nil {
			return nil, fmt.Errorf("sync: %w", err)
		}
		// The bundle's own checkpoint must lie on the same log.
		if b.Checkpoint != "" && string(note) != b.Checkpoint {
			bcp, err := verifyCheckpoint(b, []byte(b.Checkpoint), cp.Origin)
			if err != nil {
				return nil, fmt.Errorf("sync: bundle %w", err)
			}
			if err := s.consistent(get, &bcp, cp); err != nil {
				return nil, fmt.Errorf("sync: the bundle's checkpoint: %w", err)
			}
		}
		if held != nil {
			if err := s.consistent(get, held, cp); err != nil {
				return nil, fmt.Errorf("sync: %w", err)
			}
		}
		rep.Checkpoint = cp
		logf("checkpoint %s size %d", cp.Origin, cp.Size)
	} else if held != nil {
		return nil, errors.New("sync: the issuer publishes no checkpoint, the cache holds one")
	}

	// 3. Status lists: a delta from the version held when possible, else
	// the full list; signed by the list's signer, never going back.
	f := &file{SyncedAt: now, From: base, Bundle: string(tok), Checkpoint: string(note), Lists: map[string]*listFile{}}
	lists := map[string]*statuslist.Signed{}
	for _, sl := range b.StatusLists {
		opts := statuslist.VerifyOptions{URI: sl.URI, Keys: b.StatusKeys(sl.ID), Now: now}
		var have *statuslist.Signed
		var haveFile *listFile
		if prev != nil && prev.Lists[sl.ID] != nil && prev.Lists[sl.ID].URI == sl.URI {
			have, haveFile = prev.Lists[sl.ID], prev.f.Lists[sl.ID]
			opts.MinVersion = have.Version
		}
		path := "/v1/status/" + url.PathEscape(sl.ID)
		why := "" // why a list held is fetched whole
		if have != nil && len(haveFile.Deltas) < maxDeltas {
			// The issuer answers a delta, or 304 when the version held is
			// its current one; an older issuer answers 404 to both "too
			// old" and "current", and the full list then tells which.
			raw, code, err := get(path+"?from="+strconv.FormatUint(have.Version, 10), "status "+sl.ID+" delta")
			switch {
			case err == nil && code == http.StatusNotModified:
				lists[sl.ID], f.Lists[sl.ID] = have, haveFile
				rep.UnchangedLists = append(rep.UnchangedLists, sl.ID)
				logf("status list %s: unchanged (v%d)", sl.ID, have.Version)
				continue
			case err == nil:
				d, err := statuslist.ParseDelta(raw, opts)
				if err != nil && !errors.Is(err, statuslist.ErrExpired) {
					return nil, fmt.Errorf("sync: status list %s delta: %w", sl.ID, err)
				}
				next, err := statuslist.Apply(have, d)
				if err != nil {
					return nil, fmt.Errorf("sync: status list %s delta: %w", sl.ID, err)
				}
				lists[sl.ID] = next
				f.Lists[sl.ID] = &listFile{Token: haveFile.Token, Deltas: append(append([][]byte(nil), haveFile.Deltas...), raw)}
				rep.DeltaLists = append(rep.DeltaLists, sl.ID)
				logf("status list %s: delta v%d → v%d, %d changes, %d bytes", sl.ID, have.Version, next.Version, len(d.Changes), len(raw))
				continue
			case code == http.StatusNotFound:
				why = fmt.Sprintf("the issuer has no delta from v%d", have.Version)
			default:
				why = fmt.Sprintf("delta request failed: %v", err)
			}
		} else if have != nil {
			why = fmt.Sprintf("%d deltas held", len(haveFile.Deltas))
		}
		raw, _, err := get(path, "status "+sl.ID)
		if err != nil {
			return nil, err
		}
		if have != nil && haveFile.Token == string(raw) && len(haveFile.Deltas) == 0 {
			// The very document held: keep it (and its deltas' dates).
			lists[sl.ID], f.Lists[sl.ID] = have, haveFile
			rep.UnchangedLists = append(rep.UnchangedLists, sl.ID)
			logf("status list %s: unchanged (v%d; %s, fetched the full list to be sure)", sl.ID, have.Version, why)
			continue
		}
		signed, err := statuslist.Parse(string(raw), opts)
		if errors.Is(err, statuslist.ErrExpired) {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("status list %s is past its exp", sl.ID))
		} else if err != nil {
			return nil, fmt.Errorf("sync: status list %s: %w", sl.ID, err)
		}
		lists[sl.ID] = signed
		f.Lists[sl.ID] = &listFile{Token: string(raw)}
		rep.FullLists = append(rep.FullLists, sl.ID)
		switch {
		case have == nil:
			logf("status list %s: v%d, %d entries, %d bytes", sl.ID, signed.Version, signed.List.Len(), len(raw))
		case signed.Version == have.Version:
			logf("status list %s: v%d re-signed by the issuer (same entries, fresh date), %d bytes", sl.ID, signed.Version, len(raw))
		default:
			logf("status list %s: v%d → v%d, full list (%s), %d bytes", sl.ID, have.Version, signed.Version, why, len(raw))
		}
	}

	// Genuine sets of compromised keys (genuine.go): fetched once each,
	// kept beside the cache before it names them.
	s.syncGenuine(ctx, get, b, rep, logf)

	// 4. Check the whole as Load will, then replace the cache in one rename.
	data, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	next, err := verifyFile(f, roots, prev, now)
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	if hw != nil {
		if err := hw.check(next); err != nil {
			return nil, fmt.Errorf("sync: %w (the issuer, or someone in its place, served old documents)", err)
		}
	}
	// The mark first: a crash between the two renames leaves a mark
	// newer than the cache, which Load refuses until the next sync,
	// never a cache newer than the mark that a copy could undercut.
	if err := s.writeHighWater(hw.raised(next)); err != nil {
		return nil, err
	}
	if err := writeAtomic(filepath.Join(s.dir, cacheFile), data); err != nil {
		return nil, err
	}
	if err := s.pruneGenuine(b); err != nil {
		logf("removing genuine sets no longer named: %v", err)
	}
	return rep, nil
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

// consistent checks that the log of checkpoint old is a prefix of the log
// of checkpoint next, with the issuer's consistency proof.
func (s *Store) consistent(get getter, old *tlog.Checkpoint, next tlog.Checkpoint) error {
	switch {
	case old.Origin != next.Origin:
		return fmt.Errorf("checkpoint origin %q, held %q", next.Origin, old.Origin)
	case next.Size < old.Size:
		return fmt.Errorf("checkpoint rollback: size %d, held %d", next.Size, old.Size)
	case next.Size == old.Size:
		if next.Root != old.Root {
			return fmt.Errorf("checkpoint of size %d with another root than the one held: the log forked", next.Size)
		}
		return nil
	case old.Size == 0:
		return nil
	}
	raw, _, err := get(fmt.Sprintf("/v1/ledger/proof/consistency?old=%d&new=%d", old.Size, next.Size), "consistency proof")
	if err != nil {
		return err
	}
	var p struct {
		Old, New uint64
		Proof    []string
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("consistency proof: %w", err)
	}
	proof := make([]tlog.Hash, len(p.Proof))
	for i, h := range p.Proof {
		b, err := base64.StdEncoding.DecodeString(h)
		if err != nil || len(b) != tlog.HashSize {
			return fmt.Errorf("consistency proof: hash %d is not base64 of %d bytes", i, tlog.HashSize)
		}
		copy(proof[i][:], b)
	}
	if err := tlog.VerifyConsistency(old.Size, next.Size, proof, old.Root, next.Root); err != nil {
		return fmt.Errorf("checkpoint %d is not consistent with the held checkpoint %d: %w", next.Size, old.Size, err)
	}
	return nil
}
