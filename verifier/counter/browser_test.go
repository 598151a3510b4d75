package counter_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"elicense/internal/browsertest"
	"elicense/verifier"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// A licence whose every line is as long as real ones get.
const (
	longHolder = "新疆维吾尔自治区乌鲁木齐经济技术开发区（头屯河区）天山北坡国际供应链管理与跨境电子商务服务股份有限公司第一分公司"
	longCode   = "91650106MA7XKQ8Y2H"
	longAgency = "新疆维吾尔自治区乌鲁木齐经济技术开发区（头屯河区）市场监督管理局行政审批与政务服务中心"
	longID     = "1.2.156.3005.2.11650106PDY00001XQ001.11650106PDY100010H.T000000000001.001.Y"
)

func fakeVerdict(c verifier.Code, at time.Time, edit func(*verifier.Verdict)) verifier.Verdict {
	vd := verifier.Verdict{Code: c, Headline: c.Headline(), Message: c.Message(), MessageEN: c.MessageEN(),
		Licence: &verifier.Licence{ID: longID, Class: "business-license", ClassName: "营业执照", ClassNameEN: "Business licence",
			HolderName: longHolder, HolderCode: longCode, ValidFrom: at.AddDate(-2, 0, 0), ValidUntil: at.AddDate(18, 0, 0),
			Bound: true, PresentedAt: at, StatusList: "amr-1", StatusIndex: 7, Status: "valid"},
		Fields:     map[string]string{"legal_rep": "阿卜杜热合曼·买买提依明", "domicile": "新疆维吾尔自治区乌鲁木齐市头屯河区维吾尔自治区经济技术开发区天山北坡大道8888号国际物流园区综合服务楼B座二十二层2201-2206室"},
		Agency:     longAgency,
		AgencyCode: "11650106PDY100010H",
		StatusAge:  2 * time.Hour,
	}
	if edit != nil {
		edit(&vd)
	}
	return vd
}

