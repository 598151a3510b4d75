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
	"elicense/issuer/state"
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
	rc := newReceiptsCase(t, e)

	staticIdx := rc.uploadFirst(e)
	rc.uploadAgain(e)
	e.close(t)
	e = openEnv(t, dir)
	defer e.close(t)
	rc.uploadAgain(e)

	rc.mixedBatch(e)
	rc.holderSeesStatic(e, staticIdx)
	rc.fromTheFuture(e)
}

// receiptsCase is a licence, a copy of it claimed into a device, and a
// batch of two receipts a counter took of them: one of the licence's
// static QR and one of the copy.
type receiptsCase struct {
	t       *testing.T
	ctx     context.Context
	op      Operator // the operator who issued the licence
	counter Operator // the counter that uploads
	pub     *ecdsa.PublicKey
	at      time.Time // when the receipts were taken
	parent  *Issued   // the licence
	cp      *state.Record
	devKey  []byte // the copy's device key, compressed
	static  receipt.Receipt
	bound   receipt.Receipt
	batch   *receipt.Batch
}

// newReceiptsCase issues a licence in e, claims a copy and makes the
// receipts.
func newReceiptsCase(t *testing.T, e *env) *receiptsCase {
	rc := &receiptsCase{t: t, ctx: context.Background(), op: operatorFor(t, e.pki, "business-license")}
	parent, err := e.svc.Issue(rc.ctx, rc.op, IssueRequest{Class: "business-license", Fields: samples(t)["business-license"]})
	if err != nil {
		t.Fatal(err)
	}
	rc.parent = parent
	dev, _ := gm.GenerateKey()
	rc.devKey, _ = gm.MarshalPublicKeyCompressed(dev.PublicKey())
	chal, _ := e.svc.Challenge()
	sig, _ := gm.SignRS(dev, ClaimSigningInput(chal, parent.ClaimCode, rc.devKey))
	if rc.cp, err = e.svc.Claim(rc.ctx, ClaimRequest{Code: parent.ClaimCode, DeviceKey: base64.RawURLEncoding.EncodeToString(rc.devKey),
		Challenge: chal, Signature: base64.RawURLEncoding.EncodeToString(sig)}); err != nil {
		t.Fatal(err)
	}

	rc.pub = e.pki.Receipt.Cert.PublicKey.(*ecdsa.PublicKey)
	rc.at = time.Now().Add(-time.Hour).Truncate(time.Second)
	rc.static = rc.receipt(rc.at, "VALID_STATIC", nil)
	rc.bound = rc.receipt(rc.at, "VALID", rc.devKey)
	rc.batch = &receipt.Batch{Receipts: []receipt.Receipt{rc.static, rc.bound}}
	rc.counter = Operator{Subject: "浦东新区市民中心 3号窗口", Role: RoleCounter, Agency: rc.op.Agency}
	return rc
}

// receipt makes a receipt of the licence (of the copy if devKey is set).
func (rc *receiptsCase) receipt(at time.Time, verdict string, devKey []byte) receipt.Receipt {
	rc.t.Helper()
	r, err := receipt.New(rc.pub, at, verdict, rc.parent.ID, devKey)
	if err != nil {
		rc.t.Fatal(err)
	}
	return r
}

// uploadFirst: an operator may not upload; the counter's batch is
// accepted whole, one counter-verified event a receipt. It returns the
// ledger index of the static QR's check.
func (rc *receiptsCase) uploadFirst(e *env) uint64 {
	t := rc.t
	if _, err := e.svc.UploadReceipts(rc.ctx, rc.op, rc.batch); !errors.Is(err, ErrForbidden) {
		t.Fatalf("an operator uploaded receipts: %v", err)
	}
	size := e.ledger.Size()
	ans, err := e.svc.UploadReceipts(rc.ctx, rc.counter, rc.batch)
	if err != nil || ans != (receipt.Answer{Accepted: 2}) {
		t.Fatalf("upload: %+v %v", ans, err)
	}
	if got := e.ledger.Size(); got != size+2 {
		t.Fatalf("ledger grew by %d, want 2", got-size)
	}
	rc.checkEvent(e, size, rc.static, rc.parent.ID)
	rc.checkEvent(e, size+1, rc.bound, rc.cp.ID)
	return size
}

