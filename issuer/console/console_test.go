package console_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/internal/browsertest"
	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/issuer/api"
	"elicense/issuer/console"
	"elicense/issuer/pki"
	"elicense/issuer/service"
	"elicense/issuer/state"
	"elicense/issuer/state/statetest"

	"github.com/chromedp/chromedp"
)

// memStatus hands out status-list positions in memory.
type memStatus struct {
	mu   sync.Mutex
	next uint64
}

func (m *memStatus) Allocate(string) (string, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	return "t1", m.next, nil
}
func (m *memStatus) Set(string, uint64, state.Status) error { return nil }
func (m *memStatus) Release(string, uint64)                 {}
func (m *memStatus) URI(list string) string                 { return "http://127.0.0.1/v1/status/" + list }

// testServer is the real issuer API with the console mounted, on
// 127.0.0.1, over a fresh development PKI, store and ledger.
type testServer struct {
	*httptest.Server
	pki    *pki.PKI
	store  state.Store
	ledger *ledger.Log[state.Tx]
	tokens *api.Tokens
	// tamper, when set, alters the first inclusion proof of every
	// history answer (a test that the page checks proofs itself).
	tamper *atomic.Bool
}

// tamperHistory serves h, but with the first proof hash of a history
// answer changed while tamper is set.
func tamperHistory(h http.Handler, tamper *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tamper.Load() || !strings.HasSuffix(r.URL.Path, "/history") {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var body map[string]any
		if json.Unmarshal(rec.Body.Bytes(), &body) == nil {
			for _, e := range body["events"].([]any) {
				if p, _ := e.(map[string]any)["proof"].([]any); len(p) > 0 {
					p[0] = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
					break
				}
			}
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		json.NewEncoder(w).Encode(body)
	})
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	dir := t.TempDir()
	if _, err := pki.Init(pki.InitOptions{Dir: filepath.Join(dir, "pki"), Passphrase: []byte("pw"),
		Agencies: pki.DefaultAgencies(), KeyEncryption: &gm.KeyEncryption{Iterations: 1000}}); err != nil {
		t.Fatal(err)
	}
	p, err := pki.Load(filepath.Join(dir, "pki"), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := service.OpenData(statetest.Open(t, dir), ledger.Options{Origin: "test/ledger", Signer: p.Ledger.Signer})
	if err != nil {
		t.Fatal(err)
	}
	st, lg := data.Store, data.Ledger
	svc, err := service.New(service.Options{PKI: p, Store: st, Ledger: lg, Status: &memStatus{}, Audit: testAudit, Passphrase: []byte("pw")})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	key, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	tokens := api.NewTokens(key, "test", st, nil)
	tamper := new(atomic.Bool)
	srv := httptest.NewServer(tamperHistory(api.New(api.Options{Service: svc, Store: st, Ledger: lg, Tokens: tokens, Console: console.Handler()}), tamper))
	t.Cleanup(func() {
		srv.Close()
		svc.Close()
		data.Close()
	})
	return &testServer{Server: srv, pki: p, store: st, ledger: lg, tokens: tokens, tamper: tamper}
}

// call sends an API request and decodes the JSON answer into out.
func (s *testServer) call(t *testing.T, method, path, token string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

func sample(t *testing.T, class string) map[string]string {
	t.Helper()
	data, err := os.ReadFile("../../certs/catalog/testdata/samples.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Samples map[string]map[string]string `json:"samples"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if s.Samples[class] == nil {
		t.Fatalf("no sample for %s", class)
	}
	return s.Samples[class]
}

// TestHandler checks what the console serves without a browser: the
// assets, their headers, revalidation, and the API's mounting.
func TestHandler(t *testing.T) {
	s := newTestServer(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	resp, err := client.Get(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("GET / = %d to %q, want 302 to /console/", resp.StatusCode, resp.Header.Get("Location"))
	}

	for _, tc := range []struct{ path, ctype, contains string }{
		{"/console/", "text/html; charset=utf-8", `<script src="app.js"`},
		{"/console/app.js", "text/javascript; charset=utf-8", "'use strict'"},
		{"/console/app.css", "text/css; charset=utf-8", ":root"},
		{"/console/icon.svg", "image/svg+xml", "<svg"},
	} {
		resp, err := client.Get(s.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != 200 || h.Get("Content-Type") != tc.ctype || !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s = %d %q, want 200 %q with %q", tc.path, resp.StatusCode, h.Get("Content-Type"), tc.ctype, tc.contains)
		}
		for k, want := range map[string]string{
			"Cache-Control":           "no-cache",
			"X-Content-Type-Options":  "nosniff",
			"Content-Security-Policy": console.ContentSecurityPolicy,
		} {
			if h.Get(k) != want {
				t.Errorf("GET %s: %s = %q, want %q", tc.path, k, h.Get(k), want)
			}
		}
		if !strings.HasPrefix(console.ContentSecurityPolicy, "default-src 'self';") {
			t.Errorf("CSP %q does not start with default-src 'self'", console.ContentSecurityPolicy)
		}
		etag := h.Get("ETag")
		req, _ := http.NewRequest("GET", s.URL+tc.path, nil)
		req.Header.Set("If-None-Match", etag)
		resp, err = client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if etag == "" || resp.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match %s = %d, want 304", tc.path, etag, resp.StatusCode)
		}
	}

	resp, err = client.Get(s.URL + "/console/nothing.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /console/nothing.js = %d, want 404", resp.StatusCode)
	}
	rec := httptest.NewRecorder()
	console.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", rec.Code)
	}
	rec = httptest.NewRecorder()
	console.Handler().ServeHTTP(rec, httptest.NewRequest("HEAD", "/app.css", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("HEAD /app.css = %d, %d bytes, %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Type"))
	}
}