// TestCounterNarrow shows verdicts on a 390 px phone-sized screen: a VALID
// licence with a long holder, agency and identifier fits without
// clipping; REVOKED and SUSPENDED say since when and whom to ask; the
// Chinese headline is the big line and the code a small label.
func TestCounterNarrow(t *testing.T) {
	ctx := browsertest.Open(t, 390, 844)
	// Headless Chromium keeps its window at least 500 px wide: the
	// viewport is set as a phone's.
	if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 390, Height: 844, DeviceScaleFactor: 1, Mobile: true}); err != nil {
		t.Fatal(err)
	}
	tab := &browsertest.Tab{T: t, Ctx: ctx}
	f := newFixture(t)
	at := f.clock()
	f.fake["VALID-LONG"] = fakeVerdict(verifier.Valid, at, nil)
	f.fake["REVOKED"] = fakeVerdict(verifier.Revoked, at, func(vd *verifier.Verdict) {
		vd.Licence.Status, vd.Licence.StatusSince = "revoked", time.Date(2026, 11, 30, 19, 0, 0, 0, time.UTC) // 2026-12-01 03:00 in China
		vd.Fields, vd.StatusAge = nil, 20*time.Minute
	})
	f.fake["SUSPENDED"] = fakeVerdict(verifier.Suspended, at, func(vd *verifier.Verdict) {
		vd.Licence.Status, vd.Fields, vd.StatusAge = "suspended", nil, 20*time.Minute
	})
	f.fake["EXPIRED-QR"] = verifier.Verdict{Code: verifier.PresentationExpired, Headline: verifier.PresentationExpired.Headline(),
		Message: verifier.PresentationExpired.Message(), MessageEN: verifier.PresentationExpired.MessageEN(), Detail: "presentation is 95s old"}
	console := browsertest.WatchConsole(ctx, false)
	scan := func(text string) {
		t.Helper()
		tab.Do(chromedp.SendKeys(chromedp.CSS("#scan-input"), text+"\r"))
	}
	tab.Do(chromedp.Navigate(f.URL + "/"))
	tab.WaitFor("the trust data line", `!document.getElementById('trust').hidden && document.getElementById('t-synced').textContent !== ''`)

	// fits checks that nothing is wider than the screen and that each
	// element is shown whole: not clipped, inside the viewport.
	fits := func(ids ...string) {
		t.Helper()
		if w := browsertest.Eval[int](tab, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("the page is %d px wide on a 390 px screen", w)
		}
		for _, id := range ids {
			got := browsertest.Eval[string](tab, fmt.Sprintf(`(() => {
				const e = document.getElementById(%s);
				const r = e.getBoundingClientRect();
				const bad = [];
				if (e.offsetParent === null) bad.push('hidden');
				if (e.scrollWidth > e.clientWidth) bad.push('clipped: scrollWidth ' + e.scrollWidth + ' > clientWidth ' + e.clientWidth);
				if (r.left < 0 || r.right > window.innerWidth) bad.push('outside the viewport: ' + r.left + '..' + r.right);
				if (r.width === 0 || r.height === 0) bad.push('empty box');
				return bad.join('; ');
			})()`, browsertest.Quote(id)))
			if got != "" {
				t.Errorf("#%s: %s", id, got)
			}
		}
	}

	scan("VALID-LONG")
	tab.WaitFor("the green verdict", `document.getElementById('panel').dataset.colour === 'green'`)
	for id, want := range map[string]string{"v-headline": "有效", "v-code": "VALID", "v-holder": longHolder + "（" + longCode + "）",
		"v-agency": longAgency + " (11650106PDY100010H)", "v-id": longID, "v-message": verifier.Valid.Message()} {
		if got := tab.Text("#" + id); got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
	fits("v-headline", "v-code", "v-message", "v-holder", "v-agency", "v-id", "v-validity", "v-fields", "scan-input", "trust", "sync-btn", "lang-btn")
	// The headline is the big line; the code a small label beside it.
	if head, code := browsertest.Eval[float64](tab, `parseFloat(getComputedStyle(document.getElementById('v-headline')).fontSize)`),
		browsertest.Eval[float64](tab, `parseFloat(getComputedStyle(document.getElementById('v-code')).fontSize)`); head < 2*code {
		t.Errorf("headline %v px, code label %v px: the headline should dominate", head, code)
	}
	if strings.Contains(browsertest.Eval[string](tab, `document.body.innerText`), verifier.Valid.MessageEN()) {
		t.Error("the English sentence is shown in Chinese mode")
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, "counter-390.png", shot)

	scan("REVOKED")
	tab.WaitFor("REVOKED", `document.getElementById('v-code').textContent === 'REVOKED'`)
	if got := tab.Text("#v-headline"); got != "已吊销或注销" {
		t.Errorf("headline %q", got)
	}
	if got := tab.Text("#v-since"); got != "不晚于 2026-12-01 起" {
		t.Errorf("since %q", got)
	}
	if got := tab.Text("#v-action"); got != "请持证人联系颁发机构 "+longAgency+" 查询原因" {
		t.Errorf("action %q", got)
	}
	if got := browsertest.Eval[string](tab, `document.getElementById('panel').dataset.colour`); got != "red" {
		t.Errorf("colour %q", got)
	}
	fits("v-headline", "v-code", "v-since", "v-action", "v-holder", "v-agency", "v-id")
	if shot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, "counter-revoked-390.png", shot)

	// Suspended, with no date known: no date line, still whom to ask.
	scan("SUSPENDED")
	tab.WaitFor("SUSPENDED", `document.getElementById('v-code').textContent === 'SUSPENDED'`)
	if got := tab.Text("#v-headline"); got != "已暂扣" {
		t.Errorf("headline %q", got)
	}
	if tab.Visible("#v-since") || !tab.Visible("#v-action") {
		t.Errorf("suspended without a date: since shown %v, action shown %v", tab.Visible("#v-since"), tab.Visible("#v-action"))
	}

	// A refusal with no licence: Chinese headline, the code as a label; the
	// English sentence in English mode only.
	scan("EXPIRED-QR")
	tab.WaitFor("PRESENTATION_EXPIRED", `document.getElementById('v-code').textContent === 'PRESENTATION_EXPIRED'`)
	if got := tab.Text("#v-headline"); got != "二维码已过期" {
		t.Errorf("headline %q", got)
	}
	if tab.Visible("#v-note") || tab.Visible("#v-body") {
		t.Error("licence details or a status note shown for an expired presentation")
	}
	fits("v-headline", "v-code", "v-message")
	tab.Click("#lang-btn")
	if got := tab.Text("#v-message"); got != verifier.PresentationExpired.MessageEN() {
		t.Errorf("English message %q", got)
	}
	if got := tab.Text("#v-headline"); got != "二维码已过期" {
		t.Errorf("English-mode headline %q", got)
	}
	tab.Click("#lang-btn")

	// A scheduled sync failed and the data in use is past its time: a red
	// banner says so plainly, inside the screen.
	f.mu.Lock()
	f.trust.LastError = "trust server: HTTP 503"
	f.trust.Warnings = []string{"信任数据已过期 2h0m0s / trust bundle overdue by 2h0m0s"}
	f.mu.Unlock()
	tab.Do(chromedp.Navigate(f.URL + "/"))
	tab.WaitFor("the red banner", `document.getElementById('t-banner').dataset.level === 'red' && !document.getElementById('t-banner').hidden`)
	if got, want := tab.Text("#t-banner"), "同步失败：trust server: HTTP 503正在使用上次成功同步的数据（5 分钟前）信任数据已过期 2h0m0s / trust bundle overdue by 2h0m0s"; got != want {
		t.Errorf("banner %q, want %q", got, want)
	}
	fits("t-banner", "t-synced", "t-next", "sync-btn")
	if shot, err = chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("#trust"))); err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, "counter-stale-390.png", shot)
	console.Check(t)
}

