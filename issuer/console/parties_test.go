package console_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicense/internal/browsertest"
	"elicense/internal/gm"
	"elicense/issuer/service"

	"github.com/chromedp/chromedp"
)

// partyReply is what the test reads of GET /v1/relying-parties/{id}.
type partyReply struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	OrgCode string `json:"org_code"`
	OrgName string `json:"org_name"`
	Key     string `json:"key"`
	Matters []struct {
		Code    string `json:"code"`
		Name    string `json:"name"`
		Classes []struct {
			Class  string `json:"class"`
			Fields []struct{ Key, Purpose string }
		} `json:"classes"`
	} `json:"matters"`
	State       string `json:"state"`
	VoidBefore  string `json:"void_before"`
	LedgerIndex uint64 `json:"ledger_index"`
}

// partyKey makes an SM2 key and returns its SubjectPublicKeyInfo DER.
func partyKey(t *testing.T) []byte {
	t.Helper()
	k, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	der, err := gm.MarshalPKIXPublicKey(k.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func fingerprint(der []byte) string {
	d := gm.SM3(der)
	return hex.EncodeToString(d[:])
}

// TestPartiesInBrowser drives the console's 用证方 section in a real
// headless Chromium against the real API: an admin registers a relying
// party through the form (a bad org code first, which the API refuses
// with the field named), sees it listed and in detail, suspends it,
// replaces its key with a DER file; an auditor sees the list but no
// button that changes anything.
func TestPartiesInBrowser(t *testing.T) {
	tabCtx := browsertest.Open(t, 1360, 900)
	s := newTestServer(t)
	admin, _, err := s.tokens.Mint(service.Operator{Subject: "admin-01", Role: service.RoleAdmin}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b := &browsertest.Tab{T: t, Ctx: tabCtx}
	console := browsertest.WatchConsole(tabCtx, true) // 422s come on purpose

	const id = "sh-scjg-food-permit"
	party := func() (int, partyReply) {
		t.Helper()
		var p partyReply
		return s.call(t, "GET", "/v1/relying-parties/"+id, admin, nil, &p), p
	}
	rowState := func() string {
		return browsertest.Eval[string](b, fmt.Sprintf(`(document.querySelector(%s) || {dataset: {}}).dataset.state || ''`,
			browsertest.Quote(`#rp-body tr[data-id="`+id+`"] .status`)))
	}
	row := `#rp-body tr[data-id="` + id + `"]`

	// An admin logs in and opens the section: nothing is registered.
	b.Do(chromedp.Navigate(s.URL + "/console/"))
	b.Set("#token-input", admin)
	b.Click("#login-btn")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#app-view")))
	b.Click("#tab-parties")
	b.WaitFor("the empty list", `document.getElementById('rp-empty').textContent === '尚未登记用证方。' && !document.getElementById('rp-empty').hidden`)

	// The form: identity, a pasted PEM key, one matter with 营业执照 and
	// two of its fields with purposes.
	b.Click("#rp-new")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#rp-form")))
	key := partyKey(t)
	good := sample(t, "business-license")["uscc"]
	for sel, v := range map[string]string{
		"#rp-f-id":        id,
		"#rp-f-name":      "上海市食品经营许可审批系统",
		"#rp-f-org_code":  "91310115MA1FPA014X", // wrong check character
		"#rp-f-org_name":  "上海市市场监督管理局",
		"#rp-f-key":       string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: key})),
		"#rp-f-callback":  "https://food.example.gov.cn/elicense/callback",
		".matter .m-code": "310100001000",
		".matter .m-name": "食品经营许可证核发",
	} {
		b.Set(sel, v)
	}
	b.Set(".mclass .mc-class", "business-license")
	b.WaitFor("the class's fields", `document.querySelector('.mc-field[data-key="legal_rep"]') !== null`)
	for k, purpose := range map[string]string{"name": "核对经营者名称", "legal_rep": "核对法定代表人"} {
		b.Click(`.mc-field[data-key="` + k + `"] .mc-tick`)
		b.Set(`.mc-field[data-key="`+k+`"] .mc-purpose`, purpose)
	}
	if browsertest.Eval[bool](b, `!document.querySelector('.mc-field[data-key="domicile"] .mc-purpose').disabled`) {
		t.Error("an unticked field's purpose is editable")
	}

	// The API refuses the org code; the page says so in Chinese beside it.
	b.Click("#rp-submit")
	b.WaitFor("the org code error", `document.getElementById('rp-err-org_code').textContent !== ''`)
	if got := b.Text("#rp-err-org_code .field-error-text"); got != "不是有效的统一社会信用代码（18 位，校验位须正确）。" {
		t.Errorf("org code error = %q", got)
	}
	if got := b.Text("#rp-err-org_code .field-error-detail"); !strings.Contains(got, "org_code") {
		t.Errorf("the API's own message is not shown: %q", got)
	}
	if n := browsertest.Eval[int](b, `document.querySelectorAll('#rp-form .field.invalid').length`); n != 1 {
		t.Errorf("%d fields marked invalid, want 1", n)
	}
	if st, _ := party(); st != 404 {
		t.Fatalf("GET the refused party = %d, want 404", st)
	}
	screenshot(b, "console-party-form.png")

	// Corrected, it registers; the list shows it as 正常.
	b.Set("#rp-f-org_code", strings.ToLower(good))
	if b.Text("#rp-err-org_code") != "" {
		t.Error("the org code error stays after an edit")
	}
	b.Click("#rp-submit")
	b.WaitFor("the registered row", fmt.Sprintf(`document.querySelector(%s) !== null`, browsertest.Quote(row)))
	if b.Visible("#rp-form") {
		t.Error("the form is still shown after registering")
	}
	st, p := party()
	if st != 200 || p.State != "active" || p.OrgCode != good || p.Key != base64.StdEncoding.EncodeToString(key) || len(p.Matters) != 1 ||
		p.Matters[0].Code != "310100001000" || len(p.Matters[0].Classes) != 1 || p.Matters[0].Classes[0].Class != "business-license" ||
		len(p.Matters[0].Classes[0].Fields) != 2 {
		t.Fatalf("the API has %d %+v", st, p)
	}
	purposes := map[string]string{}
	for _, f := range p.Matters[0].Classes[0].Fields {
		purposes[f.Key] = f.Purpose
	}
	if purposes["name"] != "核对经营者名称" || purposes["legal_rep"] != "核对法定代表人" {
		t.Errorf("purposes registered: %v", purposes)
	}
	if got := rowState(); got != "active" || b.Text(row+" .status") != "正常" {
		t.Errorf("row state %q %q, want active 正常", got, b.Text(row+" .status"))
	}

	// The detail: SM3 fingerprint of the key, the ledger index, fields
	// with purposes.
	b.Click(row + ` button[data-rp-action="open"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#rp-dialog")))
	b.WaitFor("the fingerprint", `document.getElementById('rp-fingerprint') !== null`)
	if got := b.Text("#rp-fingerprint"); got != fingerprint(key) {
		t.Errorf("fingerprint shown %q, want %s", got, fingerprint(key))
	}
	if got := b.Text("#rp-ledger-index"); got != fmt.Sprint(p.LedgerIndex) {
		t.Errorf("ledger index shown %q, want %d", got, p.LedgerIndex)
	}
	if got := b.Text(`#rp-detail-matters tr[data-key="legal_rep"]`); !strings.Contains(got, "法定代表人") || !strings.Contains(got, "核对法定代表人") {
		t.Errorf("detail field row = %q", got)
	}
	screenshot(b, "console-party.png")

	// Suspend from the detail: a reason is required; then 暂停.
	b.Click(`#rp-actions button[data-rp-action="suspend"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#rp-confirm-dialog")))
	if got := b.Text("#rp-confirm-id"); got != id {
		t.Errorf("confirmation names %q", got)
	}
	b.Click("#rp-confirm-ok")
	b.WaitFor("the reason mark", `document.getElementById('rp-err-reason').textContent !== ''`)
	if _, p := party(); p.State != "active" {
		t.Fatalf("suspended without a reason: %+v", p)
	}
	b.Set("#rp-reason", "超范围调取")
	b.Click("#rp-confirm-ok")
	b.WaitFor("the suspended row", fmt.Sprintf(`(document.querySelector(%s) || {dataset: {}}).dataset.state === 'suspended'`, browsertest.Quote(row+" .status")))
	if got := b.Text(row + " .status"); got != "暂停" {
		t.Errorf("row state text %q, want 暂停", got)
	}
	if got := b.Text("#rp-dialog .status"); got != "暂停" {
		t.Errorf("detail state %q, want 暂停", got)
	}
	st, p = party()
	if st != 200 || p.State != "suspended" || p.VoidBefore == "" {
		t.Fatalf("after the page suspended it the API says %d %+v", st, p)
	}
	if got := b.Text("#rp-ledger-index"); got != fmt.Sprint(p.LedgerIndex) {
		t.Errorf("ledger index after suspension %q, want %d", got, p.LedgerIndex)
	}
	if browsertest.Eval[bool](b, fmt.Sprintf(`document.querySelector(%s) !== null`, browsertest.Quote(row+` button[data-rp-action="suspend"]`))) ||
		!browsertest.Eval[bool](b, fmt.Sprintf(`document.querySelector(%s) !== null`, browsertest.Quote(row+` button[data-rp-action="resume"]`))) {
		t.Error("a suspended party offers suspend, or not resume")
	}

	// Replace: a new key from a DER file; the state stays suspended.
	b.Click(`#rp-actions button[data-rp-action="edit"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#rp-form")))
	if !browsertest.Eval[bool](b, `document.getElementById('rp-f-id').readOnly`) {
		t.Error("the id can be changed when replacing")
	}
	if got := browsertest.Eval[string](b, `document.querySelector('.mc-field[data-key="name"] .mc-purpose').value`); got != "核对经营者名称" {
		t.Errorf("the form is not filled with the registration: purpose %q", got)
	}
	key2 := partyKey(t)
	file := filepath.Join(t.TempDir(), "rp.der")
	if err := os.WriteFile(file, key2, 0o600); err != nil {
		t.Fatal(err)
	}
	b.Do(chromedp.SetUploadFiles(chromedp.CSS("#rp-f-keyfile"), []string{file}))
	want := base64.StdEncoding.EncodeToString(key2)
	b.WaitFor("the key from the file", fmt.Sprintf(`document.getElementById('rp-f-key').value === %s`, browsertest.Quote(want)))
	b.Click("#rp-submit")
	b.WaitFor("the list again", `!document.getElementById('rp-list-view').hidden`)
	if st, p2 := party(); st != 200 || p2.Key != want || p2.State != "suspended" || p2.LedgerIndex <= p.LedgerIndex {
		t.Fatalf("after replacing the API says %d %+v", st, p2)
	}

	// Remove: permanent; the row says 已注销 and offers nothing more.
	b.Click(row + ` button[data-rp-action="remove"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#rp-confirm-dialog")))
	b.Set("#rp-reason", "系统下线")
	b.Click("#rp-confirm-ok")
	b.WaitFor("the removed row", fmt.Sprintf(`(document.querySelector(%s) || {dataset: {}}).dataset.state === 'removed'`, browsertest.Quote(row+" .status")))
	if got := b.Text(row + " .status"); got != "已注销" {
		t.Errorf("row state text %q, want 已注销", got)
	}
	if n := browsertest.Eval[int](b, fmt.Sprintf(`document.querySelectorAll(%s).length`, browsertest.Quote(row+` button:not([data-rp-action="open"])`))); n != 0 {
		t.Errorf("a removed party offers %d changes", n)
	}
	if st, p := party(); st != 200 || p.State != "removed" {
		t.Fatalf("after the page removed it the API says %d %+v", st, p)
	}

	// An auditor sees the list and the detail, and no changing button.
	ag, ok := s.pki.AgencyForClass("business-license")
	if !ok {
		t.Fatal("no agency issues business-license")
	}
	auditor, _, err := s.tokens.Mint(service.Operator{Subject: "audit-01", Role: service.RoleAuditor, Agency: ag.Code}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b.Click("#logout-btn")
	b.Set("#token-input", auditor)
	b.Click("#login-btn")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#app-view")))
	b.Click("#tab-parties")
	b.WaitFor("the auditor's list", fmt.Sprintf(`document.querySelector(%s) !== null`, browsertest.Quote(row)))
	if got := rowState(); got != "removed" {
		t.Errorf("auditor sees state %q", got)
	}
	b.Click("#lang-btn")
	if got := b.Text("#tab-parties") + " / " + b.Text(row+" .status"); got != "Relying parties / Removed" {
		t.Errorf("in English: %q", got)
	}
	b.Click("#lang-btn")
	if b.Visible("#rp-new") {
		t.Error("an auditor is offered to register")
	}
	if n := browsertest.Eval[int](b, `document.querySelectorAll('#rp-body button:not([data-rp-action="open"])').length`); n != 0 {
		t.Errorf("an auditor sees %d changing buttons in the list", n)
	}
	b.Click(row + ` button[data-rp-action="open"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#rp-dialog")))
	b.WaitFor("the fingerprint", `document.getElementById('rp-fingerprint') !== null`)
	if got := b.Text("#rp-fingerprint"); got != fingerprint(key2) {
		t.Errorf("auditor's fingerprint %q, want %s", got, fingerprint(key2))
	}
	if n := browsertest.Eval[int](b, `document.querySelectorAll('#rp-actions button:not([data-rp-action="close"])').length`); n != 0 {
		t.Errorf("an auditor sees %d changing buttons in the detail", n)
	}
	b.Click("#rp-dialog-close")
	b.Do(chromedp.WaitNotVisible(chromedp.CSS("#rp-dialog")))
	screenshot(b, "console-parties.png")

	console.Check(t)
}