// TestNoExternalURLs checks the assets load nothing from another origin:
// the machine running the console may be offline.
func TestNoExternalURLs(t *testing.T) {
	external := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*["']?\s*(https?:)?//|url\(\s*["']?\s*(https?:)?//|@import|fetch\(\s*["'` + "`" + `]https?:|new URL\(\s*["']https?:`)
	for _, name := range []string{"index.html", "app.js", "app.css", "icon.svg"} {
		data, err := os.ReadFile(filepath.Join("assets", name))
		if err != nil {
			t.Fatal(err)
		}
		if m := external.Find(data); m != nil {
			t.Errorf("%s refers to another origin: %s", name, m)
		}
		if strings.Contains(string(data), "innerHTML") {
			t.Errorf("%s uses innerHTML; build nodes with textContent", name)
		}
	}
}

func screenshot(b *browsertest.Tab, name string) {
	b.T.Helper()
	b.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById('toast').hidden = true`)) // a passing notice
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.T.Fatalf("screenshot: %v", err)
	}
	browsertest.SaveScreenshot(b.T, name, png)
}

// fill puts a class's values in the issue form.
func fill(b *browsertest.Tab, values map[string]string) {
	b.T.Helper()
	for k, v := range values {
		b.Set("#f-"+k, v)
	}
}

// TestConsoleInBrowser drives the console in a real headless Chromium
// against the real API: login, issue, a rejected field, search, revoke,
// the ledger checkpoint, the language toggle and a session that ends. The
// steps run in one page, each on the state the one before left.
func TestConsoleInBrowser(t *testing.T) {
	tabCtx := browsertest.Open(t, 1360, 900)
	start := time.Now()
	s := newTestServer(t)
	ag, ok := s.pki.AgencyForClass("business-license")
	if !ok {
		t.Fatal("no agency issues business-license")
	}
	token, jti, err := s.tokens.Mint(service.Operator{Subject: "clerk-01", Role: service.RoleOperator, Agency: ag.Code}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := &consoleSession{t: t, b: &browsertest.Tab{T: t, Ctx: tabCtx}, s: s, agency: ag.Code, token: token}
	t.Logf("browser up after %v", time.Since(start).Round(time.Millisecond))

	// Every uncaught exception, console.error and security (CSP) report
	// is a failure. Network errors are not: the page gets 422s on purpose.
	console := browsertest.WatchConsole(tabCtx, true)

	c.login()
	c.issueForm()
	c.issue()
	c.rejectBadCode()
	c.searchAndRevoke()
	c.checkpoint()
	c.openLicence()
	c.english()
	c.sessionEnds(jti)
	c.adminIssuesAndLogsOut()

	console.Check(t)
	t.Logf("browser test took %v", time.Since(start).Round(time.Millisecond))
}

// consoleSession is the console open in a browser tab over a test server,
// with what the steps so far have done.
type consoleSession struct {
	t      *testing.T
	b      *browsertest.Tab
	s      *testServer
	agency string // the clerk's agency code
	token  string // the clerk's token

	good map[string]string // the fields of the licence issued
	id   string            // its identifier
	row  string            // the selector of its search result row
}

// licenceReply is what the steps read of GET /v1/licences/{id}.
type licenceReply struct {
	ID          string `json:"id"`
	Class       string `json:"class"`
	HolderCode  string `json:"holder_code"`
	Status      string `json:"status"`
	Reason      string `json:"reason"`
	LedgerIndex uint64 `json:"ledger_index"`
}

// licence fetches the licence id through the API.
func (c *consoleSession) licence(id string) (int, licenceReply) {
	c.t.Helper()
	var lic licenceReply
	st := c.s.call(c.t, "GET", "/v1/licences/"+url.PathEscape(id), c.token, nil, &lic)
	return st, lic
}

// login pastes the clerk's token and logs in.
func (c *consoleSession) login() {
	t, b, token := c.t, c.b, c.token
	b.Do(chromedp.Navigate(c.s.URL + "/"))
	b.Do(chromedp.WaitVisible(chromedp.CSS("#token-input")))
	if loc := browsertest.Eval[string](b, "location.pathname"); loc != "/console/" {
		t.Fatalf("GET / landed on %s, want /console/", loc)
	}
	b.Set("#token-input", "  Bearer "+token+"\n")
	b.WaitFor("the token preview", `!document.getElementById('token-preview').hidden`)
	if p := b.Text("#token-preview"); !strings.Contains(p, "clerk-01") || !strings.Contains(p, c.agency) {
		t.Errorf("token preview %q lacks the subject or agency", p)
	}
	b.Click("#login-btn")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#app-view")))
	ag, _ := c.s.pki.Agency(c.agency)
	name := ag.Name
	b.WaitFor("the agency's name", fmt.Sprintf(`document.getElementById('who-agency').textContent === %s`, browsertest.Quote(name)))
	for sel, want := range map[string]string{"#who-sub": "clerk-01", "#who-role": "经办人", "#who-agency": name} {
		if got := b.Text(sel); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	if b.Visible("#tab-parties") {
		t.Error("an operator is shown the relying parties, which only admins and auditors may read")
	}
	if got := browsertest.Eval[string](b, `sessionStorage.getItem('elicense.console.token')`); got != token {
		t.Errorf("sessionStorage holds %q, want the token", got)
	}
	if href := browsertest.Eval[string](b, "location.href"); strings.Contains(href, token[:20]) {
		t.Errorf("the token is in the URL: %s", href)
	}
}

// issueForm checks the issue form generated from the catalogue, and
// that an empty required field is caught before the server.
func (c *consoleSession) issueForm() {
	t, b := c.t, c.b
	b.WaitFor("the class list", `document.querySelector('#class-select option[value="business-license"]') !== null`)
	if opt := b.Text(`#class-select option[value="business-license"]`); !strings.Contains(opt, "营业执照") {
		t.Errorf("class option = %q, want 营业执照", opt)
	}
	// A class with an enum gets a select.
	b.Set("#class-select", "food-operation-permit")
	b.WaitFor("the food permit form", `document.getElementById('f-business_form') !== null`)
	if tag := browsertest.Eval[string](b, `document.getElementById('f-business_form').tagName`); tag != "SELECT" {
		t.Errorf("enum field business_form is a %s, want SELECT", tag)
	}
	b.Set("#class-select", "business-license")
	b.WaitFor("the business licence form", `document.getElementById('f-uscc') !== null`)
	for sel, want := range map[string]string{
		`document.getElementById('f-established').type`:                              "date",
		`document.getElementById('f-business_scope').tagName`:                        "TEXTAREA",
		`document.getElementById('f-name').type`:                                     "text",
		`String(document.getElementById('f-name').maxLength)`:                        "100",
		`String(!!document.querySelector('label[for="f-uscc"] .req'))`:               "true",
		`String(!!document.querySelector('label[for="f-registered_capital"] .req'))`: "false",
	} {
		if got := browsertest.Eval[string](b, sel); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}

	b.Click("#issue-submit")
	b.WaitFor("the required marks", `document.getElementById('err-name').textContent !== ''`)
	if got := b.Text("#err-name"); got != "必填" {
		t.Errorf("err-name = %q, want 必填", got)
	}
}

