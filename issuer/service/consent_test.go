package service

import (
	"context"
	"crypto/ecdsa"
	"elicense/internal/chinatime"
	"elicense/internal/testneed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"elicense/certs/consent"
	"elicense/certs/ident/identtest"
	"elicense/certs/ledgerevent"
	"elicense/internal/gm"
	"elicense/issuer/pki"
	"elicense/issuer/state"
	"elicense/issuer/state/statetest"
)

// consentEnv is a service with a registered relying party and a
// licence claimed into a wallet.
type consentEnv struct {
	*env
	clock  *testClock
	admin  Operator
	op     Operator // the licence's agency's operator
	rpKey  *gm.PrivateKey
	rp     string
	dev    *gm.PrivateKey
	lic    *state.Record // the licence
	copyID string
}

type testClock struct{ off atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *testClock) advance(d time.Duration) { c.off.Add(int64(d)) }
func newConsentEnv(t testing.TB) *consentEnv { return newConsentEnvIn(t, t.TempDir()) }
func partyKeyB64(t testing.TB, k *gm.PrivateKey) string {
	t.Helper()
	der, err := gm.MarshalPKIXPublicKey(k.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func newConsentEnvIn(t testing.TB, dir string) *consentEnv { return newConsentEnvWith(t, dir, nil) }

// newConsentEnvWith is newConsentEnvIn with opt changing the options.
func newConsentEnvWith(t testing.TB, dir string, opt func(*Options)) *consentEnv {
	t.Helper()
	clock := &testClock{}
	e := openEnvWith(t, dir, func(o *Options) {
		o.Now = clock.now
		o.BaseURL = "https://issuer.example"
		if opt != nil {
			opt(o)
		}
	})
	t.Cleanup(func() { e.close(t) })
	ce := &consentEnv{env: e, clock: clock, admin: Operator{Subject: "admin", Role: RoleAdmin}, rp: "sh-scjg-food-permit"}
	ce.rpKey = mustGM(t)
	if _, err := e.svc.RegisterParty(context.Background(), ce.admin, ce.registration(t, ""), true); err != nil {
		t.Fatal(err)
	}
	ce.lic, ce.op = issueOneTB(t, e, "business-license")
	ce.dev, ce.copyID = claimInto(t, e, ce.op, ce.lic.ID)
	return ce
}

func mustGM(t testing.TB) *gm.PrivateKey {
	k, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issueOneTB(t testing.TB, e *env, class string) (*state.Record, Operator) {
	t.Helper()
	op := operatorFor(t, e.pki, class)
	rec, err := e.svc.Issue(context.Background(), op, IssueRequest{Class: class, Fields: samples(t)[class]})
	if err != nil {
		t.Fatal(err)
	}
	return rec.Record, op
}

// claimInto claims a copy of licence id into a new device.
func claimInto(t testing.TB, e *env, op Operator, id string) (*gm.PrivateKey, string) {
	t.Helper()
	code, _, err := e.svc.NewClaimCode(op, id)
	if err != nil {
		t.Fatal(err)
	}
	dev := mustGM(t)
	raw, _ := gm.MarshalPublicKeyCompressed(dev.PublicKey())
	ch, _ := e.svc.Challenge()
	sig, err := gm.SignRS(dev, ClaimSigningInput(ch, code, raw))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := e.svc.Claim(context.Background(), ClaimRequest{Code: code, DeviceKey: base64.RawURLEncoding.EncodeToString(raw),
		Challenge: ch, Signature: base64.RawURLEncoding.EncodeToString(sig)})
	if err != nil {
		t.Fatal(err)
	}
	return dev, cp.ID
}

func (ce *consentEnv) registration(t testing.TB, callback string) RPRegistration {
	return RPRegistration{ID: ce.rp, Name: "上海市食品经营许可审批系统", OrgCode: "11310000PDY100010H", OrgName: "上海市市场监督管理局",
		Key: partyKeyB64(t, ce.rpKey), Callback: callback,
		Matters: []state.Matter{{Code: "310100001000", Name: "食品经营许可证核发", Classes: []state.MatterClass{{Class: "business-license",
			Fields: []state.MatterField{{Key: "name", Purpose: "核对经营者名称"}, {Key: "legal_rep", Purpose: "核对法定代表人"}, {Key: "domicile", Purpose: "核对住所"}}}}}}}
}

func (ce *consentEnv) rpCaller() Caller { return Caller{RP: ce.rp} }

func (ce *consentEnv) request(t testing.TB, use string) *RequestMade {
	t.Helper()
	m, err := ce.svc.CreateRequest(context.Background(), ce.rpCaller(), RequestInput{Matter: "310100001000", Class: "business-license",
		Fields: []string{"name", "legal_rep", "domicile"}, Duration: 3600, Use: use, State: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func signConsent(t testing.TB, dev *gm.PrivateKey, m *RequestMade, copyID string, d consent.Decision, fields ...string) string {
	t.Helper()
	jws, err := consent.SignConsent(dev, consent.ConsentClaims{Request: m.ID, RequestSM3: consent.RequestSM3(m.Request), Licence: copyID, Decision: d, Fields: fields})
	if err != nil {
		t.Fatal(err)
	}
	return jws
}

// grant makes an approved grant of name and domicile.
func (ce *consentEnv) grant(t testing.TB, use string) *GrantView {
	t.Helper()
	m := ce.request(t, use)
	a, err := ce.svc.Answer(context.Background(), signConsent(t, ce.dev, m, ce.copyID, consent.Approve, "name", "domicile"))
	if err != nil {
		t.Fatal(err)
	}
	return a.Grant
}

// wantRefused checks err is a service error of kind with code.
func wantRefused(t testing.TB, what string, err error, kind error, code string) {
	t.Helper()
	var se *Error
	switch {
	case err == nil:
		t.Errorf("%s: accepted, want %v %s", what, kind, code)
	case !errors.As(err, &se) || !errors.Is(err, kind):
		t.Errorf("%s: %v, want %v %s", what, err, kind, code)
	case code != "" && se.Code != code:
		t.Errorf("%s: code %q (%v), want %s", what, se.Code, err, code)
	}
}

func TestRegisterParty(t *testing.T) {
	ce := newConsentEnv(t)
	ctx := context.Background()
	good := ce.registration(t, "")
	good.ID = "rp-two"
	for _, c := range []struct {
		name  string
		field string
		edit  func(r *RPRegistration)
	}{
		{"bad id", "id", func(r *RPRegistration) { r.ID = "Upper_Case" }},
		{"long id", "id", func(r *RPRegistration) { r.ID = strings.Repeat("a", 65) }},
		{"no name", "name", func(r *RPRegistration) { r.Name = "" }},
		{"a tab in the name (a signed request refuses control characters)", "name", func(r *RPRegistration) { r.Name = "食品\t审批" }},
		{"an escape in the purpose", "matters", func(r *RPRegistration) { r.Matters[0].Classes[0].Fields[0].Purpose = "核对\x1b[31m" }},
		{"a C1 control in the matter name", "matters", func(r *RPRegistration) { r.Matters[0].Name = "许可\u0085核发" }},
		{"bad org code", "org_code", func(r *RPRegistration) { r.OrgCode = "11310000MB2F1234XZ" }},
		{"no org name", "org_name", func(r *RPRegistration) { r.OrgName = "" }},
		{"key not base64", "key", func(r *RPRegistration) { r.Key = "!!!" }},
		{"key not SM2", "key", func(r *RPRegistration) { r.Key = base64.StdEncoding.EncodeToString([]byte("not a key")) }},
		{"http callback", "callback", func(r *RPRegistration) { r.Callback = "http://food.example.gov.cn/cb" }},
		{"no matters", "matters", func(r *RPRegistration) { r.Matters = nil }},
		{"unknown class", "matters", func(r *RPRegistration) { r.Matters[0].Classes[0].Class = "no-such-class" }},
		{"field not of class", "matters", func(r *RPRegistration) { r.Matters[0].Classes[0].Fields[0].Key = "licence_plate" }},
		{"no purpose", "matters", func(r *RPRegistration) { r.Matters[0].Classes[0].Fields[0].Purpose = "" }},
		{"matter twice", "matters", func(r *RPRegistration) { r.Matters = append(r.Matters, r.Matters[0]) }},
	} {
		r := ce.registration(t, "")
		r.ID = good.ID
		r.Matters = []state.Matter{{Code: good.Matters[0].Code, Name: good.Matters[0].Name, Classes: []state.MatterClass{{Class: "business-license",
			Fields: append([]state.MatterField(nil), good.Matters[0].Classes[0].Fields...)}}}}
		c.edit(&r)
		_, err := ce.svc.RegisterParty(ctx, ce.admin, r, true)
		var se *Error
		if !errors.As(err, &se) || !errors.Is(err, ErrInvalid) || se.Field != c.field {
			t.Errorf("%s: %v, want invalid %s", c.name, err, c.field)
		}
	}
	if _, err := ce.svc.RegisterParty(ctx, ce.op, good, true); !errors.Is(err, ErrForbidden) {
		t.Errorf("an operator registered a party: %v", err)
	}
	size := ce.ledger.Size()
	v, err := ce.svc.RegisterParty(ctx, ce.admin, good, true)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := entryAt(ce.ledger, size)
	if err != nil {
		t.Fatal(err)
	}
	reg, ok := ev.(*ledgerevent.RPRegistered)
	der, _ := base64.StdEncoding.DecodeString(good.Key)
	if !ok || reg.RP != good.ID || reg.Agency != good.OrgCode || reg.Key != ledgerevent.Digest(gm.SM3(der)) || v.LedgerIndex != size {
		t.Fatalf("rp-registered event %+v, view %+v", ev, v)
	}
	if _, err := ce.svc.RegisterParty(ctx, ce.admin, good, true); !errors.Is(err, ErrConflict) {
		t.Errorf("an id registered twice: %v", err)
	}
	// Replace, suspend, resume, remove; a removed id stays taken.
	good.Name = "新名称"
	if v, err := ce.svc.RegisterParty(ctx, ce.admin, good, false); err != nil || v.Name != "新名称" || v.State != state.PartyActive {
		t.Fatalf("replace: %+v %v", v, err)
	}
	steps := []struct {
		action PartyAction
		ok     bool
		want   state.PartyState
	}{
		{PartyResume, false, ""}, {PartySuspend, true, state.PartySuspended}, {PartySuspend, false, ""},
		{PartyResume, true, state.PartyActive}, {PartyRemove, true, state.PartyRemoved}, {PartyResume, false, ""},
	}
	for i, s := range steps {
		v, err := ce.svc.ChangeParty(ctx, ce.admin, good.ID, s.action, "核查")
		if s.ok != (err == nil) || s.ok && v.State != s.want {
			t.Fatalf("step %d %s: %+v %v", i, s.action, v, err)
		}
	}
	if _, err := ce.svc.RegisterParty(ctx, ce.admin, good, true); !errors.Is(err, ErrConflict) {
		t.Errorf("a removed id registered again: %v", err)
	}
	if _, err := ce.svc.RegisterParty(ctx, ce.admin, good, false); !errors.Is(err, ErrConflict) {
		t.Errorf("a removed party's registration replaced: %v", err)
	}
	if _, err := ce.svc.ProofKey(good.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("a removed party still signs proofs: %v", err)
	}
	list, err := ce.svc.Parties(Operator{Subject: "aud", Role: RoleAuditor, Agency: ce.op.Agency})
	if err != nil || len(list) != 2 {
		t.Errorf("parties: %d %v", len(list), err)
	}
}

func TestCreateRequestRefusals(t *testing.T) {
	ce := newConsentEnv(t)
	ctx := context.Background()
	good := RequestInput{Matter: "310100001000", Class: "business-license", Fields: []string{"name"}, Duration: 60, Use: "once"}
	for _, c := range []struct {
		name, field string
		edit        func(r *RequestInput)
	}{
		{"matter not registered", "matter", func(r *RequestInput) { r.Matter = "999" }},
		{"class not registered", "class", func(r *RequestInput) { r.Class = "drivers-license" }},
		{"unknown class", "class", func(r *RequestInput) { r.Class = "nope" }},
		{"field not registered", "fields", func(r *RequestInput) { r.Fields = []string{"name", "uscc"} }},
		{"no field", "fields", func(r *RequestInput) { r.Fields = nil }},
		{"field twice", "fields", func(r *RequestInput) { r.Fields = []string{"name", "name"} }},
		{"duration short", "duration", func(r *RequestInput) { r.Duration = 59 }},
		{"duration long", "duration", func(r *RequestInput) { r.Duration = 31_536_001 }},
		{"use", "use", func(r *RequestInput) { r.Use = "twice" }},
		{"state", "state", func(r *RequestInput) { r.State = strings.Repeat("x", 129) }},
	} {
		r := good
		r.Fields = append([]string(nil), good.Fields...)
		c.edit(&r)
		_, err := ce.svc.CreateRequest(ctx, ce.rpCaller(), r)
		var se *Error
		if !errors.As(err, &se) || !errors.Is(err, ErrInvalid) || se.Field != c.field {
			t.Errorf("%s: %v, want invalid %s", c.name, err, c.field)
		}
	}
	m, err := ce.svc.CreateRequest(ctx, ce.rpCaller(), good)
	if err != nil {
		t.Fatal(err)
	}
	r, err := consent.ParseRequest(m.Request)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Verify(ce.pki.Ledger.Cert.PublicKey.(*ecdsa.PublicKey), "https://issuer.example", ce.svc.cat, ce.clock.now()); err != nil {
		t.Errorf("the signed request does not verify with the ledger key: %v", err)
	}
	if r.ID != m.ID || r.RP.ID != ce.rp || r.Fields[0].Purpose != "核对经营者名称" || r.Fields[0].Name == "" || m.Link != "https://issuer.example/wallet/?request="+m.ID {
		t.Errorf("request %+v, made %+v", r.RequestClaims, m)
	}
	if st, err := ce.svc.Request(m.ID); err != nil || st.State != "pending" || st.Request != m.Request {
		t.Errorf("request state %+v %v", st, err)
	}
	ce.clock.advance(consent.RequestLifetime + time.Second)
	if st, err := ce.svc.Request(m.ID); err != nil || st.State != "expired" {
		t.Errorf("request state after its life %+v %v", st, err)
	}
	if _, err := ce.svc.Request("r_AAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown request: %v", err)
	}
	if _, err := ce.svc.ChangeParty(ctx, ce.admin, ce.rp, PartySuspend, ""); err != nil {
		t.Fatal(err)
	}
	_, err = ce.svc.CreateRequest(ctx, ce.rpCaller(), good)
	wantRefused(t, "suspended party", err, ErrForbidden, CodeRPSuspended)
}

func TestAnswerRefusals(t *testing.T) {
	ce := newConsentEnv(t)
	ctx := context.Background()
	other := mustGM(t)
	dl, dlOp := issueOneTB(t, ce.env, "drivers-license")
	dlDev, dlCopy := claimInto(t, ce.env, dlOp, dl.ID)
	cases := []struct {
		name  string
		setup func(t *testing.T) (consentJWS string, undo func())
		kind  error
		code  string
	}{
		{"malformed", func(t *testing.T) (string, func()) { return "x.y.z", nil }, ErrInvalid, CodeConsentInvalid},
		{"unknown request", func(t *testing.T) (string, func()) {
			m := ce.request(t, "once")
			m.ID = consent.NewRequestID()
			return signConsent(t, ce.dev, m, ce.copyID, consent.Approve, "name"), nil
		}, ErrNotFound, CodeRequestNotFound},
		{"expired", func(t *testing.T) (string, func()) {
			m := ce.request(t, "once")
			ce.clock.advance(consent.RequestLifetime + time.Second)
			return signConsent(t, ce.dev, m, ce.copyID, consent.Approve, "name"), func() { ce.clock.advance(-consent.RequestLifetime - time.Second) }
		}, ErrGone, CodeRequestExpired},
		{"answered", func(t *testing.T) (string, func()) {
			m := ce.request(t, "once")
			if _, err := ce.svc.Answer(ctx, signConsent(t, ce.dev, m, ce.copyID, consent.Refuse)); err != nil {
				t.Fatal(err)
			}
			return signConsent(t, ce.dev, m, ce.copyID, consent.Approve, "name"), nil
		}, ErrConflict, CodeRequestAnswered},
		{"request_sm3", func(t *testing.T) (string, func()) {
			m := ce.request(t, "once")
			m2 := *m
			m2.Request = ce.request(t, "once").Request
			return signConsent(t, ce.dev, &m2, ce.copyID, consent.Approve, "name"), nil
		}, ErrForbidden, CodeConsentInvalid},
		{"unknown copy", func(t *testing.T) (string, func()) {
			return signConsent(t, ce.dev, ce.request(t, "once"), ce.lic.ID+"#0011223344556677", consent.Approve, "name"), nil
		}, ErrForbidden, CodeConsentInvalid},
		{"copy unbound", func(t *testing.T) (string, func()) {
			dev, cp := claimInto(t, ce.env, ce.op, ce.lic.ID)
			if _, err := ce.svc.Unbind(ctx, ce.op, cp); err != nil {
				t.Fatal(err)
			}
			return signConsent(t, dev, ce.request(t, "once"), cp, consent.Approve, "name"), nil
		}, ErrForbidden, CodeConsentInvalid},
		{"another device's signature", func(t *testing.T) (string, func()) {
			return signConsent(t, other, ce.request(t, "once"), ce.copyID, consent.Approve, "name"), nil
		}, ErrForbidden, CodeConsentInvalid},
		{"refusal signed by another device", func(t *testing.T) (string, func()) {
			return signConsent(t, other, ce.request(t, "once"), ce.copyID, consent.Refuse), nil
		}, ErrForbidden, CodeConsentInvalid},
		{"field not requested", func(t *testing.T) (string, func()) {
			m, err := ce.svc.CreateRequest(ctx, ce.rpCaller(), RequestInput{Matter: "310100001000", Class: "business-license", Fields: []string{"name"}, Duration: 60, Use: "once"})
			if err != nil {
				t.Fatal(err)
			}
			return signConsent(t, ce.dev, m, ce.copyID, consent.Approve, "name", "domicile"), nil
		}, ErrInvalid, CodeConsentInvalid},
		{"copy of another class", func(t *testing.T) (string, func()) {
			return signConsent(t, dlDev, ce.request(t, "once"), dlCopy, consent.Approve, "name"), nil
		}, ErrInvalid, CodeLicenceNotValid},
		{"licence suspended", func(t *testing.T) (string, func()) {
			if _, err := ce.svc.ChangeStatus(ctx, ce.op, ce.lic.ID, ActionSuspend, "核查"); err != nil {
				t.Fatal(err)
			}
			return signConsent(t, ce.dev, ce.request(t, "once"), ce.copyID, consent.Approve, "name"), func() {
				if _, err := ce.svc.ChangeStatus(ctx, ce.op, ce.lic.ID, ActionReinstate, ""); err != nil {
					t.Fatal(err)
				}
			}
		}, ErrInvalid, CodeLicenceNotValid},
		{"party suspended", func(t *testing.T) (string, func()) {
			m := ce.request(t, "once")
			if _, err := ce.svc.ChangeParty(ctx, ce.admin, ce.rp, PartySuspend, ""); err != nil {
				t.Fatal(err)
			}
			return signConsent(t, ce.dev, m, ce.copyID, consent.Approve, "name"), func() {
				if _, err := ce.svc.ChangeParty(ctx, ce.admin, ce.rp, PartyResume, ""); err != nil {
					t.Fatal(err)
				}
			}
		}, ErrForbidden, CodeRPSuspended},
		{"field no longer registered", func(t *testing.T) (string, func()) {
			m := ce.request(t, "once")
			r := ce.registration(t, "")
			r.Matters[0].Classes[0].Fields = r.Matters[0].Classes[0].Fields[1:] // no name
			if _, err := ce.svc.RegisterParty(ctx, ce.admin, r, false); err != nil {
				t.Fatal(err)
			}
			return signConsent(t, ce.dev, m, ce.copyID, consent.Approve, "name"), func() {
				if _, err := ce.svc.RegisterParty(ctx, ce.admin, ce.registration(t, ""), false); err != nil {
					t.Fatal(err)
				}
			}
		}, ErrInvalid, CodeNotRegistered},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			jws, undo := c.setup(t)
			size := ce.ledger.Size()
			_, err := ce.svc.Answer(ctx, jws)
			grew := ce.ledger.Size() != size
			if undo != nil {
				undo()
			}
			wantRefused(t, c.name, err, c.kind, c.code)
			if grew {
				t.Errorf("a refused consent wrote to the ledger")
			}
		})
	}
	// After every refusal, an honest approval still works, once.
	m := ce.request(t, "once")
	jws := signConsent(t, ce.dev, m, ce.copyID, consent.Approve, "name")
	if _, err := ce.svc.Answer(ctx, jws); err != nil {
		t.Fatal(err)
	}
	_, err := ce.svc.Answer(ctx, jws)
	wantRefused(t, "answered twice", err, ErrConflict, CodeRequestAnswered)
	if st, _ := ce.svc.Request(m.ID); st.State != "granted" || st.Grant == "" {
		t.Errorf("request after its grant: %+v", st)
	}
}

func TestGrantAndFetch(t *testing.T) {
	ce := newConsentEnv(t)
	ctx := context.Background()
	size := ce.ledger.Size()
	g := ce.grant(t, "repeat")
	ce.checkGrantEvent(t, g, size)
	for i := range 3 {
		ce.checkFetch(t, g, i)
	}
	_, err := ce.svc.Fetch(ctx, Caller{RP: "another-party"}, g.ID)
	wantRefused(t, "another party's grant", err, ErrNotFound, CodeGrantNotFound)
	_, err = ce.svc.Fetch(ctx, Caller{Copy: ce.copyID}, g.ID)
	wantRefused(t, "the holder fetching", err, ErrNotFound, CodeGrantNotFound)

	// The holder's lists.
	ce.checkHolderGrants(t, g, 3)
	if _, err := ce.svc.RevokeGrant(ctx, Caller{Copy: ce.copyID}, g.ID); err != nil {
		t.Fatal(err)
	}
	_, err = ce.svc.Fetch(ctx, ce.rpCaller(), g.ID)
	wantRefused(t, "revoked by the holder", err, ErrGone, CodeGrantRevoked)
	ce.checkHolderUses(t, "claim grant grant-use grant-use grant-use grant-revoked")
	ce.checkPartyGrantsRevoked(t)
}

// checkGrantEvent checks that grant g's ledger entry, at index size, is
// the grant's event and opens to the holder's copy.
func (ce *consentEnv) checkGrantEvent(t *testing.T, g *GrantView, size uint64) {
	t.Helper()
	ev, err := entryAt(ce.ledger, size)
	if err != nil {
		t.Fatal(err)
	}
	ge, ok := ev.(*ledgerevent.Grant)
	if !ok || ge.Grant != g.ID || ge.RP != ce.rp || ge.Fields != "name,domicile" || ge.Use != ledgerevent.UseRepeat || g.LedgerIndex != size {
		t.Fatalf("grant event %+v for %+v", ev, g)
	}
	if err := ledgerevent.VerifyOpening(ge, mustOpen(t, ce, ge)); err != nil {
		t.Errorf("the grant's licence commitment: %v", err)
	}
}

// checkFetch fetches grant g as its party (fetch number i) and checks
// the credential discloses exactly the granted fields and the fetch is
// in the ledger.
func (ce *consentEnv) checkFetch(t *testing.T, g *GrantView, i int) {
	t.Helper()
	f, err := ce.svc.Fetch(context.Background(), ce.rpCaller(), g.ID)
	if err != nil {
		t.Fatalf("fetch %d: %v", i, err)
	}
	gc, err := consent.ParseGrantCredential(f.Credential)
	if err != nil {
		t.Fatal(err)
	}
	fields := gc.Fields()
	if len(fields) != 2 || fields["name"] != ce.lic.Fields["name"] || fields["domicile"] != ce.lic.Fields["domicile"] || gc.Audience != ce.rp || gc.Grant != g.ID {
		t.Errorf("fetched credential discloses %v to %s for %s", fields, gc.Audience, gc.Grant)
	}
	if len(gc.SD) != len(ce.lic.Fields) {
		t.Errorf("_sd lists %d digests, the licence has %d fields", len(gc.SD), len(ce.lic.Fields))
	}
	use, err := entryAt(ce.ledger, f.LedgerIndex)
	if u, ok := use.(*ledgerevent.GrantUse); err != nil || !ok || u.Grant != g.ID {
		t.Errorf("fetch %d: ledger entry %d is %+v (%v)", i, f.LedgerIndex, use, err)
	}
}

// checkHolderGrants checks that the holder lists grant g, active and
// fetched fetches times, and cannot list another copy's grants.
func (ce *consentEnv) checkHolderGrants(t *testing.T, g *GrantView, fetches uint64) {
	t.Helper()
	hg, err := ce.svc.HolderGrants(Caller{Copy: ce.copyID}, ce.copyID)
	if err != nil || len(hg) != 1 || hg[0].ID != g.ID || hg[0].Fetches != fetches || hg[0].State != "active" {
		t.Errorf("holder grants %+v %v", hg, err)
	}
	if _, err := ce.svc.HolderGrants(Caller{Copy: ce.copyID}, ce.lic.ID+"#00"); !errors.Is(err, ErrForbidden) {
		t.Errorf("a holder listed another copy's grants: %v", err)
	}
}

// checkHolderUses checks the holder's uses: their kinds, in order, are
// want (space-separated), and each is as checkHolderUse requires.
func (ce *consentEnv) checkHolderUses(t *testing.T, want string) {
	t.Helper()
	uses, err := ce.svc.HolderUses(Caller{Copy: ce.copyID}, ce.copyID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, u := range uses {
		kinds = append(kinds, u.Kind.String())
		ce.checkHolderUse(t, u)
	}
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("uses: %s", got)
	}
}

// checkHolderUse checks that use u carries its raw ledger entry, opens
// (if at all) to the holder's copy, and, for a grant, names its party
// and matter.
func (ce *consentEnv) checkHolderUse(t *testing.T, u *Use) {
	t.Helper()
	raw, _ := base64.StdEncoding.DecodeString(u.Raw)
	ev, err := ledgerevent.Decode(raw)
	if err != nil || ev.Kind() != u.Kind {
		t.Errorf("use %d: raw entry %v", u.Index, err)
	}
	if u.Opening != nil && u.Opening.Value != ce.copyID {
		t.Errorf("use %d opens to %q", u.Index, u.Opening.Value)
	}
	if u.Kind == ledgerevent.KindGrant && (u.Opening == nil || u.RP == nil || u.RP.Name == "" || u.Matter == nil || u.Matter.Name == "") {
		t.Errorf("grant use %+v", u)
	}
}

// checkPartyGrantsRevoked checks the party's lists after its only grant
// was revoked: no active grant, and the revoked one naming no licence.
func (ce *consentEnv) checkPartyGrantsRevoked(t *testing.T) {
	t.Helper()
	pg, _, err := ce.svc.PartyGrants(ce.rpCaller(), false, 0)
	if err != nil || len(pg) != 0 {
		t.Errorf("active grants after the revocation: %+v %v", pg, err)
	}
	pg, _, err = ce.svc.PartyGrants(ce.rpCaller(), true, 0)
	if err != nil || len(pg) != 1 || pg[0].State != "revoked" || pg[0].Licence != "" {
		t.Errorf("all grants: %+v %v", pg, err)
	}
}

func mustOpen(t testing.TB, ce *consentEnv, e ledgerevent.Event) ledgerevent.Opening {
	o, err := ce.svc.audit.Open(e, ledgerevent.FieldLicence, []byte(ce.copyID))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestFetchRefusals(t *testing.T) {
	ce := newConsentEnv(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		setup func(t *testing.T) (grant string, undo func())
		kind  error
		code  string
	}{
		{"unknown", func(t *testing.T) (string, func()) { return consent.NewGrantID(), nil }, ErrNotFound, CodeGrantNotFound},
		{"malformed id", func(t *testing.T) (string, func()) { return "g_../../x", nil }, ErrNotFound, CodeGrantNotFound},
		{"revoked by the party", func(t *testing.T) (string, func()) {
			g := ce.grant(t, "repeat")
			if _, err := ce.svc.RevokeGrant(ctx, ce.rpCaller(), g.ID); err != nil {
				t.Fatal(err)
			}
			return g.ID, nil
		}, ErrGone, CodeGrantRevoked},
		{"expired", func(t *testing.T) (string, func()) {
			g := ce.grant(t, "repeat")
			ce.clock.advance(time.Hour)
			return g.ID, func() { ce.clock.advance(-time.Hour) }
		}, ErrGone, CodeGrantExpired},
		{"once, used", func(t *testing.T) (string, func()) {
			g := ce.grant(t, "once")
			if _, err := ce.svc.Fetch(ctx, ce.rpCaller(), g.ID); err != nil {
				t.Fatal(err)
			}
			return g.ID, nil
		}, ErrGone, CodeGrantUsed},
		{"made before a suspension, after the resumption", func(t *testing.T) (string, func()) {
			g := ce.grant(t, "repeat")
			for _, a := range []PartyAction{PartySuspend, PartyResume} {
				if _, err := ce.svc.ChangeParty(ctx, ce.admin, ce.rp, a, "核查"); err != nil {
					t.Fatal(err)
				}
			}
			return g.ID, nil
		}, ErrGone, CodeGrantRevoked},
		{"licence revoked", func(t *testing.T) (string, func()) {
			// Its own licence: the environment's stays valid.
			lic, op := issueOneTB(t, ce.env, "business-license")
			dev, cp := claimInto(t, ce.env, op, lic.ID)
			m := ce.request(t, "repeat")
			a, err := ce.svc.Answer(ctx, signConsent(t, dev, m, cp, consent.Approve, "name"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ce.svc.ChangeStatus(ctx, op, lic.ID, ActionRevoke, "吊销"); err != nil {
				t.Fatal(err)
			}
			// A new grant of the revoked licence is refused too.
			_, err = ce.svc.Answer(ctx, signConsent(t, dev, ce.request(t, "once"), cp, consent.Approve, "name"))
			wantRefused(t, "a grant of a revoked licence", err, ErrInvalid, CodeLicenceNotValid)
			return a.Grant.ID, nil
		}, ErrInvalid, CodeLicenceNotValid},
		{"copy unbound", func(t *testing.T) (string, func()) {
			lic, op := issueOneTB(t, ce.env, "business-license")
			dev, cp := claimInto(t, ce.env, op, lic.ID)
			a, err := ce.svc.Answer(ctx, signConsent(t, dev, ce.request(t, "repeat"), cp, consent.Approve, "name"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ce.svc.Unbind(ctx, op, cp); err != nil {
				t.Fatal(err)
			}
			return a.Grant.ID, nil
		}, ErrInvalid, CodeLicenceNotValid},
		{"party suspended", func(t *testing.T) (string, func()) {
			// Last: the suspension voids the grants made before it.
			g := ce.grant(t, "repeat")
			if _, err := ce.svc.ChangeParty(ctx, ce.admin, ce.rp, PartySuspend, ""); err != nil {
				t.Fatal(err)
			}
			return g.ID, nil
		}, ErrForbidden, CodeRPSuspended},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, undo := c.setup(t)
			size := ce.ledger.Size()
			_, err := ce.svc.Fetch(ctx, ce.rpCaller(), id)
			grew := ce.ledger.Size() != size
			if undo != nil {
				undo()
			}
			wantRefused(t, c.name, err, c.kind, c.code)
			if grew {
				t.Errorf("a refused fetch wrote to the ledger")
			}
		})
	}
}

// A suspension voids every grant at once, and a suspended party's
// fetch is refused.
func TestSuspensionVoidsGrants(t *testing.T) {
	ce := newConsentEnv(t)
	ctx := context.Background()
	var ids []string
	for range 3 {
		ids = append(ids, ce.grant(t, "repeat").ID)
	}
	if _, err := ce.svc.ChangeParty(ctx, ce.admin, ce.rp, PartySuspend, "核查"); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		_, err := ce.svc.Fetch(ctx, ce.rpCaller(), id)
		wantRefused(t, "fetch while suspended", err, ErrForbidden, CodeRPSuspended)
	}
	_, err := ce.svc.CreateRequest(ctx, ce.rpCaller(), RequestInput{Matter: "310100001000", Class: "business-license", Fields: []string{"name"}, Duration: 60, Use: "once"})
	wantRefused(t, "request while suspended", err, ErrForbidden, CodeRPSuspended)
	if _, err := ce.svc.ChangeParty(ctx, ce.admin, ce.rp, PartyResume, ""); err != nil {
		t.Fatal(err)
	}
	ce.clock.advance(time.Millisecond)
	for _, id := range ids {
		_, err := ce.svc.Fetch(ctx, ce.rpCaller(), id)
		wantRefused(t, "fetch after the resumption", err, ErrGone, CodeGrantRevoked)
	}
	g := ce.grant(t, "repeat")
	if _, err := ce.svc.Fetch(ctx, ce.rpCaller(), g.ID); err != nil {
		t.Errorf("a grant made after the resumption: %v", err)
	}
}

// Two goroutines fetch a once grant: exactly one gets it.
func TestOnceGrantRace(t *testing.T) {
	ce := newConsentEnv(t)
	for round := range 5 {
		g := ce.grant(t, "once")
		onceRace(t, fmt.Sprint("round ", round), g.ID, ce.svc, ce.svc)
	}
}

// onceRace fetches once grant id from a and b at once and checks that
// exactly one fetch succeeds, the other being GRANT_USED.
func onceRace(t *testing.T, what, id string, a, b *Service) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	start := make(chan struct{})
	for i, s := range []*Service{a, b} {
		wg.Go(func() {
			<-start
			_, errs[i] = s.Fetch(context.Background(), Caller{RP: "sh-scjg-food-permit"}, id)
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantRefused(t, what, err, ErrGone, CodeGrantUsed)
	}
	if ok != 1 {
		t.Errorf("%s: %d fetches of a once grant succeeded (%v)", what, ok, errs)
	}
}

func TestCallbacks(t *testing.T) {
	got := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	defer srv.Close()
	ce := newConsentEnv(t)
	ctx := context.Background()
	if _, err := ce.svc.RegisterParty(ctx, ce.admin, ce.registration(t, srv.URL+"/cb"), false); err != nil {
		t.Fatal(err)
	}
	g := ce.grant(t, "once")
	m := ce.request(t, "once")
	if _, err := ce.svc.Answer(ctx, signConsent(t, ce.dev, m, ce.copyID, consent.Refuse)); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		fmt.Sprintf(`{"request":%q,"grant":%q,"state":"granted"}`, g.Request, g.ID): true,
		fmt.Sprintf(`{"request":%q,"state":"refused"}`, m.ID):                       true,
	}
	for range 2 {
		select {
		case b := <-got:
			if !want[b] {
				t.Errorf("callback %s, want one of %v", b, want)
			}
			delete(want, b)
		case <-time.After(5 * time.Second):
			t.Fatal("no callback")
		}
	}
}

// Two issuer processes on one PostgreSQL fetch the same once grant at
// once: exactly one gets the credential.
func TestReplicasOnceGrant(t *testing.T) {
	if !strings.Contains(statetest.Selected(), "://") {
		pg := os.Getenv("ELICENSE_TEST_PG")
		switch pg {
		case "skip":
			testneed.Missing(t, testneed.Postgres, "ELICENSE_TEST_PG=skip: the PostgreSQL replica test does NOT run")
		case "":
			pg = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
		}
		t.Setenv(statetest.EnvStore, pg)
	}
	dir := t.TempDir()
	a := newConsentEnvIn(t, dir)
	if a.svc.replica.shared == nil {
		t.Fatal("the backend is not shared by several processes")
	}
	b := openEnvWith(t, dir, func(o *Options) { o.Now = a.clock.now; o.BaseURL = "https://issuer.example" })
	defer b.close(t)
	for round := range 10 {
		g := a.grant(t, "once")
		onceRace(t, fmt.Sprint("round ", round), g.ID, a.svc, b.svc)
	}
	// A revocation through one replica is seen by the other's next fetch.
	g := a.grant(t, "repeat")
	if _, err := b.svc.Fetch(context.Background(), a.rpCaller(), g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.RevokeGrant(context.Background(), Caller{Copy: a.copyID}, g.ID); err != nil {
		t.Fatal(err)
	}
	_, err := b.svc.Fetch(context.Background(), a.rpCaller(), g.ID)
	wantRefused(t, "fetch on the other replica after a revocation", err, ErrGone, CodeGrantRevoked)
}

// An approved field the licence lacks (an optional one) is refused: the
// credential would not disclose it, and its party would refuse it.
func TestAnswerFieldTheLicenceLacks(t *testing.T) {
	ce := newConsentEnv(t)
	ctx := context.Background()
	r := ce.registration(t, "")
	r.Matters[0].Classes[0].Fields = append(r.Matters[0].Classes[0].Fields, state.MatterField{Key: "registered_capital", Purpose: "核对注册资本"})
	if _, err := ce.svc.RegisterParty(ctx, ce.admin, r, false); err != nil {
		t.Fatal(err)
	}
	fields := samples(t)["business-license"]
	delete(fields, "registered_capital")
	fields["uscc"] = identtest.USCC(identtest.Scatter(7))
	rec, err := ce.svc.Issue(ctx, ce.op, IssueRequest{Class: "business-license", Fields: fields})
	if err != nil {
		t.Fatal(err)
	}
	dev, cp := claimInto(t, ce.env, ce.op, rec.ID)
	m, err := ce.svc.CreateRequest(ctx, ce.rpCaller(), RequestInput{Matter: "310100001000", Class: "business-license", Fields: []string{"name", "registered_capital"}, Duration: 60, Use: "once"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ce.svc.Answer(ctx, signConsent(t, dev, m, cp, consent.Approve, "name", "registered_capital"))
	wantRefused(t, "a field the licence lacks", err, ErrInvalid, CodeConsentInvalid)
	if _, err := ce.svc.Answer(ctx, signConsent(t, dev, m, cp, consent.Approve, "name")); err != nil {
		t.Errorf("approving without it: %v", err)
	}
}

// usePG points the state at PostgreSQL (unless the suite's selection is
// already a shared backend): replicas need one.
func usePG(t *testing.T) {
	if strings.Contains(statetest.Selected(), "://") {
		return
	}
	pg := os.Getenv("ELICENSE_TEST_PG")
	switch pg {
	case "skip":
		testneed.Missing(t, testneed.Postgres, "ELICENSE_TEST_PG=skip: the PostgreSQL replica test does NOT run")
	case "":
		pg = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	t.Setenv(statetest.EnvStore, pg)
}

// TestGrantAfterRotationOnAnotherReplica: replica b rotates the agency's
// key; replica a, which has not noticed yet, signs a grant with the old
// key, which the state refuses, then signs again with the reloaded key
// (the replicas share the PKI directory) and the grant is made.
func TestGrantAfterRotationOnAnotherReplica(t *testing.T) {
	usePG(t)
	testPKI(t)
	pkiCopy := filepath.Join(t.TempDir(), "pki")
	if err := os.CopyFS(pkiCopy, os.DirFS(filepath.Join(pkiDir, "pki"))); err != nil {
		t.Fatal(err)
	}
	load := func() *pki.PKI {
		p, err := pki.Load(pkiCopy, []byte("test"))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	dir := t.TempDir()
	a := newConsentEnvWith(t, dir, func(o *Options) { o.PKI, o.Passphrase = load(), []byte("test") })
	b := openEnvWith(t, dir, func(o *Options) { o.PKI, o.Passphrase, o.Now = load(), []byte("test"), a.clock.now })
	defer b.close(t)
	a.svc.stopHousekeeping() // a learns of the rotation only from the refusal
	ag, _ := a.svc.pki().Agency(a.op.Agency)
	old := ag.KeyID
	ch, err := b.svc.RotateKey(context.Background(), admin, a.op.Agency, RotateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	g := a.grant(t, "once")
	stored, err := a.store.Grant(g.ID)
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := base64.RawURLEncoding.DecodeString(strings.Split(stored.Credential, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(hdr, &h); err != nil {
		t.Fatal(err)
	}
	if h.Kid != ch.New.KID || stored.KeyID != h.Kid || h.Kid == old {
		t.Fatalf("the grant credential is signed by %s (recorded %s); the old key was %s, the new %s", h.Kid, stored.KeyID, old, ch.New.KID)
	}
	if _, err := b.svc.Fetch(context.Background(), a.rpCaller(), g.ID); err != nil {
		t.Fatal(err)
	}
}

// TestGrantEndsWithTheLicence: a grant's not_after is capped at the end
// of the licence's validity (midnight, China time, after its last day),
// and past it the licence is not valid for a fetch or a grant.
func TestGrantEndsWithTheLicence(t *testing.T) {
	ce := newConsentEnv(t)
	ctx := context.Background()
	cst := chinatime.Zone
	today := ce.clock.now().In(cst)
	fields := maps.Clone(samples(t)["business-license"])
	fields["term"] = "2019-04-18至" + today.Format("2006-01-02")
	rec, err := ce.svc.Issue(ctx, ce.op, IssueRequest{Class: "business-license", Fields: fields})
	if err != nil {
		t.Fatal(err)
	}
	dev, cp := claimInto(t, ce.env, ce.op, rec.Record.ID)
	m, err := ce.svc.CreateRequest(ctx, ce.rpCaller(), RequestInput{Matter: "310100001000", Class: "business-license",
		Fields: []string{"name"}, Duration: 7 * 24 * 3600, Use: "repeat"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := ce.svc.Answer(ctx, signConsent(t, dev, m, cp, consent.Approve, "name"))
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(today.Year(), today.Month(), today.Day()+1, 0, 0, 0, 0, cst)
	if a.Grant.NotAfter != end.UTC().Format(time.RFC3339) {
		t.Fatalf("not_after %s, want the end of the licence's validity %s", a.Grant.NotAfter, end.UTC().Format(time.RFC3339))
	}
	if _, err := ce.svc.Fetch(ctx, ce.rpCaller(), a.Grant.ID); err != nil {
		t.Fatal(err)
	}
	copyRec, err := ce.store.Get(cp)
	if err != nil {
		t.Fatal(err)
	}
	// A grant made before not_after was capped (a week long) is refused
	// past the licence's validity.
	_, err = ce.svc.licenceValid(copyRec, end)
	wantRefused(t, "the licence at the end of its validity", err, ErrInvalid, CodeLicenceNotValid)
	if _, err := ce.svc.licenceValid(copyRec, end.Add(-time.Second)); err != nil {
		t.Fatalf("the licence on its last day: %v", err)
	}
	ce.clock.advance(end.Sub(ce.clock.now()) + time.Second)
	_, err = ce.svc.Fetch(ctx, ce.rpCaller(), a.Grant.ID)
	wantRefused(t, "a fetch past the licence's validity", err, ErrGone, CodeGrantExpired)
}
