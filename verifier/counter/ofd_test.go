package counter_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"elicense/certs/ses"
	"elicense/internal/browsertest"
	"elicense/internal/gm"
	"elicense/verifier"
	"elicense/verifier/counter"
	vofd "elicense/verifier/ofd"
	"elicense/verifier/seal"

	"github.com/chromedp/chromedp"
)

const ofdSamples = "../../certs/ofd/testdata/"

func readOFD(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(ofdSamples + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// rezipOFD writes the package again with edit applied to each file's
// bytes.
func rezipOFD(tb testing.TB, data []byte, edit func(name string, b []byte) []byte) []byte {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(edit(f.Name, b))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// signerCerts are the certificates the samples' signatures need trusted
// directly (their roots are not included): a seal's maker, a Sign
// signature's signer (the SignedData's first certificate).
func signerCerts(tb testing.TB, data []byte) []*gm.Certificate {
	tb.Helper()
	var out []*gm.Certificate
	rezipOFD(tb, data, func(name string, b []byte) []byte {
		if !strings.HasSuffix(name, "SignedValue.dat") {
			return b
		}
		if sig, err := ses.ParseSignature(b); err == nil {
			c, err := sig.TBS.Seal.MakerCertificate()
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, c)
			return b
		}
		// ContentInfo / [0] / SignedData: the certificates open with
		// A0 82 after the encapsulated content info.
		i := bytes.Index(b[20:], []byte{0xa0, 0x82})
		if i < 0 {
			tb.Fatalf("%s: no certificates", name)
		}
		start := 20 + i + 4
		c, err := gm.ParseCertificate(b[start : start+4+(int(b[start+2])<<8|int(b[start+3]))])
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, c)
		return b
	})
	return out
}

// changeEncoding flips the case of the "u" of encoding="UTF-8": one
// changed byte, the XML still well-formed.
func changeEncoding(tb testing.TB, b []byte) []byte {
	tb.Helper()
	i := bytes.Index(b, []byte(`encoding="UTF-8"`))
	if i < 0 {
		tb.Fatal("no encoding declaration")
	}
	out := bytes.Clone(b)
	out[i+len(`encoding="`)] ^= 0x20
	return out
}

// setOFDTrust sets what the fixture's OFDTrust returns.
func (f *fixture) setOFDTrust(opts vofd.Options, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ofdOpts, f.ofdErr = opts, err
}

// postOFD posts data raw as application/ofd to /api/ofd with query q.
func (f *fixture) postOFD(t *testing.T, q string, data []byte, out any) int {
	t.Helper()
	st, _ := f.post(t, "/api/ofd"+q, "application/ofd", data, out)
	return st
}

// TestOFDAPI uploads the interop samples and copies of them: VALID when
// the maker (or signer) is trusted, UNTRUSTED otherwise, a changed byte
// DOCUMENT_MODIFIED; one verdict per signature, Chinese headlines, the
// files no signature protects as warnings. The QR verifier is never
// called for a document.
func TestOFDAPI(t *testing.T) {
	f := newFixture(t)
	tax := readOFD(t, "tax-seal.ofd")
	gmt := readOFD(t, "gmt0010-sign.ofd")
	trusted := vofd.Options{Trusted: append(signerCerts(t, tax), signerCerts(t, gmt)...)}
	notRevoked := trusted
	notRevoked.Status = seal.SealStatusFunc(func(string) (bool, time.Time, bool) { return false, time.Time{}, true })
	// The second signature covers what the first leaves out; without it
	// OFD.xml and the annotation list are protected by none.
	oneSign := rezipOFD(t, gmt, func(name string, b []byte) []byte {
		if name == "Doc_0/Signs/Signatures.xml" {
			i := bytes.Index(b, []byte(`<ofd:Signature ID="2"`))
			j := bytes.Index(b, []byte(`</ofd:Signatures>`))
			if i < 0 || j < i {
				t.Fatal("gmt0010: unexpected Signatures.xml")
			}
			return append(bytes.Clone(b[:i]), b[j:]...)
		}
		return b
	})

	for _, tc := range []struct {
		name        string
		data        []byte
		q           string
		trust       vofd.Options
		code        vofd.Verdict
		headline    string
		colour      string
		sigs        []vofd.Verdict
		revocation  bool
		warnings    []string // each contained in one of the Chinese warnings, in order
		sigWarnings []string // each contained in the first signature's Chinese warnings, in order
	}{
		{name: "tax seal, maker trusted, as of signing", data: tax, q: "?as_of_signing=1", trust: notRevoked,
			code: vofd.Valid, headline: "有效", colour: "green", sigs: []vofd.Verdict{vofd.Valid}, revocation: true},
		{name: "tax seal, no bundle synced", data: tax, q: "?as_of_signing=1", trust: trusted,
			code: vofd.Valid, headline: "有效", colour: "green", sigs: []vofd.Verdict{vofd.Valid}, warnings: []string{"未核查印章是否吊销"}},
		// Revocation is asked last: a seal that fails before is not asked.
		{name: "tax seal, maker not trusted", data: tax, q: "?as_of_signing=1", trust: vofd.Options{Status: notRevoked.Status},
			code: vofd.UntrustedMaker, headline: "制章人不可信", colour: "amber", sigs: []vofd.Verdict{vofd.UntrustedMaker}},
		{name: "tax seal, today: its certificates have expired", data: tax, trust: notRevoked,
			code: vofd.Expired, headline: "证书或印章已过期", colour: "red", sigs: []vofd.Verdict{vofd.Expired}},
		{name: "tax seal, a page changed", q: "?as_of_signing=true", trust: notRevoked, revocation: true,
			data: rezipOFD(t, tax, func(name string, b []byte) []byte {
				if name == "Doc_0/Pages/Page_0/Content.xml" {
					return changeEncoding(t, b)
				}
				return b
			}),
			// The changed page no longer counts as protected.
			warnings: []string{"不受任何签名保护，改动它们不会使签名失败：Doc_0/Pages/Page_0/Content.xml"},
			code:     vofd.DocumentModified, headline: "文档已被修改", colour: "red", sigs: []vofd.Verdict{vofd.DocumentModified}},
		{name: "tax seal, a page changed, maker not trusted", q: "?as_of_signing=1", trust: vofd.Options{},
			warnings: []string{"Doc_0/Pages/Page_0/Content.xml", "未核查印章是否吊销"},
			data: rezipOFD(t, tax, func(name string, b []byte) []byte {
				if name == "Doc_0/Pages/Page_0/Content.xml" {
					return changeEncoding(t, b)
				}
				return b
			}),
			code: vofd.DocumentModified, headline: "文档已被修改", colour: "red", sigs: []vofd.Verdict{vofd.DocumentModified}},
		// Sign signatures have no revocation source: not checked, and said.
		{name: "GM/T 0010, two signatures", data: gmt, q: "?as_of_signing=1", trust: notRevoked,
			code: vofd.Valid, headline: "有效", colour: "green", sigs: []vofd.Verdict{vofd.Valid, vofd.Valid},
			warnings:    []string{"部分签名的吊销状态未能核查"},
			sigWarnings: []string{"本签名未保护 2 个显示文件，改动它们不会使本签名失败：Doc_0/Annots/Annotations.xml、OFD.xml"}},
		{name: "GM/T 0010, signers not trusted", data: gmt, q: "?as_of_signing=1", trust: vofd.Options{Status: notRevoked.Status},
			code: vofd.UntrustedSigner, headline: "签名人不可信", colour: "amber", sigs: []vofd.Verdict{vofd.UntrustedSigner, vofd.UntrustedSigner},
			sigWarnings: []string{"本签名未保护 2 个显示文件"}},
		{name: "GM/T 0010, one signature left", data: oneSign, q: "?as_of_signing=1", trust: notRevoked,
			code: vofd.PartiallyProtected, headline: "部分内容未受保护", colour: "amber", sigs: []vofd.Verdict{vofd.Valid},
			warnings:    []string{"以下显示文件不受任何签名保护，改动它们不会使签名失败：Doc_0/Annots/Annotations.xml、OFD.xml", "部分签名的吊销状态未能核查"},
			sigWarnings: []string{"本签名未保护 2 个显示文件"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.setOFDTrust(tc.trust, nil)
			before := f.verified()
			var res counter.OFDResult
			if st := f.postOFD(t, tc.q, tc.data, &res); st != 200 {
				t.Fatalf("status %d: %+v", st, res)
			}
			if res.Code != tc.code || res.Headline != tc.headline || res.Colour != tc.colour || res.OK != (tc.code == vofd.Valid) ||
				res.Message != tc.code.MessageZH() || res.MessageEN != tc.code.Message() || res.RevocationChecked != tc.revocation ||
				res.AsOfSigning != (tc.q != "") || !res.CheckedAt.Equal(f.clock()) {
				t.Errorf("document: %s %q %s ok=%v revocation=%v as-of-signing=%v at %v: %s",
					res.Code, res.Headline, res.Colour, res.OK, res.RevocationChecked, res.AsOfSigning, res.CheckedAt, res.Detail)
			}
			if len(res.Signatures) != len(tc.sigs) {
				t.Fatalf("%d signatures, want %d", len(res.Signatures), len(tc.sigs))
			}
			for i, s := range res.Signatures {
				if s.Verdict != tc.sigs[i] || s.Headline != ofdHeadline(s.Verdict) || s.Message != s.Verdict.MessageZH() || s.Matched == 0 {
					t.Errorf("signature %d: %s %q %q, %d/%d references: %s", i, s.Verdict, s.Headline, s.Message, s.Matched, len(s.References), s.Detail)
				}
				for _, w := range s.Warnings {
					if strings.Contains(w, "not protected by this signature") {
						t.Errorf("signature %d: the English unprotected warning is shown in Chinese: %q", i, w)
					}
				}
			}
			if tc.code == vofd.DocumentModified && res.Signatures[0].Matched != len(res.Signatures[0].References)-1 {
				t.Errorf("modified: %d/%d references match, want all but one", res.Signatures[0].Matched, len(res.Signatures[0].References))
			}
			assertContainsInOrder(t, "document warnings", res.Warnings, tc.warnings)
			assertContainsInOrder(t, "signature warnings", res.Signatures[0].Warnings, tc.sigWarnings)
			if len(res.WarningsEN) != len(res.Warnings) {
				t.Errorf("warnings: %q in Chinese, %q in English", res.Warnings, res.WarningsEN)
			}
			if n := f.verified(); n != before {
				t.Errorf("the QR verifier was called %d times for a document", n-before)
			}
		})
	}
}

// ofdHeadline is the headline the page shows for v.
func ofdHeadline(v vofd.Verdict) string {
	return map[vofd.Verdict]string{vofd.Valid: "有效", vofd.UntrustedMaker: "制章人不可信", vofd.UntrustedSigner: "签名人不可信",
		vofd.DocumentModified: "文档已被修改", vofd.Expired: "证书或印章已过期"}[v]
}

// assertContainsInOrder checks that got has exactly len(want) entries,
// the i-th containing want[i].
func assertContainsInOrder(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s %q, want %d containing %q", what, got, len(want), want)
		return
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("%s[%d] = %q, want it to contain %q", what, i, got[i], want[i])
		}
	}
}

