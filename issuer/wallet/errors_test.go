package wallet_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"elicense/internal/browsertest"
	"elicense/internal/issuertest"
	"elicense/issuer/wallet"

	"github.com/chromedp/chromedp"
)

// TestBrowserErrors: what the holder reads when something goes wrong is
// in the page's language and says what to do, the SDK's technical text
// only under a collapsed 详情: a server that has no WebAssembly, a claim
// code that is not one, a code already used, a wrong passphrase. The
// holder's names for a licence (its printed identifier, its number) work
// across the WebAssembly boundary.
func TestBrowserErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm and starts the issuer")
	}
	if err := buildWasm(); err != nil {
		t.Fatal(err)
	}
	tab := browsertest.Open(t, 412, 915)
	// The page's failed requests (404, 403, 422) are on purpose here.
	console := browsertest.WatchConsole(tab, true)
	b := &browsertest.Tab{T: t, Ctx: tab, Timeout: 20 * time.Second, Status: "#status"}

	wasmMissing(t, b)
	wasmBuilding(t, b)
	s := issuertest.Start(t)
	issued := s.Issue(t, "business-license")
	b.Do(chromedp.Navigate(s.URL + "/wallet/"))
	b.WaitFor("the wasm to load", `document.body.dataset.ready === '1' && !!document.getElementById('unlock').offsetParent`)
	if label := b.Text(`label[for="code"]`); label != "领证码" {
		t.Errorf("the claim code's label is %q, want 领证码", label)
	}
	unlock(b, "correct horse 42")
	b.WaitFor("the wallet to open", `!!document.getElementById('home').offsetParent`)
	b.Click("#claim-toggle")
	claimFails(t, b, "abc-123",
		"领证码格式不正确：应为 20 位字母和数字，如 0000-1A7K-3QM9-PX2R-TB8W。请核对后重新输入。", "claim refused (422 invalid) [code]")
	claimAndName(t, b, issued)
	b.Click("#claim-toggle")
	claimFails(t, b, issued.ClaimCode,
		"领证码无效、已使用或已过期。请核对后重新输入；如仍不行，请向发证机构申请新的领证码。", "claim refused (403 forbidden) [code]")

	b.Click("#lock-btn")
	unlock(b, "wrong horse 42")
	wantError(t, b, "#open-btn", "口令不正确。请重新输入首次打开证照包时设置的口令。", "mobilesdk: wrong passphrase")
	b.Click("#lang-btn")
	unlock(b, "wrong horse 42")
	wantError(t, b, "#open-btn", "Wrong passphrase. Enter the passphrase you set when you first opened the wallet.", "mobilesdk: wrong passphrase")
	b.Click("#lang-btn")
	console.Check(t)
}

func unlock(b *browsertest.Tab, pass string) {
	b.T.Helper()
	b.Set("#pass", pass)
	b.Click("#open-btn")
}

// wasmMissing: a server built without the WebAssembly (the issuer's
// wallet handler's 404) gets a page that says so, and whom to ask.
func wasmMissing(t *testing.T, b *browsertest.Tab) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/wallet/", http.StripPrefix("/wallet", wallet.Handler()))
	mux.HandleFunc("/wallet/wallet.wasm", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"error": "wasm_not_built", "message": wallet.WasmMissing})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	b.Do(chromedp.Navigate(srv.URL + "/wallet/"))
	b.WaitFor("the page to give up", `document.body.dataset.ready === 'error'`)
	checkError(t, b, "本服务器尚未部署证照包程序，暂时无法使用。请联系发证机构。", "HTTP 404")
}

