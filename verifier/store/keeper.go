package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"elicense/verifier"
)

// KeeperOptions configure a Keeper. Zero values take the defaults.
type KeeperOptions struct {
	// From is the issuer's base URL; "": the one the cache was last synced
	// from.
	From string
	// Every is the interval of scheduled syncs; 0: none (the data is still
	// reloaded when another process syncs the store). Each wait is
	// jittered by about ±10 % so that counters do not sync in step.
	Every time.Duration
	// Poll is how often Run looks for a cache written by another process;
	// 0: DefaultPoll.
	Poll time.Duration
	// Client fetches the documents; nil: Sync's default.
	Client *http.Client
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Logf, when set, gets one line per sync, failure or reload.
	Logf func(format string, args ...any)
}

// DefaultPoll is how often a Keeper looks at the cache file.
const DefaultPoll = 2 * time.Second

// Back-off after a failed sync: the first retry after retryMin (or Every
// when that is shorter), doubling with each failure up to retryMax (or
// Every when that is shorter), so that an unreachable issuer is not
// hammered and a reachable one is tried again soon.
const (
	retryMin = 30 * time.Second
	retryMax = 30 * time.Minute
)

// ErrNoSource: a sync was asked for but no issuer URL is known.
var ErrNoSource = errors.New("store: no issuer URL to sync from: the cache names none")

// KeeperStatus is the state of the trust data a Keeper holds.
type KeeperStatus struct {
	SyncedAt    time.Time // when the data in use was fetched (by any process)
	From        string    // where it was fetched from
	BundleSeq   uint64    // sequence of the trust bundle in use
	NextSync    time.Time // when the next scheduled sync is due; zero: none
	LastAttempt time.Time // the last sync this Keeper tried
	LastError   string    // why that sync, or the last reload, failed; "" when it worked
	Warnings    []string  // staleness of the data in use
	Syncing     bool      // a sync by this Keeper is running
}

// Keeper keeps a verifier's trust data fresh for a long-running front end
// (serve, scan): it syncs on a schedule, reloads the cache when another
// process syncs the same store, and swaps the new data into the verifier
// with verifier.Update, so that checks in flight finish on the old data
// and the next ones use the new. When a sync or a reload fails it keeps
// the last good data and reports the failure in Status.
type Keeper struct {
	s    *Store
	v    *verifier.Verifier
	opts KeeperOptions
	path string

	syncMu   sync.Mutex // one sync at a time
	syncing  atomic.Bool
	reloadMu sync.Mutex // one reload at a time

	mu          sync.Mutex // guards the fields below
	fi          os.FileInfo
	cache       *Cache
	next        time.Time
	lastAttempt time.Time
	lastErr     string
	failures    int
}

// NewKeeper loads the store's cache into v. With no cache yet and a From
// URL it syncs first; with neither it returns ErrNoCache.
func (s *Store) NewKeeper(ctx context.Context, v *verifier.Verifier, opts KeeperOptions) (*Keeper, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	k := &Keeper{s: s, v: v, opts: opts, path: filepath.Join(s.dir, cacheFile)}
	if _, err := os.Stat(k.path); errors.Is(err, os.ErrNotExist) && opts.From != "" {
		if err := k.SyncNow(ctx); err != nil {
			return nil, err
		}
	} else if err := k.reload(true); err != nil {
		return nil, err
	}
	k.mu.Lock()
	if opts.Every > 0 && k.next.IsZero() {
		k.next = k.cache.SyncedAt.Add(k.jitter(opts.Every))
	}
	k.mu.Unlock()
	return k, nil
}

// jitter returns d ± about 10 %.
func (k *Keeper) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
}