// issue fills the form with a sample business licence and issues it.
func (c *consoleSession) issue() {
	t, b := c.t, c.b
	good := sample(t, "business-license")
	c.good = good
	fill(b, good)
	// Type the code with real key events, in lower case: the page
	// upper-cases codes.
	b.Set("#f-uscc", "")
	b.Do(chromedp.SendKeys(chromedp.CSS("#f-uscc"), strings.ToLower(good["uscc"])))
	if got := browsertest.Eval[string](b, `document.getElementById('f-uscc').value`); got != strings.ToLower(good["uscc"]) {
		t.Errorf("typed uscc = %q, want %q", got, strings.ToLower(good["uscc"]))
	}
	b.Click("#issue-submit")
	b.WaitFor("the issued licence", `!document.getElementById('issue-result').hidden`)
	c.id = b.Text("#result-id")
	st, lic := c.licence(c.id)
	if st != 200 {
		t.Fatalf("GET the licence the page shows (%q) = %d", c.id, st)
	}
	if lic.ID != c.id || lic.Class != "business-license" || lic.HolderCode != good["uscc"] || lic.Status != "valid" {
		t.Errorf("issued licence = %+v", lic)
	}
	if got := b.Text("#result-ledger"); got != fmt.Sprint(lic.LedgerIndex) {
		t.Errorf("ledger index shown %q, want %d", got, lic.LedgerIndex)
	}
	if claim := b.Text("#result-claim"); len(claim) < 8 {
		t.Errorf("claim code shown %q", claim)
	}
	b.WaitFor("the QR image", `(() => { const i = document.getElementById('result-qr'); return i.src.startsWith('blob:') && i.complete && i.naturalWidth > 0; })()`)
	b.WaitFor("the checkpoint of size 1", `document.getElementById('cp-size').textContent === '1'`)
	screenshot(b, "console.png")

	// The form is cleared for the next licence.
	if v := browsertest.Eval[string](b, `document.getElementById('f-uscc').value`); v != "" {
		t.Errorf("form not cleared after issuing: uscc = %q", v)
	}
}