// wasmBuilding: while a development server still builds the module (503
// with Retry-After), the page says so and opens by itself once it is
// there.
func wasmBuilding(t *testing.T, b *browsertest.Tab) {
	t.Helper()
	var asked atomic.Int32
	mux := http.NewServeMux()
	mux.Handle("/wallet/", http.StripPrefix("/wallet", wallet.Handler()))
	mux.HandleFunc("/wallet/wallet.wasm", func(w http.ResponseWriter, r *http.Request) {
		if asked.Add(1) <= 2 {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"error": "wasm_building", "message": "being built"})
			return
		}
		w.Header().Set("Content-Type", "application/wasm")
		http.ServeFile(w, r, filepath.Join("assets", "wallet.wasm"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	b.Do(chromedp.Navigate(srv.URL + "/wallet/"))
	b.WaitFor("the page to say the wallet is being prepared", `document.getElementById('status').textContent.includes('证照包程序正在准备')`)
	b.WaitFor("the wallet to open once built", `document.body.dataset.ready === '1' && !!document.getElementById('unlock').offsetParent`)
	if n := asked.Load(); n != 3 {
		t.Errorf("the page asked for the module %d times, want 3 (two 503s, then the module)", n)
	}
	if got := b.Text("#status"); got != "" {
		t.Errorf("the status still says %q once the wallet opened", got)
	}
}

// claimFails claims with code and wants the holder's message.
func claimFails(t *testing.T, b *browsertest.Tab, code, msg, detail string) {
	t.Helper()
	b.Set("#code", code)
	b.Click("#claim-btn")
	wantError(t, b, "#claim-btn", msg, detail)
}

// wantError waits for the action of button btn to end in an error and
// checks what the page says.
func wantError(t *testing.T, b *browsertest.Tab, btn, msg, detail string) {
	t.Helper()
	b.WaitFor("the error", `document.getElementById('status').classList.contains('error') && !document.querySelector(`+browsertest.Quote(btn)+`).disabled`)
	checkError(t, b, msg, detail)
}

// checkError: the status shows exactly msg, and detail only inside a
// closed 详情.
func checkError(t *testing.T, b *browsertest.Tab, msg, detail string) {
	t.Helper()
	if got := b.Text("#status .msg"); got != msg {
		t.Errorf("the page says %q, want %q", got, msg)
	}
	if got := b.Text("#status details.detail code"); !strings.Contains(got, detail) {
		t.Errorf("详情 %q, want %q in it", got, detail)
	}
	if browsertest.Eval[bool](b, `document.querySelector('#status details.detail').open || document.querySelector('#status details.detail code').checkVisibility()`) {
		t.Error("the details are open")
	}
	if sum := b.Text("#status details.detail summary"); sum != "详情" && sum != "Details" {
		t.Errorf("details summary %q", sum)
	}
}

// claimAndName claims the licence: the card shows its printed
// identifier, and the SDK behind the page takes that identifier and the
// list number as well as the copy's.
func claimAndName(t *testing.T, b *browsertest.Tab, issued issuertest.Issued) {
	t.Helper()
	b.Set("#code", issued.ClaimCode)
	b.Click("#claim-btn")
	b.WaitFor("the licence card", `!!document.querySelector('#cards .licence')`)
	if got := b.Text("#cards .licence .lic-id"); got != "证照标识 "+issued.ID {
		t.Errorf("card identifier %q, want 证照标识 %s", got, issued.ID)
	}
	if got := b.Text("#status .msg"); got != "已领取：营业执照 · 证照标识 "+issued.ID {
		t.Errorf("after the claim the page says %q", got)
	}
	for _, ref := range []string{issued.ID, "1", browsertest.Eval[string](b, `document.querySelector('#cards .licence').dataset.id`)} {
		got, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`elicenseWallet.present(`+browsertest.Quote(ref)+`, '').then(p => p.text.slice(0, 4), e => e.code + ': ' + e.message)`, chromedp.EvalAwaitPromise))
		if err != nil || got != "EL2:" {
			t.Errorf("present(%q) = %q, %v", ref, got, err)
		}
	}
	got, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`elicenseWallet.present('2', '').then(() => 'presented', e => e.code + ': ' + e.message + ' | ' + e.detail)`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.HasPrefix(got, "not_found: 本证照包中没有这份证照。") || !strings.Contains(got, "| mobilesdk: no such licence") {
		t.Errorf("present('2') of a wallet of one licence: %q, %v", got, err)
	}
}
