package store

import (
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"

	"elicense/certs/statuslist"
)

// TestFootprint10M syncs a 10 M-entry list (0.5 % revoked) and measures a
// cold Load: ELICENSE_FOOTPRINT=1 go test -run Footprint -v ./verifier/store
func TestFootprint10M(t *testing.T) {
	if os.Getenv("ELICENSE_FOOTPRINT") == "" {
		t.Skip("set ELICENSE_FOOTPRINT=1")
	}
	w, f, srv, s := setup(t)
	l := w.Lists["amr-1"]
	l.List = statuslist.New(10_000_000)
	r := rand.New(rand.NewPCG(1, 2))
	for range 50_000 {
		l.List.Set(r.IntN(10_000_000), statuslist.Revoked)
	}
	f.publish(t, 1)
	now := w.Now.Add(time.Hour)
	if _, err := syncNow(s, srv.URL, now); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	c, err := s.Load(now)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&m1)
	st, _ := os.Stat(s.Dir() + "/" + cacheFile)
	t.Logf("cache file %d bytes; cold Load (verify bundle, checkpoint, 5 lists, inflate 10 M entries) %s; heap in use after %d MiB, allocated during %d MiB",
		st.Size(), took, m1.HeapInuse>>20, (m1.TotalAlloc-m0.TotalAlloc)>>20)
	runtime.KeepAlive(c)
	if d := os.Getenv("ELICENSE_FOOTPRINT_DIR"); d != "" { // for measuring the binary
		os.MkdirAll(d, 0o700)
		for _, n := range []string{cacheFile, rootsFile, highWaterFile} {
			b, _ := os.ReadFile(s.Dir() + "/" + n)
			os.WriteFile(d+"/"+n, b, 0o600)
		}
	}
}
