package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"elicense/certs/qr"
	"elicense/internal/gm"
	"elicense/internal/issuertest"
)

// Modes of a relay.
const (
	relayPass    int32 = iota // forward to the issuer and back
	relayOffline              // drop every connection unanswered
	relayLose                 // forward, then drop the answer
)

// relay stands between the counter and the real issuer: it forwards, is
// offline, or loses the issuer's answer after the issuer acted on the
// request.
type relay struct {
	mode  atomic.Int32
	proxy *httputil.ReverseProxy
}

func newRelay(t *testing.T, to string) (*relay, string) {
	u, _ := url.Parse(to)
	r := &relay{proxy: httputil.NewSingleHostReverseProxy(u)}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv.URL
}

func (r *relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch r.mode.Load() {
	case relayOffline:
		panic(http.ErrAbortHandler)
	case relayLose:
		r.proxy.ServeHTTP(httptest.NewRecorder(), req)
		panic(http.ErrAbortHandler)
	}
	r.proxy.ServeHTTP(w, req)
}

// ledgerSize is the issuer's ledger size.
func ledgerSize(t *testing.T, s *issuertest.Server) uint64 {
	t.Helper()
	var r struct {
		Size uint64 `json:"ledger_size"`
	}
	if st := s.Call(t, "GET", "/readyz", "", nil, &r); st != 200 {
		t.Fatalf("readyz: %d", st)
	}
	return r.Size
}

// TestReceiptsEndToEnd: a counter verifies while the issuer is out of
// reach, each check in its own process; the receipts wait in the store
// and name no holder; uploads fail and keep them while offline; an
// upload whose answer is lost is taken by the issuer, and sent again it
// counts as duplicates; new receipts are accepted as counter-verified
// ledger events. Then serve --upload-receipts logs a failed upload and
// uploads after the next sync. Against the real issuer binary.
func TestReceiptsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the issuer")
	}
	r := newReceiptsE2E(t)
	r.checkOffline()
	size := r.checkAnswerLost()
	r.checkAccepted(size)
	r.checkServeUploads()
}

// receiptWindow is the counter's subject: the ledger's counter-verified
// events name it.
const receiptWindow = "浦东新区市民中心 3号窗口"

// receiptsE2E is a counter with a business licence and a claimed
// driver's licence to check, and a relay in front of the issuer for its
// uploads.
type receiptsE2E struct {
	*verifyE2E
	bl, dl  issued
	h       *qr.Holding
	dev     *gm.PrivateKey
	rl      *relay
	via     string // the relay's URL
	tokFile string // the counter's token
}

func newReceiptsE2E(t *testing.T) *receiptsE2E {
	t.Helper()
	r := &receiptsE2E{verifyE2E: newVerifyE2E(t)}
	r.bl, r.dl = r.issue("business-license"), r.issue("drivers-license")
	r.pinAndSync()
	r.h, r.dev = claim(t, r.s, r.dl.ClaimCode)
	r.sync()
	r.tokFile = r.counterToken()
	r.rl, r.via = newRelay(t, r.s.URL)
	return r
}

// counterToken has the issuer make a counter token for receiptWindow and
// returns the file holding it.
func (r *receiptsE2E) counterToken() string {
	t := r.t
	t.Helper()
	var tok struct{ Token string }
	if st := r.s.Call(t, "POST", "/v1/tokens", r.s.Admin, map[string]any{"subject": receiptWindow, "role": "counter",
		"agency": issuertest.AgencyOf(t, r.s.Data, "business-license"), "ttl": "1h"}, &tok); st != 201 {
		t.Fatalf("counter token: %d", st)
	}
	tokFile := filepath.Join(t.TempDir(), "counter.token")
	os.WriteFile(tokFile, []byte(tok.Token+"\n"), 0o600)
	return tokFile
}

func (r *receiptsE2E) sync() {
	r.t.Helper()
	if res := r.v("", "sync", "--from", r.s.URL); res.code != 0 {
		r.t.Fatalf("sync: %+v", res)
	}
}

// upload uploads the waiting receipts through the relay.
func (r *receiptsE2E) upload() result {
	r.t.Helper()
	return r.v("", "receipts", "upload", "--to", r.via, "--token-file", r.tokFile)
}

// waiting checks that want receipts wait in the store.
func (r *receiptsE2E) waiting(want int) {
	r.t.Helper()
	if res := r.v("", "receipts"); res.code != 0 || res.stdout != fmt.Sprintf("%d receipts waiting\n", want) {
		r.t.Fatalf("receipts: %+v, want %d waiting", res, want)
	}
}

