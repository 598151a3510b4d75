package store

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// TestSharedThroughput measures verifications a second of two processes
// checking distinct presentations on one store at once (each check holds
// the store lock, syncs the replay record and the log line):
//
//	ELICENSE_SHARED_BENCH=2000 go test -run SharedThroughput -v ./verifier/store
func TestSharedThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ELICENSE_SHARED_BENCH"))
	if n <= 0 {
		t.Skip("set ELICENSE_SHARED_BENCH to the number of checks per process")
	}
	w, _, srv, s := setup(t)
	if _, err := syncNow(s, srv.URL, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Presentations one a second apart per licence, 40 per licence so that
	// all stay inside their window while the processes run.
	var texts []string
	now := time.Now()
	for len(texts) < 3*n {
		l := must(w.Issue(w.Police, "drivers-license", "gab-1", 1, true, nil))
		for i := 0; i < 40 && len(texts) < 3*n; i++ {
			texts = append(texts, must(l.Holding.Present(l.Device, now.Add(-time.Duration(i)*time.Second))))
		}
	}
	for _, procs := range []int{1, 2} {
		lists := make([][]string, procs)
		for i := range lists {
			lists[i], texts = texts[:n], texts[n:]
		}
		start := time.Now()
		res := runCheckers(t, s, lists)
		took := time.Since(start)
		for i, codes := range res {
			for j, c := range codes {
				if c != "VALID" {
					t.Fatalf("process %d check %d: %s", i, j, c)
				}
			}
		}
		t.Logf("%d process(es) × %d checks on one store: %s, %.0f verifications/s (process start-up included)",
			procs, n, took.Round(time.Millisecond), float64(procs*n)/took.Seconds())
	}
	if got, _, err := s.VerifyLog(nil); err != nil || got != uint64(3*n) {
		t.Fatalf("log: %d %v", got, err)
	}
}
