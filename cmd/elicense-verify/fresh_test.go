package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicense/certs/qr"
	"elicense/internal/gm"
	"elicense/internal/issuertest"
	"elicense/verifier/counter"
)

// servedPage is a running `elicense-verify serve`.
type servedPage struct {
	cmd    *exec.Cmd
	done   chan error // the result of cmd.Wait, once
	base   string     // http://127.0.0.1:port
	token  string     // the page's per-start token
	stderr *lockedBuffer
}

// launchServe runs `elicense-verify serve` on a free loopback port and
// waits until its page answers with its token.
func launchServe(t *testing.T, bin, store string, args ...string) *servedPage {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := &servedPage{cmd: exec.Command(bin, append([]string{"serve", "--addr", addr}, args...)...), done: make(chan error, 1),
		base: "http://" + addr, stderr: &lockedBuffer{}}
	p.cmd.Env = append(issuertest.Env(), "ELICENSE_VERIFY_STORE="+store)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.done <- <-p.done // leave the result for a test that waits too
	})
	up := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !up; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(p.base + "/"); err == nil {
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			up = resp.StatusCode == 200
			if m := pageToken.FindSubmatch(page); m != nil {
				p.token = string(m[1])
			}
		}
	}
	if !up || p.token == "" {
		t.Fatalf("serve did not start (page token %q): %s", p.token, p.stderr.String())
	}
	return p
}

// startServe runs `elicense-verify serve` on a free loopback port and
// returns a function that checks a QR text through the page's API.
func startServe(t *testing.T, bin, store string, args ...string) (check func(text string) string, api func(method, path string, out any), stderr *lockedBuffer) {
	t.Helper()
	p := launchServe(t, bin, store, args...)
	base, token := p.base, p.token
	api = func(method, path string, out any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		req.Header.Set(counter.TokenHeader, token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, err)
		}
	}
	return func(text string) string {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"text": text})
		req, _ := http.NewRequest("POST", base+"/api/check", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(counter.TokenHeader, token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res struct{ Code string }
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != 200 {
			t.Fatalf("check: %d %v", resp.StatusCode, err)
		}
		return res.Code
	}, api, p.stderr
}

func waitCode(t *testing.T, what string, check func(string) string, text, want string) {
	t.Helper()
	got := ""
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got = check(text); got == want {
			return
		}
	}
	t.Fatalf("%s: still %s, want %s", what, got, want)
}

// TestServeStaysFresh: a running serve picks up a sync made by another
// process (here `elicense-verify sync`) and, with --sync-every, syncs by
// itself; a licence revoked at the issuer turns from VALID_STATIC into
// REVOKED on the page without a restart. A presentation accepted by
// check is REPLAYED on the page, and the log stays one chain.
func TestServeStaysFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the issuer")
	}
	e := newVerifyE2E(t)
	s := e.s
	v := func(args ...string) result { return e.v("", args...) }
	a, b := e.issue("business-license"), e.issue("business-license")
	dl := e.issue("drivers-license")
	h, dev := claim(t, s, dl.ClaimCode)
	if r := v("trust", "add", filepath.Join(s.Data, "pki", "root.crt.pem")); r.code != 0 {
		t.Fatalf("trust add: %+v", r)
	}
	if r := v("sync", "--from", s.URL); r.code != 0 {
		t.Fatalf("sync: %+v", r)
	}

	// A page that never syncs by itself.
	still, stillAPI, _ := startServe(t, e.bin, e.store, "--sync-every", "0")
	if code := still(a.QR); code != "VALID_STATIC" {
		t.Fatalf("before: %s", code)
	}
	e.presentOnBoth(still, h, dev)

	e.revoke(a, "business-license")
	time.Sleep(2500 * time.Millisecond) // more than the page's poll: nothing to pick up yet
	if code := still(a.QR); code != "VALID_STATIC" {
		t.Fatalf("revoked, not synced: %s", code)
	}
	if r := v("sync"); r.code != 0 {
		t.Fatalf("sync: %+v", r)
	}
	waitCode(t, "page after another process synced", still, a.QR, "REVOKED")

	// A page that syncs every second, by itself.
	busy, busyAPI, busyErr := startServe(t, e.bin, e.store, "--sync-every", "1s")
	if code := busy(b.QR); code != "VALID_STATIC" {
		t.Fatalf("before: %s", code)
	}
	e.revoke(b, "business-license")
	waitCode(t, "page with --sync-every 1s", busy, b.QR, "REVOKED")
	// Its sync is the other page's "another process".
	waitCode(t, "the other page", still, b.QR, "REVOKED")
	if !strings.Contains(busyErr.String(), "synced from "+s.URL) {
		t.Errorf("the scheduled sync was not logged:\n%s", busyErr.String())
	}
	checkPagesStatus(t, s.URL, busyAPI, stillAPI)
	if r := v("log", "verify"); r.code != 0 {
		t.Fatalf("log verify: %+v", r)
	}
}

// presentOnBoth shows one presentation to two front ends: check accepts
// it, the page calls it a replay; and the other way round.
func (e *verifyE2E) presentOnBoth(page func(string) string, h *qr.Holding, dev *gm.PrivateKey) {
	t := e.t
	p, err := h.Present(dev, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := e.v("", "check", p); r.code != 0 || r.first() != "VALID" {
		t.Fatalf("check: %+v", r)
	}
	if code := page(p); code != "REPLAYED" {
		t.Fatalf("page after check: %s", code)
	}
	p2, _ := h.Present(dev, time.Now().Add(time.Second))
	if code := page(p2); code != "VALID" {
		t.Fatalf("page: %s", code)
	}
	if r := e.v("", "check", p2); r.code != 1 || r.first() != "REPLAYED" {
		t.Fatalf("check after page: %+v", r)
	}
}

// checkPagesStatus checks the pages' trust data line (where from, which
// bundle, the schedule) on the busy page (--sync-every 1s) and the quiet
// one (never by itself), then 立即同步 on the quiet page.
func checkPagesStatus(t *testing.T, from string, busyAPI, stillAPI func(method, path string, out any)) {
	t.Helper()
	var st counter.StatusAnswer
	busyAPI("GET", "/api/status", &st)
	if st.From != from || st.BundleSeq == 0 || st.NextSync.IsZero() || st.LastAttempt.IsZero() || st.LastError != "" || !st.CanSync ||
		st.NextSync.Sub(st.LastAttempt) > 2*time.Second {
		t.Errorf("busy page status: %+v", st)
	}
	var quiet counter.StatusAnswer
	stillAPI("GET", "/api/status", &quiet)
	if quiet.BundleSeq != st.BundleSeq && quiet.BundleSeq+1 != st.BundleSeq || !quiet.NextSync.IsZero() || !quiet.SyncedAt.After(time.Now().Add(-time.Minute)) {
		t.Errorf("quiet page status: %+v (busy: %+v)", quiet, st)
	}
	var ans counter.SyncAnswer
	stillAPI("POST", "/api/sync", &ans)
	if !ans.OK || ans.Status == nil || ans.Status.LastAttempt.IsZero() || ans.Status.LastError != "" {
		t.Errorf("sync now: %+v", ans)
	}
}
