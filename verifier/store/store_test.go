package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/verifier/internal/testpki"
)

// fakeIssuer serves a testpki world's documents the way the issuer does.
type fakeIssuer struct {
	mu         sync.Mutex
	w          *testpki.World
	bundle     string
	checkpoint []byte
	lists      map[string]string
	deltas     map[string][]byte // id → delta from the version before
	proof      func(old, new uint64) []string
	// notModified answers 304 to a delta request from the list's current
	// version, as the issuer does; false answers 404, as older issuers do.
	notModified bool
	// named sets the version the bundle names per list.
	named    map[string]uint64
	requests map[string]int // path?query → count
	// tiles, when set, are served under /v1/ledger/ (tile path → bytes).
	tiles map[string][]byte
}

func id(path string) string { return strings.TrimPrefix(path, "/v1/status/") }

func newFake(t *testing.T, w *testpki.World, seq uint64) *fakeIssuer {
	f := &fakeIssuer{w: w, lists: map[string]string{}, deltas: map[string][]byte{}}
	f.publish(t, seq)
	return f
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func (f *fakeIssuer) publish(t *testing.T, seq uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := must(f.w.Bundle(seq, f.w.Now.Add(time.Duration(seq)*time.Minute)))
	for i := range b.StatusLists {
		b.StatusLists[i].Version = f.named[b.StatusLists[i].ID]
	}
	f.bundle = must(f.w.SignBundle(b))
	f.checkpoint = must(f.w.Checkpoint())
	for id := range f.w.Lists {
		f.lists[id] = must(f.w.SignList(id))
	}
}

func (f *fakeIssuer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.requests == nil {
		f.requests = map[string]int{}
	}
	f.requests[r.URL.RequestURI()]++
	switch {
	case r.URL.Path == "/v1/trust":
		fmt.Fprint(rw, f.bundle)
	case r.URL.Path == "/v1/ledger/checkpoint":
		rw.Write(f.checkpoint)
	case r.URL.Path == "/v1/ledger/proof/consistency":
		var o, n uint64
		fmt.Sscan(r.URL.Query().Get("old"), &o)
		fmt.Sscan(r.URL.Query().Get("new"), &n)
		var p []string
		if f.proof != nil {
			p = f.proof(o, n)
		} else {
			for _, h := range must(f.w.Tree.ConsistencyProof(o, n)) {
				p = append(p, base64.StdEncoding.EncodeToString(h[:]))
			}
		}
		json.NewEncoder(rw).Encode(map[string]any{"old": o, "new": n, "proof": p})
	case strings.HasPrefix(r.URL.Path, "/v1/status-delta/"):
		id, from, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1/status-delta/"), "/")
		if l := f.w.Lists[id]; f.notModified && l != nil && from == fmt.Sprint(l.Version) {
			return // an empty body: the version held is the current one
		}
		if d, ok := f.deltas[id]; ok {
			rw.Write(d)
			return
		}
		http.Error(rw, `{"code":"delta_unavailable"}`, 404)
	case strings.HasPrefix(r.URL.Path, "/v1/status/"):
		fmt.Fprint(rw, f.lists[id(r.URL.Path)])
	case f.tiles != nil && strings.HasPrefix(r.URL.Path, "/v1/ledger/tile/"):
		if d, ok := f.tiles[strings.TrimPrefix(r.URL.Path, "/v1/ledger/")]; ok {
			rw.Write(d)
			return
		}
		http.NotFound(rw, r)
	default:
		http.NotFound(rw, r)
	}
}

func setup(t *testing.T) (*testpki.World, *fakeIssuer, *httptest.Server, *Store) {
	w := must(testpki.New(time.Now().Truncate(time.Second)))
	f := newFake(t, w, 1)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s := must(Open(filepath.Join(t.TempDir(), "store")))
	if _, err := s.AddRoot(w.RootPEM()); err != nil {
		t.Fatal(err)
	}
	return w, f, srv, s
}

func syncNow(s *Store, url string, at time.Time) (*SyncReport, error) {
	return s.Sync(context.Background(), url, SyncOptions{Now: func() time.Time { return at }})
}

func TestSyncAndLoad(t *testing.T) {
	w, f, srv, s := setup(t)
	now := w.Now.Add(time.Hour)
	rep, err := syncNow(s, srv.URL, now)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Seq != 1 || len(rep.FullLists) != 5 || rep.Checkpoint.Size != 1 {
		t.Fatalf("%+v", rep)
	}
	c, err := s.Load(now)
	if err != nil || len(c.Lists) != 5 || c.Bundle.Seq != 1 {
		t.Fatalf("load: %v", err)
	}
	// The issuer revokes an entry and grows the log; a delta and a
	// consistency proof carry the counter forward.
	l := w.Lists["gab-1"]
	old := l.List.Clone()
	l.List.Set(5, statuslist.Revoked)
	l.Version, l.IssuedAt = 2, w.Now.Add(30*time.Minute)
	d := must(statuslist.NewDelta(old, 1, l.List, statuslist.Meta{URI: l.URI, Version: 2, IssuedAt: l.IssuedAt, ExpiresAt: l.ExpiresAt}))
	f.deltas["gab-1"] = must(statuslist.SignDelta(d, w.LedgerKey, gm.KeyIDString(w.LedgerDER)))
	for i := range 5 {
		w.Tree.AppendEntry([]byte{byte(i)})
	}
	f.publish(t, 2)
	rep, err = syncNow(s, srv.URL, now)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Seq != 2 || len(rep.DeltaLists) != 1 || rep.Checkpoint.Size != 6 {
		t.Fatalf("%+v", rep)
	}
	c = must(s.Load(now))
	if st, _ := c.Lists["gab-1"].Status(5); st != statuslist.Revoked || c.Lists["gab-1"].Version != 2 {
		t.Fatalf("after delta: %v v%d", st, c.Lists["gab-1"].Version)
	}
}

// failing runs a sync that must fail with want in its message and leave
// the cache byte for byte as it was.
func failing(t *testing.T, s *Store, url string, now time.Time, want string) {
	t.Helper()
	before, _ := os.ReadFile(filepath.Join(s.Dir(), cacheFile))
	_, err := syncNow(s, url, now)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("sync error %v, want %q", err, want)
	}
	after, _ := os.ReadFile(filepath.Join(s.Dir(), cacheFile))
	if string(before) != string(after) {
		t.Fatal("a failed sync changed the cache")
	}
}

