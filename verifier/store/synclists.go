package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"elicense/certs/statuslist"
)

// listSync is one status list being synced, and what its sync came to.
type listSync struct {
	id, path string
	named    uint64 // the version the trust bundle names
	opts     statuslist.VerifyOptions
	have     *statuslist.Signed // the version held, if any
	haveFile *listFile          // as the cache holds it

	// The outcome of one attempt (fetchList).
	out     *listFile // what the cache is to hold
	version uint64    // its version
	served  uint64    // the version the source served (0: a delta or none)
	how     outcome
	warn    string // a warning about what was taken, if any
}

// outcome is what an attempt at a list did.
type outcome int

const (
	tookFull  outcome = iota // a full list, newer or re-signed
	tookDelta                // a delta applied to the list held
	unchanged                // the source's current version is the one held
	keptHeld                 // the source served an older copy; the held one is kept
)

// behindRetries is how many more times a list served older than the
// bundle names is asked for (SyncOptions.RetryPause apart).
const behindRetries = 2

// statusLists syncs each of the bundle's status lists: a delta from the
// version held when possible, else the full list; signed by the list's
// signer, never going back.
func (r *syncRun) statusLists() error {
	r.f = &file{SyncedAt: r.now, From: r.base, Bundle: string(r.tok), Checkpoint: string(r.note), Lists: map[string]*listFile{}}
	for _, sl := range r.b.StatusLists {
		l := &listSync{
			id:    sl.ID,
			path:  "/v1/status/" + url.PathEscape(sl.ID),
			named: sl.Version,
			opts:  statuslist.VerifyOptions{URI: sl.URI, Keys: r.b.StatusKeys(sl.ID), Now: r.now},
		}
		if r.prev != nil && r.prev.Lists[sl.ID] != nil && r.prev.Lists[sl.ID].URI == sl.URI {
			l.have, l.haveFile = r.prev.Lists[sl.ID], r.prev.f.Lists[sl.ID]
		}
		if err := r.syncList(l); err != nil {
			return err
		}
		r.record(l)
	}
	return nil
}

