package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/internal/browsertest"

	"github.com/chromedp/chromedp"
)

// walletAssets is where the issuer embeds the web wallet from
// (issuer/wallet/assets, relative to this package's directory).
const walletAssets = "../../issuer/wallet/assets"

// buildWalletWasm does what go generate ./issuer/wallet does, so that the
// issuer binary built after it serves the web wallet's WebAssembly. The
// module is written beside the assets under a dot name, which embed
// ignores, and renamed into place, so that a build of the issuer running
// meanwhile (another package's tests) embeds a whole module, old or new.
var buildWalletWasm = sync.OnceValue(func() error {
	tmp := filepath.Join(walletAssets, fmt.Sprintf(".wallet.wasm-%d", os.Getpid()))
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s", "-o", tmp, "../../mobile-sdk/wasm")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("building wallet.wasm: %v\n%s", err, out)
	}
	return os.Rename(tmp, filepath.Join(walletAssets, "wallet.wasm"))
})

// webConsent is the holder answering a second request from the web
// wallet the issuer serves (/wallet/), in headless Chromium: the holder
// claims the same licence on a phone with a new claim code, opens the
// party's link, sees who asks for what, unticks 法定代表人 and approves.
// The party fetches the once grant and verifies exactly the two approved
// fields itself; a second fetch is refused; the page's 用证记录 of the
// phone's copy lists the claim, the grant and the fetch, each proved
// against the ledger, and the grant as used.
func (j *grantJourney) webConsent(t *testing.T) {
	resp, err := http.Get(j.s.URL + "/wallet/wallet.wasm")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the issuer serves no wallet.wasm: %s", resp.Status)
	}
	var code struct{ Code string }
	if st := j.s.Call(t, "POST", "/v1/licences/"+j.issued.ID+"/claim-codes", j.s.Operator(t, "business-license"), nil, &code); st != http.StatusCreated || code.Code == "" {
		t.Fatalf("a second claim code: %d %+v", st, code)
	}
	tab := browsertest.Open(t, 412, 915)
	console := browsertest.WatchConsole(tab, false)
	b := &browsertest.Tab{T: t, Ctx: tab, Timeout: 20 * time.Second, Status: "#status"}

	webUnlock(b, j.s.URL+"/wallet/")
	b.WaitFor("the wallet to open", `!!document.getElementById('home').offsetParent`)
	b.Click("#claim-toggle")
	b.Set("#code", code.Code)
	b.Click("#claim-btn")
	b.WaitFor("the licence card", `!!document.querySelector('#cards .licence')`)
	phone := browsertest.Eval[string](b, `document.querySelector('#cards .licence').dataset.id`)
	if !strings.HasPrefix(phone, j.issued.ID+"#") || phone == j.copyID {
		t.Fatalf("the page claimed %q (the CLI holds %q)", phone, j.copyID)
	}

	req := j.request(t, "once")
	webUnlock(b, req.Link)
	b.WaitFor("the request", `document.body.dataset.consent === 'shown'`)
	shown := b.Text("#consent")
	for _, want := range []string{"上海市食品经营许可审批系统", "上海市市场监督管理局", "食品经营许可证核发", "营业执照", "仅一次", "核对经营者名称", "核对法定代表人", "核对住所"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the request page shows no %q:\n%s", want, shown)
		}
	}
	if lic := browsertest.Eval[string](b, `document.getElementById('req-lic').value`); lic != phone {
		t.Fatalf("the page would answer for %q, want its copy %q", lic, phone)
	}
	b.Click(`#req-fields input[value="legal_rep"]`)
	b.Click("#approve-btn")
	b.WaitFor("the grant", `document.body.dataset.consent === 'granted'`)
	grant := browsertest.Eval[string](b, `document.body.dataset.grant`)
	if polled := j.granted(t, req.ID); polled != grant {
		t.Fatalf("the party polled grant %s, the page made %s", polled, grant)
	}

	j.fetchAndVerify(t, grant, map[string]string{"name": j.fields["name"], "domicile": j.fields["domicile"]})
	if st, code := j.fetch(t, grant, nil); st != http.StatusGone || code != "GRANT_USED" {
		t.Fatalf("second fetch of a once grant: %d %s, want 410 GRANT_USED", st, code)
	}

	b.Click("#consent-home")
	b.Click("#cards .licence")
	b.Click("#uses-btn")
	b.WaitFor("the uses", `!!document.body.dataset.uses`)
	kinds := browsertest.Eval[string](b, `Array.from(document.querySelectorAll('#uses-list li.ok')).map(li => li.dataset.kind).join(',')`)
	if bad := browsertest.Eval[float64](b, `document.querySelectorAll('#uses-list li.bad').length`); kinds != "claim,grant,grant-use" || bad != 0 {
		t.Errorf("the phone copy's uses: %q proved, %v not, want claim,grant,grant-use and 0:\n%s", kinds, bad, b.Text("#records"))
	}
	uses := b.Text("#uses-list")
	for _, want := range []string{"领取到本机", "授权 上海市食品经营许可审批系统（食品经营许可证核发）：名称、住所", "上海市食品经营许可审批系统 使用了授权"} {
		if !strings.Contains(uses, want) {
			t.Errorf("the uses list has no %q:\n%s", want, uses)
		}
	}
	if st := browsertest.Eval[string](b, fmt.Sprintf(`(document.querySelector('#grants-list li[data-grant=%s]') || {dataset: {}}).dataset.state || ''`, browsertest.Quote(grant))); st != "used" {
		t.Errorf("grant %s in the page's list: %q, want used", grant, st)
	}
	console.Check(t)
	t.Logf("the page's uses of %s:\n%s", phone, uses)
}

// webUnlock loads url and opens the page's wallet (made on first use)
// with its passphrase.
func webUnlock(b *browsertest.Tab, url string) {
	b.Do(chromedp.Navigate(url))
	b.WaitFor("the wasm to load", `document.body.dataset.ready !== '0' && !!document.getElementById('unlock').offsetParent`)
	b.Set("#pass", "correct horse 42")
	b.Click("#open-btn")
}
