package service

import (
	"context"
	"flag"
	"maps"
	"runtime"
	"sync/atomic"
	"testing"

	"elicense/certs/ident/identtest"
	"elicense/internal/proccpu"
)

var benchCallers = flag.Int("issue.callers", 64, "concurrent callers in BenchmarkIssue (a multiple of GOMAXPROCS)")

// BenchmarkIssue is durable issuance through the library: validate, sign
// the credential and the QR core, write the record, append to the ledger
// (fsync on) and commit, with 64 concurrent callers (-issue.callers: the
// rate grows with them, as bigger batches share bbolt's two fdatasyncs).
// Every licence has a holder of its own, in no order, as in service. It
// runs with the runtime settings `elicense serve` applies (TestMain:
// internal/runtimecfg).
//
// Besides the rate it reports, per issuance, the pages bbolt allocated and
// the page writes (pwrite calls) it made: they hardly depend on the host's
// load, so they show a change to the write path when the rate is too noisy
// to (≈ 1.9 of each now), and the process's CPU time per issuance
// (cpu-µs/op): 2 cores divided by it is the most the machine could do,
// and it moves far less with the host's load than the rate does.
func BenchmarkIssue(b *testing.B) {
	e := openEnv(b, b.TempDir())
	defer e.close(b)
	op := operatorFor(b, e.pki, "business-license")
	sample := samples(b)["business-license"]
	var seq atomic.Int64
	b.SetParallelism(max(1, *benchCallers/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	var n atomic.Int64
	pages0, writes0 := writeStats(b, e.data)
	b.ResetTimer()
	cpu0 := proccpu.Used()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			fields := maps.Clone(sample)
			fields["uscc"] = identtest.USCC(identtest.Scatter(int(seq.Add(1))))
			if _, err := e.svc.Issue(context.Background(), op, IssueRequest{Class: "business-license", Fields: fields}); err != nil {
				b.Error(err)
				return
			}
			n.Add(1)
		}
	})
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "issuances/s")
	b.ReportMetric(float64((proccpu.Used()-cpu0).Microseconds())/float64(n.Load()), "cpu-µs/op")
	if pages, writes := writeStats(b, e.data); pages >= 0 {
		b.ReportMetric(float64(pages-pages0)/float64(n.Load()), "pages/op")
		b.ReportMetric(float64(writes-writes0)/float64(n.Load()), "page-writes/op")
	}
}

// writeStats is the backend's count of pages allocated and written, or
// -1 for a backend that does not count them.
func writeStats(b *testing.B, d *Data) (pages, writes int64) {
	if s, ok := d.Backend.(interface{ WriteStats() (int64, int64) }); ok {
		return s.WriteStats()
	}
	return -1, -1
}
