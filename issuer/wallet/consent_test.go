package wallet_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"elicense/internal/browsertest"
	"elicense/internal/issuertest"
	"elicense/mobile-sdk/consenttest"

	"github.com/chromedp/chromedp"
)

// TestBrowserConsent is 授权用证 in the web wallet, in headless Chromium:
// the page is served through a fake issuer (mobile-sdk/consenttest, which
// verifies every proof and consent the page's SDK sends) in front of the
// real one. The holder claims a licence, opens a service's wallet link
// (/wallet/?request=r_…), sees who asks for what and why, unticks a
// field and approves; refuses a second request; then opens the licence's
// 用证记录, every entry ticked, and revokes the grant.
func TestBrowserConsent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm and starts the issuer")
	}
	start := time.Now()
	if err := buildWasm(); err != nil {
		t.Fatal(err)
	}
	tab := browsertest.Open(t, 412, 915)
	f := consenttest.New(t)
	s := issuertest.StartWith(t, "--public-url", f.URL)
	f.Front(t, s.URL, s.Data)
	issued := s.Issue(t, "business-license")
	c := &consentSession{
		b: &browsertest.Tab{T: t, Ctx: tab, Timeout: 20 * time.Second, Status: "#status"},
		f: f,
	}
	console := browsertest.WatchConsole(tab, false)

	c.claim(t, issued.ClaimCode)
	link := c.approve(t)
	c.refuse(t)
	c.reopenAnswered(t, link)
	c.expired(t)
	c.uses(t)
	c.revokeFromList(t)
	console.Check(t)
	t.Logf("done after %v", time.Since(start).Round(time.Millisecond))
}

// consentSession is the state TestBrowserConsent's steps share: the tab,
// the fake issuer in front of the real one, and the copy claimed.
type consentSession struct {
	b      *browsertest.Tab
	f      *consenttest.Issuer
	copyID string
}

// unlock loads the page at url and opens the wallet with its passphrase.
func (c *consentSession) unlock(url string) {
	b := c.b
	b.Do(chromedp.Navigate(url))
	b.WaitFor("the wasm to load", `document.body.dataset.ready !== '0' && !!document.getElementById('unlock').offsetParent`)
	b.Set("#pass", "correct horse 42")
	b.Click("#open-btn")
}

// screenshot saves the whole page as name, for review.
func (c *consentSession) screenshot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(c.b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, name, png)
}

// claim claims the licence through the fake: the page's origin is the
// fake's.
func (c *consentSession) claim(t *testing.T, code string) {
	b := c.b
	c.unlock(c.f.URL + "/wallet/")
	b.WaitFor("the wallet to open", `!!document.getElementById('home').offsetParent`)
	b.Click("#claim-toggle")
	b.Set("#code", code)
	b.Click("#claim-btn")
	b.WaitFor("the licence card", `!!document.querySelector('#cards .licence')`)
	c.copyID = browsertest.Eval[string](b, `document.querySelector('#cards .licence').dataset.id`)
	c.f.AfterClaims(t)
}

// approve opens a service's link after unlocking, checks what the page
// shows (in Chinese and English), unticks a field and approves; it
// returns the link.
func (c *consentSession) approve(t *testing.T) string {
	b, f := c.b, c.f
	req, link := f.NewRequest(t, consenttest.Req{})
	c.unlock(link)
	b.WaitFor("the request", `document.body.dataset.consent === 'shown'`)
	shown := b.Text("#consent")
	for _, want := range []string{consenttest.RPName, consenttest.OrgName, consenttest.MName, "营业执照", "7 天", "仅一次", "法定代表人", "核对法定代表人", "同意授权", "拒绝"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the request page shows no %q:\n%s", want, shown)
		}
	}
	c.screenshot(t, "wallet-consent.png")
	// In English too.
	b.Click("#lang-btn")
	if en := b.Text("#consent"); !strings.Contains(en, "Request to use your licence") || !strings.Contains(en, "7 days") || !strings.Contains(en, "once") || !strings.Contains(en, "Approve") {
		t.Errorf("the request page in English:\n%s", en)
	}
	b.Click("#lang-btn")
	b.Click(`#req-fields input[value="legal_rep"]`)
	b.Click("#approve-btn")
	b.WaitFor("the grant", `document.body.dataset.consent === 'granted'`)
	grant := browsertest.Eval[string](b, `document.body.dataset.grant`)
	st, copyID, fields := f.GrantState(grant)
	if f.RequestState(req) != "granted" || st != "active" || copyID != c.copyID || strings.Join(fields, ",") != "name,domicile" {
		t.Fatalf("after approving: request %s, grant %s of %s %v", f.RequestState(req), st, copyID, fields)
	}
	if done := b.Text("#req-done"); !strings.Contains(done, "已授权 "+consenttest.RPName) || !strings.Contains(done, grant) {
		t.Errorf("done message %q", done)
	}
	if q := browsertest.Eval[string](b, `location.search`); q != "" {
		t.Errorf("the answered request stays in the address: %q", q)
	}
	f.Fetch(t, grant)
	return link
}

