package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicense/certs/statuslist"
	"elicense/internal/gm"
	"elicense/verifier"
	"elicense/verifier/internal/testpki"
)

// change sets entries of list id to st as a new version signed at at, and
// makes the fake serve the delta from the version before.
func change(t *testing.T, w *testpki.World, f *fakeIssuer, id string, at time.Time, st statuslist.Status, idx ...int) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	l := w.Lists[id]
	old := l.List.Clone()
	for _, i := range idx {
		if err := l.List.Set(i, st); err != nil {
			t.Fatal(err)
		}
	}
	meta := statuslist.Meta{URI: l.URI, Version: l.Version + 1, IssuedAt: at, ExpiresAt: l.ExpiresAt, TTL: time.Hour}
	d := must(statuslist.NewDelta(old, l.Version, l.List, meta))
	f.deltas[id] = must(statuslist.SignDelta(d, w.LedgerKey, gm.KeyIDString(w.LedgerDER)))
	l.Version, l.IssuedAt = meta.Version, at
	f.lists[id] = must(w.SignList(id))
}

// verdict verifies the static QR text of l against the store's cache.
func verdict(t *testing.T, s *Store, now time.Time, text string) verifier.Verdict {
	t.Helper()
	c, err := s.Load(now)
	if err != nil {
		t.Fatal(err)
	}
	return verifier.New(c.State(), verifier.Options{}).Verify(text, now)
}

// Rollback case (a): an older signed cache copied over the store is
// refused on Load, and by a sync served the same old documents.
func TestCopiedBackCacheRefused(t *testing.T) {
	w, f, srv, s := setup(t)
	now := w.Now.Add(time.Hour)
	dl := must(w.Issue(w.Police, "drivers-license", "gab-1", 5, false, nil))
	text := must(dl.Holding.Static())
	if _, err := syncNow(s, srv.URL, now); err != nil {
		t.Fatal(err)
	}
	if v := verdict(t, s, now, text); v.Code != verifier.ValidStatic {
		t.Fatalf("before the revocation: %s %s", v.Code, v.Detail)
	}
	oldCache := must(os.ReadFile(filepath.Join(s.Dir(), cacheFile)))
	oldBundle, oldList := f.bundle, f.lists["gab-1"]

	for _, tc := range []struct {
		name string
		seq  uint64 // bundle published with the revocation
		want string
	}{
		{"same bundle, newer list", 1, "status list gab-1 is version 1, this store already accepted version 2"},
		{"newer bundle", 2, "trust bundle is seq 1, this store already accepted seq 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			change(t, w, f, "gab-1", w.Now.Add(-time.Duration(50-tc.seq)*time.Minute), statuslist.Revoked, 5)
			if tc.seq > 1 {
				f.publish(t, tc.seq)
			}
			if _, err := syncNow(s, srv.URL, now); err != nil {
				t.Fatal(err)
			}
			if v := verdict(t, s, now, text); v.Code != verifier.Revoked {
				t.Fatalf("after the revocation: %s", v.Code)
			}
			newCache := must(os.ReadFile(filepath.Join(s.Dir(), cacheFile)))
			// The old cache still verifies on its own: only the
			// high-water mark tells it is old.
			os.WriteFile(filepath.Join(s.Dir(), cacheFile), oldCache, 0o600)
			if _, err := s.loadCache(now); err != nil {
				t.Fatalf("the old cache no longer verifies by itself: %v", err)
			}
			_, err := s.Load(now)
			if !errors.Is(err, ErrRolledBack) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "elicense-verify sync") {
				t.Fatalf("load of a copied-back cache: %v", err)
			}
			// A sync served the same old documents is refused too, and
			// leaves the store as it was.
			f.mu.Lock()
			curBundle, curList := f.bundle, f.lists["gab-1"]
			f.bundle, f.lists["gab-1"] = oldBundle, oldList
			delete(f.deltas, "gab-1")
			f.mu.Unlock()
			failing(t, s, srv.URL, now, "this store already accepted")
			// The genuine issuer's current documents put it right.
			f.mu.Lock()
			f.bundle, f.lists["gab-1"] = curBundle, curList
			f.mu.Unlock()
			if _, err := syncNow(s, srv.URL, now); err != nil {
				t.Fatal(err)
			}
			if v := verdict(t, s, now, text); v.Code != verifier.Revoked {
				t.Fatalf("after a sync: %s", v.Code)
			}
			os.WriteFile(filepath.Join(s.Dir(), cacheFile), newCache, 0o600)
			// Reinstate for the next case, as version 3 or 4.
			change(t, w, f, "gab-1", w.Now.Add(-time.Duration(40-tc.seq)*time.Minute), statuslist.Valid, 5)
			if _, err := syncNow(s, srv.URL, now); err != nil {
				t.Fatal(err)
			}
			oldCache = must(os.ReadFile(filepath.Join(s.Dir(), cacheFile)))
			oldBundle, oldList = f.bundle, f.lists["gab-1"]
		})
	}
}

