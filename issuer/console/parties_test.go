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
// button that changes anything. The steps run in one page, each on the
// state the one before left.
func TestPartiesInBrowser(t *testing.T) {
	tabCtx := browsertest.Open(t, 1360, 900)
	s := newTestServer(t)
	admin, _, err := s.tokens.Mint(service.Operator{Subject: "admin-01", Role: service.RoleAdmin}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	const id = "sh-scjg-food-permit"
	ps := &partiesSession{t: t, b: &browsertest.Tab{T: t, Ctx: tabCtx}, s: s, admin: admin,
		id: id, row: `#rp-body tr[data-id="` + id + `"]`}
	console := browsertest.WatchConsole(tabCtx, true) // 422s come on purpose

	// An admin logs in and opens the section: nothing is registered.
	ps.b.Do(chromedp.Navigate(s.URL + "/console/"))
	ps.openSection(admin)
	ps.b.WaitFor("the empty list", `document.getElementById('rp-empty').textContent === '尚未登记用证方。' && !document.getElementById('rp-empty').hidden`)

	ps.fillForm()
	ps.refusedOrgCode()
	ps.register()
	ps.detail()
	ps.suspend()
	ps.replaceKey()
	ps.remove()
	ps.auditor()

	console.Check(t)
}

// partiesSession is the console's 用证方 section open in a browser tab
// over a test server, with what the steps so far have done.
type partiesSession struct {
	t     *testing.T
	b     *browsertest.Tab
	s     *testServer
	admin string // the admin's token
	id    string // the relying party's identifier
	row   string // the selector of its row in the list

	key  []byte     // its key as registered (SubjectPublicKeyInfo DER)
	key2 []byte     // the key that replaces it
	good string     // a valid org code
	last partyReply // what the API said after the last change
}

// party fetches the relying party through the API, as the admin.
func (ps *partiesSession) party() (int, partyReply) {
	ps.t.Helper()
	var p partyReply
	return ps.s.call(ps.t, "GET", "/v1/relying-parties/"+ps.id, ps.admin, nil, &p), p
}

// rowState is the state the list's row shows, "" without a row.
func (ps *partiesSession) rowState() string {
	return browsertest.Eval[string](ps.b, fmt.Sprintf(`(document.querySelector(%s) || {dataset: {}}).dataset.state || ''`,
		browsertest.Quote(ps.row+" .status")))
}

// exists tells whether the page has an element sel matches.
func (ps *partiesSession) exists(sel string) bool {
	return browsertest.Eval[bool](ps.b, fmt.Sprintf(`document.querySelector(%s) !== null`, browsertest.Quote(sel)))
}

// count is how many elements sel matches.
func (ps *partiesSession) count(sel string) int {
	return browsertest.Eval[int](ps.b, fmt.Sprintf(`document.querySelectorAll(%s).length`, browsertest.Quote(sel)))
}

// openSection logs in with token on the login view and opens 用证方.
func (ps *partiesSession) openSection(token string) {
	b := ps.b
	b.Set("#token-input", token)
	b.Click("#login-btn")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#app-view")))
	b.Click("#tab-parties")
}

// fillForm fills the form: identity, a pasted PEM key, one matter with
// 营业执照 and two of its fields with purposes; the org code has a wrong
// check character.
func (ps *partiesSession) fillForm() {
	t, b := ps.t, ps.b
	b.Click("#rp-new")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#rp-form")))
	ps.key = partyKey(t)
	ps.good = sample(t, "business-license")["uscc"]
	for sel, v := range map[string]string{
		"#rp-f-id":        ps.id,
		"#rp-f-name":      "上海市食品经营许可审批系统",
		"#rp-f-org_code":  "91310115MA1FPA014X", // wrong check character
		"#rp-f-org_name":  "上海市市场监督管理局",
		"#rp-f-key":       string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ps.key})),
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
}

