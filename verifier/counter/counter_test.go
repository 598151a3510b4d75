package counter_test

import (
	"bytes"
	"context"
	"elicense/internal/browsertest"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/certs/statuslist"
	"elicense/verifier"
	"elicense/verifier/counter"
	"elicense/verifier/internal/testpki"
	vofd "elicense/verifier/ofd"

	"github.com/chromedp/chromedp"
	qrcode "github.com/skip2/go-qrcode"
)

// fixture is a verifier over the test PKI and the handler serving it on
// 127.0.0.1, with a fake trust status and sync.
type fixture struct {
	*httptest.Server
	now    time.Time // the handler's clock is now + 3 min
	static string    // a static business licence QR, disclosing the domicile
	holder string
	token  string // the page's token

	mu      sync.Mutex
	texts   []string                    // what the handler verified
	fake    map[string]verifier.Verdict // texts answered with a made-up verdict
	trust   counter.TrustStatus         // what TrustStatus reports
	syncs   int                         // SyncNow calls
	syncErr error                       // what SyncNow returns
	syncGo  chan struct{}               // when set, SyncNow waits for it
	hits    []hit                       // every /api/ request and its answer
	ofdOpts vofd.Options                // what OFDTrust returns
	ofdErr  error
}

type hit struct {
	method, path string
	status       int
}

// fixtureOptions vary the fixture.
type fixtureOptions struct {
	noTrust    bool          // no TrustStatus, no SyncNow, no OFDTrust
	ofdTimeout time.Duration // Options.OFDTimeout
}

// verified is how many times Verify was called.
func (f *fixture) verified() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.texts)
}

func (f *fixture) syncCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncs
}

func (f *fixture) apiHits() []hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.hits)
}

// clock is the handler's clock.
func (f *fixture) clock() time.Time { return f.now.Add(3 * time.Minute) }

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, fixtureOptions{}) }

func newFixtureWith(t *testing.T, fo fixtureOptions) *fixture {
	t.Helper()
	now := time.Now().Truncate(time.Second)
	w := must(testpki.New(now))
	bundle := must(w.Bundle(1, now.Add(-time.Hour)))
	st := verifier.State{Bundle: bundle, Lists: map[string]*statuslist.Signed{}}
	for id, sl := range w.Lists {
		st.Lists[id] = &statuslist.Signed{Meta: statuslist.Meta{URI: sl.URI, Version: sl.Version, IssuedAt: sl.IssuedAt, ExpiresAt: sl.ExpiresAt}, List: sl.List}
	}
	v := verifier.New(st, verifier.Options{})
	l := must(w.Issue(w.Market, "business-license", "amr-1", 1, false, nil))
	f := &fixture{now: now, static: must(l.Holding.Static("domicile")), fake: map[string]verifier.Verdict{}}
	f.holder = testpki.Samples()["business-license"]["name"]
	if vd := v.Verify(f.static, now); vd.Code != verifier.ValidStatic || vd.Licence.HolderName != f.holder {
		t.Fatalf("fixture licence: %s %s %+v", vd.Code, vd.Detail, vd.Licence)
	}
	// Synced 5 min 10 s before the handler's clock, next sync due in 3 min 30 s.
	f.trust = counter.TrustStatus{SyncedAt: f.clock().Add(-5*time.Minute - 10*time.Second), From: "https://trust.example.gov.cn/",
		BundleSeq: 1, NextSync: f.clock().Add(3*time.Minute + 30*time.Second), LastAttempt: f.clock().Add(-5*time.Minute - 10*time.Second)}
	opts := counter.Options{
		Verify: func(text string, at time.Time) verifier.Verdict {
			f.mu.Lock()
			f.texts = append(f.texts, text)
			vd, ok := f.fake[text]
			f.mu.Unlock()
			if ok {
				return vd
			}
			return v.Verify(text, at)
		},
		Now:        f.clock,
		OFDTimeout: fo.ofdTimeout,
	}
	if !fo.noTrust {
		opts.TrustStatus = func() counter.TrustStatus {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.trust
		}
		opts.SyncNow = func(ctx context.Context) error {
			f.mu.Lock()
			f.syncs++
			wait := f.syncGo
			f.mu.Unlock()
			if wait != nil {
				select {
				case <-wait:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			f.trust.LastAttempt = f.clock()
			if f.syncErr != nil {
				f.trust.LastError = f.syncErr.Error()
				return f.syncErr
			}
			f.trust.LastError, f.trust.SyncedAt, f.trust.BundleSeq = "", f.clock(), f.trust.BundleSeq+1
			return nil
		}
		opts.OFDTrust = func() (vofd.Options, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.ofdOpts, f.ofdErr
		}
	}
	h := counter.New(opts)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if strings.HasPrefix(r.URL.Path, "/api/") {
			f.mu.Lock()
			f.hits = append(f.hits, hit{r.Method, r.URL.Path, rec.status})
			f.mu.Unlock()
		}
	}))
	srv.Listener.Close()
	srv.Listener = must(net.Listen("tcp", "127.0.0.1:0"))
	srv.Start()
	t.Cleanup(srv.Close)
	f.Server = srv
	f.token = pageToken(t, f.URL)
	return f
}

