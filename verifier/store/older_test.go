package store

import (
	"encoding/base64"
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
	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
	"elicense/verifier"
	"elicense/verifier/internal/testpki"
)

// quickSync syncs with a short pause before asking again for a list
// served older than the bundle names.
func quickSync(t *testing.T, s *Store, url string, now time.Time) (*SyncReport, error) {
	t.Helper()
	return s.Sync(t.Context(), url, SyncOptions{Now: func() time.Time { return now }, RetryPause: time.Millisecond})
}

// signListAt signs list id of w as version v with its current entries.
func signListAt(w *testpki.World, id string, v uint64) string {
	l := w.Lists[id]
	return must(statuslist.Sign(l.List, statuslist.Meta{URI: l.URI, Version: v, IssuedAt: l.IssuedAt, ExpiresAt: l.ExpiresAt, TTL: time.Hour},
		w.LedgerKey, gm.KeyIDString(w.LedgerDER)))
}

// TestOlderCopies: what a sync does with a document older than the one
// held, or than the version the bundle names. Each case starts from a
// store synced to the fake's bundle seq 2, every list at v2 (gab-1 and
// mz-1 named at v2), and a checkpoint of the ledger as it is.
func TestOlderCopies(t *testing.T) {
	for _, tc := range []struct {
		name string
		// serve changes what the fake serves after the first sync; old
		// holds the documents of seq 1 (every list at v1).
		serve    func(t *testing.T, w *testpki.World, f *fakeIssuer, old *fakeIssuer)
		now      time.Duration // after the first sync's time
		err      string        // a sync error wanted, or ""
		kept     []string      // substrings of SyncReport.Kept, in order
		behind   []string
		warning  string // a substring of a warning, or ""
		seq      uint64 // the bundle held after
		gab, mz  uint64 // the versions of gab-1 and mz-1 held after
		gabFetch int    // full fetches of gab-1 by the second sync
	}{
		{name: "older bundle, held current: kept",
			serve: func(t *testing.T, w *testpki.World, f, old *fakeIssuer) { f.bundle = old.bundle },
			kept:  []string{"trust bundle: seq 1 < seq 2 held"}, seq: 2, gab: 2, mz: 2, gabFetch: 1},
		{name: "older bundle, held stale: fails",
			serve: func(t *testing.T, w *testpki.World, f, old *fakeIssuer) { f.bundle = old.bundle },
			now:   30 * time.Hour, err: "the bundle held is past its next update", seq: 2, gab: 2, mz: 2},
		{name: "older list, held at the version named: kept",
			serve: func(t *testing.T, w *testpki.World, f, old *fakeIssuer) { f.lists["gab-1"] = old.lists["gab-1"] },
			kept:  []string{"status list gab-1: v1 < v2 held"}, seq: 2, gab: 2, mz: 2, gabFetch: 1},
		{name: "older bundle and older lists: all kept",
			serve: func(t *testing.T, w *testpki.World, f, old *fakeIssuer) {
				f.bundle, f.lists["gab-1"], f.lists["mz-1"] = old.bundle, old.lists["gab-1"], old.lists["mz-1"]
			},
			kept: []string{"trust bundle: seq 1 < seq 2 held", "status list gab-1: v1 < v2 held", "status list mz-1: v1 < v2 held"},
			seq:  2, gab: 2, mz: 2, gabFetch: 1},
		{name: "bundle names a newer list, the source serves an older one: behind, held kept",
			serve: func(t *testing.T, w *testpki.World, f, old *fakeIssuer) {
				f.named["gab-1"] = 3
				f.publish(t, 3)
				f.lists["gab-1"] = old.lists["gab-1"]
			},
			kept:   []string{"status list gab-1: v1 < v2 held"},
			behind: []string{"gab-1"}, warning: "status list gab-1 is behind: v2 held, the trust bundle names v3",
			seq: 3, gab: 2, mz: 2, gabFetch: 3},
		{name: "bundle names a newer list, the source serves one newer than held: taken, behind",
			serve: func(t *testing.T, w *testpki.World, f, old *fakeIssuer) {
				f.named["gab-1"] = 4
				f.publish(t, 3)
				f.lists["gab-1"] = signListAt(w, "gab-1", 3)
			},
			behind: []string{"gab-1"}, warning: "status list gab-1 is behind: v3 held, the trust bundle names v4",
			seq: 3, gab: 3, mz: 2, gabFetch: 3},
		{name: "same version, other entries: held kept",
			serve: func(t *testing.T, w *testpki.World, f, old *fakeIssuer) {
				l := w.Lists["gab-1"]
				l.List.Set(9, statuslist.Revoked)
				f.lists["gab-1"] = signListAt(w, "gab-1", 2)
				l.List.Set(9, statuslist.Valid)
			},
			warning: "the source serves other entries under the v2 held",
			seq:     2, gab: 2, mz: 2, gabFetch: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, f, srv, s := setup(t)
			now := w.Now.Add(time.Hour)
			old := &fakeIssuer{bundle: f.bundle, lists: map[string]string{}}
			for id, tok := range f.lists {
				old.lists[id] = tok
			}
			for _, l := range w.Lists {
				l.Version = 2
			}
			f.named = map[string]uint64{"gab-1": 2, "mz-1": 2}
			f.publish(t, 2)
			if _, err := quickSync(t, s, srv.URL, now); err != nil {
				t.Fatal(err)
			}
			hwBefore := must(os.ReadFile(filepath.Join(s.Dir(), highWaterFile)))
			tc.serve(t, w, f, old) // no sync runs: the fake is not serving
			f.requests = nil
			rep, err := quickSync(t, s, srv.URL, now.Add(tc.now))
			if tc.err != "" {
				if !errors.Is(err, statuslist.ErrRollback) && !strings.Contains(err.Error(), "rollback") || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("sync error %v, want %q", err, tc.err)
				}
				if hw := must(os.ReadFile(filepath.Join(s.Dir(), highWaterFile))); string(hw) != string(hwBefore) {
					t.Fatal("a failed sync moved the high-water mark")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.Kept) != len(tc.kept) {
					t.Fatalf("kept %q, want %q", rep.Kept, tc.kept)
				}
				for i, k := range tc.kept {
					want := "served an older copy of the " + k + "; kept the held one (a replica or cache behind)"
					if rep.Kept[i] != want {
						t.Errorf("kept[%d] = %q, want %q", i, rep.Kept[i], want)
					}
				}
				if !slices.Equal(rep.Behind, tc.behind) || rep.Complete() != (len(tc.behind) == 0) {
					t.Errorf("behind %q (complete %v), want %q", rep.Behind, rep.Complete(), tc.behind)
				}
				if tc.warning != "" && !slices.ContainsFunc(rep.Warnings, func(w string) bool { return strings.Contains(w, tc.warning) }) {
					t.Errorf("warnings %q, want %q", rep.Warnings, tc.warning)
				}
				if n := f.requests["/v1/status/gab-1"]; n != tc.gabFetch {
					t.Errorf("gab-1 fetched whole %d times, want %d", n, tc.gabFetch)
				}
			}
			// Nothing older was taken, and the high-water mark agrees.
			c, err := s.Load(now.Add(tc.now))
			if err != nil {
				t.Fatal(err)
			}
			if c.Bundle.Seq != tc.seq || c.Lists["gab-1"].Version != tc.gab || c.Lists["mz-1"].Version != tc.mz {
				t.Fatalf("held seq %d, gab-1 v%d, mz-1 v%d; want %d, v%d, v%d", c.Bundle.Seq, c.Lists["gab-1"].Version, c.Lists["mz-1"].Version, tc.seq, tc.gab, tc.mz)
			}
			hw := must(s.readHighWater())
			if hw.Seq != tc.seq || hw.Lists[c.Lists["gab-1"].URI] != tc.gab {
				t.Fatalf("high-water mark %+v", hw)
			}
			if len(tc.behind) > 0 && !slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.Contains(w, "older than the v") }) {
				t.Errorf("a cache behind its bundle loads without saying so: %q", c.Warnings)
			}
		})
	}
}