// checkOffline: three checks, two receipts (garbage names no licence);
// the upload fails and keeps them; the queue names no holder.
func (r *receiptsE2E) checkOffline() {
	t := r.t
	r.rl.mode.Store(relayOffline)
	p := must(r.h.Present(r.dev, time.Now()))
	for _, c := range []struct{ text, want string }{{r.bl.QR, "VALID_STATIC"}, {p, "VALID"}, {"garbage", "MALFORMED"}} {
		if res := r.v("", "check", c.text); res.first() != c.want {
			t.Fatalf("check: %+v, want %s", res, c.want)
		}
	}
	r.waiting(2)
	if res := r.upload(); res.code != 2 || !strings.Contains(res.stdout, "accepted 0, duplicates 0, unknown 0; 2 waiting") {
		t.Fatalf("upload offline: %+v", res)
	}
	r.waiting(2)
	queue := must(os.ReadFile(filepath.Join(r.store, "receipts.jsonl")))
	for _, v := range []string{r.samples["business-license"]["name"], r.samples["drivers-license"]["name"], "王磊", r.bl.ID, r.dl.ID} {
		if v != "" && strings.Contains(string(queue), v) {
			t.Errorf("the receipt queue holds %q", v)
		}
	}
}

// checkAnswerLost: the answer lost, the issuer took both receipts and the
// counter kept both; sent again they count as duplicates. It returns the
// ledger size before the lost upload.
func (r *receiptsE2E) checkAnswerLost() uint64 {
	t := r.t
	size := ledgerSize(t, r.s)
	r.rl.mode.Store(relayLose)
	if res := r.upload(); res.code != 2 {
		t.Fatalf("upload, answer lost: %+v", res)
	}
	r.waiting(2)
	if got := ledgerSize(t, r.s); got != size+2 {
		t.Fatalf("the issuer wrote %d entries for the batch whose answer was lost, want 2", got-size)
	}
	r.rl.mode.Store(relayPass)
	if res := r.upload(); res.code != 0 || res.stdout != "accepted 0, duplicates 2, unknown 0; 0 waiting\n" {
		t.Fatalf("upload again: %+v", res)
	}
	r.waiting(0)
	return size
}

// checkAccepted: a new receipt is accepted, and the three entries from
// size on are counter-verified events naming the window, not the licence.
func (r *receiptsE2E) checkAccepted(size uint64) {
	t := r.t
	if res := r.v("", "check", r.bl.QR); res.code != 0 {
		t.Fatalf("check: %+v", res)
	}
	if res := r.upload(); res.code != 0 || res.stdout != "accepted 1, duplicates 0, unknown 0; 0 waiting\n" {
		t.Fatalf("upload: %+v", res)
	}
	if got := ledgerSize(t, r.s); got != size+3 {
		t.Fatalf("ledger grew by %d, want 3", got-size)
	}
	for i := size; i < size+3; i++ {
		r.checkCounterVerified(i)
	}
}

// checkCounterVerified checks that ledger entry i is a counter-verified
// event naming the window and neither licence.
func (r *receiptsE2E) checkCounterVerified(i uint64) {
	t := r.t
	var entry struct {
		Kind  string
		Event map[string]any
	}
	if st := r.s.Call(t, "GET", fmt.Sprintf("/v1/ledger/entries/%d", i), "", nil, &entry); st != 200 ||
		entry.Kind != "counter-verified" || entry.Event["counter"] != receiptWindow {
		t.Fatalf("entry %d: %d %+v", i, st, entry)
	}
	if raw := fmt.Sprint(entry.Event); strings.Contains(raw, r.bl.ID) || strings.Contains(raw, r.dl.ID) {
		t.Fatalf("entry %d names the licence: %s", i, raw)
	}
}

// checkServeUploads: under serve --upload-receipts a failed upload is
// logged, and the next sync (by another process) brings an upload.
func (r *receiptsE2E) checkServeUploads() {
	t := r.t
	r.rl.mode.Store(relayOffline)
	check, _, stderr := startServe(t, r.bin, r.store, "--sync-every", "0", "--upload-receipts", r.via, "--token-file", r.tokFile)
	if code := check(r.bl.QR); code != "VALID_STATIC" {
		t.Fatalf("serve check: %s", code)
	}
	r.sync()
	waitLog(t, stderr, "tried again later")
	r.waiting(1)
	r.rl.mode.Store(relayPass)
	time.Sleep(1100 * time.Millisecond) // a cache of another second
	r.sync()
	waitLog(t, stderr, "receipts uploaded: accepted 1, duplicates 0, unknown 0; 0 waiting")
	r.waiting(0)
}

// waitLog waits for serve to log what on stderr.
func waitLog(t *testing.T, stderr *lockedBuffer, what string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if strings.Contains(stderr.String(), what) {
			return
		}
	}
	t.Fatalf("serve did not log %q:\n%s", what, stderr.String())
}
