package wallet_test

import (
	"context"
	"elicense/internal/browsertest"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/internal/issuertest"
	"elicense/issuer/wallet"
	"elicense/verifier"
	vstore "elicense/verifier/store"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

func TestMain(m *testing.M) {
	code := m.Run()
	issuertest.Cleanup()
	os.Exit(code)
}

// TestHandler checks the handler without a browser: assets, headers, and
// the wasm answer (the module or, when not generated, a JSON 404).
func TestHandler(t *testing.T) {
	srv := httptest.NewServer(http.StripPrefix("/wallet", wallet.Handler()))
	defer srv.Close()
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/wallet/", "text/html; charset=utf-8", `<script src="app.js"`},
		{"/wallet/app.js", "text/javascript; charset=utf-8", "'use strict'"},
		{"/wallet/app.css", "text/css; charset=utf-8", ":root"},
		{"/wallet/wasm_exec.js", "text/javascript; charset=utf-8", "globalThis.Go"},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ctype || !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s = %d %q, want 200 %q with %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.ctype, tc.contains)
		}
		checkHeaders(t, tc.path, resp.Header)
	}
	resp, err := http.Get(srv.URL + "/wallet/wallet.wasm")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if wallet.HasWasm() {
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/wasm" || string(body[:4]) != "\x00asm" {
			t.Errorf("GET wallet.wasm = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	} else {
		var msg struct{ Message string }
		if resp.StatusCode != 404 || json.Unmarshal(body, &msg) != nil || !strings.Contains(msg.Message, "go generate ./issuer/wallet") {
			t.Errorf("GET wallet.wasm without the module = %d %s", resp.StatusCode, body)
		}
	}
	for _, p := range []string{"/wallet/nope", "/wallet/../go.mod", "/wallet/assets/app.js"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("POST", srv.URL+"/wallet/", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST = %d, want 405", resp.StatusCode)
	}
}

func checkHeaders(t *testing.T, path string, h http.Header) {
	t.Helper()
	for k, want := range map[string]string{
		"Cache-Control":           "no-cache",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": wallet.ContentSecurityPolicy,
	} {
		if h.Get(k) != want {
			t.Errorf("GET %s: %s = %q, want %q", path, k, h.Get(k), want)
		}
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "'wasm-unsafe-eval'") || strings.Contains(h.Get("Content-Security-Policy"), "'unsafe-eval'") {
		t.Errorf("CSP %q", h.Get("Content-Security-Policy"))
	}
}

var (
	wasmOnce sync.Once
	wasmErr  error
)

// buildWasm is go generate ./issuer/wallet: it builds the SDK to
// assets/wallet.wasm, where the issuer binary (built afterwards by
// issuertest) embeds it.
func buildWasm() error {
	wasmOnce.Do(func() {
		// Built under a dot name (which go:embed leaves out) and renamed,
		// so that an issuer built meanwhile by another package's tests
		// (cmd/elicense's journey) never embeds half a file.
		tmp := filepath.Join("assets", fmt.Sprintf(".wallet.wasm.%d", os.Getpid()))
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s", "-o", tmp, "../../mobile-sdk/wasm")
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			os.Remove(tmp)
			wasmErr = fmt.Errorf("building wallet.wasm: %v\n%s", err, out)
			return
		}
		if err := os.Rename(tmp, filepath.Join("assets", "wallet.wasm")); err != nil {
			wasmErr = err
		}
	})
	return wasmErr
}

// TestBrowser is the holder's story in headless Chromium against the real
// issuer: open the wallet, claim a licence with its code, show it, read
// the QR, and have the counter's verifier (synced from the issuer) accept
// it now and reject it 61 s later; then tick an optional field and move
// the page's clock, and see the QR change.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm and starts the issuer")
	}
	// The build (minutes from a cold cache) comes before the browser,
	// whose tab lives two minutes.
	start := time.Now()
	if err := buildWasm(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wallet.wasm built after %v", time.Since(start).Round(time.Millisecond))
	tab := browsertest.Open(t, 412, 915)
	s := issuertest.Start(t)
	t.Logf("issuer up after %v", time.Since(start).Round(time.Millisecond))
	w := &walletSession{s: s, issued: s.Issue(t, "business-license"), sample: issuertest.Sample(t, "business-license")}
	checkServedWasm(t, s)

	if _, err := chromedp.Call(tab, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 412, Height: 915, DeviceScaleFactor: 2, Mobile: true}); err != nil {
		t.Fatal(err)
	}
	w.b = &browsertest.Tab{T: t, Ctx: tab, Timeout: 15 * time.Second, Status: "#status"}

	// Every uncaught exception, console.error and security (CSP) report
	// is a failure.
	console := browsertest.WatchConsole(tab, false)

	w.openAndClaim(t, start)
	w.showQR(t)
	w.licenceFile(t)
	w.counter(t)
	w.optionalField(t)
	w.clockAhead(t)
	w.staleStatus(t)
	w.reload(t)
	w.revoked(t)
	w.revokedList(t)

	console.Check(t)
	t.Logf("done after %v", time.Since(start).Round(time.Millisecond))
}

