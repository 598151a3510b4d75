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
	"strconv"
	"strings"
	"time"

	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/ledger/tlog"

	"github.com/schollz/progressbar/v3"
)

// SyncOptions configure Sync.
type SyncOptions struct {
	Client   *http.Client     // nil: a client with a 60 s timeout
	Now      func() time.Time // nil: time.Now
	Progress io.Writer        // progress bars for large downloads; nil: none
	Log      io.Writer        // one line per step; nil: none
}

// SyncReport says what a sync did.
type SyncReport struct {
	Seq            uint64
	Checkpoint     tlog.Checkpoint
	FullLists      []string // fetched whole
	DeltaLists     []string // updated by a delta
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
	now := opts.Now()
	prev, err := s.Load(now)
	if err != nil && !errors.Is(err, ErrNoCache) {
		return nil, err
	}
	rep := &SyncReport{}
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
		if opts.Progress != nil && resp.ContentLength > 256<<10 {
			bar := progressbar.NewOptions64(resp.ContentLength, progressbar.OptionSetWriter(opts.Progress),
				progressbar.OptionSetDescription(what), progressbar.OptionShowBytes(true),
				progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
			r = io.TeeReader(r, bar)
			defer bar.Finish()
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, resp.StatusCode, fmt.Errorf("sync: %s: %w", what, err)
		}
		if len(data) > maxDocument {
			return nil, resp.StatusCode, fmt.Errorf("sync: %s: larger than %d bytes", what, maxDocument)
		}
		rep.Bytes += int64(len(data))
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
		if have != nil && len(haveFile.Deltas) < maxDeltas {
			raw, code, err := get(path+"?from="+strconv.FormatUint(have.Version, 10), "status "+sl.ID+" delta")
			if err == nil {
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
			}
			logf("status list %s: no delta (HTTP %d); fetching the full list", sl.ID, code)
		}
		raw, _, err := get(path, "status "+sl.ID)
		if err != nil {
			return nil, err
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
		logf("status list %s: v%d, %d entries, %d bytes", sl.ID, signed.Version, signed.List.Len(), len(raw))
	}

	// Genuine sets of compromised keys (genuine.go): fetched once each,
	// kept beside the cache before it names them.
	s.syncGenuine(ctx, get, b, rep, logf)

	// 4. Check the whole as Load will, then replace the cache in one rename.
	data, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	if _, err := verifyFile(f, roots, prev, now); err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	if err := writeAtomic(s.dir+"/"+cacheFile, data); err != nil {
		return nil, err
	}
	if err := s.pruneGenuine(b); err != nil {
		logf("removing genuine sets no longer named: %v", err)
	}
	return rep, nil
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
