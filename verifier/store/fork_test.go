package store

import (
	"elicense/internal/ledger/tlog"
	"elicense/verifier/internal/testpki"
)

// tlogFork returns a tree that does not extend w's: other entries, more
// of them.
func tlogFork(w *testpki.World) *tlog.MemTree {
	t := tlog.NewMemTree(tlog.SM3)
	for i := uint64(0); i < w.Tree.Size()+3; i++ {
		t.AppendEntry([]byte{0xff, byte(i)})
	}
	return t
}
