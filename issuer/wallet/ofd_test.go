package wallet_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"elicense/internal/browsertest"
	"elicense/internal/gm"
	vofd "elicense/verifier/ofd"

	"github.com/chromedp/chromedp"
)

// licenceFile: on the licence's page, 下载证照文件 fetches the sealed OFD
// file with a proof by the copy's device key, hands it to the browser as
// a download named after the licence, and keeps it in the wallet; the
// file kept verifies VALID under the issuer's root.
func (w *walletSession) licenceFile(t *testing.T) {
	t.Helper()
	b := w.b
	if !b.Visible("#ofd-btn") {
		t.Fatal("no 下载证照文件 button on the licence's page")
	}
	b.Click("#ofd-btn")
	b.WaitFor("the OFD download", `(document.getElementById('ofd-link') || {dataset: {}}).dataset.size > 0`)
	name := browsertest.Eval[string](b, `document.getElementById('ofd-link').download`)
	if !strings.HasPrefix(name, w.issued.ID) || !strings.HasSuffix(name, ".ofd") {
		t.Errorf("download named %q, want the licence identifier .ofd", name)
	}
	if got := b.Text("#status"); !strings.Contains(got, "证照文件已保存") {
		t.Errorf("status %q", got)
	}
	kept, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`elicenseWallet.list().then(l => elicenseWallet.ofd(l[0].id)).then(b => { let s = ''; for (const x of b) s += String.fromCharCode(x); return btoa(s); })`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	data, err := base64.StdEncoding.DecodeString(kept)
	if err != nil {
		t.Fatal(err)
	}
	roots, err := gm.ParseCertificatesPEM(w.s.RootPEM(t))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := vofd.Verify(data, vofd.Options{Roots: roots, At: time.Now()})
	if err != nil || rep.Verdict != vofd.Valid {
		t.Fatalf("the kept file: %v %s %s", err, rep.Verdict, rep.Detail)
	}
}
