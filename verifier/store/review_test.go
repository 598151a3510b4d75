package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"elicense/verifier"
)

// TestLoadDuringSync: a sync by another handle writes the high-water mark
// before the cache; a Load that falls between the two must wait for the
// sync rather than report a rollback.
func TestLoadDuringSync(t *testing.T) {
	_, f, srv, s := setup(t)
	now := time.Now().Add(time.Hour)
	if _, err := syncNow(s, srv.URL, now); err != nil {
		t.Fatal(err)
	}
	other := must(Open(s.Dir()))
	var rolled, loads atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, err := s.Load(now)
			loads.Add(1)
			if errors.Is(err, ErrRolledBack) {
				rolled.Add(1)
			} else if err != nil {
				t.Error(err)
			}
		}
	})
	for i := range 30 {
		revoke(t, f, "gab-1", 10+i, uint64(2+i))
		if _, err := syncNow(other, srv.URL, now); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if rolled.Load() > 0 {
		t.Errorf("%d of %d loads during genuine syncs reported a rollback", rolled.Load(), loads.Load())
	}
}

// TestKeeperNeverGoesBack: a store restored whole from an older backup
// (cache.json and its own older high-water file) while serve runs does not
// bring a revoked licence back: the Keeper keeps the newer data it uses
// and reports why.
func TestKeeperNeverGoesBack(t *testing.T) {
	w, f, srv, s := setup(t)
	now := func() time.Time { return time.Now().Add(time.Hour) }
	if _, err := syncNow(s, srv.URL, now()); err != nil {
		t.Fatal(err)
	}
	text := must(must(w.Issue(w.Police, "drivers-license", "gab-1", 7, false, nil)).Holding.Static())
	oldCache := must(os.ReadFile(filepath.Join(s.Dir(), cacheFile)))
	oldHW := must(os.ReadFile(filepath.Join(s.Dir(), highWaterFile)))
	v := verifier.New(verifier.State{}, verifier.Options{})
	k := must(s.NewKeeper(context.Background(), v, KeeperOptions{Now: now}))
	revoke(t, f, "gab-1", 7, 2)
	if err := k.SyncNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if vd := v.Verify(text, now()); vd.Code != verifier.Revoked {
		t.Fatalf("after sync: %s", vd.Code)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), highWaterFile), oldHW, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(s.Dir(), cacheFile))
	if err := os.WriteFile(filepath.Join(s.Dir(), cacheFile), oldCache, 0o600); err != nil {
		t.Fatal(err)
	}
	k.Refresh()
	if vd := v.Verify(text, now()); vd.Code != verifier.Revoked {
		t.Errorf("the running keeper went back to older trust data: %s", vd.Code)
	}
	if st := k.Status(); !strings.Contains(st.LastError, "went back") {
		t.Errorf("the refusal is not reported in the status: %q", st.LastError)
	}
}