// Rollback case (b): a first sync served status lists older than the
// bundle names is refused, and leaves no cache behind.
func TestFirstSyncOlderListsRefused(t *testing.T) {
	w, f, srv, s := setup(t)
	now := w.Now.Add(time.Hour)
	f.named = map[string]uint64{"gab-1": 2, "amr-1": 1}
	f.publish(t, 1) // names gab-1 v2, serves gab-1 v1
	_, err := s.Sync(t.Context(), srv.URL, SyncOptions{Now: func() time.Time { return now }, RetryPause: time.Millisecond})
	if !errors.Is(err, statuslist.ErrRollback) || !strings.Contains(err.Error(), "status list gab-1: ") ||
		!strings.Contains(err.Error(), "version 1 is older than the version 2 the trust bundle names") {
		t.Fatalf("first sync with an old list: %v", err)
	}
	if n := f.requests["/v1/status/gab-1"]; n != 1+behindRetries {
		t.Fatalf("the list behind was asked for %d times", n)
	}
	for _, n := range []string{cacheFile, highWaterFile} {
		if _, err := os.Stat(filepath.Join(s.Dir(), n)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s written by a refused sync: %v", n, err)
		}
	}
	// Served at the version named, it syncs.
	change(t, w, f, "gab-1", w.Now.Add(-time.Minute), statuslist.Revoked, 5)
	if _, err := syncNow(s, srv.URL, now); err != nil {
		t.Fatal(err)
	}
}

// A damaged or missing high-water file fails closed; a sync re-establishes
// it, but only from data at least as new as the cache held.
func TestHighWaterDamaged(t *testing.T) {
	w, f, srv, s := setup(t)
	now := w.Now.Add(time.Hour)
	if _, err := syncNow(s, srv.URL, now); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(s.Dir(), highWaterFile)
	good := must(os.ReadFile(p))
	for _, tc := range []struct {
		name   string
		damage func()
		want   string
	}{
		{"missing", func() { os.Remove(p) }, "is missing while a cache is held"},
		{"truncated", func() { os.WriteFile(p, good[:len(good)/2], 0o600) }, "no checksum line"},
		{"edited", func() { os.WriteFile(p, []byte(strings.Replace(string(good), "bundle 1", "bundle 0", 1)), 0o600) }, "checksum does not match"},
		{"empty", func() { os.WriteFile(p, nil, 0o600) }, "no checksum line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.damage()
			_, err := s.Load(now)
			if !errors.Is(err, ErrHighWater) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "remove cache.json and highwater") {
				t.Fatalf("load: %v", err)
			}
			rep, err := syncNow(s, srv.URL, now)
			if err != nil {
				t.Fatal(err)
			}
			if tc.name != "missing" && (len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[0], "re-established")) {
				t.Fatalf("sync warnings %q", rep.Warnings)
			}
			if _, err := s.Load(now); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Re-established from a sync that must not go back past the cache held.
	os.Remove(p)
	f.publish(t, 3)
	if _, err := syncNow(s, srv.URL, now); err != nil {
		t.Fatal(err)
	}
	os.Remove(p)
	f.publish(t, 2)
	rep, err := syncNow(s, srv.URL, now)
	if err != nil || len(rep.Kept) != 1 || rep.Seq != 3 {
		t.Fatalf("sync served an older bundle: %v %+v", err, rep)
	}
	if hw := must(s.readHighWater()); hw.Seq != 3 {
		t.Fatalf("high-water mark re-established at seq %d, want the 3 held", hw.Seq)
	}
}