// checkEvent: the ledger entry idx is the counter-verified event of r,
// committing to subject (a licence or copy id), and among subject's uses.
func (rc *receiptsCase) checkEvent(e *env, idx uint64, r receipt.Receipt, subject string) {
	t := rc.t
	t.Helper()
	ev, err := entryAt(e.ledger, idx)
	if err != nil {
		t.Fatal(err)
	}
	cv, ok := ev.(*ledgerevent.CounterVerified)
	if !ok {
		t.Fatalf("entry %d is %T, want counter-verified", idx, ev)
	}
	if cv.Receipt != r.ID || cv.Counter != rc.counter.Subject || cv.Verdict != r.Verdict ||
		!cv.At.Equal(rc.at) || cv.Agency != rc.parent.Agency {
		t.Errorf("entry %d: %+v", idx, cv)
	}
	if _, err := e.svc.audit.Open(cv, ledgerevent.FieldLicence, []byte(subject)); err != nil {
		t.Errorf("entry %d does not commit to %s: %v", idx, subject, err)
	}
	uses, err := e.store.Uses(subject)
	if err != nil || !slices.Contains(uses, idx) {
		t.Errorf("uses of %s: %v %v, want %d among them", subject, uses, err, idx)
	}
}

// uploadAgain: the same batch again is all duplicates and writes nothing.
func (rc *receiptsCase) uploadAgain(e *env) {
	t := rc.t
	t.Helper()
	size := e.ledger.Size()
	ans, err := e.svc.UploadReceipts(rc.ctx, rc.counter, rc.batch)
	if err != nil || ans != (receipt.Answer{Duplicates: 2}) {
		t.Fatalf("upload again: %+v %v", ans, err)
	}
	if got := e.ledger.Size(); got != size {
		t.Fatalf("duplicates wrote %d ledger entries", got-size)
	}
}

// mixedBatch: a batch of one receipt taken before and one new: the new
// one is accepted, alone.
func (rc *receiptsCase) mixedBatch(e *env) {
	t := rc.t
	fresh := rc.receipt(rc.at, "REPLAYED", rc.devKey)
	size := e.ledger.Size()
	ans, err := e.svc.UploadReceipts(rc.ctx, rc.counter, &receipt.Batch{Receipts: []receipt.Receipt{rc.bound, fresh}})
	if err != nil || ans != (receipt.Answer{Accepted: 1, Duplicates: 1}) {
		t.Fatalf("mixed batch: %+v %v", ans, err)
	}
	if ev, err := entryAt(e.ledger, size); err != nil || e.ledger.Size() != size+1 || ev.(*ledgerevent.CounterVerified).Receipt != fresh.ID {
		t.Fatalf("mixed batch wrote %d entries (%v)", e.ledger.Size()-size, err)
	}
	if uses, _ := e.store.Uses(rc.cp.ID); !slices.Contains(uses, size) {
		t.Fatalf("uses of the copy %v lack %d", uses, size)
	}
}

// holderSeesStatic: the holder of the copy sees the check of the
// licence's static QR (at staticIdx) too, opened to the licence.
func (rc *receiptsCase) holderSeesStatic(e *env, staticIdx uint64) {
	t := rc.t
	uses, err := e.svc.HolderUses(Caller{Copy: rc.cp.ID}, rc.cp.ID)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(uses, func(u *Use) bool { return u.Index == staticIdx })
	if i < 0 || uses[i].Opening == nil || uses[i].Opening.Value != rc.parent.ID || uses[i].Verdict != "VALID_STATIC" {
		t.Fatalf("the holder's uses lack the static QR's check at %d: %+v", staticIdx, uses)
	}
}

// fromTheFuture: a receipt dated past the issuer's clock is not placed.
func (rc *receiptsCase) fromTheFuture(e *env) {
	t := rc.t
	future := rc.receipt(time.Now().Add(time.Hour), "VALID", rc.devKey)
	size := e.ledger.Size()
	ans, err := e.svc.UploadReceipts(rc.ctx, rc.counter, &receipt.Batch{Receipts: []receipt.Receipt{future}})
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