// rejectBadCode submits a bad 统一社会信用代码: the server's message is
// shown next to the field.
func (c *consoleSession) rejectBadCode() {
	t, b, s := c.t, c.b, c.s
	bad := maps.Clone(c.good)
	bad["uscc"] = "91310115MA1FPA014X" // wrong check character
	var apiErr struct{ Code, Message, Field string }
	if st := s.call(t, "POST", "/v1/licences", c.token, map[string]any{"class": "business-license", "fields": bad}, &apiErr); st != 422 || apiErr.Field != "uscc" {
		t.Fatalf("the API takes the bad code: %d %+v", st, apiErr)
	}
	fill(b, bad)
	b.Click("#issue-submit")
	b.WaitFor("the field error", `document.getElementById('err-uscc').textContent !== ''`)
	errText := b.Text("#err-uscc")
	if len(errText) < 10 || !strings.Contains(apiErr.Message, errText) {
		t.Errorf("error next to uscc %q is not the server's (%q)", errText, apiErr.Message)
	}
	if !browsertest.Eval[bool](b, `document.querySelector('.field[data-field="uscc"]').classList.contains('invalid')`) {
		t.Error("the uscc field is not marked invalid")
	}
	if n := browsertest.Eval[int](b, `document.querySelectorAll('#issue-form .field.invalid').length`); n != 1 {
		t.Errorf("%d fields marked invalid, want 1", n)
	}
	if b.Visible("#issue-result") {
		t.Error("the previous result is still shown after a failed submission")
	}
	if !b.Visible("#issue-error") {
		t.Error("no error banner")
	}
	var list struct {
		Licences []json.RawMessage `json:"licences"`
	}
	s.call(t, "GET", "/v1/licences", c.token, nil, &list)
	if len(list.Licences) != 1 {
		t.Fatalf("%d licences after the rejected one, want 1", len(list.Licences))
	}
}