// TestOlderCheckpointKept: a checkpoint smaller than the one held is
// kept out, when it is a prefix of the held one; one that is not is a
// forked log.
func TestOlderCheckpointKept(t *testing.T) {
	w, f, srv, s := setup(t)
	now := w.Now.Add(time.Hour)
	small := f.checkpoint
	for i := range 5 {
		w.Tree.AppendEntry([]byte{byte(i)})
	}
	f.checkpoint = must(w.Checkpoint()) // the bundle still names the smaller one
	if _, err := quickSync(t, s, srv.URL, now); err != nil {
		t.Fatal(err)
	}
	f.checkpoint = small
	rep, err := quickSync(t, s, srv.URL, now)
	if err != nil || len(rep.Kept) != 1 || !strings.Contains(rep.Kept[0], "checkpoint: size 1 < size 6 held") || rep.Checkpoint.Size != 6 {
		t.Fatalf("%v %+v", err, rep)
	}
	if c := must(s.Load(now)); c.Checkpoint.Size != 6 {
		t.Fatalf("held checkpoint size %d", c.Checkpoint.Size)
	}
	// A smaller checkpoint of another log is no older copy: the proof
	// that it is a prefix of the held one fails.
	real, fork := w.Tree, tlog.NewMemTree(tlog.SM3)
	fork.AppendEntry([]byte("genesis")) // the bundle's checkpoint is of size 1
	fork.AppendEntry([]byte("other"))
	fork.AppendEntry([]byte("another"))
	w.Tree = fork
	f.checkpoint = must(w.Checkpoint())
	w.Tree = real
	f.proof = func(o, n uint64) (p []string) {
		tree := real
		if n == fork.Size() {
			tree = fork
		}
		for _, h := range must(tree.ConsistencyProof(o, n)) {
			p = append(p, base64.StdEncoding.EncodeToString(h[:]))
		}
		return p
	}
	if _, err := quickSync(t, s, srv.URL, now); !errors.Is(err, tlog.ErrConsistency) || !strings.Contains(err.Error(), "the older checkpoint served") {
		t.Fatalf("a forked older checkpoint: %v", err)
	}
}