// backoff is the wait after the n-th failure in a row (n ≥ 1), before
// jitter.
func backoff(every time.Duration, n int) time.Duration {
	lo, hi := min(retryMin, every), min(retryMax, every)
	if every <= 0 {
		lo, hi = retryMin, retryMax
	}
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// Refresh reloads the cache when its file changed since it was last
// loaded (another process synced). It is cheap when nothing changed (one
// stat) and returns at once when a reload is already under way, so it
// can run before every check.
func (k *Keeper) Refresh() {
	if !k.reloadMu.TryLock() {
		return
	}
	defer k.reloadMu.Unlock()
	k.reloadLocked(false)
}

// reload loads and verifies the cache when it changed (or always with
// force) and puts it in use. A cache that does not verify is not used;
// the last good data stays and the error is kept for Status.
func (k *Keeper) reload(force bool) error {
	k.reloadMu.Lock()
	defer k.reloadMu.Unlock()
	return k.reloadLocked(force)
}

func (k *Keeper) reloadLocked(force bool) error {
	fi, err := os.Stat(k.path)
	k.mu.Lock()
	same := err == nil && k.fi != nil && os.SameFile(fi, k.fi) && fi.ModTime().Equal(k.fi.ModTime()) && fi.Size() == k.fi.Size()
	k.mu.Unlock()
	if same && !force {
		return nil
	}
	c, err := k.s.Load(k.opts.Now())
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fi = fi // a bad file is not loaded again until it changes
	if err != nil {
		if k.cache != nil {
			k.lastErr = fmt.Sprintf("the store's trust data changed but does not load; still using bundle %d: %v", k.cache.Bundle.Seq, err)
			k.opts.Logf("%s", k.lastErr)
		}
		return err
	}
	if k.cache != nil && c.Bundle.Seq == k.cache.Bundle.Seq && c.SyncedAt.Equal(k.cache.SyncedAt) {
		return nil // rewritten, not changed
	}
	if k.cache != nil {
		// Never go back from what this process already uses, whatever the
		// directory now holds (a store restored from a backup brings its
		// own older high-water file with it).
		if err := older(c, k.cache); err != nil {
			k.lastErr = fmt.Sprintf("the store's trust data went back; still using bundle %d: %v", k.cache.Bundle.Seq, err)
			k.opts.Logf("%s", k.lastErr)
			return err
		}
	}
	fresher := k.cache != nil && c.SyncedAt.After(k.cache.SyncedAt)
	k.v.Update(c.State())
	if k.cache != nil {
		k.opts.Logf("trust data reloaded: bundle %d, synced %s from %s", c.Bundle.Seq, c.SyncedAt.UTC().Format(time.RFC3339), c.From)
	}
	k.cache = c
	if fresher {
		// Fresh data (another process synced): the schedule counts from
		// that sync, and an earlier failure no longer matters.
		k.lastErr, k.failures = "", 0
		if k.opts.Every > 0 {
			k.next = c.SyncedAt.Add(k.jitter(k.opts.Every))
		}
	}
	return nil
}

// SyncNow syncs the store from the issuer and puts the new data in use.
// On failure the data in use stays the last good one, the error is kept
// for Status and the next scheduled sync backs off.
func (k *Keeper) SyncNow(ctx context.Context) error {
	k.syncMu.Lock()
	defer k.syncMu.Unlock()
	return k.syncLocked(ctx)
}

// syncIfDue syncs when the schedule says so, checked again once no other
// sync (the page's button) is running.
func (k *Keeper) syncIfDue(ctx context.Context) {
	k.syncMu.Lock()
	defer k.syncMu.Unlock()
	k.mu.Lock()
	next := k.next
	k.mu.Unlock()
	if k.opts.Every > 0 && !next.IsZero() && !k.opts.Now().Before(next) {
		k.syncLocked(ctx)
	}
}

func (k *Keeper) syncLocked(ctx context.Context) error {
	k.syncing.Store(true)
	defer k.syncing.Store(false)
	from := k.opts.From
	k.mu.Lock()
	if from == "" && k.cache != nil {
		from = k.cache.From
	}
	k.mu.Unlock()
	now := k.opts.Now()
	var rep *SyncReport
	err := ErrNoSource
	if from != "" {
		rep, err = k.s.Sync(ctx, from, SyncOptions{Client: k.opts.Client, Now: k.opts.Now})
	}
	if err == nil {
		err = k.reload(true)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lastAttempt = now
	if err != nil {
		k.failures++
		k.lastErr = fmt.Sprintf("sync from %s failed: %v", from, err)
		if k.opts.Every > 0 {
			k.next = now.Add(k.jitter(backoff(k.opts.Every, k.failures)))
		}
		k.opts.Logf("%s (attempt %d; keeping bundle %d)", k.lastErr, k.failures, k.seqLocked())
		return err
	}
	k.failures, k.lastErr = 0, ""
	if k.opts.Every > 0 {
		k.next = now.Add(k.jitter(k.opts.Every))
		if !rep.Complete() {
			// A replica or cache behind catches up soon: ask again then.
			k.next = now.Add(k.jitter(backoff(k.opts.Every, 1)))
		}
	}
	k.opts.Logf("synced from %s: bundle %d", from, rep.Seq)
	for _, id := range rep.Behind {
		k.opts.Logf("status list %s is behind the bundle: the source served nothing as new; syncing again sooner", id)
	}
	return nil
}

func (k *Keeper) seqLocked() uint64 {
	if k.cache == nil || k.cache.Bundle == nil {
		return 0
	}
	return k.cache.Bundle.Seq
}

// Run syncs on the schedule and reloads the cache when another process
// changes it, until ctx ends.
func (k *Keeper) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		k.Refresh()
		k.mu.Lock()
		next := k.next
		k.mu.Unlock()
		if k.opts.Every > 0 && !next.IsZero() && !k.opts.Now().Before(next) {
			k.syncIfDue(ctx)
			k.mu.Lock()
			next = k.next
			k.mu.Unlock()
		}
		wait := k.opts.Poll
		if k.opts.Every > 0 {
			wait = min(wait, max(next.Sub(k.opts.Now()), 0))
		}
		t.Reset(wait)
	}
}

