package service

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"slices"
	"testing"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/certs/receipt"
	"elicense/internal/gm"
)

// TestUploadReceipts: an accepted receipt is a counter-verified event in
// the ledger (the counter's name in the clear, the licence only as a
// commitment) and in the uses of the copy it names (the licence for a
// static QR); the same batch again, before and after a restart, is all
// duplicates and writes nothing. On the backend ELICENSE_TEST_STORE
// selects.
func TestUploadReceipts(t *testing.T) {
	dir := t.TempDir()
	e := openEnv(t, dir)
	ctx := context.Background()
	op := operatorFor(t, e.pki, "business-license")
	parent, err := e.svc.Issue(ctx, op, IssueRequest{Class: "business-license", Fields: samples(t)["business-license"]})
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := gm.GenerateKey()
	devKey, _ := gm.MarshalPublicKeyCompressed(dev.PublicKey())
	chal, _ := e.svc.Challenge()
	sig, _ := gm.SignRS(dev, ClaimSigningInput(chal, parent.ClaimCode, devKey))
	cp, err := e.svc.Claim(ctx, ClaimRequest{Code: parent.ClaimCode, DeviceKey: base64.RawURLEncoding.EncodeToString(devKey),
		Challenge: chal, Signature: base64.RawURLEncoding.EncodeToString(sig)})
	if err != nil {
		t.Fatal(err)
	}

	pub := e.pki.Receipt.Cert.PublicKey.(*ecdsa.PublicKey)
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	static, err := receipt.New(pub, at, "VALID_STATIC", parent.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	bound, err := receipt.New(pub, at, "VALID", parent.ID, devKey)
	if err != nil {
		t.Fatal(err)
	}
	batch := &receipt.Batch{Receipts: []receipt.Receipt{static, bound}}
	counter := Operator{Subject: "浦东新区市民中心 3号窗口", Role: RoleCounter, Agency: op.Agency}

	if _, err := e.svc.UploadReceipts(ctx, op, batch); !errors.Is(err, ErrForbidden) {
		t.Fatalf("an operator uploaded receipts: %v", err)
	}
	size := e.ledger.Size()
	ans, err := e.svc.UploadReceipts(ctx, counter, batch)
	if err != nil || ans != (receipt.Answer{Accepted: 2}) {
		t.Fatalf("upload: %+v %v", ans, err)
	}
	if got := e.ledger.Size(); got != size+2 {
		t.Fatalf("ledger grew by %d, want 2", got-size)
	}
	for i, want := range []struct {
		r       receipt.Receipt
		subject string
	}{{static, parent.ID}, {bound, cp.ID}} {
		idx := size + uint64(i)
		ev, err := entryAt(e.ledger, idx)
		if err != nil {
			t.Fatal(err)
		}
		cv, ok := ev.(*ledgerevent.CounterVerified)
		if !ok {
			t.Fatalf("entry %d is %T, want counter-verified", idx, ev)
		}
		if cv.Receipt != want.r.ID || cv.Counter != counter.Subject || cv.Verdict != want.r.Verdict ||
			!cv.At.Equal(at) || cv.Agency != parent.Agency {
			t.Errorf("entry %d: %+v", idx, cv)
		}
		if _, err := e.svc.audit.Open(cv, ledgerevent.FieldLicence, []byte(want.subject)); err != nil {
			t.Errorf("entry %d does not commit to %s: %v", idx, want.subject, err)
		}
		uses, err := e.store.Uses(want.subject)
		if err != nil || !slices.Contains(uses, idx) {
			t.Errorf("uses of %s: %v %v, want %d among them", want.subject, uses, err, idx)
		}
	}

	again := func(e *env) {
		t.Helper()
		size := e.ledger.Size()
		ans, err := e.svc.UploadReceipts(ctx, counter, batch)
		if err != nil || ans != (receipt.Answer{Duplicates: 2}) {
			t.Fatalf("upload again: %+v %v", ans, err)
		}
		if got := e.ledger.Size(); got != size {
			t.Fatalf("duplicates wrote %d ledger entries", got-size)
		}
	}
	again(e)
	e.close(t)
	e = openEnv(t, dir)
	defer e.close(t)
	again(e)
}
