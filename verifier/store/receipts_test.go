package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/certs/receipt"
	"elicense/internal/gm"
	"elicense/verifier"
	"elicense/verifier/internal/testpki"
)

// receiptWorld is a store synced from a fake issuer whose bundle names a
// receipt key, with a static QR of a business licence and a bound
// driving licence.
type receiptWorld struct {
	w      *testpki.World
	s      *Store
	static *testpki.Licence
	bound  *testpki.Licence
	text   string // the static QR
}

func newReceiptWorld(t *testing.T) *receiptWorld {
	t.Helper()
	w, f, srv, s := setup(t)
	if err := w.AddReceiptKey(); err != nil {
		t.Fatal(err)
	}
	f.publish(t, 2)
	if _, err := syncNow(s, srv.URL, time.Now()); err != nil {
		t.Fatal(err)
	}
	rw := &receiptWorld{w: w, s: s,
		static: must(w.Issue(w.Market, "business-license", "amr-1", 1, false, nil)),
		bound:  must(w.Issue(w.Police, "drivers-license", "gab-1", 2, true, nil))}
	rw.text = must(rw.static.Holding.Static())
	return rw
}

// queued reads the queue file as it is on disk.
func queued(t *testing.T, s *Store) []receipt.Receipt {
	t.Helper()
	rs, err := s.queue().read()
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestReceiptQueue: every check whose token parsed queues one receipt
// (VALID, VALID_STATIC, REPLAYED alike), sealed to the bundle's receipt
// key with the licence id and, for a presentation, the device key;
// garbage queues none. The queue names no holder, code or field value.
func TestReceiptQueue(t *testing.T) {
	rw := newReceiptWorld(t)
	_, ch := newChecker(t, rw.s)
	p := must(rw.bound.Holding.Present(rw.bound.Device, time.Now()))
	for _, c := range []struct {
		text string
		want verifier.Code
	}{{rw.text, verifier.ValidStatic}, {p, verifier.Valid}, {p, verifier.Replayed}, {"EL1:garbage", verifier.Malformed}} {
		if vd, err := ch.Check(c.text, time.Now()); err != nil || vd.Code != c.want {
			t.Fatalf("check: %s %v, want %s", vd.Code, err, c.want)
		}
	}
	if n, err := rw.s.PendingReceipts(); err != nil || n != 3 {
		t.Fatalf("pending: %d %v, want 3", n, err)
	}
	dev := must(gm.MarshalPublicKeyCompressed(rw.bound.Device.PublicKey()))
	for i, r := range queued(t, rw.s) {
		l, err := receipt.OpenString(rw.w.ReceiptKey, r.Licence)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			verdict, id string
			dev         []byte
		}{{"VALID_STATIC", rw.static.Licence.ID, nil}, {"VALID", rw.bound.Licence.ID, dev}, {"REPLAYED", rw.bound.Licence.ID, dev}}[i]
		if r.Verdict != want.verdict || l.ID != want.id || !bytes.Equal(l.DeviceKey, want.dev) || time.Since(r.Time()) > time.Minute {
			t.Errorf("receipt %d: %+v opens to %+v", i, r, l)
		}
	}
	data := must(os.ReadFile(filepath.Join(rw.s.Dir(), receiptsFile)))
	for _, l := range []*testpki.Licence{rw.static, rw.bound} {
		secrets := []string{l.Licence.ID, l.Licence.HolderName, l.Licence.HolderCode}
		for _, v := range l.Licence.Fields {
			if len(v) >= 4 {
				secrets = append(secrets, v)
			}
		}
		for _, v := range secrets {
			if bytes.Contains(data, []byte(v)) {
				t.Errorf("the queue holds %q", v)
			}
		}
	}
}

// TestNoReceiptKey: a bundle without a receipt key (an older issuer)
// queues nothing.
func TestNoReceiptKey(t *testing.T) {
	w, _, srv, s := setup(t)
	if _, err := syncNow(s, srv.URL, time.Now()); err != nil {
		t.Fatal(err)
	}
	_, ch := newChecker(t, s)
	text := must(must(w.Issue(w.Market, "business-license", "amr-1", 1, false, nil)).Holding.Static())
	if vd, err := ch.Check(text, time.Now()); err != nil || vd.Code != verifier.ValidStatic {
		t.Fatalf("check: %s %v", vd.Code, err)
	}
	if n, err := s.PendingReceipts(); err != nil || n != 0 {
		t.Fatalf("pending: %d %v", n, err)
	}
}

