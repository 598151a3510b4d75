package console_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"elicense/certs/archive"
	"elicense/certs/catalog"
	"elicense/certs/ofd"
	"elicense/internal/browsertest"
	"elicense/internal/chinatime"
	"elicense/internal/gm"
	"elicense/issuer/csvimport"
	"elicense/issuer/service"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestOperationsInBrowser drives, in a real headless Chromium against the
// real API, every agency operation the console offers beyond issuing and
// status changes: a new claim code the holder claims with; unbinding the
// lost phone's copy, after which a new code claims again; the licence
// face; the sealed OFD file and the QR downloaded; the ledger history
// with each inclusion proof verified in the page; re-issue; seals made
// and revoked; a CSV import with progress and the rejected-rows report
// (its keys the CLI's); an admin minting a clerk's token that works, then
// revoking it. The steps run in one page, each on the state the one
// before left.
func TestOperationsInBrowser(t *testing.T) {
	tabCtx := browsertest.Open(t, 1360, 900)
	s := newTestServer(t)
	ag, ok := s.pki.AgencyForClass("business-license")
	if !ok {
		t.Fatal("no agency issues business-license")
	}
	token, _, err := s.tokens.Mint(service.Operator{Subject: "clerk-02", Role: service.RoleOperator, Agency: ag.Code}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := chromedp.CallBrowser(tabCtx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		t.Fatal(err)
	}
	o := &opsSession{t: t, b: &browsertest.Tab{T: t, Ctx: tabCtx, Timeout: 20 * time.Second}, s: s, agency: ag.Code, agencyName: ag.Name, token: token, downloads: dir}
	console := browsertest.WatchConsole(tabCtx, true) // 4xx come on purpose

	o.login(token)
	o.openIssued()
	o.claimCode()
	o.unbindAndClaimAgain()
	o.face()
	o.files()
	o.history()
	o.reissue()
	o.seals()
	o.importCSV()
	o.tokens()
	o.adminTools()

	console.Check(t)
}

// opsSession is the console open in a browser tab over a test server,
// with what the steps so far have done.
type opsSession struct {
	t          *testing.T
	b          *browsertest.Tab
	s          *testServer
	agency     string // the clerk's agency code
	agencyName string
	token      string // the clerk's token
	downloads  string // where the browser saves files

	id     string // the licence the steps work on
	copyID string // its first device copy
}

// get fetches path through the API with the clerk's token into out.
func (o *opsSession) get(path string, out any) int {
	o.t.Helper()
	return o.s.call(o.t, "GET", path, o.token, nil, out)
}

// login logs in with token.
func (o *opsSession) login(token string) {
	b := o.b
	b.Do(chromedp.Navigate(o.s.URL + "/console/"))
	b.Do(chromedp.WaitVisible(chromedp.CSS("#token-input")))
	b.Set("#token-input", token)
	b.Click("#login-btn")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#app-view")))
}

// openIssued issues a licence through the API and opens it from a
// search: the detail names the agency, not only its code.
func (o *opsSession) openIssued() {
	t, b := o.t, o.b
	var lic struct {
		ID string `json:"id"`
	}
	if st := o.s.call(t, "POST", "/v1/licences", o.token, map[string]any{"class": "business-license", "fields": sample(t, "business-license")}, &lic); st != 201 {
		t.Fatalf("issue: %d", st)
	}
	o.id = lic.ID
	b.Click("#tab-search")
	b.Set("#search-holder", sample(t, "business-license")["uscc"])
	b.Click("#search-btn")
	row := fmt.Sprintf(`#results-body tr[data-id=%s]`, browsertest.Quote(o.id))
	b.Click(row + ` button[data-action="open"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#detail-dialog")))
	b.WaitFor("the agency's name", fmt.Sprintf(`document.getElementById('detail-agency').textContent.includes(%s)`, browsertest.Quote(o.agencyName)))
	if got := b.Text("#detail-agency"); !strings.Contains(got, o.agency) {
		t.Errorf("detail agency %q lacks the code %s", got, o.agency)
	}
	if got := b.Text("#detail-meta"); !strings.Contains(got, "营业执照") {
		t.Errorf("detail lacks the class name: %q", got)
	}
}

// claimAs claims a device copy with code, as a holder's wallet does, and
// returns the status and the copy's identifier.
func (o *opsSession) claimAs(code string) (int, string) {
	t := o.t
	dev, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := gm.MarshalPublicKeyCompressed(dev.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	var ch struct{ Challenge string }
	if st := o.s.call(t, "POST", "/v1/claims/challenge", "", nil, &ch); st != 201 {
		t.Fatalf("challenge: %d", st)
	}
	sig, err := gm.SignRS(dev, service.ClaimSigningInput(ch.Challenge, code, raw))
	if err != nil {
		t.Fatal(err)
	}
	var cp struct {
		ID     string `json:"id"`
		CopyOf string `json:"copy_of"`
	}
	st := o.s.call(t, "POST", "/v1/claims", "", service.ClaimRequest{Code: code, DeviceKey: base64.RawURLEncoding.EncodeToString(raw),
		Challenge: ch.Challenge, Signature: base64.RawURLEncoding.EncodeToString(sig)}, &cp)
	if st == 201 && cp.CopyOf != o.id {
		t.Errorf("claimed copy %s is of %q, want %s", cp.ID, cp.CopyOf, o.id)
	}
	return st, cp.ID
}

// newCode makes a claim code in the page and returns it.
func (o *opsSession) newCode() string {
	b := o.b
	b.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById('claim-code').textContent = ''`))
	b.Click(`#detail-actions button[data-action="claimCode"]`)
	b.WaitFor("the claim code", `document.getElementById('claim-code').textContent !== ''`)
	return b.Text("#claim-code")
}