// TestOFDAPIBadRequests: garbage, empty, too large, the wrong media type
// or parameter are 4xx with {code, message}; a multipart upload works;
// trust data that cannot be read is a 503; a counter without OFDTrust
// has no /api/ofd.
func TestOFDAPIBadRequests(t *testing.T) {
	f := newFixture(t)
	tax := readOFD(t, "tax-seal.ofd")
	var notOFD bytes.Buffer
	zw := zip.NewWriter(&notOFD)
	w, _ := zw.Create("hello.txt")
	w.Write([]byte("hello"))
	zw.Close()
	for _, tc := range []struct {
		name, q, ctype string
		body           []byte
		status         int
		code, field    string
	}{
		{"garbage", "", "application/ofd", []byte("this is not an OFD file"), 422, "NOT_OFD", ""},
		{"a zip without OFD.xml", "", "application/octet-stream", notOFD.Bytes(), 422, "NOT_OFD", ""},
		{"truncated", "", "application/zip", tax[:len(tax)/2], 422, "NOT_OFD", ""},
		{"empty", "", "application/ofd", nil, 400, "NO_FILE", ""},
		{"too large", "", "application/ofd", make([]byte, counter.MaxOFD+1), 413, "TOO_LARGE", ""},
		{"too large, multipart", "", "", nil, 413, "TOO_LARGE", ""},
		{"multipart without the file", "", "multipart/form-data; boundary=x", []byte("--x--\r\n"), 400, "NO_FILE", ""},
		{"text", "", "text/plain", []byte("x"), 415, "UNSUPPORTED_MEDIA_TYPE", ""},
		{"JSON", "", "application/json", []byte(`{}`), 415, "UNSUPPORTED_MEDIA_TYPE", ""},
		{"bad as_of_signing", "?as_of_signing=yes", "application/ofd", tax, 400, "BAD_REQUEST", "as_of_signing"},
	} {
		body, ctype := tc.body, tc.ctype
		if ctype == "" { // multipart with a file part one byte too large
			var mp bytes.Buffer
			mw := multipart.NewWriter(&mp)
			fw, _ := mw.CreateFormFile("ofd", "big.ofd")
			fw.Write(make([]byte, counter.MaxOFD+1))
			mw.Close()
			body, ctype = mp.Bytes(), mw.FormDataContentType()
		}
		var e counter.Error
		if st, _ := f.post(t, "/api/ofd"+tc.q, ctype, body, &e); st != tc.status || e.Code != tc.code || e.Message == "" || e.Field != tc.field {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, st, e, tc.status, tc.code)
		}
	}

	// Multipart, as a form or curl -F sends it.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("ofd", "invoice.ofd")
	fw.Write(tax)
	mw.Close()
	var res counter.OFDResult
	if st, _ := f.post(t, "/api/ofd", mw.FormDataContentType(), mp.Bytes(), &res); st != 200 || res.Code != vofd.UntrustedMaker || len(res.Signatures) != 1 {
		t.Errorf("multipart: %d %s %d signatures", st, res.Code, len(res.Signatures))
	}

	// A document that takes longer than the counter's budget (here a
	// budget shorter than any document) is refused with a reason, not a
	// 5xx, and frees the counter's one OFD slot for the next upload.
	slow := newFixtureWith(t, fixtureOptions{ofdTimeout: time.Nanosecond})
	gmt := readOFD(t, "gmt0010-sign.ofd")
	for i := range 2 {
		var ce counter.Error
		if st := slow.postOFD(t, "", gmt, &ce); st != 422 || ce.Code != "TOO_COSTLY" || !strings.Contains(ce.Message, "took too long") {
			t.Errorf("over the time budget, upload %d: %d %+v", i+1, st, ce)
		}
	}
	if st := f.postOFD(t, "?as_of_signing=1", gmt, &res); st != 200 || res.Code != vofd.UntrustedSigner {
		t.Errorf("within the budget: %d %s", st, res.Code)
	}

	f.setOFDTrust(vofd.Options{}, errors.New("cache.json: unexpected end of JSON input"))
	var e counter.Error
	if st := f.postOFD(t, "", tax, &e); st != 503 || e.Code != "NO_TRUST" || !strings.Contains(e.Message, "cache.json") {
		t.Errorf("trust data unreadable: %d %+v", st, e)
	}

	// GET, and a POST without the token.
	resp, err := http.Get(f.URL + "/api/ofd")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET /api/ofd = %d", resp.StatusCode)
	}
	resp, err = http.Post(f.URL+"/api/ofd", "application/ofd", bytes.NewReader(tax))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("POST /api/ofd without the token = %d", resp.StatusCode)
	}

	g := newFixtureWith(t, fixtureOptions{noTrust: true})
	if st := g.postOFD(t, "", tax, &e); st != 404 || e.Code != "NOT_FOUND" {
		t.Errorf("without OFDTrust: %d %+v", st, e)
	}
	for _, c := range []struct {
		f    *fixture
		want bool
	}{{f, true}, {g, false}} {
		resp, err := http.Get(c.f.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := bytes.Contains(page, []byte(`<meta name="counter-ofd" content="1">`)); got != c.want {
			t.Errorf("the page says OFD upload is on: %v, want %v", got, c.want)
		}
	}
}

