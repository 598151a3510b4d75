package tlog_test

import (
	"fmt"

	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
)

// A wallet or counter checks that an event is in the log with nothing but
// the log's verifier key, a checkpoint, the entry and a proof.
func Example() {
	// The log's side (in memory here; ledger.Log does this on disk).
	key, _ := gm.GenerateKey()
	signer, _ := tlog.NewNoteSigner("ledger.example/v1", key)
	tree := tlog.NewMemTree(tlog.SM3)
	var entry []byte
	for i := range 5 {
		// Entries are opaque to the log (the issuer's are
		// certs/ledgerevent encodings).
		b := fmt.Appendf(nil, "event %d", i)
		tree.AppendEntry(b)
		if i == 3 {
			entry = b
		}
	}
	note, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "ledger.example/v1", Size: tree.Size(), Root: tree.Root()}, signer)
	proof, _ := tree.InclusionProof(3, tree.Size())
	vkey := signer.Verifier().String()

	// The verifier's side.
	v, err := tlog.ParseNoteVerifier(vkey)
	if err != nil {
		panic(err)
	}
	cp, err := tlog.VerifyCheckpoint(note, "ledger.example/v1", v)
	if err != nil {
		panic(err)
	}
	err = tlog.VerifyInclusion(tlog.SM3.HashLeaf(entry), 3, cp.Size, proof, cp.Root)
	fmt.Printf("%s included: %t\n", entry, err == nil)
	// Output: event 3 included: true
}