// refusedOrgCode: the API refuses the org code; the page says so in
// Chinese beside it, and nothing is registered.
func (ps *partiesSession) refusedOrgCode() {
	t, b := ps.t, ps.b
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
	if st, _ := ps.party(); st != 404 {
		t.Fatalf("GET the refused party = %d, want 404", st)
	}
	screenshot(b, "console-party-form.png")
}

// register: corrected, it registers as filled; the list shows it as 正常.
func (ps *partiesSession) register() {
	t, b := ps.t, ps.b
	b.Set("#rp-f-org_code", strings.ToLower(ps.good))
	if b.Text("#rp-err-org_code") != "" {
		t.Error("the org code error stays after an edit")
	}
	b.Click("#rp-submit")
	b.WaitFor("the registered row", fmt.Sprintf(`document.querySelector(%s) !== null`, browsertest.Quote(ps.row)))
	if b.Visible("#rp-form") {
		t.Error("the form is still shown after registering")
	}
	st, p := ps.party()
	if st != 200 || p.State != "active" || p.OrgCode != ps.good || p.Key != base64.StdEncoding.EncodeToString(ps.key) || len(p.Matters) != 1 ||
		p.Matters[0].Code != "310100001000" || len(p.Matters[0].Classes) != 1 || p.Matters[0].Classes[0].Class != "business-license" ||
		len(p.Matters[0].Classes[0].Fields) != 2 {
		t.Fatalf("the API has %d %+v", st, p)
	}
	ps.last = p
	purposes := map[string]string{}
	for _, f := range p.Matters[0].Classes[0].Fields {
		purposes[f.Key] = f.Purpose
	}
	if purposes["name"] != "核对经营者名称" || purposes["legal_rep"] != "核对法定代表人" {
		t.Errorf("purposes registered: %v", purposes)
	}
	if got := ps.rowState(); got != "active" || b.Text(ps.row+" .status") != "正常" {
		t.Errorf("row state %q %q, want active 正常", got, b.Text(ps.row+" .status"))
	}
}

// detail: the SM3 fingerprint of the key, the ledger index, fields with
// purposes.
func (ps *partiesSession) detail() {
	t, b := ps.t, ps.b
	b.Click(ps.row + ` button[data-rp-action="open"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#rp-dialog")))
	b.WaitFor("the fingerprint", `document.getElementById('rp-fingerprint') !== null`)
	if got := b.Text("#rp-fingerprint"); got != fingerprint(ps.key) {
		t.Errorf("fingerprint shown %q, want %s", got, fingerprint(ps.key))
	}
	if got := b.Text("#rp-ledger-index"); got != fmt.Sprint(ps.last.LedgerIndex) {
		t.Errorf("ledger index shown %q, want %d", got, ps.last.LedgerIndex)
	}
	if got := b.Text(`#rp-detail-matters tr[data-key="legal_rep"]`); !strings.Contains(got, "法定代表人") || !strings.Contains(got, "核对法定代表人") {
		t.Errorf("detail field row = %q", got)
	}
	screenshot(b, "console-party.png")
}