// TestOFDInBrowser drives the page's 核验 OFD 文件 control in headless
// Chromium: a two-signature GM/T 0010 document picked with the file
// chooser and checked as of signing (green, one entry per signature, the
// files a signature leaves out listed), a modified copy (red
// DOCUMENT_MODIFIED), a file that is no OFD (the error shown), the
// English page, and a sealed document dropped onto the page whose maker
// this counter does not trust (amber).
func TestOFDInBrowser(t *testing.T) {
	ctx := browsertest.Open(t, 1280, 900)
	p := &ofdPage{t: t, ctx: ctx, tab: &browsertest.Tab{T: t, Ctx: ctx, Timeout: 15 * time.Second}}
	f := newFixture(t)
	tax := readOFD(t, "tax-seal.ofd")
	gmt := readOFD(t, "gmt0010-sign.ofd")
	f.setOFDTrust(vofd.Options{Trusted: append(signerCerts(t, tax), signerCerts(t, gmt)...),
		Status: seal.SealStatusFunc(func(string) (bool, time.Time, bool) { return false, time.Time{}, true })}, nil)
	files := writeOFDUploads(t, tax, gmt)
	console := browsertest.WatchConsole(ctx, true) // the 422 of the junk file is logged as a failed load

	p.open(f.URL)
	p.checkValid(files.gmt)
	p.checkModified(files.modified)
	p.checkJunk(files.junk)
	p.checkEnglish(files.gmt)

	// Dropped onto the page, checked now, by a counter that trusts no
	// maker: the seal is intact, its maker unknown here.
	f.setOFDTrust(vofd.Options{}, nil)
	p.checkDropped(tax)

	checkOFDPosts(t, f, 5)
	console.Check(t)
}