// attackPage is a web page on another origin that the clerk happens to
// open: it tries every way a page can send the counter a request. The
// counter's address comes in ?target=; the QR text (a genuine licence's)
// from its own server.
const attackPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>a page on another origin</title></head>
<body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe><iframe name="sink3"></iframe>
<script>
(async () => {
  const target = new URLSearchParams(location.search).get('target');
  const text = await (await fetch('/qr.txt')).text();
  const png = await (await fetch('/qr.png')).blob();
  const results = {};
  const attempt = async (name, fn) => {
    try { results[name] = await fn(); } catch (e) { results[name] = 'blocked: ' + e.name; }
  };
  const body = JSON.stringify({ text });
  await attempt('cors json', async () => {
    const r = await fetch(target + '/api/check', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    return 'read ' + r.status + ' ' + (await r.text());
  });
  await attempt('cors text', async () => {
    const r = await fetch(target + '/api/check', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body });
    return 'read ' + r.status + ' ' + (await r.text());
  });
  await attempt('no-cors text', async () => (await fetch(target + '/api/check', { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body })).type);
  await attempt('no-cors raw image', async () => (await fetch(target + '/api/image', { method: 'POST', mode: 'no-cors', body: png })).type);
  await attempt('no-cors multipart image', async () => {
    const fd = new FormData();
    fd.append('image', png, 'qr.png');
    return (await fetch(target + '/api/image', { method: 'POST', mode: 'no-cors', body: fd })).type;
  });
  await attempt('no-cors sync', async () => (await fetch(target + '/api/sync', { method: 'POST', mode: 'no-cors' })).type);
  await attempt('read the page', async () => {
    const r = await fetch(target + '/');
    return 'read ' + (await r.text()).length;
  });

  // Forms, as a page without script could also send them.
  const form = (sink, path, enctype, fill) => {
    const f = document.createElement('form');
    f.method = 'POST';
    f.action = target + path;
    f.enctype = enctype;
    f.target = sink;
    fill(f);
    document.body.append(f);
    f.submit();
  };
  const input = (f, name, value) => {
    const i = document.createElement('input');
    i.name = name;
    i.value = value;
    f.append(i);
  };
  // text/plain with a name and value that add up to {"text": "…"}.
  form('sink1', '/api/check', 'text/plain', (f) => input(f, '{"text":' + JSON.stringify(text).slice(0, -1) + '", "x":"', '"}'));
  form('sink2', '/api/check', 'application/x-www-form-urlencoded', (f) => input(f, 'text', text));
  form('sink3', '/api/image', 'multipart/form-data', (f) => {
    const i = document.createElement('input');
    i.type = 'file';
    i.name = 'image';
    const dt = new DataTransfer();
    dt.items.add(new File([png], 'qr.png', { type: 'image/png' }));
    i.files = dt.files;
    f.append(i);
  });
  window.attack = results;
})();
</script>
</body></html>`

// attempts is how many /api/ requests one attack page makes: the CORS
// JSON fetch only as its preflight, since the preflight is refused.
const attempts = 9

// TestCrossOriginInBrowser opens, in the clerk's browser, pages on two
// other origins (localhost on another port: cross-site; 127.0.0.1 on
// another port: same-site, cross-origin) that try to make the counter
// verify a genuine QR or sync. Every attempt reaches the counter and is
// refused with 403; Verify and SyncNow are never called; none of them can
// read an answer or the page's token. Then the page itself, on its own
// origin, verifies as usual (and without TrustStatus, shows no trust
// data line).
func TestCrossOriginInBrowser(t *testing.T) {
	ctx := browsertest.Open(t, 1280, 900)
	tab := &browsertest.Tab{T: t, Ctx: ctx, Timeout: 15 * time.Second}
	f := newFixture(t)
	pngData := render(t, f.static, 4)
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, attackPage)
		case "/qr.txt":
			io.WriteString(w, f.static)
		case "/qr.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(pngData)
		default:
			http.NotFound(w, r)
		}
	}))
	defer attacker.Close()
	_, aport, _ := net.SplitHostPort(strings.TrimPrefix(attacker.URL, "http://"))

	for _, origin := range []string{"http://localhost:" + aport, attacker.URL} {
		before := len(f.apiHits())
		tab.Do(chromedp.Navigate(origin + "/?target=" + url.QueryEscape(f.URL)))
		tab.WaitFor("the attack page to finish", `!!window.attack`)
		var hits []hit
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if hits = f.apiHits()[before:]; len(hits) >= attempts || time.Now().After(deadline) {
				break
			}
		}
		time.Sleep(200 * time.Millisecond) // anything more that comes in
		hits = f.apiHits()[before:]
		paths := map[string]int{}
		for _, h := range hits {
			paths[h.method+" "+h.path]++
			if h.status != 403 {
				t.Errorf("%s: %s %s answered %d", origin, h.method, h.path, h.status)
			}
		}
		if len(hits) != attempts || paths["POST /api/check"] != 4 || paths["POST /api/image"] != 3 || paths["POST /api/sync"] != 1 || paths["OPTIONS /api/check"] != 1 {
			t.Errorf("%s: the counter saw %d requests, want %d: %v", origin, len(hits), attempts, paths)
		}
		res := browsertest.Eval[map[string]string](tab, `window.attack`)
		for name, got := range res {
			// No answer and no page is readable: the fetch is blocked, or
			// its response is opaque.
			if strings.HasPrefix(got, "read") || (got != "opaque" && !strings.HasPrefix(got, "blocked")) {
				t.Errorf("%s: %s: %s", origin, name, got)
			}
		}
		if len(res) != 7 {
			t.Errorf("%s: attack results %v", origin, res)
		}
	}
	if n, s := f.verified(), f.syncCalls(); n != 0 || s != 0 {
		t.Fatalf("the attack pages got %d verifications and %d syncs through", n, s)
	}

	// The page on its own origin still works.
	tab.Do(chromedp.Navigate(f.URL + "/"))
	tab.Do(chromedp.WaitVisible(chromedp.CSS("#scan-input")), chromedp.SendKeys(chromedp.CSS("#scan-input"), f.static+"\r"))
	tab.WaitFor("the verdict", `document.getElementById('v-code').textContent === 'VALID_STATIC'`)
	if n := f.verified(); n != 1 {
		t.Errorf("the page's own check verified %d times", n)
	}

	// A counter without TrustStatus and SyncNow shows no trust data line
	// and no button, and still verifies.
	g := newFixtureWith(t, fixtureOptions{noTrust: true})
	tab.Do(chromedp.Navigate(g.URL + "/"))
	tab.WaitFor("the status request answered", `performance.getEntriesByType('resource').some((e) => e.name.endsWith('/api/status') && e.responseEnd > 0)`)
	tab.Do(chromedp.SendKeys(chromedp.CSS("#scan-input"), g.static+"\r"))
	tab.WaitFor("the verdict", `document.getElementById('v-code').textContent === 'VALID_STATIC'`)
	if tab.Visible("#trust") || tab.Visible("#sync-btn") {
		t.Error("trust line shown without TrustStatus")
	}
	if n := g.verified(); n != 1 {
		t.Errorf("verified %d times", n)
	}
}