// checkServedWasm: the issuer serves the module it embedded.
func checkServedWasm(t *testing.T, s *issuertest.Server) {
	t.Helper()
	resp, err := http.Get(s.URL + "/wallet/wallet.wasm")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/wasm" {
		t.Fatalf("issuer GET /wallet/wallet.wasm = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	checkHeaders(t, "/wallet/wallet.wasm", resp.Header)
}

// walletSession is the state TestBrowser's steps share: the tab, the
// issuer and its licence, the QR the page showed and the counter's cache.
type walletSession struct {
	b      *browsertest.Tab
	s      *issuertest.Server
	issued issuertest.Issued
	sample map[string]string

	text        string // the first QR's text
	presentedAt string // its data-presented-at, in Unix seconds
	at          int64  // presentedAt parsed
	cache       *vstore.Cache
}

// qrText is the text of the QR the page shows.
func (w *walletSession) qrText() string {
	return browsertest.Eval[string](w.b, `document.getElementById('qr').dataset.text`)
}

// screenshot saves the whole page as name, for review.
func (w *walletSession) screenshot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(w.b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	browsertest.SaveScreenshot(t, name, png)
}

// openAndClaim opens a new wallet and claims the licence with its code;
// the claim pins the issuer's root and reads the signed status.
func (w *walletSession) openAndClaim(t *testing.T, start time.Time) {
	t.Helper()
	b := w.b
	b.Do(chromedp.Navigate(w.s.URL + "/wallet/"))
	b.WaitFor("the wasm to load", `document.body.dataset.ready !== '0' && !!document.getElementById('unlock').offsetParent`)
	t.Logf("wallet loaded after %v", time.Since(start).Round(time.Millisecond))
	b.Set("#pass", "correct horse 42")
	b.Click("#open-btn")
	b.WaitFor("the wallet to open", `!!document.getElementById('home').offsetParent`)
	if server := browsertest.Eval[string](b, `document.getElementById('server').value`); server != w.s.URL {
		t.Errorf("default issuer address %q, want the page's origin %q", server, w.s.URL)
	}
	b.Click("#claim-toggle")
	b.Set("#code", w.issued.ClaimCode)
	b.Click("#claim-btn")
	b.WaitFor("the licence card", `!!document.querySelector('#cards .licence')`)
	cardText := b.Text("#cards .licence")
	if !strings.Contains(cardText, "营业执照") || !strings.Contains(cardText, w.sample["name"]) || !strings.Contains(cardText, "有效期") {
		t.Errorf("licence card %q; status %q", cardText, b.Text("#status"))
	}
	// The claim pinned the issuer's root and read the signed status.
	if st, when := browsertest.Eval[string](b, `document.querySelector('#cards .licence .lic-status').dataset.status`), b.Text("#cards .licence .st-when"); st != "valid" || when != "状态更新于 刚刚" {
		t.Errorf("card status %q, %q; want valid, 状态更新于 刚刚", st, when)
	}
}

// showQR opens the licence: its face shows the status and a QR rendered
// at whole device pixels with a countdown.
func (w *walletSession) showQR(t *testing.T) {
	t.Helper()
	b := w.b
	b.Click("#cards .licence")
	b.WaitFor("the QR", `(document.getElementById('qr').dataset.text || '').startsWith('EL2:') && document.getElementById('qr').complete`)
	if got := b.Text("#face-status"); !strings.Contains(got, "有效") || !strings.Contains(got, "状态更新于") {
		t.Errorf("status under the face %q", got)
	}
	if b.Visible("#stale-note") || b.Visible("#refusal") {
		t.Error("a fresh valid licence shows a stale note or a refusal")
	}
	w.text = w.qrText()
	w.presentedAt = browsertest.Eval[string](b, `document.getElementById('qr').dataset.presentedAt`)
	if hidden := b.Text("#qr-text"); hidden != w.text {
		t.Errorf("#qr-text %q differs from data-text %q", hidden, w.text)
	}
	geom := browsertest.Eval[map[string]float64](b, `({natural: document.getElementById('qr').naturalWidth, shown: document.getElementById('qr').width,
		count: +document.getElementById('count').textContent, dpr: devicePixelRatio})`)
	if geom["natural"] == 0 || geom["count"] < 25 || geom["count"] > 30 || geom["natural"] != geom["shown"]*geom["dpr"] {
		t.Errorf("QR image %v: want a rendered PNG shown at whole device pixels and a countdown near 30", geom)
	}
	// A clean screenshot, for review.
	b.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById('status').hidden = true`))
	w.screenshot(t, "wallet.png")
}

// counter: a trust store synced from the issuer accepts the QR, without
// the optional field, for as long as it should and no longer.
func (w *walletSession) counter(t *testing.T) {
	t.Helper()
	vs, err := vstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vs.AddRoot(w.s.RootPEM(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := vs.Sync(context.Background(), w.s.URL, vstore.SyncOptions{}); err != nil {
		t.Fatalf("sync: %v", err)
	}
	now := time.Now()
	w.cache, err = vs.Load(now)
	if err != nil {
		t.Fatal(err)
	}
	w.at, err = strconv.ParseInt(w.presentedAt, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if v := verifier.New(w.cache.State(), verifier.Options{}).Verify(w.text, now); v.Code != verifier.Valid {
		t.Fatalf("counter verdict %s (%s), want VALID", v.Code, v.Detail)
	} else if v.Licence == nil || v.Licence.HolderName != w.sample["name"] {
		t.Errorf("verdict licence %+v", v.Licence)
	} else if _, shown := v.Fields["domicile"]; shown {
		t.Errorf("the default presentation disclosed domicile: %v", v.Fields)
	}
	// The counter accepts a presentation for 60 s (qr.DefaultMaxAge) plus
	// its clock-skew allowance (qr.DefaultClockSkew, 30 s) between phone
	// and counter clocks. Here both clocks are this machine's, so a
	// counter allowing 1 ms of skew sees the 60 s window exactly; one with
	// the default allowance rejects the QR after 90 s.
	made := time.Unix(w.at, 0)
	synced := verifier.Options{ClockSkew: time.Millisecond}
	for _, tc := range []struct {
		name  string
		opts  verifier.Options
		after time.Duration
		want  verifier.Code
	}{
		{"59 s", synced, 59 * time.Second, verifier.Valid},
		{"61 s", synced, 61 * time.Second, verifier.PresentationExpired},
		{"89 s, default skew", verifier.Options{}, 89 * time.Second, verifier.Valid},
		{"91 s, default skew", verifier.Options{}, 91 * time.Second, verifier.PresentationExpired},
	} {
		if v := verifier.New(w.cache.State(), tc.opts).Verify(w.text, made.Add(tc.after)); v.Code != tc.want {
			t.Errorf("%s after it was made: %s (%s), want %s", tc.name, v.Code, v.Detail, tc.want)
		}
	}
}

// optionalField: ticking an optional field makes a new QR that discloses it.
func (w *walletSession) optionalField(t *testing.T) {
	t.Helper()
	w.b.Click(`#opt-list input[value="domicile"]`)
	w.b.WaitFor("a QR disclosing domicile", fmt.Sprintf(`(document.getElementById('qr').dataset.text || '') !== %s`, browsertest.Quote(w.text)))
	text2 := w.qrText()
	if v := verifier.New(w.cache.State(), verifier.Options{}).Verify(text2, time.Now()); v.Code != verifier.Valid || v.Fields["domicile"] != w.sample["domicile"] {
		t.Errorf("with domicile: %s %v", v.Code, v.Fields)
	}
}

// clockAhead injects the page's clock 2 minutes ahead: the page refreshes
// the QR on its next tick, stamped with the injected time.
func (w *walletSession) clockAhead(t *testing.T) {
	t.Helper()
	b := w.b
	shifted := w.at + 120
	b.Do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`elicenseWallet.setClock(%d)`, shifted)))
	b.WaitFor("a QR at the injected time", fmt.Sprintf(`+document.getElementById('qr').dataset.presentedAt >= %d`, shifted))
	text3 := w.qrText()
	presented3 := browsertest.Eval[float64](b, `+document.getElementById('qr').dataset.presentedAt`)
	if v := verifier.New(w.cache.State(), verifier.Options{}).Verify(text3, time.Now()); v.Code != verifier.PresentationExpired {
		t.Errorf("a QR stamped 2 min ahead, checked now: %s, want PRESENTATION_EXPIRED (from the future)", v.Code)
	}
	if v := verifier.New(w.cache.State(), verifier.Options{}).Verify(text3, time.Unix(int64(presented3), 0).Add(5*time.Second)); v.Code != verifier.Valid {
		t.Errorf("a QR stamped 2 min ahead, checked at its time: %s (%s)", v.Code, v.Detail)
	}
}