// claimCode: a new 领证码 from the detail; the holder claims with it and
// the copy is listed under the licence.
func (o *opsSession) claimCode() {
	t, b := o.t, o.b
	code := o.newCode()
	st, copyID := o.claimAs(code)
	if st != 201 {
		t.Fatalf("claim with the code the page made (%q): %d", code, st)
	}
	o.copyID = copyID
	if st, _ := o.claimAs(code); st == 201 {
		t.Error("a claim code claimed twice")
	}
	// The detail lists the copy once reopened.
	b.Click("#detail-close")
	b.Click(fmt.Sprintf(`#results-body tr[data-id=%s] button[data-action="open"]`, browsertest.Quote(o.id)))
	b.WaitFor("the copy", fmt.Sprintf(`document.querySelector('#copies-body tr[data-id=%s] button[data-action="unbind"]') !== null`, browsertest.Quote(o.copyID)))
	screenshot(b, "console-detail.png")
}

// unbindAndClaimAgain: the phone is lost; unbinding revokes its copy and
// a new code claims on the new phone.
func (o *opsSession) unbindAndClaimAgain() {
	t, b := o.t, o.b
	b.Click(fmt.Sprintf(`#copies-body tr[data-id=%s] button[data-action="unbind"]`, browsertest.Quote(o.copyID)))
	b.Do(chromedp.WaitVisible(chromedp.CSS("#ask-dialog")))
	if got := b.Text("#ask-id"); got != o.copyID {
		t.Errorf("the confirmation names %q, want %s", got, o.copyID)
	}
	b.Click("#ask-ok")
	b.WaitFor("the unbound copy", fmt.Sprintf(`(document.querySelector('#copies-body tr[data-id=%s] .status') || {dataset: {}}).dataset.status === 'revoked'`, browsertest.Quote(o.copyID)))
	var cp licenceReply
	if st := o.get("/v1/licences/"+url.PathEscape(o.copyID), &cp); st != 200 || cp.Status != "revoked" || cp.Reason != "遗失" {
		t.Fatalf("after unbinding, the copy is %d %+v", st, cp)
	}
	if _, lic := (&consoleSession{t: t, s: o.s, token: o.token}).licence(o.id); lic.Status != "valid" {
		t.Fatalf("unbinding changed the licence: %+v", lic)
	}
	st, second := o.claimAs(o.newCode())
	if st != 201 || second == o.copyID {
		t.Fatalf("claim after unbinding: %d %s", st, second)
	}
}