// An unchanged list says so and is not fetched again.
func TestSyncUnchanged(t *testing.T) {
	w, f, srv, s := setup(t)
	now := w.Now.Add(time.Hour)
	if _, err := syncNow(s, srv.URL, now); err != nil {
		t.Fatal(err)
	}
	full := func(id string) int { return f.requests["/v1/status/"+id] }

	// The issuer answers an empty delta from its current version.
	f.notModified = true
	var log strings.Builder
	rep, err := s.Sync(t.Context(), srv.URL, SyncOptions{Now: func() time.Time { return now }, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.UnchangedLists) != 5 || len(rep.FullLists)+len(rep.DeltaLists) != 0 || full("gab-1") != 1 {
		t.Fatalf("%+v; full fetches of gab-1: %d", rep, full("gab-1"))
	}
	if !strings.Contains(log.String(), "status list gab-1: unchanged (v1)") || strings.Contains(log.String(), "404") {
		t.Fatalf("log:\n%s", log.String())
	}

	// A source without that delta answers 404; the full list shows it unchanged.
	f.notModified = false
	log.Reset()
	if rep, err = s.Sync(t.Context(), srv.URL, SyncOptions{Now: func() time.Time { return now }, Log: &log}); err != nil {
		t.Fatal(err)
	}
	if len(rep.UnchangedLists) != 5 || len(rep.FullLists) != 0 || full("gab-1") != 2 {
		t.Fatalf("%+v", rep)
	}
	if !strings.Contains(log.String(), "status list gab-1: unchanged (v1; the source has no delta from v1") {
		t.Fatalf("log:\n%s", log.String())
	}

	// The same version re-signed later is fetched for its fresh date.
	l := w.Lists["gab-1"]
	l.IssuedAt = w.Now
	f.lists["gab-1"] = must(w.SignList("gab-1"))
	log.Reset()
	if rep, err = s.Sync(t.Context(), srv.URL, SyncOptions{Now: func() time.Time { return now }, Log: &log}); err != nil {
		t.Fatal(err)
	}
	if len(rep.FullLists) != 1 || rep.FullLists[0] != "gab-1" || !strings.Contains(log.String(), "gab-1: v1 re-signed") {
		t.Fatalf("%+v\n%s", rep, log.String())
	}
	if c := must(s.Load(now)); !c.Lists["gab-1"].IssuedAt.Equal(w.Now) {
		t.Fatalf("held list signed at %v", c.Lists["gab-1"].IssuedAt)
	}
}

// Progress goes to the callback, for documents over 256 KiB.
func TestSyncProgress(t *testing.T) {
	w, f, srv, s := setup(t)
	l := w.Lists["amr-1"]
	l.List = statuslist.New(4 << 20)
	for i := 0; i < l.List.Len(); i += 7 {
		l.List.Set(i*i%l.List.Len(), statuslist.Status(i%4))
	}
	f.publish(t, 1)
	var calls int
	var last, total int64
	_, err := s.Sync(t.Context(), srv.URL, SyncOptions{Now: func() time.Time { return w.Now }, OnProgress: func(what string, done, tot int64) {
		if what != "status amr-1" || done < last {
			t.Errorf("progress %q %d/%d after %d", what, done, tot, last)
		}
		calls, last, total = calls+1, done, tot
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 2 || last != total || total < 256<<10 {
		t.Fatalf("%d progress calls, last %d of %d", calls, last, total)
	}
}

// StatusSince dates a status from the earliest data held that shows it.
func TestStatusSince(t *testing.T) {
	w, f, srv, s := setup(t)
	now := w.Now.Add(time.Hour)
	t0 := w.Lists["gab-1"].IssuedAt
	w.Lists["gab-1"].List.Set(9, statuslist.Revoked) // revoked before the full list
	f.publish(t, 1)
	if _, err := syncNow(s, srv.URL, now); err != nil {
		t.Fatal(err)
	}
	t1, t2, t3 := w.Now.Add(-50*time.Minute), w.Now.Add(-40*time.Minute), w.Now.Add(-30*time.Minute)
	for _, step := range []struct {
		at  time.Time
		st  statuslist.Status
		idx []int
	}{
		{t1, statuslist.Suspended, []int{5, 6}},
		{t2, statuslist.Revoked, []int{5}},   // suspended, then revoked
		{t3, statuslist.Suspended, []int{7}}, // 6 stays suspended from t1
	} {
		change(t, w, f, "gab-1", step.at, step.st, step.idx...)
		if _, err := syncNow(s, srv.URL, now); err != nil {
			t.Fatal(err)
		}
	}
	c := must(s.Load(now))
	for _, tc := range []struct {
		idx  uint64
		st   statuslist.Status
		want time.Time
	}{
		{9, statuslist.Revoked, t0},
		{5, statuslist.Revoked, t2},
		{6, statuslist.Suspended, t1},
		{7, statuslist.Suspended, t3},
		{5, statuslist.Suspended, time.Time{}}, // not its status now
		{8, statuslist.Revoked, time.Time{}},
		{1 << 40, statuslist.Revoked, time.Time{}},
	} {
		if got := c.StatusSince("gab-1", tc.idx, tc.st); !got.Equal(tc.want) {
			t.Errorf("entry %d %v: since %v, want %v", tc.idx, tc.st, got, tc.want)
		}
	}
	if got := c.StatusSince("nope", 5, statuslist.Revoked); !got.IsZero() {
		t.Errorf("unknown list: %v", got)
	}
	// The verdict carries it.
	for _, tc := range []struct {
		idx  uint64
		code verifier.Code
		want time.Time
	}{{5, verifier.Revoked, t2}, {6, verifier.Suspended, t1}, {9, verifier.Revoked, t0}, {8, verifier.ValidStatic, time.Time{}}} {
		dl := must(w.Issue(w.Police, "drivers-license", "gab-1", tc.idx, false, nil))
		v := verdict(t, s, now, must(dl.Holding.Static()))
		if v.Code != tc.code || v.Licence == nil || !v.Licence.StatusSince.Equal(tc.want) {
			t.Errorf("entry %d: %s since %v, want %s since %v", tc.idx, v.Code, v.Licence.StatusSince, tc.code, tc.want)
		}
	}
}

// Overlapping syncs of one store (serve's schedule and a CLI sync) keep
// the cache and the mark moving forward together.
func TestConcurrentSyncs(t *testing.T) {
	w, f, srv, s := setup(t)
	now := w.Now.Add(time.Hour)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for seq := uint64(2); seq < 12; seq++ {
			f.publish(t, seq)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	// An observer: the mark never goes down.
	stop, watched := make(chan struct{}), make(chan error, 1)
	go func() {
		var high uint64
		for {
			select {
			case <-stop:
				watched <- nil
				return
			default:
			}
			hw, err := s.readHighWater()
			if err != nil {
				watched <- err
				return
			}
			if hw != nil && hw.Seq < high {
				watched <- fmt.Errorf("the mark went down from seq %d to %d", high, hw.Seq)
				return
			}
			if hw != nil {
				high = hw.Seq
			}
		}
	}()
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			var err error
			for range 4 {
				if _, err = syncNow(s, srv.URL, now); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	<-done
	close(stop)
	if err := <-watched; err != nil {
		t.Fatal(err)
	}
	if _, err := syncNow(s, srv.URL, now); err != nil {
		t.Fatal(err)
	}
	c, err := s.Load(now)
	if err != nil || c.Bundle.Seq != 11 {
		t.Fatalf("load after concurrent syncs: %v", err)
	}
}
