package service

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"elicense/internal/gm"
	"elicense/issuer/state"
	"elicense/issuer/status"
)

// openWithLists opens the service in dir with real status lists.
func openWithLists(t *testing.T, dir string) (*Service, *Data, *status.Manager) {
	t.Helper()
	p := testPKI(t)
	data, err := openData(t, dir, p.Ledger.Signer)
	if err != nil {
		t.Fatal(err)
	}
	codes := make([]string, len(p.Agencies))
	for i, a := range p.Agencies {
		codes[i] = a.Code
	}
	sm := status.New(status.Options{BaseURL: "http://127.0.0.1:1", ListSize: 256, Signer: p.Ledger.Signer, KeyID: p.Ledger.KeyID, Agencies: codes})
	svc, err := New(Options{PKI: p, Store: data.Store, Ledger: data.Ledger, Status: sm, Audit: testAudit(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	return svc, data, sm
}

// rebuilt is what reading every record gives: the reference.
func rebuilt(t *testing.T, svc *Service, st state.Store) []byte {
	t.Helper()
	p := svc.pki()
	codes := make([]string, len(p.Agencies))
	for i, a := range p.Agencies {
		codes[i] = a.Code
	}
	ref := status.New(status.Options{ListSize: 256, Agencies: codes})
	if err := st.ForEach(func(r *state.Record) error { return ref.Set(r.StatusList, r.StatusIndex, r.Status) }); err != nil {
		t.Fatal(err)
	}
	b, err := ref.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// changeSome issues n business licences (spilling into a second list of
// 256) and revokes, suspends and re-issues some of them.
func changeSome(t *testing.T, svc *Service, n int) {
	t.Helper()
	ctx := context.Background()
	op := operatorFor(t, svc.pki(), "business-license")
	fields := samples(t)["business-license"]
	for i := range n {
		rec, err := svc.Issue(ctx, op, IssueRequest{Class: "business-license", Fields: fields})
		if err != nil {
			t.Fatal(err)
		}
		switch i % 7 {
		case 1:
			_, err = svc.ChangeStatus(ctx, op, rec.ID, ActionRevoke, "吊销")
		case 2:
			_, err = svc.ChangeStatus(ctx, op, rec.ID, ActionSuspend, SuspendReasons[0])
		case 3:
			_, err = svc.Reissue(ctx, op, rec.ID, ReissueRequest{Number: "N-2"})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestStatusSnapshot: a clean stop saves the status lists and the next
// start restores them; after a crash the old snapshot plus the ledger
// since gives the same lists as reading every record; a damaged snapshot
// falls back to reading every record.
func TestStatusSnapshot(t *testing.T) {
	dir := t.TempDir()
	svc, data, _ := openWithLists(t, dir)
	changeSome(t, svc, 300)
	svc.Close()
	data.Close()

	svc, data, sm := openWithLists(t, dir)
	// At the ledger's size; over a shared backend, at what the lists had
	// followed of the records (replica.go), which may be less.
	_, shared := data.Backend.(state.Shared)
	if at, snap, _ := data.Store.StatusSnapshot(); snap == nil || at > data.Ledger.Size() || !shared && at != data.Ledger.Size() {
		t.Fatalf("no snapshot at the ledger's size %d after a clean stop (at %d)", data.Ledger.Size(), at)
	}
	got, _ := sm.Snapshot()
	if want := rebuilt(t, svc, data.Store); !bytes.Equal(got, want) {
		t.Fatal("lists restored after a clean stop differ from the records")
	}

	changeSome(t, svc, 120)
	// A device copy, then its licence revoked: the copy follows.
	ctx := context.Background()
	op := operatorFor(t, svc.pki(), "business-license")
	parent, err := svc.Issue(ctx, op, IssueRequest{Class: "business-license", Fields: samples(t)["business-license"]})
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := gm.GenerateKey()
	devKey, _ := gm.MarshalPublicKeyCompressed(dev.PublicKey())
	chal, _ := svc.Challenge()
	sig, _ := gm.SignRS(dev, ClaimSigningInput(chal, parent.ClaimCode, devKey))
	cp, err := svc.Claim(ctx, ClaimRequest{Code: parent.ClaimCode, DeviceKey: base64.RawURLEncoding.EncodeToString(devKey),
		Challenge: chal, Signature: base64.RawURLEncoding.EncodeToString(sig)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ChangeStatus(ctx, op, parent.ID, ActionRevoke, "吊销"); err != nil {
		t.Fatal(err)
	}
	data.Close() // a crash: no svc.Close, the snapshot is the old one
	svc, data, sm = openWithLists(t, dir)
	got, _ = sm.Snapshot()
	if want := rebuilt(t, svc, data.Store); !bytes.Equal(got, want) {
		t.Fatal("lists from the old snapshot and the ledger since differ from the records")
	}
	if r, _ := data.Store.Get(cp.ID); r.Status != state.StatusRevoked {
		t.Fatalf("device copy %s is %s after its licence was revoked", cp.ID, r.Status)
	}
	svc.Close()

	// A damaged snapshot: the start reads every record instead.
	at, snap, _ := data.Store.StatusSnapshot()
	data.Store.PutStatusSnapshot(at, snap[:len(snap)/2])
	data.Close()
	svc, data, sm = openWithLists(t, dir)
	defer data.Close()
	got, _ = sm.Snapshot()
	if want := rebuilt(t, svc, data.Store); !bytes.Equal(got, want) {
		t.Fatal("lists after a damaged snapshot differ from the records")
	}
}

// TestExpiredClaimCodesPruned: a start deletes the claim codes that
// expired, and a code is refused as unknown afterwards.
func TestExpiredClaimCodesPruned(t *testing.T) {
	dir := t.TempDir()
	clock := time.Now()
	p := testPKI(t)
	open := func() (*Service, *Data) {
		data, err := openData(t, dir, p.Ledger.Signer)
		if err != nil {
			t.Fatal(err)
		}
		svc, err := New(Options{PKI: p, Store: data.Store, Ledger: data.Ledger, Status: &memStatus{}, Audit: testAudit(t), Now: func() time.Time { return clock }})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Recover(context.Background()); err != nil {
			t.Fatal(err)
		}
		return svc, data
	}
	svc, data := open()
	op := operatorFor(t, p, "business-license")
	rec, err := svc.Issue(context.Background(), op, IssueRequest{Class: "business-license", Fields: samples(t)["business-license"]})
	if err != nil {
		t.Fatal(err)
	}
	svc.Close()
	data.Close()

	clock = clock.Add(ClaimCodeTTL + time.Hour)
	svc, data = open()
	defer data.Close()
	svc.Close() // waits for the start's pruning
	n, _, ok := parseClaimCode(rec.ClaimCode)
	if !ok {
		t.Fatalf("issuance gave claim code %q", rec.ClaimCode)
	}
	if _, err := data.Store.UseClaim(n, func(state.Claim) bool { return true }); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("an expired claim code is still stored: %v", err)
	}
}