// staleStatus: a day and more later with no refresh (the page's clock
// moved, the browser offline) the licence is still presented, with a
// note saying how old the status is.
func (w *walletSession) staleStatus(t *testing.T) {
	t.Helper()
	b := w.b
	b.Do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`elicenseWallet.setClock(%d)`, w.at+25*3600)))
	b.WaitFor("the stale-status note", `!!document.getElementById('stale-note').offsetParent`)
	if note := b.Text("#stale-note"); note != "证照状态上次核实于 1 天前，其间可能已有变化。仍可出示，窗口会自行核验；联网后将自动更新。" {
		t.Errorf("stale note %q", note)
	}
	if !strings.HasPrefix(w.qrText(), "EL2:") || b.Visible("#refusal") {
		t.Error("a licence with an old status is not presented")
	}
}

// reload: the wallet (device key and licence) persists in IndexedDB, not
// localStorage; a wrong passphrase does not open it; opening it
// refreshes the status.
func (w *walletSession) reload(t *testing.T) {
	t.Helper()
	b := w.b
	b.Do(chromedp.Navigate(w.s.URL + "/wallet/"))
	b.WaitFor("the wasm to load again", `document.body.dataset.ready !== '0' && !!document.getElementById('unlock').offsetParent`)
	b.Set("#pass", "wrong horse 42")
	b.Click("#open-btn")
	b.WaitFor("a wrong passphrase refused", `document.getElementById('status').classList.contains('error') && !document.getElementById('open-btn').disabled`)
	if !browsertest.Eval[bool](b, `!!document.getElementById('unlock').offsetParent`) {
		t.Error("a wrong passphrase opened the wallet")
	}
	b.Click("#lang-btn")
	if title := b.Text("#unlock h1"); title != "Open the wallet" {
		t.Errorf("English title %q", title)
	}
	b.Click("#lang-btn")
	b.Set("#pass", "correct horse 42")
	b.Click("#open-btn")
	b.WaitFor("the stored licence", `!!document.querySelector('#cards .licence')`)
	if n := browsertest.Eval[float64](b, `Object.keys(localStorage).filter(k => k.startsWith('elicense-wallet/')).length`); n != 0 {
		t.Errorf("%v wallet files in localStorage, want them in IndexedDB", n)
	}
	// Opening the wallet refreshed the status.
	b.WaitFor("the refresh on opening", `!!document.body.dataset.refreshed`)
}

