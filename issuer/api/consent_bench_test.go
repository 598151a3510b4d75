package api

import (
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"elicense/certs/consent"
	"elicense/internal/proccpu"
)

// BenchmarkGrantFetchHTTP is relying parties fetching granted
// credentials through the HTTP API with 64 concurrent clients on
// loopback, over 256 repeat grants, each request with a fresh proof
// (signed by the client: its cost is in cpu-µs/op, which counts client
// and server together). It reports throughput and latency percentiles.
// The per-party rate limit is lifted (TestRPRateLimit holds it).
//
// internal/httpload sends one fixed request per client; a proof differs
// on every request, so this uses net/http with 64 kept-alive
// connections.
func BenchmarkGrantFetchHTTP(b *testing.B) {
	w := newConsentWorld(b, func(o *Options) { o.RPRate = 1e9 })
	ids := make([]string, 256)
	for i := range ids {
		ids[i], _ = w.grant(b, "repeat")
	}
	const clients = 64
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	work := make(chan string, b.N)
	for i := range b.N {
		work <- ids[i%len(ids)]
	}
	close(work)
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start, cpu0 := time.Now(), proccpu.Used()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for id := range work {
				path := "/v1/grants/" + id + "/credential"
				t0 := time.Now()
				p, err := consent.SignProof(w.rpKey, consent.ProofClaims{Subject: w.rp, Method: "GET", Path: path})
				if err != nil {
					b.Error(err)
					return
				}
				req, _ := http.NewRequest("GET", w.s.URL+path, nil)
				req.Header.Set("Authorization", consent.AuthScheme+" "+p)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), proccpu.Used()-cpu0
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "fetches/s")
		for _, q := range []struct {
			pct  int
			unit string
		}{{50, "p50-ms"}, {90, "p90-ms"}, {99, "p99-ms"}} {
			b.ReportMetric(float64(lat[len(lat)*q.pct/100].Microseconds())/1000, q.unit)
		}
		b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-µs/op")
	}
}