// face: the licence face as the API renders it, in the page: the fields,
// the agency's name, its seal and the QR as images.
func (o *opsSession) face() {
	t, b := o.t, o.b
	b.Click(`#detail-actions button[data-action="face"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#face-dialog")))
	b.WaitFor("the face's images", `(() => { const i = [...document.querySelectorAll('#face-view img')]; return i.length === 2 && i.every((x) => x.src.startsWith('blob:') && x.complete && x.naturalWidth > 0); })()`)
	got := b.Text("#face-view")
	for _, want := range []string{"营业执照", sample(t, "business-license")["name"], o.agencyName, o.id} {
		if !strings.Contains(got, want) {
			t.Errorf("the face lacks %q: %q", want, got)
		}
	}
	screenshot(b, "console-face.png")
	b.Click("#face-close")
	b.Do(chromedp.WaitNotVisible(chromedp.CSS("#face-dialog")))
}

// downloaded waits for the browser to save name and returns its bytes.
func (o *opsSession) downloaded(name string) []byte {
	o.t.Helper()
	path := filepath.Join(o.downloads, name)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
			if _, err := os.Stat(path + ".crdownload"); err != nil {
				return data
			}
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(o.downloads)
			o.t.Fatalf("%s was not downloaded (have %v)", name, entries)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// files: the sealed OFD file opens as an OFD package with a signature,
// and the QR PNG is the API's.
func (o *opsSession) files() {
	t, b := o.t, o.b
	b.Click(`#detail-actions button[data-action="ofd"]`)
	data := o.downloaded(o.id + ".ofd")
	p, err := ofd.Open(data, nil)
	if err != nil {
		t.Fatalf("the downloaded OFD file: %v", err)
	}
	if p.Root == nil || !bytes.Contains(data, []byte("Signatures")) {
		t.Error("the downloaded OFD file has no signatures")
	}
	b.Click(`#detail-actions button[data-action="qrPng"]`)
	png := o.downloaded(o.id + ".png")
	req, _ := http.NewRequest("GET", o.s.URL+"/v1/licences/"+url.PathEscape(o.id)+"/qr?format=png&scale=8", nil)
	req.Header.Set("Authorization", "Bearer "+o.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(png, want) {
		t.Errorf("the downloaded QR (%d bytes) is not the API's (%d bytes)", len(png), len(want))
	}
}

// history: the licence's ledger events, each proof verified in the page
// against the checkpoint, as the API lists them.
func (o *opsSession) history() {
	t, b := o.t, o.b
	h := o.coveredHistory(4) // issue, claim, unbind, claim
	b.Click(`#detail-actions button[data-action="history"]`)
	b.WaitFor("the history", fmt.Sprintf(`document.querySelectorAll('#history-body tr[data-index]').length === %d`, len(h.Events)))
	rows := browsertest.Eval[[]map[string]string](b, `[...document.querySelectorAll('#history-body tr[data-index]')].map((r) => ({index: r.dataset.index, kind: r.dataset.kind, verified: r.dataset.verified}))`)
	var kinds []string
	for i, r := range rows {
		kinds = append(kinds, r["kind"])
		if r["index"] != fmt.Sprint(h.Events[i].Index) || r["kind"] != h.Events[i].Kind || r["verified"] != "verified" {
			t.Errorf("history row %d = %v, want index %d kind %s verified", i, r, h.Events[i].Index, h.Events[i].Kind)
		}
	}
	if !slices.Equal(kinds, []string{"issue", "claim", "unbind", "claim"}) {
		t.Errorf("history kinds %v", kinds)
	}
	if got := b.Text("#history-body tr:first-child"); !strings.Contains(got, "签发") || !strings.Contains(got, "与检查点一致") {
		t.Errorf("first history row %q", got)
	}
	screenshot(b, "console-history.png")

	// A proof the page cannot verify is shown as failed, whatever the
	// answer's own verdict.
	o.s.tamper.Store(true)
	defer o.s.tamper.Store(false)
	b.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById('history-body').replaceChildren()`))
	b.Click(`#detail-actions button[data-action="history"]`)
	b.WaitFor("the tampered history", `document.querySelectorAll('#history-body tr[data-verified="failed"]').length === 1`)
	if !b.Visible("#history-error") || !strings.Contains(b.Text("#history-error"), "核验失败") {
		t.Errorf("no warning for a proof that does not verify: %q", b.Text("#history-error"))
	}
}

// historyAnswer is what the test reads of GET /v1/licences/{id}/history.
type historyAnswer struct {
	Checkpoint struct{ Size uint64 } `json:"checkpoint"`
	Events     []struct {
		Index uint64 `json:"index"`
		Kind  string `json:"kind"`
	} `json:"events"`
}

// coveredHistory waits until the licence has n events and a signed
// checkpoint covers them all, and returns its history.
func (o *opsSession) coveredHistory(n int) historyAnswer {
	o.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var h historyAnswer
		o.get("/v1/licences/"+url.PathEscape(o.id)+"/history", &h)
		if len(h.Events) >= n && h.Checkpoint.Size > h.Events[len(h.Events)-1].Index {
			return h
		}
		if time.Now().After(deadline) {
			o.t.Fatalf("no checkpoint covers the licence's %d events: %+v", n, h)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reissue: changed fields make the next version; the old one is
// superseded by it, and the new one carries the change.
func (o *opsSession) reissue() {
	t, b := o.t, o.b
	b.Click(`#detail-actions button[data-action="reissue"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#reissue-form")))
	if got := browsertest.Eval[string](b, `document.getElementById('r-name').value`); got != sample(t, "business-license")["name"] {
		t.Errorf("the re-issue form is not filled: name %q", got)
	}
	b.Click("#reissue-submit") // nothing changed: refused in the page
	b.Do(chromedp.WaitVisible(chromedp.CSS("#reissue-error")))
	b.Set("#r-legal_rep", "王五")
	b.Click("#reissue-submit")
	b.WaitFor("the new version", fmt.Sprintf(`document.getElementById('detail-dialog').dataset.id !== %s`, browsertest.Quote(o.id)))
	next := browsertest.Eval[string](b, `document.getElementById('detail-dialog').dataset.id`)
	var old, nv struct {
		Status       string            `json:"status"`
		SupersededBy string            `json:"superseded_by"`
		Supersedes   string            `json:"supersedes"`
		Fields       map[string]string `json:"fields"`
	}
	o.get("/v1/licences/"+url.PathEscape(o.id), &old)
	o.get("/v1/licences/"+url.PathEscape(next), &nv)
	if old.Status != "superseded" || old.SupersededBy != next || nv.Supersedes != o.id || nv.Fields["legal_rep"] != "王五" || nv.Fields["name"] != sample(t, "business-license")["name"] {
		t.Fatalf("after re-issue: old %+v, new %s %+v", old, next, nv)
	}
	if got := b.Text("#detail-meta"); !strings.Contains(got, o.id) {
		t.Errorf("the new version's detail does not name the one it replaces: %q", got)
	}
	b.Click("#detail-close")
	b.Do(chromedp.WaitNotVisible(chromedp.CSS("#detail-dialog")))
}

// holderCert makes a self-signed SM2 certificate for a seal's user, PEM.
func holderCert(t *testing.T) string {
	k, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &gm.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "上海浦江示例科技有限公司"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: gm.KeyUsageDigitalSignature}
	der, err := gm.CreateCertificate(tmpl, tmpl, k.PublicKey(), k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

type sealReply struct {
	Seals []struct {
		ESID       string `json:"esid"`
		HolderCode string `json:"holder_code"`
		Reason     string `json:"reason"`
	} `json:"seals"`
}

// seals: a seal made through the form (a bad certificate first) is
// listed and in the API; revoked with a reason, the API says so.
func (o *opsSession) seals() {
	t, b := o.t, o.b
	b.Click("#tab-seals")
	b.WaitFor("the empty seal list", `document.getElementById('seal-empty').textContent === '尚未制作印章。'`)
	b.Click("#seal-new")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#seal-form")))
	code := sample(t, "business-license")["uscc"]
	b.Set("#seal-f-holder_name", "上海浦江示例科技有限公司")
	b.Set("#seal-f-holder_code", strings.ToLower(code))
	b.Set("#seal-f-type", "4")
	b.Set("#seal-f-cert", "-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----")
	b.Click("#seal-submit")
	b.WaitFor("the certificate error", `document.getElementById('seal-err-signer_cert').textContent !== ''`)
	if got := b.Text("#seal-err-signer_cert .field-error-text"); got != "无法识别的证书：须为 SM2 证书（PEM 或 base64 DER）。" {
		t.Errorf("certificate error %q", got)
	}
	b.Set("#seal-f-cert", holderCert(t))
	b.Click("#seal-submit")
	b.WaitFor("the made seal", `!document.getElementById('seal-made').hidden`)
	esid := b.Text("#seal-made-esid")
	row := fmt.Sprintf(`#seal-body tr[data-esid=%s]`, browsertest.Quote(esid))
	b.WaitFor("the seal's row", fmt.Sprintf(`document.querySelector(%s) !== null`, browsertest.Quote(row)))
	var list sealReply
	if st := o.get("/v1/seals", &list); st != 200 || len(list.Seals) != 1 || list.Seals[0].ESID != esid || list.Seals[0].HolderCode != code {
		t.Fatalf("the API lists %d %+v, want %s for %s", st, list, esid, code)
	}
	if got := b.Text(row); !strings.Contains(got, o.agencyName) || !strings.Contains(got, "有效") {
		t.Errorf("seal row %q", got)
	}
	screenshot(b, "console-seals.png")
	b.Click(row + ` button[data-seal-action="revoke"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#ask-dialog")))
	b.Click("#ask-ok") // no reason: refused in the dialog
	b.WaitFor("the reason mark", `document.getElementById('ask-err-reason').textContent !== ''`)
	b.Set("#ask-reason", "停用")
	b.Click("#ask-ok")
	b.WaitFor("the revoked seal", fmt.Sprintf(`(document.querySelector(%s) || {dataset: {}}).dataset.state === 'revoked'`, browsertest.Quote(row+" .status")))
	if st := o.get("/v1/seals", &list); st != 200 || list.Seals[0].Reason != "停用" {
		t.Fatalf("after revoking, the API lists %+v", list)
	}
}

// importCSV imports a CSV of four rows (two good, one with a bad code, one
// without a required field): the progress reaches the end, the rejected
// rows are listed and in the report with their lines, and the CLI's
// import of the same file finds the two issued (the same keys).
func (o *opsSession) importCSV() {
	t, b := o.t, o.b
	cl, _ := catalog.Default().Lookup("business-license")
	file := importFile(t, cl)

	b.Click("#tab-import")
	b.Set("#imp-class", "business-license")
	b.Do(chromedp.SetUploadFiles(chromedp.CSS("#imp-file"), []string{file}))
	b.WaitFor("the file's rows", `document.getElementById('imp-file-info').textContent.includes('4')`)
	b.Click("#imp-submit")
	b.WaitFor("the summary", `!document.getElementById('imp-summary').hidden`)
	for sel, want := range map[string]string{"#imp-rows": "4", "#imp-issued": "2", "#imp-existing": "0", "#imp-rejected": "2"} {
		if got := b.Text(sel); got != want {
			t.Errorf("%s = %q, want %s", sel, got, want)
		}
	}
	if v := browsertest.Eval[float64](b, `document.getElementById('imp-progress').value / document.getElementById('imp-progress').max`); v != 1 {
		t.Errorf("progress at %v, want 1", v)
	}
	lines := browsertest.Eval[[]string](b, `[...document.querySelectorAll('#imp-rejects-body tr')].map((r) => r.dataset.line + ':' + r.dataset.field)`)
	if !slices.Equal(lines, []string{"3:uscc", "4:name"}) {
		t.Errorf("rejected rows %v, want 3:uscc 4:name", lines)
	}
	screenshot(b, "console-import.png")
	b.Click("#imp-report-dl")
	report, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(o.downloaded("business-license.rejected.csv"), []byte("\ufeff")))).ReadAll()
	if err != nil || len(report) != 3 || !slices.Equal(report[0], []string{"line", "field", "reason"}) || report[1][0] != "3" || report[2][0] != "4" || report[2][1] != "name" {
		t.Errorf("rejected-rows report %v (%v)", report, err)
	}
	b.Click("#imp-results-dl")
	results, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(o.downloaded("business-license.issued.csv"), []byte("\ufeff")))).ReadAll()
	if err != nil || len(results) != 3 || len(results[1][2]) < 8 {
		t.Errorf("results %v (%v)", results, err)
	}
	for _, r := range results[1:] {
		var lic licenceReply
		if st := o.get("/v1/licences/"+url.PathEscape(r[1]), &lic); st != 200 || lic.Status != "valid" {
			t.Errorf("imported %s: %d %+v", r[1], st, lic)
		}
	}
	// The CLI's import of the same file issues nothing again.
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := csvimport.Run(context.Background(), f, csvimport.Options{Server: o.s.URL, Token: o.token, Class: cl})
	if err != nil || res.Issued != 0 || res.Existing != 2 || res.Rejected != 2 {
		t.Errorf("the CLI's import after the console's: %+v, %v; want 2 existing, 0 issued", res, err)
	}
}

// importFile writes a CSV of four business licences: two good, one with
// a bad code (line 3), one without a required field (line 4).
func importFile(t *testing.T, cl *catalog.Class) string {
	good := sample(t, "business-license")
	var header []string
	for _, f := range cl.Fields {
		header = append(header, f.Label)
	}
	rowOf := func(change map[string]string) []string {
		var r []string
		for _, f := range cl.Fields {
			v := good[f.Key]
			if c, ok := change[f.Key]; ok {
				v = c
			}
			r = append(r, v)
		}
		return r
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(header)
	w.Write(rowOf(map[string]string{"name": "上海浦江示例一号有限公司"}))
	w.Write(rowOf(map[string]string{"uscc": "91310115MA1FPA014X"})) // line 3: wrong check character
	w.Write(rowOf(map[string]string{"name": ""}))                   // line 4: a required field empty
	w.Write(rowOf(map[string]string{"name": "上海浦江示例二号有限公司 <&>"}))
	w.Flush()
	file := filepath.Join(t.TempDir(), "licences.csv")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// tokens: an admin mints a clerk's token, shown once; it works against
// the API; revoked from the list, it no longer does.
func (o *opsSession) tokens() {
	t, b, s := o.t, o.b, o.s
	admin, _, err := s.tokens.Mint(service.Operator{Subject: "admin-02", Role: service.RoleAdmin}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b.Click("#logout-btn")
	o.login(admin)
	b.Click("#tab-tokens")
	b.WaitFor("the agencies", fmt.Sprintf(`document.querySelector('#tok-f-agency option[value=%s]') !== null`, browsertest.Quote(o.agency)))
	b.Click("#tok-submit") // no subject: marked
	b.WaitFor("the subject mark", `document.getElementById('tok-err-subject').textContent !== ''`)
	b.Set("#tok-f-subject", "clerk-li")
	b.Set("#tok-f-role", "operator")
	b.Set("#tok-f-agency", o.agency)
	b.WaitFor("the classes", `document.querySelector('#tok-classes input[value="business-license"]') !== null`)
	b.Click(`#tok-classes input[value="business-license"]`)
	b.Set("#tok-f-ttl", "8h")
	b.Click("#tok-submit")
	b.WaitFor("the token", `document.getElementById('tok-made-token').value !== ''`)
	tok := browsertest.Eval[string](b, `document.getElementById('tok-made-token').value`)
	jti := b.Text("#tok-made-id")
	var page struct {
		Licences []json.RawMessage `json:"licences"`
	}
	if st := s.call(t, "GET", "/v1/licences", tok, nil, &page); st != 200 || len(page.Licences) == 0 {
		t.Fatalf("the minted token against the API: %d", st)
	}
	var ags struct {
		Agencies []struct{ Code string } `json:"agencies"`
	}
	if st := s.call(t, "GET", "/v1/agencies", tok, nil, &ags); st != 200 || len(ags.Agencies) != 1 || ags.Agencies[0].Code != o.agency {
		t.Errorf("the minted token acts for %+v", ags)
	}
	b.Click("#tok-copy")
	b.WaitFor("the copy", `!document.getElementById('toast').hidden`)
	if browsertest.Eval[bool](b, `localStorage.getItem('elicense.console.tokens').includes(document.getElementById('tok-made-token').value)`) {
		t.Error("the token itself is kept in the browser")
	}
	row := fmt.Sprintf(`#tok-body tr[data-jti=%s]`, browsertest.Quote(jti))
	b.WaitFor("the token's row", fmt.Sprintf(`document.querySelector(%s) !== null`, browsertest.Quote(row)))
	screenshot(b, "console-tokens.png")
	b.Click(row + ` button[data-tok-action="revoke"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#ask-dialog")))
	b.Click("#ask-ok")
	b.WaitFor("the revoked row", fmt.Sprintf(`(document.querySelector(%s) || {dataset: {}}).dataset.state === 'revoked'`, browsertest.Quote(row+" .status")))
	if st := s.call(t, "GET", "/v1/licences", tok, nil, nil); st != 401 {
		t.Errorf("the revoked token against the API: %d, want 401", st)
	}
}

// adminTools, as the admin: a ledger commitment opened and checked in
// the page; the agency's archive package exported; the agency's key
// rotated. Then the admin logs out, and the minted token is gone from the
// page.
func (o *opsSession) adminTools() {
	t, b, s := o.t, o.b, o.s
	b.Click("#tab-search")
	b.Set("#search-holder", sample(t, "business-license")["uscc"])
	b.Click("#search-btn")
	b.Click(fmt.Sprintf(`#results-body tr[data-id=%s] button[data-action="open"]`, browsertest.Quote(o.id)))
	b.Click(`#detail-actions button[data-action="history"]`)
	b.Click(`#history-body tr[data-kind="issue"] button[data-open-index]`)
	b.WaitFor("the opened operator", `document.querySelector('#history-body tr[data-kind="issue"] .opened') !== null`)
	if got := b.Text(`#history-body tr[data-kind="issue"] .opened`); !strings.Contains(got, "clerk-02") || !strings.Contains(got, "✓") {
		t.Errorf("opened operator %q, want clerk-02 ✓", got)
	}
	b.Click("#detail-close")
	b.Do(chromedp.WaitNotVisible(chromedp.CSS("#detail-dialog")))

	b.Click("#tab-admin")
	china := time.Now().In(chinatime.Zone)
	from, to := china.AddDate(0, 0, -1).Format(time.DateOnly), china.AddDate(0, 0, 1).Format(time.DateOnly)
	b.Set("#arc-agency", o.agency)
	b.Set("#arc-from", from)
	b.Set("#arc-to", to)
	b.Click("#arc-submit")
	data := o.downloaded(o.agency + "-" + strings.ReplaceAll(from, "-", "") + "-" + strings.ReplaceAll(to, "-", "") + ".zip")
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("the archive package: %v", err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	if !names[archive.ManifestPath] || !names[archive.SignaturePath] || !names[archive.LicenceDir(o.id)+archive.CredentialFile] {
		t.Errorf("the archive package lacks the manifest, its signature or %s: %v", o.id, names)
	}

	b.Set("#key-agency", o.agency)
	b.Click("#key-submit")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#ask-dialog")))
	b.Click("#ask-ok")
	b.WaitFor("the rotated key", `!document.getElementById('key-done').hidden`)
	var entry struct {
		Kind  string `json:"kind"`
		Event struct {
			KeyID    string `json:"key_id"`
			Previous string `json:"previous"`
		} `json:"event"`
	}
	if st := s.call(t, "GET", "/v1/ledger/entries/"+b.Text("#key-done-ledger"), "", nil, &entry); st != 200 || entry.Kind != "key-rotated" ||
		entry.Event.KeyID != b.Text("#key-done-new") || entry.Event.Previous != b.Text("#key-done-old") {
		t.Errorf("the ledger entry of the rotation: %d %+v", st, entry)
	}
	// The retired key turns out stolen: declared compromised since a
	// moment ago (the browser's local time, which is this process's).
	b.Set("#kc-kid", b.Text("#key-done-old"))
	b.Set("#kc-since", time.Now().Add(-2*time.Second).Format("2006-01-02T15:04:05"))
	b.Click("#kc-submit")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#ask-dialog")))
	b.Click("#ask-ok")
	b.WaitFor("the declaration", `document.getElementById('kc-form').dataset.ledger !== undefined`)
	if st := s.call(t, "GET", "/v1/ledger/entries/"+browsertest.Eval[string](b, `document.getElementById('kc-form').dataset.ledger`), "", nil, &entry); st != 200 || entry.Kind != "key-compromised" || entry.Event.KeyID != b.Text("#key-done-old") {
		t.Errorf("the ledger entry of the compromise: %d %+v", st, entry)
	}
	screenshot(b, "console-admin.png")
	b.Click("#lang-btn")
	for sel, want := range map[string]string{"#tab-admin": "Administration", "#tab-seals": "Seals", "#tab-tokens": "Tokens", "#tab-import": "Import", "#key-submit": "Rotate the key"} {
		if got := b.Text(sel); got != want {
			t.Errorf("in English %s = %q, want %q", sel, got, want)
		}
	}
	b.Click("#lang-btn")

	b.Click("#logout-btn")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#token-input")))
	if browsertest.Eval[string](b, `document.getElementById('tok-made-token').value`) != "" {
		t.Error("the minted token stays in the page after logout")
	}
}