// ofdUploads are the paths of the files TestOFDInBrowser picks.
type ofdUploads struct {
	gmt, modified, junk string
}

// writeOFDUploads writes the two-signature document, a copy of the
// sealed one with a page changed, and a file that is no OFD.
func writeOFDUploads(t *testing.T, tax, gmt []byte) ofdUploads {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return ofdUploads{
		gmt: write("发票.ofd", gmt),
		modified: write("modified.ofd", rezipOFD(t, tax, func(name string, b []byte) []byte {
			if name == "Doc_0/Pages/Page_0/Content.xml" {
				return changeEncoding(t, b)
			}
			return b
		})),
		junk: write("junk.ofd", []byte("PK but not really a zip")),
	}
}

// ofdPage is the counter page in a headless tab, seen through its OFD
// control.
type ofdPage struct {
	t   *testing.T
	ctx context.Context
	tab *browsertest.Tab
}

// upload picks path with the control's file chooser.
func (p *ofdPage) upload(path string) {
	p.t.Helper()
	p.tab.Do(chromedp.SetUploadFiles(chromedp.CSS("#ofd-input"), []string{path}))
}

// code waits until the page shows the verdict code want.
func (p *ofdPage) code(want string) {
	p.t.Helper()
	p.tab.WaitFor(want, `document.getElementById('v-code').textContent === `+browsertest.Quote(want))
}