// suspend from the detail: a reason is required; then 暂停, and the row
// offers resume instead of suspend.
func (ps *partiesSession) suspend() {
	t, b, row := ps.t, ps.b, ps.row
	b.Click(`#rp-actions button[data-rp-action="suspend"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#rp-confirm-dialog")))
	if got := b.Text("#rp-confirm-id"); got != ps.id {
		t.Errorf("confirmation names %q", got)
	}
	b.Click("#rp-confirm-ok")
	b.WaitFor("the reason mark", `document.getElementById('rp-err-reason').textContent !== ''`)
	if _, p := ps.party(); p.State != "active" {
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
	st, p := ps.party()
	if st != 200 || p.State != "suspended" || p.VoidBefore == "" {
		t.Fatalf("after the page suspended it the API says %d %+v", st, p)
	}
	ps.last = p
	if got := b.Text("#rp-ledger-index"); got != fmt.Sprint(p.LedgerIndex) {
		t.Errorf("ledger index after suspension %q, want %d", got, p.LedgerIndex)
	}
	if ps.exists(row+` button[data-rp-action="suspend"]`) || !ps.exists(row+` button[data-rp-action="resume"]`) {
		t.Error("a suspended party offers suspend, or not resume")
	}
}

// replaceKey: a new key from a DER file through the form filled with the
// registration; the state stays suspended.
func (ps *partiesSession) replaceKey() {
	t, b := ps.t, ps.b
	b.Click(`#rp-actions button[data-rp-action="edit"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#rp-form")))
	if !browsertest.Eval[bool](b, `document.getElementById('rp-f-id').readOnly`) {
		t.Error("the id can be changed when replacing")
	}
	if got := browsertest.Eval[string](b, `document.querySelector('.mc-field[data-key="name"] .mc-purpose').value`); got != "核对经营者名称" {
		t.Errorf("the form is not filled with the registration: purpose %q", got)
	}
	ps.key2 = partyKey(t)
	file := filepath.Join(t.TempDir(), "rp.der")
	if err := os.WriteFile(file, ps.key2, 0o600); err != nil {
		t.Fatal(err)
	}
	b.Do(chromedp.SetUploadFiles(chromedp.CSS("#rp-f-keyfile"), []string{file}))
	want := base64.StdEncoding.EncodeToString(ps.key2)
	b.WaitFor("the key from the file", fmt.Sprintf(`document.getElementById('rp-f-key').value === %s`, browsertest.Quote(want)))
	b.Click("#rp-submit")
	b.WaitFor("the list again", `!document.getElementById('rp-list-view').hidden`)
	if st, p := ps.party(); st != 200 || p.Key != want || p.State != "suspended" || p.LedgerIndex <= ps.last.LedgerIndex {
		t.Fatalf("after replacing the API says %d %+v", st, p)
	}
}

// remove: permanent; the row says 已注销 and offers nothing more.
func (ps *partiesSession) remove() {
	t, b, row := ps.t, ps.b, ps.row
	b.Click(row + ` button[data-rp-action="remove"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#rp-confirm-dialog")))
	b.Set("#rp-reason", "系统下线")
	b.Click("#rp-confirm-ok")
	b.WaitFor("the removed row", fmt.Sprintf(`(document.querySelector(%s) || {dataset: {}}).dataset.state === 'removed'`, browsertest.Quote(row+" .status")))
	if got := b.Text(row + " .status"); got != "已注销" {
		t.Errorf("row state text %q, want 已注销", got)
	}
	if n := ps.count(row + ` button:not([data-rp-action="open"])`); n != 0 {
		t.Errorf("a removed party offers %d changes", n)
	}
	if st, p := ps.party(); st != 200 || p.State != "removed" {
		t.Fatalf("after the page removed it the API says %d %+v", st, p)
	}
}

// auditor: after the admin logs out, an auditor sees the list (in either
// language) and the detail, and no changing button.
func (ps *partiesSession) auditor() {
	t, b, row := ps.t, ps.b, ps.row
	ag, ok := ps.s.pki.AgencyForClass("business-license")
	if !ok {
		t.Fatal("no agency issues business-license")
	}
	auditor, _, err := ps.s.tokens.Mint(service.Operator{Subject: "audit-01", Role: service.RoleAuditor, Agency: ag.Code}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b.Click("#logout-btn")
	ps.openSection(auditor)
	b.WaitFor("the auditor's list", fmt.Sprintf(`document.querySelector(%s) !== null`, browsertest.Quote(row)))
	if got := ps.rowState(); got != "removed" {
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
	if got := b.Text("#rp-fingerprint"); got != fingerprint(ps.key2) {
		t.Errorf("auditor's fingerprint %q, want %s", got, fingerprint(ps.key2))
	}
	if n := browsertest.Eval[int](b, `document.querySelectorAll('#rp-actions button:not([data-rp-action="close"])').length`); n != 0 {
		t.Errorf("an auditor sees %d changing buttons in the detail", n)
	}
	b.Click("#rp-dialog-close")
	b.Do(chromedp.WaitNotVisible(chromedp.CSS("#rp-dialog")))
	screenshot(b, "console-parties.png")
}
