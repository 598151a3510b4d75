package boltstate

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"elicense/internal/ledger"
	"elicense/internal/proccpu"
	"elicense/issuer/state"
)

// BenchmarkWriterBatch is this backend's share of the ledger writer's
// work for issuance, which every issuance waits for: one transaction
// inserting a batch of prepared licences, each with its claim ticket and
// audit record, committed without fsync. Prepare, which runs on the
// callers' goroutines, is outside the timing; ns/licence is the
// writer's time for one, and cpu-ns/licence the process's CPU time
// during the transactions (the figure a loaded host blurs less).
func BenchmarkWriterBatch(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "state.db"), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const batch = 32
	lw := s.Ledger()
	audit := map[string]string{"operator": "clerk-110000-0001"}
	ps := make([]*state.Prepared, batch)
	next := uint64(0)
	b.ReportAllocs()
	var elapsed, cpu time.Duration
	for i := 0; i < b.N; i++ {
		first := next
		for j := range ps {
			r := blobRecord()
			r.ID, r.Class, r.Agency = fmt.Sprintf("c1-%09d", next), "c1", "A1"
			r.HolderCode = fmt.Sprintf("H%09d", (next*7919)%1000003) // holders in no order
			if ps[j], err = s.Prepare(r, &state.Claim{LicenceID: r.ID, Expires: time.Unix(1e9, 0)}); err != nil {
				b.Fatal(err)
			}
			next++
		}
		start, cpu0 := time.Now(), proccpu.Used()
		// No ledger entries: only the state's side of the batch.
		err := lw.Write(context.Background(), &ledger.Batch{}, func(tx state.Tx) error {
			for j, p := range ps {
				if err := tx.Insert(p, first+uint64(j)); err != nil {
					return err
				}
				if err := tx.PutAudit(first+uint64(j), audit); err != nil {
					return err
				}
			}
			return nil
		})
		elapsed, cpu = elapsed+time.Since(start), cpu+proccpu.Used()-cpu0
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*batch), "ns/licence")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*batch), "cpu-ns/licence")
}
