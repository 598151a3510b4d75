package api

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"elicense/certs/ident/identtest"
	"elicense/internal/httpload"
	"elicense/internal/proccpu"
	"elicense/issuer/service"
)

// BenchmarkIssueHTTP is durable issuance through the HTTP API with 64
// concurrent clients on loopback, reporting throughput and latency
// percentiles (p50, p90, p99), and the CPU time of client and server
// together per issuance (cpu-µs/op: 2 cores divided by it bounds the
// rate, and it moves far less with the host's load than the rate). The
// server runs in the benchmark's process, with the runtime settings
// `elicense serve` applies (TestMain: internal/runtimecfg).
func BenchmarkIssueHTTP(b *testing.B) {
	s := newTestServer(b)
	ag, _ := s.pki.AgencyForClass("business-license")
	tok := s.token(b, service.Operator{Subject: "bench", Role: service.RoleOperator, Agency: ag.Code})
	// Every licence has a holder of its own, in no order, as in service.
	sample := samples(b)["business-license"]
	bodies := make([][]byte, b.N)
	for i := range bodies {
		fields := maps.Clone(sample)
		fields["uscc"] = identtest.USCC(identtest.Scatter(i))
		bodies[i], _ = json.Marshal(map[string]any{"class": "business-license", "fields": fields})
	}
	// The load generator shares the 2 cores with the server, so it is
	// the lean one elicense bench uses (internal/httpload): one kept-alive
	// connection per client, every answer read to its end.
	const clients = 64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	work := make(chan []byte, b.N)
	for _, body := range bodies {
		work <- body
	}
	close(work)
	b.ResetTimer()
	start, cpu0 := time.Now(), proccpu.Used()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			c, err := httpload.New(httpload.Request{Method: "POST", URL: s.URL + "/v1/licences",
				Header: http.Header{"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"}}})
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			for body := range work {
				t0 := time.Now()
				status, _, err := c.Do(context.Background(), body)
				if err != nil {
					b.Error(err)
					return
				}
				if status != http.StatusCreated {
					b.Errorf("status %d", status)
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
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "issuances/s")
		for _, q := range []struct {
			pct  int
			unit string
		}{{50, "p50-ms"}, {90, "p90-ms"}, {99, "p99-ms"}} {
			b.ReportMetric(float64(lat[len(lat)*q.pct/100].Microseconds())/1000, q.unit)
		}
		b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-µs/op")
	}
}
