package store

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"elicense/certs/statuslist"
	"elicense/verifier"
)

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		every time.Duration
		n     int
		want  time.Duration
	}{
		{5 * time.Minute, 1, 30 * time.Second},
		{5 * time.Minute, 2, time.Minute},
		{5 * time.Minute, 4, 4 * time.Minute},
		{5 * time.Minute, 5, 5 * time.Minute}, // capped at the interval
		{5 * time.Minute, 50, 5 * time.Minute},
		{24 * time.Hour, 1, 30 * time.Second},
		{24 * time.Hour, 7, 30 * time.Minute}, // capped at retryMax
		{24 * time.Hour, 1000, 30 * time.Minute},
		{time.Second, 1, time.Second}, // never slower than the schedule
		{time.Second, 9, time.Second},
	} {
		if got := backoff(tc.every, tc.n); got != tc.want {
			t.Errorf("backoff(%s, %d) = %s, want %s", tc.every, tc.n, got, tc.want)
		}
	}
	k := &Keeper{}
	for range 1000 {
		if d := k.jitter(time.Minute); d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("jitter(1m) = %s", d)
		}
	}
}

// revoke marks entry idx of list id revoked at the fake issuer and
// publishes bundle seq.
func revoke(t *testing.T, f *fakeIssuer, id string, idx int, seq uint64) {
	f.mu.Lock()
	l := f.w.Lists[id]
	l.List.Set(idx, statuslist.Revoked)
	l.Version++
	l.IssuedAt = l.IssuedAt.Add(time.Minute)
	f.mu.Unlock()
	f.publish(t, seq)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestKeeperScheduledSync: a running Keeper with a short interval turns a
// licence revoked at the issuer from VALID_STATIC into REVOKED without a
// restart, and reports the sync.
func TestKeeperScheduledSync(t *testing.T) {
	w, f, srv, s := setup(t)
	now := func() time.Time { return time.Now().Add(time.Hour) }
	if _, err := syncNow(s, srv.URL, now()); err != nil {
		t.Fatal(err)
	}
	l := must(w.Issue(w.Police, "drivers-license", "gab-1", 5, false, nil))
	text := must(l.Holding.Static())
	v := verifier.New(verifier.State{}, verifier.Options{})
	var logged atomic.Int32
	k, err := s.NewKeeper(context.Background(), v, KeeperOptions{Every: 50 * time.Millisecond, Poll: 10 * time.Millisecond, Now: now,
		Logf: func(string, ...any) { logged.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if vd := v.Verify(text, now()); vd.Code != verifier.ValidStatic {
		t.Fatalf("before: %s %s", vd.Code, vd.Detail)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { k.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	revoke(t, f, "gab-1", 5, 2)
	waitFor(t, "REVOKED", func() bool { return v.Verify(text, now()).Code == verifier.Revoked })
	st := k.Status()
	if st.BundleSeq != 2 || st.From != srv.URL || st.LastError != "" || st.LastAttempt.IsZero() || !st.NextSync.After(st.LastAttempt) || logged.Load() == 0 {
		t.Fatalf("status %+v", st)
	}
}

// TestKeeperPicksUpOtherProcess: with no schedule, a sync made through
// another handle on the store (as by `elicense-verify sync`) is loaded.
func TestKeeperPicksUpOtherProcess(t *testing.T) {
	w, f, srv, s := setup(t)
	now := func() time.Time { return time.Now().Add(time.Hour) }
	if _, err := syncNow(s, srv.URL, now()); err != nil {
		t.Fatal(err)
	}
	text := must(must(w.Issue(w.Police, "drivers-license", "gab-1", 7, false, nil)).Holding.Static())
	v := verifier.New(verifier.State{}, verifier.Options{})
	k := must(s.NewKeeper(context.Background(), v, KeeperOptions{Poll: 10 * time.Millisecond, Now: now}))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { k.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	revoke(t, f, "gab-1", 7, 2)
	time.Sleep(50 * time.Millisecond)
	if vd := v.Verify(text, now()); vd.Code != verifier.ValidStatic {
		t.Fatalf("no schedule, no other sync: %s", vd.Code)
	}
	other := must(Open(s.Dir()))
	if _, err := syncNow(other, srv.URL, now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "REVOKED", func() bool { return v.Verify(text, now()).Code == verifier.Revoked })
	if st := k.Status(); st.BundleSeq != 2 || !st.NextSync.IsZero() || !st.LastAttempt.IsZero() {
		t.Fatalf("status %+v", st)
	}
	// Refresh alone (before a check) picks it up too.
	revoke(t, f, "gab-1", 8, 3)
	text8 := must(must(w.Issue(w.Police, "drivers-license", "gab-1", 8, false, nil)).Holding.Static())
	cancel()
	wg.Wait()
	if _, err := syncNow(other, srv.URL, now()); err != nil {
		t.Fatal(err)
	}
	k.Refresh()
	if vd := v.Verify(text8, now()); vd.Code != verifier.Revoked {
		t.Fatalf("after Refresh: %s", vd.Code)
	}
}

// TestKeeperFailureKeepsData: a failing issuer leaves the last good data
// in use, shows the error, and backs off; the next good sync clears it.
func TestKeeperFailureKeepsData(t *testing.T) {
	w, f, srv, s := setup(t)
	now := func() time.Time { return time.Now().Add(time.Hour) }
	if _, err := syncNow(s, srv.URL, now()); err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	flaky := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(rw, "maintenance", http.StatusServiceUnavailable)
			return
		}
		f.ServeHTTP(rw, r)
	}))
	defer flaky.Close()
	text := must(must(w.Issue(w.Police, "drivers-license", "gab-1", 9, false, nil)).Holding.Static())
	v := verifier.New(verifier.State{}, verifier.Options{})
	k := must(s.NewKeeper(context.Background(), v, KeeperOptions{From: flaky.URL, Every: time.Hour, Now: now}))
	down.Store(true)
	for i := 1; i <= 3; i++ {
		before := now()
		err := k.SyncNow(context.Background())
		st := k.Status()
		if err == nil || !strings.Contains(st.LastError, "503") || st.BundleSeq != 1 {
			t.Fatalf("attempt %d: %v %+v", i, err, st)
		}
		if wait, want := st.NextSync.Sub(before), backoff(time.Hour, i); wait < want*9/10 || wait > want*11/10+time.Second {
			t.Fatalf("attempt %d: next sync in %s, want about %s", i, wait, want)
		}
	}
	if vd := v.Verify(text, now()); vd.Code != verifier.ValidStatic {
		t.Fatalf("last good data dropped: %s", vd.Code)
	}
	down.Store(false)
	revoke(t, f, "gab-1", 9, 2)
	if err := k.SyncNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := k.Status(); st.LastError != "" || st.BundleSeq != 2 || st.NextSync.Sub(now()) < 50*time.Minute {
		t.Fatalf("after recovery: %+v", st)
	}
	if vd := v.Verify(text, now()); vd.Code != verifier.Revoked {
		t.Fatalf("after recovery: %s", vd.Code)
	}
	// A damaged cache written by someone else is not used.
	if err := writeAtomic(s.Dir()+"/"+cacheFile, []byte(`{"bundle":"x"}`)); err != nil {
		t.Fatal(err)
	}
	k.Refresh()
	if st := k.Status(); st.BundleSeq != 2 || !strings.Contains(st.LastError, "does not load") {
		t.Fatalf("damaged cache: %+v", st)
	}
	if vd := v.Verify(text, now()); vd.Code != verifier.Revoked {
		t.Fatalf("damaged cache: %s", vd.Code)
	}
}

func TestKeeperNoCache(t *testing.T) {
	w, _, srv, s := setup(t)
	v := verifier.New(verifier.State{}, verifier.Options{})
	if _, err := s.NewKeeper(context.Background(), v, KeeperOptions{}); !errors.Is(err, ErrNoCache) {
		t.Fatalf("no cache, no URL: %v", err)
	}
	now := func() time.Time { return w.Now.Add(time.Hour) }
	k, err := s.NewKeeper(context.Background(), v, KeeperOptions{From: srv.URL, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if st := k.Status(); st.BundleSeq != 1 || st.From != srv.URL {
		t.Fatalf("first sync: %+v", st)
	}
}