// Status reports the data in use and the schedule.
func (k *Keeper) Status() KeeperStatus {
	now := k.opts.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	st := KeeperStatus{NextSync: k.next, LastAttempt: k.lastAttempt, LastError: k.lastErr, Syncing: k.syncing.Load()}
	if k.opts.Every <= 0 {
		st.NextSync = time.Time{}
	}
	if c := k.cache; c != nil {
		st.SyncedAt, st.From, st.BundleSeq = c.SyncedAt, c.From, c.Bundle.Seq
		if c.Bundle.Expired(now) {
			st.Warnings = append(st.Warnings, fmt.Sprintf("trust bundle %d is past its next update (%s)", c.Bundle.Seq, c.Bundle.NextUpdate.UTC().Format(time.RFC3339)))
		}
		for _, id := range slices.Sorted(maps.Keys(c.Lists)) {
			l := c.Lists[id]
			if l.Expired(now) {
				st.Warnings = append(st.Warnings, fmt.Sprintf("status list %s expired at %s", id, l.ExpiresAt.UTC().Format(time.RFC3339)))
			}
			if sl, ok := c.Bundle.StatusList(id); ok && l.Version < sl.Version {
				st.Warnings = append(st.Warnings, behindWarning(id, l.Version, sl.Version))
			}
		}
	}
	return st
}

// older returns an ErrRolledBack error when c is older than held: a lower
// bundle sequence, or a lower version of a status list both name.
func older(c, held *Cache) error {
	if c.Bundle.Seq < held.Bundle.Seq {
		return fmt.Errorf("%w: bundle seq %d, in use %d", ErrRolledBack, c.Bundle.Seq, held.Bundle.Seq)
	}
	for id, l := range c.Lists {
		if h := held.Lists[id]; h != nil && h.URI == l.URI && l.Version < h.Version {
			return fmt.Errorf("%w: status list %s version %d, in use %d", ErrRolledBack, id, l.Version, h.Version)
		}
	}
	return nil
}