var tokenMeta = regexp.MustCompile(`<meta name="counter-token" content="([A-Za-z0-9_-]{43})">`)

// pageToken reads the token from the page, as a program other than a
// browser does.
func pageToken(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	m := tokenMeta.FindSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("GET /: %d, no token in %.300s", resp.StatusCode, page)
	}
	return string(m[1])
}

// post sends body and decodes the JSON answer.
func (f *fixture) post(t *testing.T, path, ctype string, body []byte, out any) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set(counter.TokenHeader, f.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("POST %s: Content-Type %q", path, ct)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("POST %s: %v in %s", path, err, data)
	}
	return resp.StatusCode, resp.Header
}

// render draws text as a QR code, whole pixels per module, quiet zone included.
func render(t *testing.T, text string, px int) []byte {
	t.Helper()
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	bm := q.Bitmap()
	n := len(bm)
	img := image.NewGray(image.Rect(0, 0, n*px, n*px))
	for y := range n * px {
		for x := range n * px {
			c := uint8(255)
			if bm[y/px][x/px] {
				c = 0
			}
			img.Pix[y*img.Stride+x] = c
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAPI(t *testing.T) {
	f := newFixture(t)
	t.Run("check", func(t *testing.T) { testAPICheck(t, f) })
	t.Run("image", func(t *testing.T) { testAPIImage(t, f) })
	t.Run("bad requests", func(t *testing.T) { testAPIBadRequests(t, f) })
	t.Run("page", func(t *testing.T) { testAPIPage(t, f) })
}

// testAPICheck posts a static QR's text and checks the answer and its
// headers.
func testAPICheck(t *testing.T, f *fixture) {
	var res counter.Result
	body, _ := json.Marshal(map[string]string{"text": f.static})
	st, h := f.post(t, "/api/check", "application/json", body, &res)
	if st != 200 || res.Code != verifier.ValidStatic || res.Colour != "amber" || !res.OK || res.Licence.HolderName != f.holder ||
		res.Licence.ClassName != "营业执照" || res.Agency == "" || res.StatusAgeSeconds != int64((time.Hour+3*time.Minute)/time.Second) {
		t.Fatalf("check = %d %+v", st, res)
	}
	if len(res.Fields) == 0 || res.Fields[0].Label == res.Fields[0].Key {
		t.Errorf("fields without labels: %+v", res.Fields)
	}
	for k, want := range map[string]string{"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", "Content-Security-Policy": counter.ContentSecurityPolicy} {
		if h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want)
		}
	}
}

// testAPIImage posts a QR image, multipart and raw, and a foreign QR.
func testAPIImage(t *testing.T, f *fixture) {
	pngData := render(t, f.static, 4)
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("image", "qr.png")
	fw.Write(pngData)
	mw.Close()
	var res counter.Result
	if st, _ := f.post(t, "/api/image", mw.FormDataContentType(), mp.Bytes(), &res); st != 200 || res.Code != verifier.ValidStatic || res.Licence.HolderName != f.holder {
		t.Fatalf("image (multipart) = %d %+v", st, res)
	}
	res = counter.Result{}
	if st, _ := f.post(t, "/api/image", "image/png", pngData, &res); st != 200 || res.Code != verifier.ValidStatic {
		t.Fatalf("image (raw) = %d %+v", st, res)
	}
	res = counter.Result{}
	if st, _ := f.post(t, "/api/image", "image/png", render(t, "hello", 6), &res); st != 200 || res.Code != verifier.Malformed || res.Colour != "red" {
		t.Fatalf("image of a foreign QR = %d %+v", st, res)
	}
}

// testAPIBadRequests checks that bad requests get a 4xx with {code,
// message}, never a 500.
func testAPIBadRequests(t *testing.T, f *fixture) {
	blank := image.NewGray(image.Rect(0, 0, 200, 200))
	for i := range blank.Pix {
		blank.Pix[i] = 255
	}
	var blankPNG bytes.Buffer
	png.Encode(&blankPNG, blank)
	for _, tc := range []struct {
		name, path, ctype string
		body              []byte
		status            int
		code              string
	}{
		{"not JSON", "/api/check", "application/json", []byte("{"), 400, "BAD_REQUEST"},
		{"no text", "/api/check", "application/json", []byte(`{}`), 400, "BAD_REQUEST"},
		{"unknown key", "/api/check", "application/json", []byte(`{"text":"x","y":1}`), 400, "BAD_REQUEST"},
		{"empty text", "/api/check", "application/json", []byte(`{"text":"  "}`), 400, "EMPTY"},
		{"text too long", "/api/check", "application/json", []byte(`{"text":"` + strings.Repeat("A", 9000) + `"}`), 413, "TOO_LARGE"},
		{"form body", "/api/check", "text/plain", []byte("EL1:"), 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"image too large", "/api/image", "image/png", make([]byte, counter.MaxImage+1), 413, "TOO_LARGE"},
		{"not an image", "/api/image", "image/jpeg", []byte("hello"), 422, "BAD_IMAGE"},
		{"no QR", "/api/image", "image/png", blankPNG.Bytes(), 422, "NO_QR"},
		{"empty image", "/api/image", "application/octet-stream", nil, 400, "NO_IMAGE"},
		{"multipart without image", "/api/image", "multipart/form-data; boundary=x", []byte("--x--\r\n"), 400, "NO_IMAGE"},
		{"json to image", "/api/image", "application/json", []byte(`{}`), 415, "UNSUPPORTED_MEDIA_TYPE"},
	} {
		var e counter.Error
		if st, _ := f.post(t, tc.path, tc.ctype, tc.body, &e); st != tc.status || e.Code != tc.code || e.Message == "" {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, st, e, tc.status, tc.code)
		}
	}
	resp, err := http.Get(f.URL + "/api/check")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET /api/check = %d", resp.StatusCode)
	}
}

