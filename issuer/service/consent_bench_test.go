package service

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"elicense/internal/proccpu"
)

// BenchmarkGrantFetch is a relying party fetching granted credentials
// through the library, with 64 concurrent callers over 256 repeat
// grants: the checks (grant, party, copy and licence read), then the
// grant-use event appended to the ledger (fsync on) with the fetch
// counted in the same commit. It reports the rate and the process's CPU
// time per fetch (cpu-µs/op).
func BenchmarkGrantFetch(b *testing.B) {
	ce := newConsentEnvIn(b, b.TempDir())
	ids := make([]string, 256)
	for i := range ids {
		ids[i] = ce.grant(b, "repeat").ID
	}
	var seq, n atomic.Int64
	b.SetParallelism(max(1, *benchCallers/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := proccpu.Used()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[int(seq.Add(1))%len(ids)]
			if _, err := ce.svc.Fetch(context.Background(), ce.rpCaller(), id); err != nil {
				b.Error(err)
				return
			}
			n.Add(1)
		}
	})
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "fetches/s")
	b.ReportMetric(float64((proccpu.Used()-cpu0).Microseconds())/float64(n.Load()), "cpu-µs/op")
}