func TestSyncRefuses(t *testing.T) {
	w, f, srv, s := setup(t)
	now := w.Now.Add(time.Hour)
	if _, err := syncNow(s, srv.URL, now); err != nil {
		t.Fatal(err)
	}
	good := f.bundle

	t.Run("bundle signed under another root", func(t *testing.T) {
		other := must(testpki.New(w.Now))
		f.bundle = must(other.SignBundle(must(other.Bundle(5, w.Now))))
		defer func() { f.bundle = good }()
		failing(t, s, srv.URL, now, "untrusted bundle signer")
	})
	t.Run("rolled-back bundle", func(t *testing.T) {
		f.publish(t, 3)
		if _, err := syncNow(s, srv.URL, now); err != nil {
			t.Fatal(err)
		}
		seq3 := f.bundle
		f.bundle = good // seq 1 again: a replica or cache behind
		rep, err := syncNow(s, srv.URL, now)
		if err != nil || len(rep.Kept) != 1 || rep.Seq != 3 ||
			rep.Kept[0] != "served an older copy of the trust bundle: seq 1 < seq 3 held; kept the held one (a replica or cache behind)" {
			t.Fatalf("older bundle: %v %+v", err, rep)
		}
		if c := must(s.Load(now)); c.Bundle.Seq != 3 {
			t.Fatalf("an older bundle was taken: seq %d", c.Bundle.Seq)
		}
		// Held past its next update, there is nothing current to keep.
		failing(t, s, srv.URL, now.Add(48*time.Hour), "rollback: seq 1, already holding 3; the bundle held is past its next update")
		f.bundle = seq3
	})
	t.Run("status list from the wrong signer", func(t *testing.T) {
		l := w.Lists["amr-1"]
		saved := f.lists["amr-1"]
		f.lists["amr-1"] = must(statuslist.Sign(l.List, statuslist.Meta{URI: l.URI, Version: 9, IssuedAt: w.Now, ExpiresAt: l.ExpiresAt}, w.Market.Key, w.Market.KID))
		defer func() { f.lists["amr-1"] = saved }()
		failing(t, s, srv.URL, now, "unknown signing key")
	})
	t.Run("status list rolled back", func(t *testing.T) {
		l := w.Lists["mz-1"]
		l.Version = 5
		f.publish(t, 4)
		if _, err := syncNow(s, srv.URL, now); err != nil {
			t.Fatal(err)
		}
		l.Version = 4
		f.publish(t, 5)
		rep, err := syncNow(s, srv.URL, now)
		if err != nil || !slices.Contains(rep.Kept, "served an older copy of the status list mz-1: v4 < v5 held; kept the held one (a replica or cache behind)") {
			t.Fatalf("older list: %v %+v", err, rep)
		}
		if c := must(s.Load(now)); c.Lists["mz-1"].Version != 5 {
			t.Fatalf("an older list was taken: v%d", c.Lists["mz-1"].Version)
		}
		l.Version = 6
		f.publish(t, 6)
	})
	t.Run("inconsistent checkpoint", func(t *testing.T) {
		if _, err := syncNow(s, srv.URL, now); err != nil {
			t.Fatal(err)
		}
		// A forked log: a different tree of a larger size.
		w.Tree = tlogFork(w)
		f.publish(t, 7)
		failing(t, s, srv.URL, now, "not consistent")
	})
	t.Run("garbage bundle", func(t *testing.T) {
		saved := f.bundle
		f.bundle = "not a jws"
		defer func() { f.bundle = saved }()
		failing(t, s, srv.URL, now, "malformed")
	})
	t.Run("tampered cache is refused on load", func(t *testing.T) {
		p := filepath.Join(s.Dir(), cacheFile)
		data, _ := os.ReadFile(p)
		var fl file
		json.Unmarshal(data, &fl)
		fl.Lists["gab-1"].Token = f.lists["gab-1"][:len(f.lists["gab-1"])-4] + "AAAA"
		bad, _ := json.Marshal(fl)
		os.WriteFile(p, bad, 0o600)
		if _, err := s.Load(now); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("load: %v", err)
		}
		os.WriteFile(p, data, 0o600)
	})
	if _, err := s.Load(now); err != nil {
		t.Fatal(err)
	}
}

func TestNoRoots(t *testing.T) {
	s := must(Open(t.TempDir()))
	if _, err := s.Load(time.Now()); !errors.Is(err, ErrNoRoots) {
		t.Fatal(err)
	}
	if _, err := s.AddRoot([]byte("nope")); err == nil {
		t.Fatal("garbage root pinned")
	}
	_ = trust.ErrRollback
}