// testAPIPage fetches the page and its assets.
func testAPIPage(t *testing.T, f *fixture) {
	for path, ctype := range map[string]string{"/": "text/html; charset=utf-8", "/app.js": "text/javascript; charset=utf-8", "/app.css": "text/css; charset=utf-8", "/icon.svg": "image/svg+xml"} {
		resp, err := http.Get(f.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ctype || resp.Header.Get("Content-Security-Policy") != counter.ContentSecurityPolicy {
			t.Errorf("GET %s = %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	resp, err := http.Get(f.URL + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET /nothing = %d", resp.StatusCode)
	}
}

// TestNoExternalURLs checks the assets load nothing from another origin:
// the counter may be offline.
func TestNoExternalURLs(t *testing.T) {
	external := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*["']?\s*(https?:)?//|url\(\s*["']?\s*(https?:)?//|@import|fetch\(\s*["'` + "`" + `]https?:`)
	for _, name := range []string{"index.html", "app.js", "app.css", "icon.svg"} {
		data, err := os.ReadFile(filepath.Join("assets", name))
		if err != nil {
			t.Fatal(err)
		}
		if m := external.Find(data); m != nil {
			t.Errorf("%s refers to another origin: %s", name, m)
		}
		if strings.Contains(string(data), "innerHTML") {
			t.Errorf("%s uses innerHTML", name)
		}
	}
}

// TestCounterInBrowser drives the page in a real headless Chromium: a
// wedge scanner's static QR, garbage, the language toggle, the trust data
// line and its 立即同步 button, a page token gone stale. The steps run in
// one page, each on the state the one before left.
func TestCounterInBrowser(t *testing.T) {
	ctx := browsertest.Open(t, 1280, 900)
	p := &counterPage{
		t:   t,
		ctx: ctx,
		tab: &browsertest.Tab{T: t, Ctx: ctx, Timeout: 15 * time.Second},
		f:   newFixture(t),
	}
	console := browsertest.WatchConsole(ctx, true)
	p.open()
	p.scanStatic()
	p.english()
	p.scanGarbage()
	p.syncFails()
	p.syncSucceeds()
	p.staleToken()
	console.Check(t)
}

// counterPage is the counter page open in a browser tab over a fixture.
type counterPage struct {
	t   *testing.T
	ctx context.Context
	tab *browsertest.Tab
	f   *fixture
}

// scanFocused is true when the scan input has the focus, as a wedge
// scanner needs.
const scanFocused = `document.activeElement === document.getElementById('scan-input')`

func (p *counterPage) text(id string) string {
	p.t.Helper()
	return p.tab.Text("#" + id)
}

func (p *counterPage) screenshot(name string) {
	p.t.Helper()
	shot, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatal(err)
	}
	browsertest.SaveScreenshot(p.t, name, shot)
}

// open loads the page and checks the trust data line.
func (p *counterPage) open() {
	t, tab := p.t, p.tab
	tab.Do(chromedp.Navigate(p.f.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#scan-input")))
	tab.WaitFor("the focused scan input", scanFocused)
	tab.WaitFor("the trust data line", `document.getElementById('t-synced').textContent !== ''`)
	if got := p.text("t-synced"); got != "上次同步 5 分钟前" {
		t.Errorf("synced shown %q", got)
	}
	if got := p.text("t-next"); got != "下次同步 3 分钟后" {
		t.Errorf("next sync shown %q", got)
	}
	if !tab.Visible("#sync-btn") || tab.Visible("#t-banner") || tab.Visible("#t-result") {
		t.Errorf("trust line: button %v, banner %v, result %v", tab.Visible("#sync-btn"), tab.Visible("#t-banner"), tab.Visible("#t-result"))
	}
}

// scanStatic types a static QR's text and Enter, as a keyboard-wedge
// scanner does, and checks the amber verdict.
func (p *counterPage) scanStatic() {
	t, tab, f := p.t, p.tab, p.f
	tab.Do(chromedp.SendKeys(chromedp.CSS("#scan-input"), f.static+"\r"))
	tab.WaitFor("the amber verdict", `document.getElementById('panel').dataset.colour === 'amber'`)
	for id, want := range map[string]string{"v-headline": "有效（静态码）", "v-code": "VALID_STATIC", "v-class": "营业执照", "v-status": "状态数据 1 小时前更新"} {
		if got := p.text(id); got != want {
			t.Errorf("#%s shown %q, want %q", id, got, want)
		}
	}
	for id, want := range map[string]string{"v-message": "请核对持证人身份证件", "v-holder": f.holder, "v-agency": "市场监督管理局", "v-fields": "住所"} {
		if got := p.text(id); !strings.Contains(got, want) {
			t.Errorf("#%s shown %q, want it to contain %q", id, got, want)
		}
	}
	if got := browsertest.Eval[string](tab, `document.getElementById('scan-input').value`); got != "" {
		t.Errorf("the input was not cleared: %q", got)
	}
	tab.WaitFor("the input refocused", scanFocused)
	f.mu.Lock()
	if len(f.texts) != 1 || f.texts[0] != f.static {
		t.Errorf("the handler verified %q", f.texts)
	}
	f.mu.Unlock()
	p.screenshot("counter.png")
}

// english toggles the language to English and back.
func (p *counterPage) english() {
	t, tab := p.t, p.tab
	tab.Click("#lang-btn")
	if got := p.text("v-message"); !strings.HasPrefix(got, "Valid static QR") {
		t.Errorf("English message %q", got)
	}
	if got := p.text("v-status"); got != "Status data updated 1 h ago" {
		t.Errorf("English status age %q", got)
	}
	if got := p.text("t-synced"); got != "synced 5 min ago" {
		t.Errorf("English synced %q", got)
	}
	tab.WaitFor("the input refocused after the toggle", scanFocused)
	tab.Click("#lang-btn")
}

// scanGarbage scans text that is no QR of ours: red MALFORMED.
func (p *counterPage) scanGarbage() {
	t, tab := p.t, p.tab
	tab.Do(chromedp.SendKeys(chromedp.CSS("#scan-input"), "HELLO-WORLD\r"))
	tab.WaitFor("the red verdict", `document.getElementById('v-code').textContent === 'MALFORMED'`)
	if got := browsertest.Eval[string](tab, `document.getElementById('panel').dataset.colour`); got != "red" {
		t.Errorf("colour %q for MALFORMED", got)
	}
	if got := p.text("v-headline"); got != "无法识别" {
		t.Errorf("headline %q", got)
	}
	if got := p.text("v-message"); got != verifier.Malformed.Message() {
		t.Errorf("message %q", got)
	}
	if tab.Visible("#v-body") {
		t.Error("licence details still shown for a malformed QR")
	}
	tab.WaitFor("the input refocused", scanFocused)
	p.screenshot("counter-red.png")
}

// syncFails presses 立即同步 with the sync failing: the button is
// disabled while it runs, the reason is shown, and the last good data
// keeps working.
func (p *counterPage) syncFails() {
	t, tab, f := p.t, p.tab, p.f
	gate := make(chan struct{})
	f.mu.Lock()
	f.syncErr, f.syncGo = errors.New("trust server: connection refused"), gate
	f.mu.Unlock()
	tab.Click("#sync-btn")
	tab.WaitFor("the button disabled while syncing", `document.getElementById('sync-btn').disabled && document.getElementById('sync-btn').textContent === '同步中…'`)
	for deadline := time.Now().Add(10 * time.Second); f.syncCalls() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("SyncNow was not called")
		}
	}
	if !browsertest.Eval[bool](tab, `document.getElementById('sync-btn').disabled`) {
		t.Error("the button is enabled while the sync runs")
	}
	close(gate)
	tab.WaitFor("the failure shown", `!document.getElementById('t-banner').hidden && !document.getElementById('sync-btn').disabled`)
	if tab.Visible("#t-result") {
		t.Errorf("the failure is said twice: %q", p.text("t-result"))
	}
	if got := p.text("t-banner"); got != "同步失败：trust server: connection refused正在使用上次成功同步的数据（5 分钟前）" {
		t.Errorf("banner %q", got)
	}
	if got := browsertest.Eval[string](tab, `document.getElementById('t-banner').dataset.level`); got != "amber" {
		t.Errorf("banner level %q", got)
	}
	if n := f.syncCalls(); n != 1 {
		t.Errorf("SyncNow called %d times", n)
	}
	tab.Do(chromedp.SendKeys(chromedp.CSS("#scan-input"), f.static+"\r"))
	tab.WaitFor("the amber verdict on the last good data", `document.getElementById('v-code').textContent === 'VALID_STATIC'`)
	p.screenshot("counter-sync-failed.png")
}

// syncSucceeds presses 立即同步 with the sync working: the banner goes.
func (p *counterPage) syncSucceeds() {
	t, tab, f := p.t, p.tab, p.f
	f.mu.Lock()
	f.syncErr, f.syncGo = nil, nil
	f.mu.Unlock()
	tab.Click("#sync-btn")
	tab.WaitFor("the success shown", `document.getElementById('t-result').textContent === '同步成功'`)
	if tab.Visible("#t-banner") {
		t.Errorf("banner still shown: %q", p.text("t-banner"))
	}
	if got := p.text("t-synced"); got != "上次同步 刚刚" {
		t.Errorf("synced shown %q", got)
	}
}

// staleToken is a counter restarted while the page stayed open: the
// page's token is stale, the page fetches the new one and the scan goes
// through once.
func (p *counterPage) staleToken() {
	t, tab, f := p.t, p.tab, p.f
	before := f.verified()
	tab.Do(chromedp.Evaluate[chromedp.Void](`document.querySelector('meta[name="counter-token"]').content = 'stale'`))
	tab.Do(chromedp.SendKeys(chromedp.CSS("#scan-input"), "HELLO-AGAIN\r"))
	tab.WaitFor("the verdict after a token refresh", `document.getElementById('v-message').textContent === `+browsertest.Quote(verifier.Malformed.Message())+` && document.querySelector('meta[name="counter-token"]').content !== 'stale'`)
	if n := f.verified(); n != before+1 {
		t.Errorf("verified %d times after a stale token, want once", n-before)
	}
	var refused, admitted bool
	for _, h := range f.apiHits() {
		if h.path == "/api/check" && h.status == 403 {
			refused = true
		}
		if h.path == "/api/check" && h.status == 200 && refused {
			admitted = true
		}
	}
	if !refused || !admitted {
		t.Errorf("stale token: refused %v, then admitted %v", refused, admitted)
	}
}