// colour is the verdict panel's colour.
func (p *ofdPage) colour() string {
	return browsertest.Eval[string](p.tab, `document.getElementById('panel').dataset.colour`)
}

// sigs is the text of sel in each signature entry.
func (p *ofdPage) sigs(sel string) []string {
	return browsertest.Eval[[]string](p.tab, `Array.from(document.querySelectorAll('#v-sigs > li `+sel+`')).map((e) => e.textContent)`)
}

// open loads the page, waits for the OFD control and ticks 按签名时间核验.
func (p *ofdPage) open(url string) {
	p.t.Helper()
	p.tab.Do(chromedp.Navigate(url + "/"))
	p.tab.WaitFor("the OFD control", `!document.getElementById('ofd').hidden`)
	if got := p.tab.Text("#ofd .scan-label"); got != "核验 OFD 文件" {
		p.t.Errorf("control title %q", got)
	}
	p.tab.Click("#ofd-asof")
}

// checkValid uploads the two-signature document: green, one entry per
// signature, the files the first leaves out listed under it; and saves a
// screenshot.
func (p *ofdPage) checkValid(path string) {
	t, tab := p.t, p.tab
	p.upload(path)
	p.code("VALID")
	if got := p.colour(); got != "green" {
		t.Errorf("colour %q", got)
	}
	if got := tab.Text("#v-headline"); got != "有效" {
		t.Errorf("headline %q", got)
	}
	if got := tab.Text("#v-message"); got != vofd.Valid.MessageZH() {
		t.Errorf("message %q", got)
	}
	if got := tab.Text("#v-time"); !strings.HasSuffix(got, "按签名时间核验") {
		t.Errorf("time line %q", got)
	}
	if got := p.sigs(".sig-headline"); !slices.Equal(got, []string{"有效", "有效"}) {
		t.Errorf("signature headlines %q", got)
	}
	if got := p.sigs(".sig-kind"); !slices.Equal(got, []string{"签名 1 · 电子签名", "签名 2 · 电子签名"}) {
		t.Errorf("signature kinds %q", got)
	}
	if got := p.sigs(".sig-warnings"); len(got) != 1 || got[0] != "本签名未保护 2 个显示文件，改动它们不会使本签名失败：Doc_0/Annots/Annotations.xml、OFD.xml" {
		t.Errorf("signature warnings %q", got)
	}
	if tab.Visible("#v-body") {
		t.Error("licence details shown for a document")
	}
	// Fully protected, so no coverage warning; but Sign signatures have
	// no revocation source, and the page says so.
	if got := tab.Text("#v-warnings"); !tab.Visible("#v-warnings") || !strings.Contains(got, "部分签名的吊销状态未能核查") || strings.Contains(got, "不受任何签名保护") {
		t.Errorf("document warnings %q", got)
	}
	shot, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, "counter-ofd.png", shot)
}

