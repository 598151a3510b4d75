package statetest

import (
	"fmt"
	"sync/atomic"
	"testing"

	"elicense/issuer/state"
)

// BenchGrantFetch measures the fetch of a granted credential as the
// service makes it, the hot path of 授权用证: 64 clients, each reading
// its repeat grant (Store.Grant) and recording the fetch with its
// grant-use ledger entry (Tx.UseGrant). ns/op is the wall time per fetch
// with all 64 at work.
func BenchGrantFetch(b *testing.B, open Opener) {
	f := newFixture(b, open)
	defer f.close()
	const clients = 64
	for i := range clients {
		f.mustGrant(newGrant(fmt.Sprintf("g_%02d", i), fmt.Sprintf("r_%02d", i), "sh-food", fmt.Sprintf("A-%d#d1", i), state.UseRepeat))
	}
	var next atomic.Int64
	b.SetParallelism((clients + 1) / 2) // × GOMAXPROCS goroutines; 2 cores give 64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := fmt.Sprintf("g_%02d", next.Add(1)%clients)
		for pb.Next() {
			g, err := f.b.Grant(id)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := f.useGrant(g.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
