package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicense/internal/browsertest"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// browser is the journey's Chromium part, in one browser: the holder
// claims the 营业执照 a second time, on a phone, in the web wallet the
// issuer serves, with a new claim code from the clerk; then the clerk
// opens the licence face, whose static QR is kept as the screenshot a
// counter scans later.
func (j *journey) browser(t *testing.T) {
	resp, err := http.Get(j.url + "/wallet/wallet.wasm")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the issuer serves no wallet.wasm: %s", resp.Status)
	}
	op := j.ops[j.bl.Agency]
	var code struct{ Code string }
	if st := j.call(t, "POST", "/v1/licences/"+j.bl.ID+"/claim-codes", op, nil, &code); st != http.StatusCreated || code.Code == "" {
		t.Fatalf("a second claim code: HTTP %d %+v", st, code)
	}
	tab := browsertest.Open(t, 412, 915)
	console := browsertest.WatchConsole(tab, false)
	b := &browsertest.Tab{T: t, Ctx: tab, Timeout: 20 * time.Second, Status: "#status"}

	webUnlock(b, j.url+"/wallet/")
	b.WaitFor("the wallet to open", `!!document.getElementById('home').offsetParent`)
	b.Click("#claim-toggle")
	b.Set("#code", code.Code)
	b.Click("#claim-btn")
	b.WaitFor("the licence card", `!!document.querySelector('#cards .licence')`)
	j.webCopy = browsertest.Eval[string](b, `document.querySelector('#cards .licence').dataset.id`)
	if !strings.HasPrefix(j.webCopy, j.bl.ID+"#") || j.webCopy == j.cliCopy {
		t.Fatalf("the web wallet claimed %q (the CLI holds %q)", j.webCopy, j.cliCopy)
	}
	if card := b.Text("#cards .licence"); !strings.Contains(card, j.fields["name"]) {
		t.Errorf("the card does not name the holder:\n%s", card)
	}
	console.Check(t)

	// The clerk's browser sends the clerk's token.
	if _, err := chromedp.Call(tab, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + op}}); err != nil {
		t.Fatal(err)
	}
	b.Do(chromedp.Navigate(j.url + "/v1/licences/" + j.bl.ID + "/face"))
	b.WaitFor("the face's QR", `(() => { const i = document.querySelector('img.qr'); return !!i && i.complete && i.naturalWidth > 0; })()`)
	face := b.Text("body")
	for _, want := range []string{"营业执照", j.fields["name"], j.fields["domicile"], j.agencies[j.bl.Agency], j.bl.ID} {
		if !strings.Contains(face, want) {
			t.Errorf("the licence face shows no %q:\n%s", want, face)
		}
	}
	shot, err := chromedp.Run(tab, chromedp.ScreenshotScale(chromedp.CSS("img.qr"), 4))
	if err != nil {
		t.Fatalf("screenshot of the face's QR: %v", err)
	}
	browsertest.SaveScreenshot(t, "journey-face-qr.png", shot)
	j.faceQR = filepath.Join(j.dir, "face-qr.png")
	if err := os.WriteFile(j.faceQR, shot, 0o644); err != nil {
		t.Fatal(err)
	}
}