// checkModified uploads the copy with a page changed: red
// DOCUMENT_MODIFIED, the changed page listed as unprotected.
func (p *ofdPage) checkModified(path string) {
	t, tab := p.t, p.tab
	p.upload(path)
	p.code("DOCUMENT_MODIFIED")
	if got, head := p.colour(), tab.Text("#v-headline"); got != "red" || head != "文档已被修改" {
		t.Errorf("modified: %s %q", got, head)
	}
	if got := p.sigs(".sig-code"); !slices.Equal(got, []string{"DOCUMENT_MODIFIED"}) {
		t.Errorf("signature codes %q", got)
	}
	if got := tab.Text("#v-warnings"); !strings.Contains(got, "Doc_0/Pages/Page_0/Content.xml") {
		t.Errorf("document warnings %q", got)
	}
}

// checkJunk uploads a file that is no OFD: the error shown in red, no
// signatures.
func (p *ofdPage) checkJunk(path string) {
	t, tab := p.t, p.tab
	p.upload(path)
	p.code("NOT_OFD")
	if got := tab.Text("#v-headline"); got != "不是 OFD 文件" || p.colour() != "red" || tab.Visible("#v-sigs") {
		t.Errorf("junk: headline %q, colour %s, signatures shown %v", got, p.colour(), tab.Visible("#v-sigs"))
	}
}

// checkEnglish shows the document at path again and switches the page to
// English and back.
func (p *ofdPage) checkEnglish(path string) {
	t, tab := p.t, p.tab
	p.upload(path)
	p.code("VALID")
	tab.Click("#lang-btn")
	if got := tab.Text("#v-message"); got != vofd.Valid.Message() {
		t.Errorf("English message %q", got)
	}
	if got := p.sigs(".sig-kind"); len(got) != 2 || got[0] != "Signature 1 · digital signature" {
		t.Errorf("English signature kinds %q", got)
	}
	if got := p.sigs(".sig-warnings"); len(got) != 1 || !strings.Contains(got[0], "not protected by this signature") {
		t.Errorf("English signature warnings %q", got)
	}
	tab.Click("#lang-btn")
}