// TestReceiptsAcrossProcesses: processes checking at once on one store
// lose no receipt, and a later process sees them all.
func TestReceiptsAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	rw := newReceiptWorld(t)
	const procs, each = 3, 20
	lists := make([][]string, procs)
	for i := range lists {
		lists[i] = slices.Repeat([]string{rw.text}, each)
	}
	for i, codes := range runCheckers(t, rw.s, lists) {
		for _, c := range codes {
			if c != string(verifier.ValidStatic) {
				t.Fatalf("child %d: %s", i, c)
			}
		}
	}
	rs := queued(t, rw.s)
	ids := map[string]bool{}
	for _, r := range rs {
		ids[r.ID] = true
	}
	if len(rs) != procs*each || len(ids) != procs*each {
		t.Fatalf("%d receipts queued (%d distinct), want %d", len(rs), len(ids), procs*each)
	}
}

// TestReceiptQueueTornTail: a line a crash left half written is not a
// receipt, and the next append cuts it off; a damaged line elsewhere is
// a *QueueDamagedError that says how to recover, and checks go on.
func TestReceiptQueueTornTail(t *testing.T) {
	rw := newReceiptWorld(t)
	_, ch := newChecker(t, rw.s)
	check := func() {
		t.Helper()
		if _, err := ch.Check(rw.text, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	check()
	path := filepath.Join(rw.s.Dir(), receiptsFile)
	f := must(os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0))
	f.WriteString(`{"id":"half`)
	f.Close()
	if n, err := rw.s.PendingReceipts(); err != nil || n != 1 {
		t.Fatalf("with a torn tail: %d %v", n, err)
	}
	check()
	if n, err := rw.s.PendingReceipts(); err != nil || n != 2 {
		t.Fatalf("after an append: %d %v", n, err)
	}
	data := must(os.ReadFile(path))
	os.WriteFile(path, append([]byte("{\"id\":\"x\"}\n"), data...), 0o600)
	var de *QueueDamagedError
	if _, err := rw.s.PendingReceipts(); !errors.As(err, &de) || !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "line 1") || !strings.Contains(de.Recovery, "move receipts.jsonl aside") {
		t.Fatalf("damaged: %v", err)
	}
	if _, err := rw.s.UploadReceipts(context.Background(), UploadOptions{To: "http://127.0.0.1:1", Token: "t"}); !errors.As(err, &de) {
		t.Fatalf("upload of a damaged queue: %v", err)
	}
	check()
}

// fakeReceipts is an issuer's receipt endpoint: it takes each receipt id
// once, as the issuer does, answering with the counts; lose drops the
// connection after taking a batch (the answer lost), down answers 503.
type fakeReceipts struct {
	mu        sync.Mutex
	taken     map[string]bool
	order     []string // ids in the order first received
	batches   []int
	lose      bool
	down      bool
	miscount  bool
	authToken string
}

// set changes the fake's behaviour under its lock (its handler reads it).
func (f *fakeReceipts) set(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}

func (f *fakeReceipts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path != UploadPath || r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+f.authToken {
		http.Error(w, `{"code":"unauthorized","message":"no"}`, http.StatusUnauthorized)
		return
	}
	if f.down {
		http.Error(w, `{"code":"unavailable","message":"ledger append failed"}`, http.StatusServiceUnavailable)
		return
	}
	b, err := receipt.ParseBatch(must(io.ReadAll(r.Body)))
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	f.batches = append(f.batches, len(b.Receipts))
	var ans receipt.Answer
	for _, rc := range b.Receipts {
		if f.taken[rc.ID] {
			ans.Duplicates++
			continue
		}
		f.taken[rc.ID] = true
		f.order = append(f.order, rc.ID)
		ans.Accepted++
	}
	if f.lose {
		panic(http.ErrAbortHandler)
	}
	if f.miscount {
		ans.Accepted++
	}
	json.NewEncoder(w).Encode(ans)
}

