package mobilesdk_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"elicense/certs/consent"
	"elicense/internal/gm"
	"elicense/internal/issuertest"
	mobilesdk "elicense/mobile-sdk"
	"elicense/mobile-sdk/consenttest"
)

// consentStory is the holder's side of 授权用证 against a fake issuer
// (mobile-sdk/consenttest) in front of the real one: the fake verifies
// every proof and consent the wallet sends with certs/consent.
type consentStory struct {
	s        *issuertest.Server
	f        *consenttest.Issuer
	w        *mobilesdk.Wallet
	bl, dl   issuertest.Issued
	lic, dlc *mobilesdk.Licence
	g1, g2   string
}

func TestConsentAgainstFake(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the issuer")
	}
	f := consenttest.New(t)
	s := issuertest.StartWith(t, "--public-url", f.URL)
	f.Front(t, s.URL, s.Data)
	c := &consentStory{s: s, f: f, bl: s.Issue(t, "business-license"), dl: s.Issue(t, "drivers-license")}
	w, err := mobilesdk.OpenStorage(mobilesdk.NewMemoryStorage(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	c.w = w
	if _, err := w.OpenRequest(c.f.URL + "/wallet/?request=r_AAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, mobilesdk.ErrInvalidArgument) {
		t.Fatalf("OpenRequest without a trust root: %v, want ErrInvalidArgument", err)
	}
	if err := w.SetTrustRoot(s.RootPEM(t)); err != nil {
		t.Fatal(err)
	}
	if c.lic, err = w.Claim(c.f.URL, c.bl.ClaimCode); err != nil {
		t.Fatal(err)
	}
	if c.dlc, err = w.Claim(c.f.URL, c.dl.ClaimCode); err != nil {
		t.Fatal(err)
	}
	c.f.AfterClaims(t)

	t.Run("open", c.open)
	t.Run("approve", c.approve)
	t.Run("refuse", c.refuse)
	t.Run("bad requests", c.badRequests)
	t.Run("grants", c.grants)
	t.Run("uses", c.uses)
	t.Run("lying uses", c.lyingUses)
}

func (c *consentStory) open(t *testing.T) {
	id, link := c.f.NewRequest(t, consenttest.Req{})
	for _, l := range []string{link, c.f.URL + "/v1/requests/" + id, " " + link + " "} {
		req, err := c.w.OpenRequest(l)
		if err != nil {
			t.Fatalf("OpenRequest(%q): %v", l, err)
		}
		if req.ID != id || req.Server != c.f.URL || req.RPID != consenttest.RPID || req.RPName != consenttest.RPName ||
			req.OrgName != consenttest.OrgName || req.MatterCode != consenttest.Matter || req.MatterName != consenttest.MName ||
			req.Class != "business-license" || req.ClassName != "营业执照" || req.Fields != "name,legal_rep,domicile" ||
			req.Duration != 7*24*3600 || req.Use != mobilesdk.UseOnce || req.State != "pending" || req.Signed == "" {
			t.Fatalf("request %+v", req)
		}
		// Only the business licence can answer: the driving licence is
		// another class.
		if req.Licences != c.lic.ID {
			t.Errorf("Licences = %q, want %q", req.Licences, c.lic.ID)
		}
		if req.FieldCount() != 3 || req.Field(1).Key != "legal_rep" || req.Field(1).Name != "法定代表人" || req.Field(1).Purpose != "核对法定代表人" || req.Field(3) != nil {
			t.Errorf("fields: %d %+v", req.FieldCount(), req.Field(1))
		}
		var fj []map[string]string
		if err := json.Unmarshal([]byte(req.FieldsJSON), &fj); err != nil || len(fj) != 3 || fj[2]["key"] != "domicile" {
			t.Errorf("FieldsJSON %s: %v", req.FieldsJSON, err)
		}
		if req.DurationText("zh") != "7 天" || req.DurationText("en") != "7 days" || req.UseText("zh") != "仅一次" {
			t.Errorf("texts %q %q %q", req.DurationText("zh"), req.DurationText("en"), req.UseText("zh"))
		}
	}
}

// approve answers one request (once, chosen fields) after the wallet has
// turned down wrong answers itself, then a second (repeat, all fields).
func (c *consentStory) approve(t *testing.T) {
	id, link := c.f.NewRequest(t, consenttest.Req{})
	req, err := c.w.OpenRequest(link)
	if err != nil {
		t.Fatal(err)
	}
	c.consentMistakes(t, req, id)
	c.approveOnce(t, req, id, link)
	c.approveRepeat(t)
	if _, err := c.w.Consent(&mobilesdk.ConsentRequest{ID: "r_x"}, c.lic.ID, ""); !errors.Is(err, mobilesdk.ErrInvalidArgument) {
		t.Errorf("consent to a request not opened: %v", err)
	}
}

// consentMistakes checks that the wallet refuses wrong answers to the
// request id before any reaches the issuer.
func (c *consentStory) consentMistakes(t *testing.T, req *mobilesdk.ConsentRequest, id string) {
	for _, tc := range []struct {
		name, licence, fields string
		want                  error
	}{
		{"field not requested", c.lic.ID, "name,holder_code", mobilesdk.ErrInvalidArgument},
		{"field twice", c.lic.ID, "name,name", mobilesdk.ErrInvalidArgument},
		{"another class", c.dlc.ID, "", mobilesdk.ErrNoLicence},
		{"unknown licence", "nope", "", mobilesdk.ErrNotFound},
	} {
		if _, err := c.w.Consent(req, tc.licence, tc.fields); !errors.Is(err, tc.want) {
			t.Errorf("%s: Consent = %v, want %v", tc.name, err, tc.want)
		}
	}
	if c.f.RequestState(id) != "pending" {
		t.Fatalf("a refused consent reached the issuer: %s", c.f.RequestState(id))
	}
}

// approveOnce grants the request id (opened from link) two of its fields,
// and checks that it cannot be answered again; the grant is c.g1.
func (c *consentStory) approveOnce(t *testing.T, req *mobilesdk.ConsentRequest, id, link string) {
	// The licence ID printed on the licence (no #tag) names the copy.
	g, err := c.w.Consent(req, c.bl.ID, "domicile, name")
	if err != nil {
		t.Fatal(err)
	}
	c.g1 = g.ID
	if !consent.ValidGrantID(g.ID) || g.Licence != c.lic.ID || g.Fields != "domicile,name" || g.RPName != consenttest.RPName ||
		g.MatterName != consenttest.MName || g.Use != "once" || g.State != "active" || g.NotAfter < time.Now().Add(7*24*time.Hour-time.Minute).Unix() {
		t.Fatalf("grant %+v", g)
	}
	st, copyID, fields := c.f.GrantState(g.ID)
	if st != "active" || copyID != c.lic.ID || strings.Join(fields, ",") != "domicile,name" || c.f.RequestState(id) != "granted" {
		t.Fatalf("the issuer holds grant %s as %s for %s %v, request %s", g.ID, st, copyID, fields, c.f.RequestState(id))
	}
	c.answerAgain(t, req, link, g.ID)
	c.f.Fetch(t, g.ID)
}

// answerAgain checks that a request already granted as grant, whether
// answered from the stale req or reopened from link, is not granted again.
func (c *consentStory) answerAgain(t *testing.T, req *mobilesdk.ConsentRequest, link, grant string) {
	// Answering again: the issuer's 409, typed.
	_, err := c.w.Consent(req, c.lic.ID, "")
	var ce *mobilesdk.ConsentError
	if !errors.Is(err, mobilesdk.ErrRequestAnswered) || !errors.Is(err, mobilesdk.ErrConsentRefused) || !errors.As(err, &ce) || ce.Status != 409 {
		t.Fatalf("second answer: %v", err)
	}
	if msg := mobilesdk.ErrorMessage(err, "zh"); !strings.Contains(msg, "已处理") {
		t.Errorf("holder message %q", msg)
	}
	// Reopened, the request says it is granted, and the wallet does not
	// send a consent.
	req, err = c.w.OpenRequest(link)
	if err != nil || req.State != "granted" || req.Grant != grant {
		t.Fatalf("reopened: %v %+v", err, req)
	}
	if _, err := c.w.Consent(req, c.lic.ID, ""); !errors.Is(err, mobilesdk.ErrRequestAnswered) {
		t.Fatalf("consent to a granted request: %v", err)
	}
}

// approveRepeat grants a repeat request every requested field (fields
// ""); the grant is c.g2.
func (c *consentStory) approveRepeat(t *testing.T) {
	_, link := c.f.NewRequest(t, consenttest.Req{Use: consent.UseRepeat, Duration: time.Hour, Fields: []string{"name", "legal_rep"}})
	req, err := c.w.OpenRequest(link)
	if err != nil {
		t.Fatal(err)
	}
	if req.UseText("en") != "any number of times until the authorisation ends" || req.DurationText("zh") != "1 小时" {
		t.Errorf("texts %q %q", req.UseText("en"), req.DurationText("zh"))
	}
	g2, err := c.w.Consent(req, c.lic.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	c.g2 = g2.ID
	if g2.Fields != "name,legal_rep" || g2.Use != "repeat" {
		t.Fatalf("grant %+v", g2)
	}
}

func (c *consentStory) refuse(t *testing.T) {
	id, link := c.f.NewRequest(t, consenttest.Req{})
	req, err := c.w.OpenRequest(link)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.w.Refuse(req, c.lic.ID); err != nil {
		t.Fatal(err)
	}
	if st := c.f.RequestState(id); st != "refused" {
		t.Fatalf("request %s after refusing", st)
	}
}

func (c *consentStory) badRequests(t *testing.T) {
	other, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  consenttest.Req
		want error
	}{
		{"signed by another key", consenttest.Req{Signer: other}, mobilesdk.ErrForgedAnswer},
		{"another issuer", consenttest.Req{Issuer: "https://elsewhere.example"}, mobilesdk.ErrForgedAnswer},
		{"expired", consenttest.Req{Expires: time.Now().Add(-time.Second)}, mobilesdk.ErrRequestExpired},
	} {
		_, link := c.f.NewRequest(t, tc.req)
		if _, err := c.w.OpenRequest(link); !errors.Is(err, tc.want) {
			t.Errorf("%s: OpenRequest = %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, link := range []string{"", "r_AAAAAAAAAAAAAAAAAAAAAA", c.f.URL + "/wallet/?request=r_short", "ftp://x/v1/requests/r_AAAAAAAAAAAAAAAAAAAAAA"} {
		if _, err := c.w.OpenRequest(link); !errors.Is(err, mobilesdk.ErrInvalidArgument) {
			t.Errorf("OpenRequest(%q) = %v, want ErrInvalidArgument", link, err)
		}
	}
	if _, err := c.w.OpenRequest(c.f.URL + "/wallet/?request=r_AAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, mobilesdk.ErrNotFound) {
		t.Errorf("unknown request: %v, want a 404 matching ErrNotFound", err)
	}
}

func (c *consentStory) grants(t *testing.T) {
	l, err := c.w.Grants(c.lic.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for i := int64(0); i < l.Len(); i++ {
		got[l.At(i).ID] = l.At(i).State
	}
	if l.Len() != 2 || got[c.g1] != "used" || got[c.g2] != "active" {
		t.Fatalf("grants %v", got)
	}
	if g := l.At(0); g.RPID != consenttest.RPID || g.RPName != consenttest.RPName || g.MatterCode != consenttest.Matter || g.MatterName != consenttest.MName || g.NotAfter == 0 || g.CreatedAt == 0 {
		t.Errorf("listed grant %+v", g)
	}
	if err := c.w.RevokeGrant(c.bl.ID, c.g2); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := c.f.GrantState(c.g2); st != "revoked" {
		t.Fatalf("grant %s after revoking", st)
	}
	if err := c.w.RevokeGrant(c.lic.ID, c.g2); err != nil {
		t.Fatalf("revoking twice (idempotent): %v", err)
	}
	if err := c.w.RevokeGrant(c.dlc.ID, c.g1); !errors.Is(err, mobilesdk.ErrNotFound) {
		t.Fatalf("revoking another copy's grant: %v", err)
	}
	if err := c.w.RevokeGrant(c.lic.ID, "g_nope"); !errors.Is(err, mobilesdk.ErrInvalidArgument) {
		t.Fatalf("revoking a malformed id: %v", err)
	}
	if l, err := c.w.Grants(c.dlc.ID); err != nil || l.Len() != 0 {
		t.Fatalf("the driving licence's grants: %v %d", err, l.Len())
	}
}

// counter is a counter's display name, as its token's subject.
const counter = "浦东新区市民中心 3号窗口"

func (c *consentStory) uses(t *testing.T) {
	c.f.CounterVerified(t, c.lic.ID, c.lic.ID, counter, "VALID")
	c.f.CounterVerified(t, c.lic.ID, c.bl.ID, counter, "VALID") // a static QR commits to the licence
	l, err := c.w.Uses(c.bl.ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for i := int64(0); i < l.Len(); i++ {
		u := l.At(i)
		kinds = append(kinds, u.Kind)
		if !u.Verified {
			t.Errorf("use %d (%s) not verified: %s", i, u.Kind, u.Problem)
		}
	}
	want := "claim grant grant-use grant grant-revoked counter-verified counter-verified"
	if strings.Join(kinds, " ") != want || l.Verified() != l.Len() {
		t.Fatalf("uses %q, want %q", strings.Join(kinds, " "), want)
	}
	g, cv := l.At(1), l.At(5)
	if g.Grant != c.g1 || g.RPID != consenttest.RPID || g.RPName != consenttest.RPName || g.MatterName != consenttest.MName || g.Fields != "domicile,name" || g.Time == 0 {
		t.Errorf("grant use %+v", g)
	}
	if cv.Counter != counter || cv.Verdict != "VALID" {
		t.Errorf("counter use %+v", cv)
	}
	if l, err := c.w.Uses(c.dlc.ID); err != nil || l.Len() != 1 || l.At(0).Kind != "claim" || !l.At(0).Verified {
		t.Fatalf("the driving licence's uses: %v %+v", err, l.At(0))
	}
}

// lyingUses: a uses list that does not match the ledger is shown with
// the use unverified and why.
func (c *consentStory) lyingUses(t *testing.T) {
	defer c.f.SetLieUses(nil)
	for _, tc := range []struct {
		name    string
		at      int
		lie     func(u map[string]any, all []map[string]any)
		problem string
		bad     int64 // uses not verified: a grant's fetch falls with it
	}{
		{"another counter", 5, func(u map[string]any, _ []map[string]any) { u["counter"] = "别处" }, "counter", 1},
		{"another kind", 5, func(u map[string]any, _ []map[string]any) { u["kind"] = "grant" }, "counter-verified", 1},
		{"opening of another copy", 1, func(u map[string]any, _ []map[string]any) {
			u["opening"].(map[string]string)["value"] = c.dlc.ID
		}, "not this licence", 2},
		{"bad salt", 1, func(u map[string]any, _ []map[string]any) {
			u["opening"].(map[string]string)["salt"] = strings.Repeat("00", 16)
		}, "commitment", 2},
		{"no opening", 5, func(u map[string]any, _ []map[string]any) { delete(u, "opening") }, "opening", 1},
		{"garbage entry", 0, func(u map[string]any, _ []map[string]any) {
			u["raw"] = base64.StdEncoding.EncodeToString([]byte("x"))
		}, "decode", 1},
		{"a fetch listed with other fields", 2, func(u map[string]any, _ []map[string]any) { u["fields"] = []string{"legal_rep"} }, "fields", 1},
		{"entry not in the ledger", 6, func(u map[string]any, all []map[string]any) { u["index"] = 5 }, "ledger", 1},
		{"a fetch of a grant of another copy", 2, func(u map[string]any, all []map[string]any) {
			all[1]["opening"].(map[string]string)["value"] = c.dlc.ID
		}, "grant", 2},
	} {
		c.f.SetLieUses(func(all []map[string]any) { tc.lie(all[tc.at], all) })
		l, err := c.w.Uses(c.lic.ID)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		u := l.At(int64(tc.at))
		if u.Verified || !strings.Contains(u.Problem, tc.problem) {
			t.Errorf("%s: use %d verified %v, problem %q (want one mentioning %q)", tc.name, tc.at, u.Verified, u.Problem, tc.problem)
		}
		if l.Verified() != l.Len()-tc.bad {
			t.Errorf("%s: %d of %d verified, want all but %d", tc.name, l.Verified(), l.Len(), tc.bad)
		}
	}
}
