package main

import (
	"fmt"
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
	// Each wait is bounded generously: on two busy cores compiling the
	// wallet's WebAssembly alone has taken 20 s.
	b := &browsertest.Tab{T: t, Ctx: tab, Timeout: 60 * time.Second, Status: "#status"}

	start := time.Now()
	webUnlock(b, j.url+"/wallet/")
	b.WaitFor("the wallet to open", `!!document.getElementById('home').offsetParent`)
	t.Logf("the web wallet loaded and opened in %v", time.Since(start).Round(time.Millisecond))
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
	t.Logf("the web wallet claimed %s in %v", j.webCopy, time.Since(start).Round(time.Millisecond))

	// The clerk's browser sends the clerk's token.
	if _, err := chromedp.Call(tab, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + op}}); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	b.Do(chromedp.Navigate(j.url + "/v1/licences/" + j.bl.ID + "/face"))
	b.WaitFor("the face's QR", `(() => { const i = document.querySelector('img.qr'); return !!i && i.complete && i.naturalWidth > 0; })()`)
	face := b.Text("body")
	for _, want := range []string{"营业执照", j.fields["name"], j.fields["domicile"], j.agencies[j.bl.Agency], j.bl.ID} {
		if !strings.Contains(face, want) {
			t.Errorf("the licence face shows no %q:\n%s", want, face)
		}
	}
	t.Logf("the face loaded in %v", time.Since(start).Round(time.Millisecond))
	// Two captures at different scales, as a clerk's scanner gets a second
	// look: the decoder misses a few clean renderings (see staticQR).
	for _, scale := range []float64{4, 3} {
		shot, err := chromedp.Run(tab, chromedp.ScreenshotScale(chromedp.CSS("img.qr"), scale))
		if err != nil {
			t.Fatalf("screenshot of the face's QR: %v", err)
		}
		name := fmt.Sprintf("journey-face-qr-x%v.png", scale)
		browsertest.SaveScreenshot(t, name, shot)
		file := filepath.Join(j.dir, name)
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		j.faceQR = append(j.faceQR, file)
	}
	t.Logf("the face's QR captured in %v", time.Since(start).Round(time.Millisecond))
}
