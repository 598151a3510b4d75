package publish

import (
	"path/filepath"
	"testing"
	"time"

	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/pki"
	"elicense/issuer/status"
)

type fakeLedger struct{ size uint64 }

func (f *fakeLedger) Checkpoint() ledger.SignedCheckpoint {
	return ledger.SignedCheckpoint{Checkpoint: tlog.Checkpoint{Size: f.size}, Note: []byte("note\n")}
}

func TestTrustBundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	if _, err := pki.Init(pki.InitOptions{Dir: dir, Passphrase: []byte("pw"), Agencies: pki.DefaultAgencies(), KeyEncryption: &gm.KeyEncryption{Iterations: 1000}}); err != nil {
		t.Fatal(err)
	}
	p, err := pki.Load(dir, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	codes := []string{}
	for _, a := range p.Agencies {
		codes = append(codes, a.Code)
	}
	sm := status.New(status.Options{BaseURL: "http://127.0.0.1:1", ListSize: 1024, Signer: p.Ledger.Signer, KeyID: p.Ledger.KeyID, Agencies: codes})
	lg := &fakeLedger{size: 1}
	pub := New(Options{PKI: p, Status: sm, Ledger: lg})
	doc, etag := pub.TrustBundle()
	b, err := trust.Verify(string(doc), trust.VerifyOptions{Roots: []*gm.Certificate{p.Root}})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Agencies) != len(p.Agencies) || len(b.StatusLists) != 0 {
		t.Fatalf("bundle: %d agencies, %d lists", len(b.Agencies), len(b.StatusLists))
	}
	if _, e2 := pub.TrustBundle(); e2 != etag {
		t.Fatal("an unchanged bundle was re-signed")
	}
	// A new status list and a new checkpoint make a new bundle, later in
	// sequence, that a counter holding the first accepts.
	if _, _, err := sm.Allocate(codes[0]); err != nil {
		t.Fatal(err)
	}
	lg.size = 2
	time.Sleep(time.Millisecond)
	doc2, etag2 := pub.TrustBundle()
	b2, err := trust.Verify(string(doc2), trust.VerifyOptions{Roots: []*gm.Certificate{p.Root}, Previous: b})
	if err != nil || etag2 == etag || b2.Seq <= b.Seq || len(b2.StatusLists) != 1 {
		t.Fatalf("second bundle: %v (seq %d → %d, %d lists)", err, b.Seq, b2.Seq, len(b2.StatusLists))
	}
	// The bundle names the list's version, which the list's first fetch
	// serves.
	l := b2.StatusLists[0]
	tok, _, ok := sm.StatusList(l.ID)
	if !ok || l.Version == 0 {
		t.Fatalf("list %s (version %d in the bundle) not served", l.ID, l.Version)
	}
	sl, err := statuslist.Parse(string(tok), statuslist.VerifyOptions{URI: l.URI, Keys: b2.StatusKeys(l.ID)})
	if err != nil || sl.Version != l.Version {
		t.Fatalf("served list: %v, version %d, bundle names %d", err, sl.Version, l.Version)
	}
	if pub.Err() != nil {
		t.Fatal(pub.Err())
	}
}