// searchAndRevoke searches by holder code and revokes the licence with
// 吊销, after a try without a reason.
func (c *consoleSession) searchAndRevoke() {
	t, b := c.t, c.b
	b.Click("#tab-search")
	b.Set("#search-holder", c.good["uscc"])
	b.Click("#search-btn")
	row := fmt.Sprintf(`#results-body tr[data-id=%s]`, browsertest.Quote(c.id))
	c.row = row
	b.WaitFor("the result row", fmt.Sprintf(`document.querySelector(%s) !== null`, browsertest.Quote(row)))
	if n := browsertest.Eval[int](b, `document.querySelectorAll('#results-body tr').length`); n != 1 {
		t.Errorf("%d rows, want 1", n)
	}
	if st := browsertest.Eval[string](b, fmt.Sprintf(`document.querySelector(%s).dataset.status`, browsertest.Quote(row+" .status"))); st != "valid" {
		t.Errorf("row status %q, want valid", st)
	}
	b.Click(row + ` button[data-action="revoke"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#confirm-dialog")))
	if got := b.Text("#confirm-id"); got != c.id {
		t.Errorf("confirmation names %q, want %q", got, c.id)
	}
	b.Click("#confirm-ok") // no reason chosen: refused in the dialog
	b.Do(chromedp.WaitVisible(chromedp.CSS("#confirm-error")))
	if st, lic := c.licence(c.id); st != 200 || lic.Status != "valid" {
		t.Fatalf("licence changed without a reason: %d %+v", st, lic)
	}
	b.Set("#confirm-reason", "吊销")
	b.Click("#confirm-ok")
	b.WaitFor("the revoked row", fmt.Sprintf(`(document.querySelector(%s) || {dataset: {}}).dataset.status === 'revoked'`, browsertest.Quote(row+" .status")))
	if got := b.Text(row + " .status"); got != "已吊销" {
		t.Errorf("row status text %q, want 已吊销", got)
	}
	if browsertest.Eval[bool](b, `document.getElementById('confirm-dialog').open`) {
		t.Error("the confirmation is still open")
	}
	if browsertest.Eval[bool](b, fmt.Sprintf(`document.querySelector(%s) !== null`, browsertest.Quote(row+` button[data-action="revoke"]`))) {
		t.Error("a revoked licence still offers revocation")
	}
	if st, lic := c.licence(c.id); st != 200 || lic.Status != "revoked" || lic.Reason != "吊销" {
		t.Fatalf("after the page revoked it, the API says %d %+v", st, lic)
	}
}

// checkpoint checks the ledger checkpoint the page shows.
func (c *consoleSession) checkpoint() {
	t, b := c.t, c.b
	b.WaitFor("the checkpoint of size 2", `document.getElementById('cp-size').textContent === '2'`)
	cp := c.s.ledger.Checkpoint()
	if cp.Size != 2 {
		t.Fatalf("ledger checkpoint size %d, want 2", cp.Size)
	}
	lines := strings.Split(string(cp.Note), "\n")
	if got := b.Text("#cp-root"); got != lines[2] {
		t.Errorf("root shown %q, want %q", got, lines[2])
	}
	if got := b.Text("#cp-origin"); got != "test/ledger" {
		t.Errorf("origin shown %q", got)
	}
}

// openLicence opens the licence from its search result row.
func (c *consoleSession) openLicence() {
	t, b := c.t, c.b
	b.Click(c.row + ` button[data-action="open"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#detail-dialog")))
	b.WaitFor("the detail QR", `(() => { const i = document.getElementById('detail-qr'); return i.src.startsWith('blob:') && i.complete && i.naturalWidth > 0; })()`)
	if d := b.Text("#detail-fields"); !strings.Contains(d, c.good["name"]) || !strings.Contains(d, "统一社会信用代码") {
		t.Errorf("detail fields lack the name or labels: %q", d)
	}
	if d := b.Text("#detail-meta .status"); d != "已吊销" {
		t.Errorf("detail status %q", d)
	}
	b.Click("#detail-close")
	b.Do(chromedp.WaitNotVisible(chromedp.CSS("#detail-dialog")))
	screenshot(b, "console-search.png")
}

// english toggles the language to English and back.
func (c *consoleSession) english() {
	t, b := c.t, c.b
	b.Click("#lang-btn")
	if got := b.Text("#tab-search"); got != "Search & manage" {
		t.Errorf("English search tab = %q", got)
	}
	if got := b.Text(c.row + " .status"); !strings.HasPrefix(got, "Revoked") {
		t.Errorf("English status = %q", got)
	}
	b.Click("#lang-btn")
	if got := b.Text("#tab-search"); got != "查询与管理" {
		t.Errorf("Chinese search tab = %q", got)
	}
}

// sessionEnds revokes the clerk's token (jti) on the server: the next
// request ends the session.
func (c *consoleSession) sessionEnds(jti string) {
	t, b := c.t, c.b
	if err := c.s.store.RevokeToken(jti, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	b.Click("#search-btn")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if !b.Visible("#login-view") || b.Visible("#app-view") {
		t.Error("not back at the login page")
	}
	if got := browsertest.Eval[string](b, `String(sessionStorage.getItem('elicense.console.token'))`); got != "null" {
		t.Errorf("token still in sessionStorage: %q", got)
	}
}

// adminIssuesAndLogsOut logs in as an administrator, who must name the
// agency to issue, then logs out.
func (c *consoleSession) adminIssuesAndLogsOut() {
	t, b, s := c.t, c.b, c.s
	admin, _, err := s.tokens.Mint(service.Operator{Subject: "admin-01", Role: service.RoleAdmin}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b.Set("#token-input", admin)
	b.Click("#login-btn")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#app-view")))
	if got, want := b.Text("#who-role")+" "+b.Text("#who-agency"), "管理员 全部机构"; got != want {
		t.Errorf("admin shown as %q, want %q", got, want)
	}
	b.Set("#class-select", "business-license")
	b.WaitFor("the business licence form", `document.getElementById('f-uscc') !== null`)
	fill(b, c.good)
	b.Click("#issue-submit")
	b.WaitFor("the agency mark", `document.getElementById('err-agency').textContent !== ''`)
	b.WaitFor("the agency choice", fmt.Sprintf(`document.querySelector('#f--agency option[value=%s]') !== null`, browsertest.Quote(c.agency)))
	b.Set("#f--agency", c.agency)
	b.Click("#issue-submit")
	b.WaitFor("the issued licence", `!document.getElementById('issue-result').hidden`)
	var byAdmin struct {
		Agency string `json:"agency"`
	}
	if st := s.call(t, "GET", "/v1/licences/"+url.PathEscape(b.Text("#result-id")), admin, nil, &byAdmin); st != 200 || byAdmin.Agency != c.agency {
		t.Errorf("licence issued by the admin: %d, agency %q, want %s", st, byAdmin.Agency, c.agency)
	}
	b.Click("#logout-btn")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#token-input")))
	if got := browsertest.Eval[string](b, `String(sessionStorage.getItem('elicense.console.token'))`); got != "null" {
		t.Errorf("token still in sessionStorage after logout: %q", got)
	}
}

// testAudit is the tests' ledger audit key.
var testAudit = func() *ledgerevent.AuditKey {
	a, err := ledgerevent.NewAuditKey(bytes.Repeat([]byte{0xa5}, ledgerevent.AuditKeySize))
	if err != nil {
		panic(err)
	}
	return a
}()