// syncList brings list l up to the version the bundle names, asking again
// (twice, RetryPause apart) while the source serves an older one: behind
// a load balancer or a CDN, the next answer may well come from a replica
// or an edge that caught up. If it stays behind, a list held is kept, or
// taken newer where the source has newer, and the list reported Behind; a
// list not held fails the sync, which then has nothing to fall back on.
func (r *syncRun) syncList(l *listSync) error {
	for attempt := 0; ; attempt++ {
		if err := r.fetchList(l); err != nil {
			return err
		}
		if l.version >= l.named || attempt == behindRetries {
			break
		}
		served := l.served
		if served == 0 {
			served = l.version
		}
		r.logf("status list %s: the source serves v%d, older than the v%d the trust bundle names; asking again in %s",
			l.id, served, l.named, r.opts.RetryPause)
		if err := sleep(r.ctx, r.opts.RetryPause); err != nil {
			return err
		}
	}
	if l.version >= l.named {
		return nil
	}
	if l.have == nil {
		return fmt.Errorf("sync: status list %s: %w: version %d is older than the version %d the trust bundle names, "+
			"and no earlier version is held to keep (a replica or a cache behind the one that signed the bundle): sync again shortly",
			l.id, statuslist.ErrRollback, l.version, l.named)
	}
	msg := fmt.Sprintf("status list %s is behind: v%d held, the trust bundle names v%d, the source serves nothing as new", l.id, l.version, l.named)
	r.rep.Behind = append(r.rep.Behind, l.id)
	r.rep.Warnings = append(r.rep.Warnings, msg)
	r.logf("%s", msg)
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// fetchList makes one attempt at list l: a delta from the version held,
// else the full list.
func (r *syncRun) fetchList(l *listSync) error {
	l.out, l.version, l.served, l.warn = nil, 0, 0, ""
	why := "" // why a list held is fetched whole
	if l.have != nil && len(l.haveFile.Deltas) < maxDeltas {
		done, reason, err := r.delta(l)
		if err != nil || done {
			return err
		}
		why = reason
	} else if l.have != nil {
		why = fmt.Sprintf("%d deltas held", len(l.haveFile.Deltas))
	}
	return r.fullList(l, why)
}

// record puts the outcome of list l in the cache to write and the report.
func (r *syncRun) record(l *listSync) {
	r.f.Lists[l.id] = l.out
	switch l.how {
	case tookFull:
		r.rep.FullLists = append(r.rep.FullLists, l.id)
	case tookDelta:
		r.rep.DeltaLists = append(r.rep.DeltaLists, l.id)
	case unchanged:
		r.rep.UnchangedLists = append(r.rep.UnchangedLists, l.id)
	case keptHeld:
		r.kept(fmt.Sprintf("status list %s: v%d < v%d held", l.id, l.served, l.have.Version))
	}
	if l.warn != "" {
		r.rep.Warnings = append(r.rep.Warnings, l.warn)
	}
}

// delta asks for the changes since the version held, at
// /v1/status-delta/<list>/<version> (the issuer and a static directory
// alike): a signed delta, an empty body when the version held is the
// current one, 404 when there is no delta from it. Unless done, why says
// why the full list is to be fetched.
func (r *syncRun) delta(l *listSync) (done bool, why string, err error) {
	raw, code, err := r.get(deltaPath(l.id, l.have.Version), "status "+l.id+" delta")
	switch {
	case err == nil && (code == http.StatusNotModified || len(raw) == 0):
		// 304 from an older issuer; an empty body from the delta path:
		// the version held is the current one.
		l.out, l.version, l.how = l.haveFile, l.have.Version, unchanged
		r.logf("status list %s: unchanged (v%d)", l.id, l.have.Version)
		return true, "", nil
	case err == nil:
		d, err := statuslist.ParseDelta(raw, l.opts)
		if err != nil && !errors.Is(err, statuslist.ErrExpired) {
			return false, "", fmt.Errorf("sync: status list %s delta: %w", l.id, err)
		}
		next, err := statuslist.Apply(l.have, d)
		if errors.Is(err, statuslist.ErrWrongBase) {
			// Another replica's list of the same version but other
			// entries (versions are per replica): the full list decides.
			return false, fmt.Sprintf("the delta does not apply to the list held: %v", err), nil
		}
		if err != nil {
			return false, "", fmt.Errorf("sync: status list %s delta: %w", l.id, err)
		}
		l.out = &listFile{Token: l.haveFile.Token, Deltas: append(append([][]byte(nil), l.haveFile.Deltas...), raw)}
		l.version, l.how = next.Version, tookDelta
		r.logf("status list %s: delta v%d → v%d, %d changes, %d bytes", l.id, l.have.Version, next.Version, len(d.Changes), len(raw))
		return true, "", nil
	case code == http.StatusNotFound:
		return false, fmt.Sprintf("the source has no delta from v%d", l.have.Version), nil
	default:
		return false, fmt.Sprintf("delta request failed: %v", err), nil
	}
}

// fullList fetches the whole list; why says why a list held is. A list
// older than the one held, or of the same version with other entries, is
// not taken: the held one is kept.
func (r *syncRun) fullList(l *listSync, why string) error {
	raw, _, err := r.get(l.path, "status "+l.id)
	if err != nil {
		return err
	}
	have := l.have
	if have != nil && l.haveFile.Token == string(raw) && len(l.haveFile.Deltas) == 0 {
		// The very document held: keep it.
		l.out, l.version, l.how = l.haveFile, have.Version, unchanged
		r.logf("status list %s: unchanged (v%d; %s, fetched the full list to be sure)", l.id, have.Version, why)
		return nil
	}
	signed, err := statuslist.Parse(string(raw), l.opts)
	expired := errors.Is(err, statuslist.ErrExpired)
	if err != nil && !expired {
		return fmt.Errorf("sync: status list %s: %w", l.id, err)
	}
	l.served = signed.Version
	switch {
	case have != nil && signed.Version < have.Version:
		l.out, l.version, l.how = l.haveFile, have.Version, keptHeld
		if have.Expired(r.now) {
			l.warn = fmt.Sprintf("status list %s: the v%d held expired at %s and the source serves only the older v%d",
				l.id, have.Version, have.ExpiresAt.UTC().Format(time.RFC3339), signed.Version)
		}
		return nil
	case have != nil && signed.Version == have.Version && signed.List.Digest() != have.List.Digest():
		// Two replicas numbered different content alike: neither is
		// known to be the newer, so nothing replaces what is held; the
		// next version settles it.
		l.out, l.version, l.how = l.haveFile, have.Version, unchanged
		l.warn = fmt.Sprintf("status list %s: the source serves other entries under the v%d held; kept the held one until a newer version", l.id, have.Version)
		r.logf("%s", l.warn)
		return nil
	}
	if expired {
		l.warn = fmt.Sprintf("status list %s is past its exp", l.id)
	}
	l.out, l.version, l.how = &listFile{Token: string(raw)}, signed.Version, tookFull
	switch {
	case have == nil:
		r.logf("status list %s: v%d, %d entries, %d bytes", l.id, signed.Version, signed.List.Len(), len(raw))
	case signed.Version == have.Version:
		r.logf("status list %s: v%d re-signed by the issuer (same entries, fresh date), %d bytes", l.id, signed.Version, len(raw))
	default:
		r.logf("status list %s: v%d → v%d, full list (%s), %d bytes", l.id, have.Version, signed.Version, why, len(raw))
	}
	return nil
}
