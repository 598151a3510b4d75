package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/internal/ledger/boltstore"
	"elicense/issuer/pki"
	"elicense/issuer/publish"
	"elicense/issuer/state"
	"elicense/issuer/static"
	"elicense/issuer/status"
	"elicense/verifier/store"
)

// BenchmarkCounterSyncDay is the figure "counter sync from static files"
// (docs/performance.md): a deployment of ELICENSE_FIGURE_LICENCES
// licences (default 1,000,000) is built directly, without issuing them: a
// ledger of that many 300-byte entries in the real bbolt store, and the
// status lists of the real status manager with a licence at a random
// position for each (3 % of them already revoked or superseded). It is
// published to a directory, served by net/http's FileServer on loopback,
// and a counter syncs; then a day passes: 2,000 status changes, each with
// its ledger entry, published hourly (24 publications), and the counter
// syncs again. Run:
//
//	go test -run XXX -bench CounterSyncDay -benchtime 1x -timeout 60m ./cmd/elicense/
func BenchmarkCounterSyncDay(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("ELICENSE_FIGURE_LICENCES"); v != "" {
		fmt.Sscan(v, &n)
	}
	for b.Loop() {
		counterSyncDay(b, n)
	}
}

func counterSyncDay(b *testing.B, licences int) {
	ctx := context.Background()
	dir := b.TempDir()
	must(pki.Init(pki.InitOptions{Dir: filepath.Join(dir, "pki"), Passphrase: []byte("pw"), Agencies: pki.DefaultAgencies(), KeyEncryption: &gm.KeyEncryption{Iterations: 1000}}))
	keys := must(pki.Load(filepath.Join(dir, "pki"), []byte("pw")))
	bs := must(boltstore.Open(filepath.Join(dir, "ledger.db"), nil))
	defer bs.Close()
	lg := must(ledger.Open(bs, ledger.Options{Origin: "ledger.example/figure", Signer: keys.Ledger.Signer, CheckpointInterval: -1}))
	defer lg.Close()
	entry := func(i int) []byte { return fmt.Appendf(make([]byte, 0, 300), "%0300d", i) }

	start := time.Now()
	for i := 0; i < licences; i += 4096 {
		batch := make([][]byte, 0, 4096)
		for j := i; j < min(i+4096, licences); j++ {
			batch = append(batch, entry(j))
		}
		if _, err := lg.AppendAll(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	agency := keys.Agencies[0].Code
	sm := status.New(status.Options{BaseURL: "https://licences.example", Signer: keys.Ledger.Signer, KeyID: keys.Ledger.KeyID, Agencies: []string{agency}})
	type pos struct {
		id  string
		idx uint64
	}
	positions := make([]pos, licences)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range positions {
		id, idx := must2(sm.Allocate(agency))
		st := state.StatusValid
		switch r := rng.IntN(100); {
		case r < 2:
			st = state.StatusSuperseded
		case r < 3:
			st = state.StatusRevoked
		}
		if err := sm.Set(id, idx, st); err != nil {
			b.Fatal(err)
		}
		positions[i] = pos{id, idx}
	}
	b.Logf("built %d ledger entries and %d status lists in %v", lg.Size(), len(sm.Lists()), time.Since(start).Round(time.Second))

	pub := publish.New(publish.Options{PKI: keys, Status: sm, Ledger: lg})
	pubDir := filepath.Join(dir, "pub")
	w := must(static.New(static.Options{Dir: pubDir, Ledger: bs, Checkpoint: lg.Checkpoint, Status: sm, Publisher: pub, Signer: keys.Ledger.Signer, KeyID: keys.Ledger.KeyID}))
	start = time.Now()
	rep := must(w.Publish(ctx))
	b.Logf("first publication: %d tiles, %d lists, %.1f MB in %v", rep.Tiles, rep.Lists, float64(rep.Bytes)/1e6, time.Since(start).Round(time.Millisecond))

	srv := httptest.NewServer(http.FileServer(http.Dir(pubDir)))
	defer srv.Close()
	counter := must(store.Open(filepath.Join(dir, "counter")))
	must(counter.AddRoot(must(os.ReadFile(filepath.Join(dir, "pki", "root.crt.pem")))))
	start = time.Now()
	sr := must(counter.Sync(ctx, srv.URL, store.SyncOptions{}))
	b.Logf("first counter sync: %d bytes in %v (%d full lists)", sr.Bytes, time.Since(start).Round(time.Millisecond), len(sr.FullLists))

	// A day: 2,000 changes, each with its ledger entry, published hourly.
	var pubTime time.Duration
	for hour := range 24 {
		for k := 0; k < 2000/24+1 && hour*84+k < 2000; k++ {
			p := positions[rng.IntN(len(positions))]
			if err := sm.Set(p.id, p.idx, state.StatusRevoked); err != nil {
				b.Fatal(err)
			}
			if _, err := lg.Append(ctx, entry(licences+hour*84+k)); err != nil {
				b.Fatal(err)
			}
		}
		for lg.Checkpoint().Size != lg.Size() {
			time.Sleep(time.Millisecond)
		}
		start = time.Now()
		if rep, err := w.Publish(ctx); err != nil {
			b.Fatal(err)
		} else if hour == 23 {
			b.Logf("last hourly publication: %d tiles, %d deltas, %d bytes", rep.Tiles, rep.Deltas, rep.Bytes)
		}
		pubTime += time.Since(start)
	}
	b.Logf("24 hourly publications: %v in all", pubTime.Round(time.Millisecond))
	start = time.Now()
	sr = must(counter.Sync(ctx, srv.URL, store.SyncOptions{}))
	took := time.Since(start)
	b.Logf("counter sync after the day: %d bytes in %v (checkpoint %d → %d; %d lists by delta, %d full)", sr.Bytes, took.Round(time.Millisecond), sr.PreviousCPSize, sr.Checkpoint.Size, len(sr.DeltaLists), len(sr.FullLists))
	b.ReportMetric(float64(sr.Bytes), "day-sync-bytes")
	b.ReportMetric(took.Seconds()*1000, "day-sync-ms")
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
