package store

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"elicense/verifier"
)

// TestSyncGenuineSet: a sync fetches the genuine set the bundle names for
// a compromised key, once; Load checks it and the verifier accepts that
// key's genuine licences and refuses a thief's; a damaged or missing
// document is a warning and refuses every licence of the key (fail
// closed) until the next sync fetches it again.
func TestSyncGenuineSet(t *testing.T) {
	w, f, _, s := setup(t)
	before := w.CompromisedSince().Add(-24 * time.Hour)
	genuine := must(w.IssueAt(w.Compromised, "business-license", "amr-1", 30, false, before, nil))
	if err := w.MarkGenuine(genuine); err != nil {
		t.Fatal(err)
	}
	forged := must(w.IssueAt(w.Compromised, "business-license", "amr-1", 30, false, before, func(f map[string]string) { f["name"] = "上海虚构贸易有限公司" }))
	f.publish(t, 2)
	var fetched atomic.Int32
	var corrupt atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if kid, ok := strings.CutPrefix(r.URL.Path, "/v1/trust/genuine/"); ok {
			if kid != w.Compromised.KID {
				http.NotFound(rw, r)
				return
			}
			fetched.Add(1)
			doc := must(w.GenuineDoc())
			if corrupt.Load() {
				doc[len(doc)-1] ^= 1
			}
			rw.Write(doc)
			return
		}
		f.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	now := w.Now.Add(time.Hour)
	check := func(want map[string]verifier.Code) {
		t.Helper()
		c, err := s.Load(now)
		if err != nil {
			t.Fatal(err)
		}
		v := verifier.New(c.State(), verifier.Options{})
		for name, l := range map[string]string{"genuine": must(genuine.Holding.Static()), "forged": must(forged.Holding.Static())} {
			if got := v.Verify(l, now); got.Code != want[name] {
				t.Errorf("%s: %s (%s), want %s", name, got.Code, got.Detail, want[name])
			}
		}
	}

	rep, err := syncNow(s, srv.URL, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.GenuineSets) != 1 || fetched.Load() != 1 {
		t.Fatalf("report %+v, %d fetches", rep, fetched.Load())
	}
	check(map[string]verifier.Code{"genuine": verifier.ValidStatic, "forged": verifier.KeyCompromised})
	if _, err := syncNow(s, srv.URL, now); err != nil || fetched.Load() != 1 {
		t.Fatalf("second sync: %v, %d fetches (the set is fetched once)", err, fetched.Load())
	}

	// Damaged on disk: a warning, and the key's licences are all refused.
	ents, _ := os.ReadDir(filepath.Join(s.Dir(), genuineDir))
	if len(ents) != 1 {
		t.Fatalf("%d genuine files", len(ents))
	}
	path := filepath.Join(s.Dir(), genuineDir, ents[0].Name())
	doc := must(os.ReadFile(path))
	doc[len(doc)/2] ^= 1
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Load(now); err != nil || c.Genuine != nil || len(c.Warnings) == 0 {
		t.Fatalf("damaged set: %v, %v, %q", err, c.Genuine, c.Warnings)
	}
	check(map[string]verifier.Code{"genuine": verifier.KeyCompromised, "forged": verifier.KeyCompromised})

	// A server sending a document other than the bundle's: refused, with a
	// warning; the rest of the sync goes through.
	corrupt.Store(true)
	rep, err = syncNow(s, srv.URL, now)
	if err != nil || len(rep.Warnings) == 0 || len(rep.GenuineSets) != 0 {
		t.Fatalf("sync with a bad document: %v, %+v", err, rep)
	}
	check(map[string]verifier.Code{"genuine": verifier.KeyCompromised, "forged": verifier.KeyCompromised})
	corrupt.Store(false)
	if _, err := syncNow(s, srv.URL, now); err != nil {
		t.Fatal(err)
	}
	check(map[string]verifier.Code{"genuine": verifier.ValidStatic, "forged": verifier.KeyCompromised})
}