// TestUploadReceipts: offline, refused, answer lost or miscounted, the
// queue is kept whole; then the upload sends it oldest first in batches,
// the batch whose answer was lost counted as duplicates, and empties it.
func TestUploadReceipts(t *testing.T) {
	rw := newReceiptWorld(t)
	_, ch := newChecker(t, rw.s)
	for range 5 {
		if _, err := ch.Check(rw.text, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for _, r := range queued(t, rw.s) {
		want = append(want, r.ID)
	}
	f := &fakeReceipts{taken: map[string]bool{}, authToken: "tok"}
	srv := httptest.NewServer(f)
	defer srv.Close()
	ctx := context.Background()
	opts := UploadOptions{To: srv.URL, Token: "tok", Batch: 2}
	kept := func(what string) {
		t.Helper()
		if n, err := rw.s.PendingReceipts(); err != nil || n != 5 {
			t.Fatalf("%s: %d pending %v, want 5 kept", what, n, err)
		}
	}

	closed := httptest.NewServer(f)
	closed.Close()
	if _, err := rw.s.UploadReceipts(ctx, UploadOptions{To: closed.URL, Token: "tok"}); err == nil {
		t.Fatal("an upload to nowhere succeeded")
	}
	kept("offline")
	var ue *UploadError
	if _, err := rw.s.UploadReceipts(ctx, UploadOptions{To: srv.URL, Token: "wrong"}); !errors.As(err, &ue) || ue.Status != 401 {
		t.Fatalf("wrong token: %v", err)
	}
	kept("wrong token")
	f.set(func() { f.down = true })
	if _, err := rw.s.UploadReceipts(ctx, opts); !errors.As(err, &ue) || ue.Status != 503 || ue.Message != "ledger append failed" {
		t.Fatalf("issuer down: %v", err)
	}
	kept("issuer down")
	f.set(func() { f.down, f.lose = false, true })
	if _, err := rw.s.UploadReceipts(ctx, opts); err == nil {
		t.Fatal("an upload whose answer was lost succeeded")
	}
	kept("answer lost")
	f.set(func() { f.lose, f.miscount = false, true })
	if _, err := rw.s.UploadReceipts(ctx, opts); err == nil || !strings.Contains(err.Error(), "does not account") {
		t.Fatalf("miscounted answer: %v", err)
	}
	kept("miscounted answer")
	f.set(func() { f.miscount = false })

	res, err := rw.s.UploadReceipts(ctx, opts)
	if err != nil || res.Answer != (receipt.Answer{Accepted: 3, Duplicates: 2}) || res.Batches != 3 || res.Left != 0 {
		t.Fatalf("upload: %+v %v", res, err)
	}
	if !slices.Equal(f.order, want) || !slices.Equal(f.batches[len(f.batches)-3:], []int{2, 2, 1}) {
		t.Fatalf("sent %v in batches %v, want %v oldest first", f.order, f.batches, want)
	}
	if n, err := rw.s.PendingReceipts(); err != nil || n != 0 {
		t.Fatalf("after the upload: %d %v", n, err)
	}
	// Nothing to send: no request.
	sent := len(f.batches)
	if res, err := rw.s.UploadReceipts(ctx, opts); err != nil || res.Batches != 0 || len(f.batches) != sent {
		t.Fatalf("empty queue: %+v %v", res, err)
	}
}

// TestReceiptDay is a day of a busy counter, 2,000 checks (half
// presentations of a bound licence, half static QRs): the queue file and
// the upload bodies (batches of receipt.MaxBatch) it makes, reported
// with -v (docs/performance.md), each receipt under 400 bytes.
func TestReceiptDay(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 checks, each synced to disk")
	}
	const checks = 2000
	rw := newReceiptWorld(t)
	_, ch := newChecker(t, rw.s)
	start := time.Now()
	base := time.Now().Add(-checks * time.Second)
	for i := range checks {
		at := base.Add(time.Duration(i) * time.Second)
		text := rw.text
		if i%2 == 0 {
			text = must(rw.bound.Holding.Present(rw.bound.Device, at))
		}
		if vd, err := ch.Check(text, at); err != nil || !vd.Code.OK() {
			t.Fatalf("check %d: %s %v", i, vd.Code, err)
		}
	}
	took := time.Since(start)
	fi := must(os.Stat(filepath.Join(rw.s.Dir(), receiptsFile)))
	var bodies []int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := must(io.ReadAll(r.Body))
		b, err := receipt.ParseBatch(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		mu.Lock()
		bodies = append(bodies, len(body))
		mu.Unlock()
		json.NewEncoder(w).Encode(receipt.Answer{Accepted: len(b.Receipts)})
	}))
	defer srv.Close()
	res, err := rw.s.UploadReceipts(context.Background(), UploadOptions{To: srv.URL, Token: "t"})
	if err != nil || res.Accepted != checks || res.Batches != 2 || res.Left != 0 {
		t.Fatalf("upload: %+v %v", res, err)
	}
	sum := 0
	for _, b := range bodies {
		sum += b
	}
	t.Logf("%d checks in %s (%s each, with the replay memory, log and receipt queue); queue %d bytes (%d a receipt); upload bodies %v, %d bytes in all",
		checks, took.Round(time.Millisecond), (took / checks).Round(time.Microsecond), fi.Size(), fi.Size()/checks, bodies, sum)
	if fi.Size() > checks*400 || sum > checks*400 {
		t.Fatalf("queue %d bytes, bodies %d: over 400 bytes a receipt", fi.Size(), sum)
	}
}

// FuzzReceiptQueue: any queue file is read without panicking, as whole
// valid receipts or an error, and a torn last line is never one.
func FuzzReceiptQueue(f *testing.F) {
	f.Add([]byte(`{"id":"AAAAAAAAAAAAAAAAAAAAAA","at":1,"verdict":"VALID","licence":"` + strings.Repeat("A", 160) + `"}` + "\n"))
	f.Add([]byte("{\"id\":\"half"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := queue{path: receiptsFile}.parse(data)
		if err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("not a damage error: %v", err)
			}
			return
		}
		if whole := bytes.Count(data, []byte{'\n'}); len(rs) != whole {
			t.Fatalf("%d receipts from %d whole lines", len(rs), whole)
		}
		for _, r := range rs {
			if err := r.Validate(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
