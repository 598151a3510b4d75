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
	staticIdx := size
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

	// A batch of one receipt taken before and one new: the new one is
	// accepted, alone.
	fresh, err := receipt.New(pub, at, "REPLAYED", parent.ID, devKey)
	if err != nil {
		t.Fatal(err)
	}
	size = e.ledger.Size()
	ans, err = e.svc.UploadReceipts(ctx, counter, &receipt.Batch{Receipts: []receipt.Receipt{bound, fresh}})
	if err != nil || ans != (receipt.Answer{Accepted: 1, Duplicates: 1}) {
		t.Fatalf("mixed batch: %+v %v", ans, err)
	}
	if ev, err := entryAt(e.ledger, size); err != nil || e.ledger.Size() != size+1 || ev.(*ledgerevent.CounterVerified).Receipt != fresh.ID {
		t.Fatalf("mixed batch wrote %d entries (%v)", e.ledger.Size()-size, err)
	}
	if uses, _ := e.store.Uses(cp.ID); !slices.Contains(uses, size) {
		t.Fatalf("uses of the copy %v lack %d", uses, size)
	}

	// The holder of the copy sees the check of the licence's static QR
	// too, opened to the licence.
	uses, err := e.svc.HolderUses(Caller{Copy: cp.ID}, cp.ID)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(uses, func(u *Use) bool { return u.Index == staticIdx })
	if i < 0 || uses[i].Opening == nil || uses[i].Opening.Value != parent.ID || uses[i].Verdict != "VALID_STATIC" {
		t.Fatalf("the holder's uses lack the static QR's check at %d: %+v", staticIdx, uses)
	}

	// A receipt dated past the issuer's clock is not placed.
	future, err := receipt.New(pub, time.Now().Add(time.Hour), "VALID", parent.ID, devKey)
	if err != nil {
		t.Fatal(err)
	}
	size = e.ledger.Size()
	ans, err = e.svc.UploadReceipts(ctx, counter, &receipt.Batch{Receipts: []receipt.Receipt{future}})
	if err != nil || ans != (receipt.Answer{Unknown: 1}) || e.ledger.Size() != size {
		t.Fatalf("a receipt from the future: %+v %v, ledger grew by %d", ans, err, e.ledger.Size()-size)
	}
}

// BenchmarkUploadReceipts is one full batch (receipt.MaxBatch receipts of
// one licence's static QR) uploaded, then the same batch again (all
// duplicates); on the backend ELICENSE_TEST_STORE selects.
func BenchmarkUploadReceipts(b *testing.B) {
	e := openEnv(b, b.TempDir())
	defer e.close(b)
	ctx := context.Background()
	op := operatorFor(b, e.pki, "business-license")
	rec, err := e.svc.Issue(ctx, op, IssueRequest{Class: "business-license", Fields: samples(b)["business-license"]})
	if err != nil {
		b.Fatal(err)
	}
	pub := e.pki.Receipt.Cert.PublicKey.(*ecdsa.PublicKey)
	counter := Operator{Subject: "窗口", Role: RoleCounter, Agency: op.Agency}
	var fresh, again time.Duration
	for b.Loop() {
		b.StopTimer()
		batch := &receipt.Batch{}
		for range receipt.MaxBatch {
			r, err := receipt.New(pub, time.Now(), "VALID_STATIC", rec.ID, nil)
			if err != nil {
				b.Fatal(err)
			}
			batch.Receipts = append(batch.Receipts, r)
		}
		b.StartTimer()
		start := time.Now()
		if ans, err := e.svc.UploadReceipts(ctx, counter, batch); err != nil || ans.Accepted != receipt.MaxBatch {
			b.Fatalf("%+v %v", ans, err)
		}
		fresh += time.Since(start)
		start = time.Now()
		if ans, err := e.svc.UploadReceipts(ctx, counter, batch); err != nil || ans.Duplicates != receipt.MaxBatch {
			b.Fatalf("again: %+v %v", ans, err)
		}
		again += time.Since(start)
	}
	b.ReportMetric(float64(fresh.Milliseconds())/float64(b.N), "ms/batch")
	b.ReportMetric(float64(again.Milliseconds())/float64(b.N), "ms/duplicate-batch")
}