// refuse refuses a second request (the page asks to confirm).
func (c *consentSession) refuse(t *testing.T) {
	b := c.b
	req2, link2 := c.f.NewRequest(t, consenttest.Req{})
	b.Do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`))
	b.Do(chromedp.Navigate(link2))
	b.WaitFor("the wasm to load", `document.body.dataset.ready !== '0' && !!document.getElementById('unlock').offsetParent`)
	b.Do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`))
	b.Set("#pass", "correct horse 42")
	b.Click("#open-btn")
	b.WaitFor("the second request", `document.body.dataset.consent === 'shown'`)
	b.Click("#refuse-btn")
	b.WaitFor("the refusal", `document.body.dataset.consent === 'refused'`)
	if c.f.RequestState(req2) != "refused" {
		t.Fatalf("request %s after refusing", c.f.RequestState(req2))
	}
}

// reopenAnswered opens link, answered already: the page says so, in the
// holder's words.
func (c *consentSession) reopenAnswered(t *testing.T, link string) {
	b := c.b
	c.unlock(link)
	b.WaitFor("the answered request", `document.body.dataset.consent === 'shown'`)
	if done := b.Text("#req-done"); !strings.Contains(done, "该请求已处理（已授权）") {
		t.Errorf("reopened answered request: %q", done)
	}
}

// expired opens an expired request: the holder's message, no answer
// offered.
func (c *consentSession) expired(t *testing.T) {
	b := c.b
	_, expired := c.f.NewRequest(t, consenttest.Req{Expires: time.Now().Add(-time.Second)})
	c.unlock(expired)
	b.WaitFor("the expired request refused", `document.body.dataset.consent === 'error'`)
	if msg := b.Text("#status .msg"); msg != "该授权请求已过期。请在办事页面重新发起。" || b.Visible("#consent-body") {
		t.Errorf("expired request: status %q, body shown %v", msg, b.Visible("#consent-body"))
	}
	if detail := b.Text("#status details.detail code"); !strings.Contains(detail, "REQUEST_EXPIRED") {
		t.Errorf("expired request: 详情 %q", detail)
	}
}

// uses opens the licence's 用证记录: claim, grant, fetch and a counter's
// check, every one ticked.
func (c *consentSession) uses(t *testing.T) {
	b := c.b
	c.f.CounterVerified(t, c.copyID, c.copyID, "浦东新区市民中心 3号窗口", "VALID")
	b.Click("#consent-home")
	b.Click("#cards .licence")
	b.Click("#uses-btn")
	b.WaitFor("the uses", `!!document.body.dataset.uses`)
	if n, bad := browsertest.Eval[float64](b, `document.querySelectorAll('#uses-list li.ok').length`), browsertest.Eval[float64](b, `document.querySelectorAll('#uses-list li.bad').length`); n != 4 || bad != 0 {
		t.Errorf("uses: %v ticked, %v not, want 4 and 0:\n%s", n, bad, b.Text("#records"))
	}
	uses := b.Text("#uses-list")
	for _, want := range []string{"领取到本机", "授权 " + consenttest.RPName + "（" + consenttest.MName + "）：", "使用了授权", "浦东新区市民中心 3号窗口 核验：VALID"} {
		if !strings.Contains(uses, want) {
			t.Errorf("uses list has no %q:\n%s", want, uses)
		}
	}
	if note := b.Text("#uses-note"); note != "每条记录均已在公开账本中核验（✓）。" {
		t.Errorf("uses note %q", note)
	}
	c.screenshot(t, "wallet-uses.png")
}

// revokeFromList grants a new request through the page's API and revokes
// the grant, still active, from the list.
func (c *consentSession) revokeFromList(t *testing.T) {
	b := c.b
	_, link3 := c.f.NewRequest(t, consenttest.Req{})
	g3, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](fmt.Sprintf(`elicenseWallet.openRequest(%s).then(r => elicenseWallet.consent(r.id, %s, '')).then(g => g.id)`,
		browsertest.Quote(link3), browsertest.Quote(c.copyID)), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	b.Do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`))
	b.Click("#uses-btn")
	b.WaitFor("the active grant's revoke button", fmt.Sprintf(`!!document.querySelector('#grants-list li[data-grant=%s] button')`, browsertest.Quote(g3)))
	b.Click(fmt.Sprintf(`#grants-list li[data-grant="%s"] button`, g3))
	b.WaitFor("the grant revoked", fmt.Sprintf(`(document.querySelector('#grants-list li[data-grant=%s]') || {dataset: {}}).dataset.state === 'revoked'`, browsertest.Quote(g3)))
	if g := b.Text(fmt.Sprintf(`#grants-list li[data-grant="%s"]`, g3)); !strings.Contains(g, consenttest.RPName+" · "+consenttest.MName) || !strings.Contains(g, "已撤销") {
		t.Errorf("revoked grant in the list: %q", g)
	}
	if st, _, _ := c.f.GrantState(g3); st != "revoked" {
		t.Errorf("grant %s after revoking in the page", st)
	}
}