// checkDropped unticks 按签名时间核验 and drops data onto the page; the
// counter trusts no maker, so the intact seal is amber UNTRUSTED_MAKER.
func (p *ofdPage) checkDropped(data []byte) {
	t, tab := p.t, p.tab
	tab.Click("#ofd-asof")
	tab.Do(chromedp.Evaluate[chromedp.Void](`(() => {
		const bin = atob(` + browsertest.Quote(base64.StdEncoding.EncodeToString(data)) + `);
		const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
		const dt = new DataTransfer();
		dt.items.add(new File([bytes], 'invoice.OFD', { type: '' }));
		document.getElementById('panel').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
	})()`))
	tab.WaitFor("the dropped document's verdict", `document.getElementById('v-code').textContent === 'EXPIRED' || document.getElementById('v-code').textContent === 'UNTRUSTED_MAKER'`)
	if got, head := tab.Text("#v-code"), tab.Text("#v-headline"); got != "UNTRUSTED_MAKER" || head != "制章人不可信" || p.colour() != "amber" {
		t.Errorf("dropped: %s %q %s", got, head, p.colour())
	}
	if got := tab.Text("#v-warnings"); !strings.Contains(got, "未核查印章是否吊销") {
		t.Errorf("dropped: warnings %q", got)
	}
	if strings.Contains(tab.Text("#v-time"), "按签名时间核验") {
		t.Error("checked as of signing with the box unticked")
	}
}

// checkOFDPosts checks that the QR verifier was never called and that
// want uploads reached /api/ofd.
func checkOFDPosts(t *testing.T, f *fixture, want int) {
	if n := f.verified(); n != 0 {
		t.Errorf("the QR verifier was called %d times", n)
	}
	var posts int
	for _, h := range f.apiHits() {
		if h.path == "/api/ofd" {
			posts++
		}
	}
	if posts != want {
		t.Errorf("%d uploads reached /api/ofd, want %d", posts, want)
	}
}

// FuzzOFDUpload posts arbitrary bytes to /api/ofd: the answer is a 200
// verdict or a 4xx with {code, message}, never a 5xx or a panic.
func FuzzOFDUpload(f *testing.F) {
	f.Add(readOFD(f, "tax-seal.ofd"), false)
	f.Add(readOFD(f, "ofdrw-seal.ofd"), true)
	f.Add([]byte("PK\x03\x04"), false)
	trust := vofd.Options{Trusted: signerCerts(f, readOFD(f, "tax-seal.ofd"))}
	h := counter.New(counter.Options{
		Verify:   func(string, time.Time) verifier.Verdict { panic("no QR is verified here") },
		OFDTrust: func() (vofd.Options, error) { return trust, nil },
	})
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8090}
	request := func(method, target string, body []byte) *http.Request {
		r := httptest.NewRequest(method, target, bytes.NewReader(body))
		r.Host = local.String()
		return r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, local))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, request("GET", "/", nil))
	m := tokenMeta.FindSubmatch(rec.Body.Bytes())
	if m == nil {
		f.Fatal("no token in the page")
	}
	f.Fuzz(func(t *testing.T, data []byte, asOfSigning bool) {
		target := "/api/ofd"
		if asOfSigning {
			target += "?as_of_signing=1"
		}
		r := request("POST", target, data)
		r.Header.Set("Content-Type", "application/ofd")
		r.Header.Set(counter.TokenHeader, string(m[1]))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var e counter.Error
		switch {
		case rec.Code == 200:
			var res counter.OFDResult
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.Code == "" || res.Headline == "" {
				t.Fatalf("200 without a verdict: %v %s", err, rec.Body.Bytes())
			}
		case rec.Code >= 400 && rec.Code < 500:
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" {
				t.Fatalf("%d without {code, message}: %s", rec.Code, rec.Body.Bytes())
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
		}
	})
}
