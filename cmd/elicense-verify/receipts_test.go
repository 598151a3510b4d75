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
	e := newVerifyE2E(t)
	bl, dl := e.issue("business-license"), e.issue("drivers-license")
	e.pinAndSync()
	h, dev := claim(t, e.s, dl.ClaimCode)
	if r := e.v("", "sync", "--from", e.s.URL); r.code != 0 {
		t.Fatalf("sync: %+v", r)
	}
	const window = "浦东新区市民中心 3号窗口"
	var tok struct{ Token string }
	if st := e.s.Call(t, "POST", "/v1/tokens", e.s.Admin, map[string]any{"subject": window, "role": "counter",
		"agency": issuertest.AgencyOf(t, e.s.Data, "business-license"), "ttl": "1h"}, &tok); st != 201 {
		t.Fatalf("counter token: %d", st)
	}
	tokFile := filepath.Join(t.TempDir(), "counter.token")
	os.WriteFile(tokFile, []byte(tok.Token+"\n"), 0o600)
	rl, via := newRelay(t, e.s.URL)
	upload := func() result { return e.v("", "receipts", "upload", "--to", via, "--token-file", tokFile) }
	waiting := func(want int) {
		t.Helper()
		if r := e.v("", "receipts"); r.code != 0 || r.stdout != fmt.Sprintf("%d receipts waiting\n", want) {
			t.Fatalf("receipts: %+v, want %d waiting", r, want)
		}
	}

	// Offline: three checks, two receipts (garbage names no licence).
	rl.mode.Store(relayOffline)
	p := must(h.Present(dev, time.Now()))
	for _, c := range []struct{ text, want string }{{bl.QR, "VALID_STATIC"}, {p, "VALID"}, {"garbage", "MALFORMED"}} {
		if r := e.v("", "check", c.text); r.first() != c.want {
			t.Fatalf("check: %+v, want %s", r, c.want)
		}
	}
	waiting(2)
	if r := upload(); r.code != 2 || !strings.Contains(r.stdout, "accepted 0, duplicates 0, unknown 0; 2 waiting") {
		t.Fatalf("upload offline: %+v", r)
	}
	waiting(2)
	queue := must(os.ReadFile(filepath.Join(e.store, "receipts.jsonl")))
	for _, v := range []string{e.samples["business-license"]["name"], e.samples["drivers-license"]["name"], "王磊", bl.ID, dl.ID} {
		if v != "" && strings.Contains(string(queue), v) {
			t.Errorf("the receipt queue holds %q", v)
		}
	}

	// The answer lost: the issuer took both, the counter kept both.
	size := ledgerSize(t, e.s)
	rl.mode.Store(relayLose)
	if r := upload(); r.code != 2 {
		t.Fatalf("upload, answer lost: %+v", r)
	}
	waiting(2)
	if got := ledgerSize(t, e.s); got != size+2 {
		t.Fatalf("the issuer wrote %d entries for the batch whose answer was lost, want 2", got-size)
	}
	rl.mode.Store(relayPass)
	if r := upload(); r.code != 0 || r.stdout != "accepted 0, duplicates 2, unknown 0; 0 waiting\n" {
		t.Fatalf("upload again: %+v", r)
	}
	waiting(0)
	if r := e.v("", "check", bl.QR); r.code != 0 {
		t.Fatalf("check: %+v", r)
	}
	if r := upload(); r.code != 0 || r.stdout != "accepted 1, duplicates 0, unknown 0; 0 waiting\n" {
		t.Fatalf("upload: %+v", r)
	}
	if got := ledgerSize(t, e.s); got != size+3 {
		t.Fatalf("ledger grew by %d, want 3", got-size)
	}
	for i := size; i < size+3; i++ {
		var entry struct {
			Kind  string
			Event map[string]any
		}
		if st := e.s.Call(t, "GET", fmt.Sprintf("/v1/ledger/entries/%d", i), "", nil, &entry); st != 200 ||
			entry.Kind != "counter-verified" || entry.Event["counter"] != window {
			t.Fatalf("entry %d: %d %+v", i, st, entry)
		}
		if raw := fmt.Sprint(entry.Event); strings.Contains(raw, bl.ID) || strings.Contains(raw, dl.ID) {
			t.Fatalf("entry %d names the licence: %s", i, raw)
		}
	}

	// serve --upload-receipts: a failed upload is logged, and the next
	// sync (by another process) brings an upload.
	rl.mode.Store(relayOffline)
	check, _, stderr := startServe(t, e.bin, e.store, "--sync-every", "0", "--upload-receipts", via, "--token-file", tokFile)
	if code := check(bl.QR); code != "VALID_STATIC" {
		t.Fatalf("serve check: %s", code)
	}
	waitLog := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if strings.Contains(stderr.String(), what) {
				return
			}
		}
		t.Fatalf("serve did not log %q:\n%s", what, stderr.String())
	}
	if r := e.v("", "sync", "--from", e.s.URL); r.code != 0 {
		t.Fatalf("sync: %+v", r)
	}
	waitLog("tried again later")
	waiting(1)
	rl.mode.Store(relayPass)
	time.Sleep(1100 * time.Millisecond) // a cache of another second
	if r := e.v("", "sync", "--from", e.s.URL); r.code != 0 {
		t.Fatalf("sync: %+v", r)
	}
	waitLog("receipts uploaded: accepted 1, duplicates 0, unknown 0; 0 waiting")
	waiting(0)
}