// revoked: the agency revokes the licence while the holder shows it: when
// the browser comes back online the page refreshes, takes the QR away and
// says why, in Chinese and in English.
func (w *walletSession) revoked(t *testing.T) {
	t.Helper()
	b := w.b
	b.Click("#cards .licence")
	b.WaitFor("the QR again", `(document.getElementById('qr').dataset.text || '').startsWith('EL2:')`)
	if st := w.s.Call(t, "POST", "/v1/licences/"+w.issued.ID+"/revoke", w.s.Operator(t, "business-license"), map[string]string{"reason": "吊销"}, nil); st != http.StatusOK {
		t.Fatalf("revoke: HTTP %d", st)
	}
	b.Do(chromedp.Evaluate[chromedp.Void](`window.dispatchEvent(new Event('online'))`))
	b.WaitFor("the refusal", `!!document.getElementById('refusal').offsetParent`)
	refusal := b.Text("#refusal")
	if !strings.Contains(refusal, "不能出示此证照") || !strings.Contains(refusal, "该证照已被吊销或注销，不能出示。请联系颁发机构上海市市场监督管理局。") {
		t.Errorf("refusal %q", refusal)
	}
	if b.Visible("#qr-panel") || b.Visible("#optional") || w.qrText() != "" {
		t.Error("the QR of a revoked licence is still shown")
	}
	if got := b.Text("#face-status"); !strings.Contains(got, "已吊销") {
		t.Errorf("status under the face %q", got)
	}
	b.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById('status').hidden = true`))
	w.screenshot(t, "wallet-revoked.png")
	// In English too.
	b.Click("#lang-btn")
	if got := b.Text("#refusal-msg"); !strings.HasPrefix(got, "This licence has been revoked or cancelled and cannot be presented.") {
		t.Errorf("English refusal %q", got)
	}
	b.Click("#lang-btn")
}

// revokedList: the list shows the licence revoked; a present call
// refuses it too.
func (w *walletSession) revokedList(t *testing.T) {
	t.Helper()
	b := w.b
	b.Click("#back-btn")
	b.WaitFor("the list", `!!document.getElementById('home').offsetParent`)
	if st := browsertest.Eval[string](b, `document.querySelector('#cards .licence .lic-status').dataset.status`); st != "revoked" || !strings.Contains(b.Text("#cards .licence"), "已吊销") {
		t.Errorf("card after revocation: %q %q", st, b.Text("#cards .licence"))
	}
	code, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`elicenseWallet.list().then(l => elicenseWallet.present(l[0].id, '')).then(() => 'presented', e => e.code + ': ' + e.message)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(code, "not_presentable: 该证照已被吊销或注销") {
		t.Errorf("present() of a revoked licence: %q", code)
	}
	w.screenshot(t, "wallet-list-revoked.png")
}