// TestFirstSyncCatchesUp: a first sync served a list older than the
// bundle names asks again, and takes the current one when it comes.
func TestFirstSyncCatchesUp(t *testing.T) {
	w, f, _, s := setup(t)
	now := w.Now.Add(time.Hour)
	old := f.lists["gab-1"]
	w.Lists["gab-1"].Version = 2
	f.named = map[string]uint64{"gab-1": 2}
	f.publish(t, 1)
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/status/gab-1" {
			if n++; n < 3 {
				fmt.Fprint(rw, old) // a replica behind, twice
				return
			}
		}
		f.ServeHTTP(rw, r)
	}))
	defer srv.Close()
	rep, err := quickSync(t, s, srv.URL, now)
	if err != nil || !rep.Complete() || n != 3 || must(s.Load(now)).Lists["gab-1"].Version != 2 {
		t.Fatalf("%v %+v after %d fetches", err, rep, n)
	}
}

// alternate serves each request from the next of its views in turn: a
// load balancer that is not sticky in front of replicas, or CDN edges.
type alternate struct {
	mu    sync.Mutex
	n     int
	views []*fakeIssuer
}

func (a *alternate) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	v := a.views[a.n%len(a.views)]
	a.n++
	a.mu.Unlock()
	v.ServeHTTP(rw, r)
}

// TestTwoReplicas: a counter syncing through a non-sticky balancer from
// two replicas, each numbering its own bundles and lists, never fails a
// sync, never goes back, and sees a revocation once both replicas have
// it. Replica b is one step behind a, as a replica that takes in another's
// change later is.
func TestTwoReplicas(t *testing.T) {
	w := must(testpki.New(time.Now().Truncate(time.Second)))
	dl := must(w.Issue(w.Police, "drivers-license", "gab-1", 5, false, nil))
	text := must(dl.Holding.Static())
	// view signs the world as it is with every list at version v, the
	// bundle naming them.
	view := func(seq, v uint64) *fakeIssuer {
		named := map[string]uint64{}
		for id, l := range w.Lists {
			l.Version, named[id] = v, v
		}
		f := &fakeIssuer{w: w, lists: map[string]string{}, deltas: map[string][]byte{}, named: named}
		f.publish(t, seq)
		return f
	}
	a := &alternate{views: []*fakeIssuer{view(10, 100), view(11, 101)}}
	srv := httptest.NewServer(a)
	defer srv.Close()
	s := must(Open(filepath.Join(t.TempDir(), "store")))
	must(s.AddRoot(w.RootPEM()))
	now := w.Now.Add(time.Hour)

	var seq, gab uint64
	var kept, behind int
	step := func(phase string, rounds int) verifier.Code {
		t.Helper()
		for i := range rounds {
			a.mu.Lock()
			a.n = i // start each sync on another replica
			a.mu.Unlock()
			rep, err := quickSync(t, s, srv.URL, now)
			if err != nil {
				t.Fatalf("%s: sync %d: %v", phase, i, err)
			}
			kept += len(rep.Kept)
			behind += len(rep.Behind)
			c := must(s.Load(now))
			if c.Bundle.Seq < seq || c.Lists["gab-1"].Version < gab {
				t.Fatalf("%s: went back from seq %d, gab-1 v%d to seq %d, v%d", phase, seq, gab, c.Bundle.Seq, c.Lists["gab-1"].Version)
			}
			seq, gab = c.Bundle.Seq, c.Lists["gab-1"].Version
		}
		return verdict(t, s, now, text).Code
	}
	// Both replicas hold the same entries, numbered apart.
	if code := step("same entries", 6); code != verifier.ValidStatic {
		t.Fatalf("before the revocation: %s", code)
	}
	// Replica a revokes; b has not taken it in yet (and re-signed).
	w.Lists["gab-1"].List.Set(5, statuslist.Revoked)
	revoked := view(20, 200)
	w.Lists["gab-1"].List.Set(5, statuslist.Valid)
	a.mu.Lock()
	a.views = []*fakeIssuer{revoked, view(12, 102)}
	a.mu.Unlock()
	step("a ahead", 6)
	// b takes the revocation in, under its own numbers.
	w.Lists["gab-1"].List.Set(5, statuslist.Revoked)
	a.mu.Lock()
	a.views = []*fakeIssuer{revoked, view(21, 201)}
	a.mu.Unlock()
	if code := step("both revoked", 6); code != verifier.Revoked {
		t.Fatalf("after both replicas revoked: %s", code)
	}
	if kept == 0 || behind == 0 {
		t.Fatalf("the views never crossed: %d kept, %d behind", kept, behind)
	}
	t.Logf("%d older copies kept, %d lists reported behind", kept, behind)
}
