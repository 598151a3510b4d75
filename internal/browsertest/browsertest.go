// Package browsertest starts Debian's Chromium for the tests of
// elicense's web pages (agency console, web wallet, counter page) with the
// flags this closed network needs. Tests only.
package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"elicense/internal/testneed"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Chromium finds the browser: $CHROMIUM, else the usual names on PATH.
func Chromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome-stable", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Open starts headless Chromium with one tab of the given size and a
// zh-CN locale, and returns the tab's context, which lives until the test
// ends. Without a browser the test fails, unless ELICENSE_SKIP=browser
// asks for it to be skipped.
func Open(t *testing.T, width, height int) context.Context {
	t.Helper()
	exe := Chromium()
	if exe == "" {
		testneed.Missing(t, testneed.Browser, "Chromium not found: install it (apt-get install -y chromium fonts-noto-cjk) or set CHROMIUM")
	}
	// No deadline on the browser as a whole: a test may build or start
	// things while its tab is open, and each step has its own (Tab), so
	// a whole-tab deadline would count builds the test does not control.
	ctx, cancel := context.WithCancel(context.Background())
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// Without these Chromium keeps dialling Google's hosts, which
		// this network refuses.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelTab(); cancelAlloc(); cancel() })
	// Start the browser and open the tab on the tab's own context, so
	// they live as long as it does.
	if err := chromedp.Do(tab); err != nil {
		t.Fatal(err)
	}
	// Dates and times as a clerk or holder in China sees them.
	if _, err := chromedp.Call(tab, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: "zh-CN"}); err != nil {
		t.Fatal(err)
	}
	return tab
}

// Quote writes a Go string as a JavaScript string literal.
func Quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
