package service

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"elicense/certs/consent"
	"elicense/certs/credential"
	"elicense/certs/ledgerevent"
	"elicense/internal/chinatime"
	"elicense/internal/gm"
	"elicense/issuer/state"
)

// GrantView is a grant as its relying party and holder see it.
type GrantView struct {
	ID       string   `json:"id"`
	Request  string   `json:"request"`
	RP       string   `json:"rp"`
	Licence  string   `json:"licence,omitempty"` // the copy; shown to its holder only
	Matter   string   `json:"matter"`
	Fields   []string `json:"fields"`
	NotAfter string   `json:"not_after"` // RFC 3339
	Use      string   `json:"use"`
	Created  string   `json:"created"`
	// State is active, used (a once grant fetched), expired or revoked
	// (by its holder or party, or void: made before the party's last
	// suspension).
	State       string `json:"state"`
	Fetches     uint64 `json:"fetches"`
	LedgerIndex uint64 `json:"ledger_index"`
}

func (s *Service) grantView(g *state.Grant, rp *state.RelyingParty, holder bool) *GrantView {
	v := &GrantView{ID: g.ID, Request: g.Request, RP: g.RP, Matter: g.Matter, Fields: g.Fields,
		NotAfter: g.NotAfter.UTC().Format(time.RFC3339), Use: string(g.Use), Created: g.Created.UTC().Format(time.RFC3339),
		State: s.grantState(g, rp), Fetches: g.Fetches, LedgerIndex: g.LedgerIndex}
	if holder {
		v.Licence = g.Copy
	}
	return v
}

// grantState says whether g may still be fetched; rp may be nil when
// its party could not be read (then only the grant decides).
func (s *Service) grantState(g *state.Grant, rp *state.RelyingParty) string {
	switch {
	case !g.RevokedAt.IsZero(), rp != nil && voided(g, rp):
		return "revoked"
	case !s.now().Before(g.NotAfter):
		return "expired"
	case g.Use == state.UseOnce && g.Fetches > 0:
		return "used"
	}
	return "active"
}

// voided reports whether g was made before its party's last suspension
// (or its removal).
func voided(g *state.Grant, rp *state.RelyingParty) bool {
	return !rp.VoidBefore.IsZero() && !g.Created.After(rp.VoidBefore)
}

// Answered is the outcome of a holder's answer: a grant, or a refusal.
type Answered struct {
	Grant   *GrantView `json:"grant,omitempty"`
	Request string     `json:"request"`
	State   string     `json:"state"` // granted | refused
}

func consentInvalid(format string, args ...any) *Error {
	return &Error{Kind: ErrForbidden, Code: CodeConsentInvalid, Field: "consent", Msg: fmt.Sprintf(format, args...)}
}

func licenceNotValid(format string, args ...any) *Error {
	return &Error{Kind: ErrInvalid, Code: CodeLicenceNotValid, Field: "licence", Msg: fmt.Sprintf(format, args...)}
}

// Answer takes a holder's consent (docs/consent.md §5), checked in the
// contract's order. A refusal marks the request refused; an approval
// makes a grant and its SD-JWT credential, recorded by a grant event
// before it returns. The relying party's callback, if any, is told
// either way, off this call.
func (s *Service) Answer(ctx context.Context, consentJWS string) (*Answered, error) {
	end, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer end()
	c, err := consent.ParseConsent(consentJWS)
	if err != nil {
		return nil, &Error{Kind: ErrInvalid, Code: CodeConsentInvalid, Field: "consent", Msg: "the consent is malformed", Err: err}
	}
	req, err := s.request(c.Request)
	if err != nil {
		return nil, err
	}
	now := s.now()
	switch {
	case req.Answer != state.AnswerPending:
		return nil, &Error{Kind: ErrConflict, Code: CodeRequestAnswered, Field: "request", Msg: "the request was answered (" + string(req.Answer) + ")"}
	case now.After(req.Expires):
		return nil, &Error{Kind: ErrGone, Code: CodeRequestExpired, Field: "request", Msg: "the request expired; the relying party makes a new one"}
	case c.RequestSM3 != consent.RequestSM3(req.JWS):
		return nil, consentInvalid("request_sm3 is not the SM3 of the request this server signed")
	}
	cp, err := s.store.Get(c.Licence)
	switch {
	case errors.Is(err, state.ErrNotFound):
		return nil, consentInvalid("no such licence copy")
	case err != nil:
		return nil, &Error{Kind: ErrUnavailable, Msg: "reading the store", Err: err}
	case cp.CopyOf == "" || cp.Device == "" || cp.Unbound:
		return nil, consentInvalid("the licence is not a bound copy")
	}
	dev, err := s.ProofKey(cp.ID)
	if err != nil {
		return nil, consentInvalid("the copy has no device key")
	}
	if err := c.Verify(dev, req.JWS); err != nil {
		if errors.Is(err, consent.ErrWidened) {
			return nil, &Error{Kind: ErrInvalid, Code: CodeConsentInvalid, Field: "fields", Msg: "the consent approves a field the request did not ask for", Err: err}
		}
		return nil, &Error{Kind: ErrForbidden, Code: CodeConsentInvalid, Field: "consent", Msg: "the consent does not verify with the copy's device key", Err: err}
	}
	if c.Decision == consent.Refuse {
		return s.refuse(req, now)
	}
	if cp.Class != req.Class {
		return nil, &Error{Kind: ErrInvalid, Code: CodeLicenceNotValid, Field: "licence", Msg: fmt.Sprintf("the request asks for a %s, the copy is a %s", req.Class, cp.Class)}
	}
	parent, err := s.licenceValid(cp, now)
	if err != nil {
		return nil, err
	}
	rp, err := s.activeParty(req.RP)
	if err != nil {
		return nil, err
	}
	_, mc := matterOf(rp, req.Matter, req.Class)
	for _, k := range c.Fields {
		if _, ok := purposeOf(orEmpty(mc), k); !ok {
			return nil, &Error{Kind: ErrInvalid, Code: CodeNotRegistered, Field: "fields", Msg: fmt.Sprintf("relying party %s is no longer registered for field %s of matter %s", rp.ID, k, req.Matter)}
		}
	}
	var g *state.Grant
	var idx uint64
	for try := 0; ; try++ {
		if g, err = s.makeGrant(req, c, cp, parent, now); err != nil {
			return nil, err
		}
		ev := s.audit.Grant(ledgerevent.Grant{Time: now, Agency: g.Agency, Grant: g.ID, RP: g.RP, Matter: g.Matter,
			Fields: strings.Join(g.Fields, ","), NotAfter: g.NotAfter, Use: ledgerUse(g.Use), Consent: gm.SM3([]byte(g.Consent))}, g.Copy)
		idx, err = s.record(ctx, events{{ev, map[string]string{ledgerevent.FieldLicence: g.Copy}}}, func(tx state.Tx, first uint64) error {
			return tx.PutGrant(g, first)
		})
		if try > 0 || !errors.Is(err, state.ErrKeyRetired) || s.replica.shared == nil {
			break
		}
		// Another replica's rotation fenced or retired the agency's key
		// since this one signed: sign again, once, with the reloaded
		// keys, as Issue does (record reloaded them; makeGrant refuses
		// the old key if the new one is not there yet).
		time.Sleep(keyRetryWait)
		s.reloadKeys(true)
	}
	if errors.Is(err, state.ErrExists) {
		// Answered by another call, here or on another replica.
		return nil, &Error{Kind: ErrConflict, Code: CodeRequestAnswered, Field: "request", Msg: "the request was answered", Err: err}
	}
	if err != nil {
		return nil, err
	}
	g.LedgerIndex = idx
	s.log.Info("grant made", "grant", g.ID, "rp", g.RP, "ledger_index", idx)
	s.notifier.notify(rp.Callback, callbackNotice{Request: req.ID, Grant: g.ID, State: "granted"})
	return &Answered{Grant: s.grantView(g, rp, true), Request: req.ID, State: "granted"}, nil
}

func orEmpty(mc *state.MatterClass) *state.MatterClass {
	if mc == nil {
		return &state.MatterClass{}
	}
	return mc
}

func ledgerUse(u state.GrantUse) ledgerevent.GrantUseLimit {
	if u == state.UseOnce {
		return ledgerevent.UseOnce
	}
	return ledgerevent.UseRepeat
}

func (s *Service) refuse(req *state.Request, now time.Time) (*Answered, error) {
	err := s.store.RefuseRequest(req.ID, now)
	switch {
	case errors.Is(err, state.ErrExists):
		return nil, &Error{Kind: ErrConflict, Code: CodeRequestAnswered, Field: "request", Msg: "the request was answered"}
	case errors.Is(err, state.ErrNotFound):
		return nil, &Error{Kind: ErrNotFound, Code: CodeRequestNotFound, Field: "request", Msg: "no such request"}
	case err != nil:
		return nil, &Error{Kind: ErrUnavailable, Msg: "recording the refusal", Err: err}
	}
	if rp, err := s.party(req.RP); err == nil {
		s.notifier.notify(rp.Callback, callbackNotice{Request: req.ID, State: "refused"})
	}
	return &Answered{Request: req.ID, State: "refused"}, nil
}

// licenceValid checks that copy cp and its licence are valid now, and
// returns the licence.
func (s *Service) licenceValid(cp *state.Record, now time.Time) (*state.Record, error) {
	if cp.Unbound || cp.Status != state.StatusValid {
		return nil, licenceNotValid("the licence copy is %s", cp.Status)
	}
	parent, err := s.store.Get(cp.CopyOf)
	if err != nil {
		if errors.Is(err, state.ErrNotFound) {
			return nil, licenceNotValid("the copy's licence is gone")
		}
		return nil, &Error{Kind: ErrUnavailable, Msg: "reading the store", Err: err}
	}
	if parent.Status != state.StatusValid {
		return nil, licenceNotValid("the licence is %s", parent.Status)
	}
	if end, ok := s.validityEnd(parent); ok && !now.Before(end) {
		return nil, licenceNotValid("the licence's validity ended at %s", end.Format(time.RFC3339))
	}
	return parent, nil
}

// validityEnd is the end of licence r's validity: the midnight, China
// time, after its last valid day; ok is false for 长期 or a class with
// no validity term.
func (s *Service) validityEnd(r *state.Record) (end time.Time, ok bool) {
	cl, found := s.cat.Lookup(r.Class)
	if !found {
		return time.Time{}, false
	}
	t, found := cl.ValidityTerm(r.Fields)
	if !found || t.LongTerm || t.End.IsZero() {
		return time.Time{}, false
	}
	y, m, d := t.End.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, chinatime.Zone), true
}

// makeGrant builds the grant and its SD-JWT: one disclosure for every
// field of the licence, signed by the agency's current key; only the
// approved fields' disclosures are kept.
func (s *Service) makeGrant(req *state.Request, c *consent.Consent, cp, parent *state.Record, now time.Time) (*state.Grant, error) {
	cl, ok := s.cat.Lookup(cp.Class)
	if !ok {
		return nil, &Error{Kind: ErrConflict, Msg: "licence class " + cp.Class + " is no longer in the catalogue"}
	}
	ag, ok := s.pki().Agency(cp.Agency)
	if !ok {
		return nil, &Error{Kind: ErrConflict, Msg: "the issuing agency is no longer configured"}
	}
	if err := s.keyUsable(ag); err != nil {
		return nil, err
	}
	issuedOn, err := time.Parse(credential.DateLayout, cp.IssuedOn)
	if err != nil {
		return nil, &Error{Kind: ErrConflict, Msg: "stored issue date does not parse", Err: err}
	}
	l, err := credential.NewLicense(cl, cp.Fields, credential.Issuance{ID: parent.ID, IssuerName: ag.Name, IssuerCode: ag.Code, IssuedOn: issuedOn, Number: cp.Number})
	if err != nil {
		return nil, &Error{Kind: ErrConflict, Msg: "the stored licence no longer validates", Err: err}
	}
	notAfter := now.Add(req.Duration)
	if !l.ValidUntil.IsZero() {
		end := l.ValidUntil.AddDate(0, 0, 1)
		if now.After(end) {
			return nil, licenceNotValid("the licence's validity ended on %s", l.ValidUntil.Format(credential.DateLayout))
		}
		// A grant ends with the licence's validity at the latest.
		notAfter = minTime(notAfter, end)
	}
	raw, err := hex.DecodeString(cp.Device)
	if err != nil {
		return nil, &Error{Kind: ErrConflict, Msg: "stored device key does not parse", Err: err}
	}
	if l.Device, err = gm.ParsePublicKey(raw); err != nil {
		return nil, &Error{Kind: ErrConflict, Msg: "stored device key does not parse", Err: err}
	}
	l.Status = &credential.StatusRef{URI: s.status.URI(cp.StatusList), Index: cp.StatusIndex}
	id := consent.NewGrantID()
	base, err := consent.BaseFromLicence(l, req.RP, id, now)
	if err != nil {
		return nil, &Error{Kind: ErrConflict, Msg: "the licence cannot be granted", Err: err}
	}
	jwt, disc, err := consent.IssueGrantCredential(ag.Signer, ag.KeyID, base, cp.Fields)
	if err != nil {
		return nil, &Error{Kind: ErrConflict, Msg: "signing the grant credential failed", Err: err}
	}
	fields := slices.Clone(c.Fields)
	ds := make([]string, 0, len(fields))
	for _, k := range fields {
		d, ok := disc[k]
		if !ok {
			// An optional field this licence lacks: a grant of it would
			// make a credential its party must refuse (a consented
			// field not disclosed).
			return nil, &Error{Kind: ErrInvalid, Code: CodeConsentInvalid, Field: "fields", Msg: "the licence has no field " + k + "; approve without it"}
		}
		ds = append(ds, d)
	}
	return &state.Grant{ID: id, Request: req.ID, RP: req.RP, Copy: cp.ID, Agency: cp.Agency, Matter: req.Matter,
		Fields: fields, NotAfter: notAfter, Use: req.Use, Consent: c.JWS, RequestJWS: req.JWS,
		Credential: jwt, Disclosures: ds, Created: now, KeyID: ag.KeyID}, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Fetched is a granted credential as its relying party receives it
// (docs/consent.md §6).
type Fetched struct {
	Credential  string       `json:"credential"` // SD-JWT: jwt~d1~…~
	Consent     string       `json:"consent"`
	Request     string       `json:"request"`
	Grant       FetchedGrant `json:"grant"`
	LedgerIndex uint64       `json:"ledger_index"`
}

// FetchedGrant is the grant as a fetch names it.
type FetchedGrant struct {
	ID       string   `json:"id"`
	RP       string   `json:"rp"`
	Matter   string   `json:"matter"`
	Fields   []string `json:"fields"`
	NotAfter string   `json:"not_after"`
	Use      string   `json:"use"`
}

func grantNotFound() *Error {
	return &Error{Kind: ErrNotFound, Code: CodeGrantNotFound, Field: "id", Msg: "no such grant"}
}

// grantOf reads grant id for c: its party or its copy's holder. Another
// caller's grant is unknown to it.
func (s *Service) grantOf(c Caller, id string) (*state.Grant, error) {
	if !consent.ValidGrantID(id) {
		return nil, grantNotFound()
	}
	g, err := s.store.Grant(id)
	if errors.Is(err, state.ErrNotFound) {
		return nil, grantNotFound()
	}
	if err != nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "reading the grant", Err: err}
	}
	if c.RP != "" && c.RP != g.RP || c.Copy != "" && c.Copy != g.Copy || c == (Caller{}) {
		return nil, grantNotFound()
	}
	return g, nil
}

// Fetch gives relying party c.RP the credential of its grant id, once
// the grant-use event is durable; refused for a grant revoked, voided
// by a suspension, expired or (once) used, a party not active, and a
// licence or copy no longer valid.
func (s *Service) Fetch(ctx context.Context, c Caller, id string) (*Fetched, error) {
	if c.RP == "" {
		return nil, grantNotFound()
	}
	end, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer end()
	g, err := s.grantOf(c, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	switch {
	case !g.RevokedAt.IsZero():
		return nil, &Error{Kind: ErrGone, Code: CodeGrantRevoked, Field: "id", Msg: "the grant was revoked"}
	case !now.Before(g.NotAfter):
		return nil, &Error{Kind: ErrGone, Code: CodeGrantExpired, Field: "id", Msg: "the grant ended at " + g.NotAfter.UTC().Format(time.RFC3339)}
	case g.Use == state.UseOnce && g.Fetches > 0:
		return nil, &Error{Kind: ErrGone, Code: CodeGrantUsed, Field: "id", Msg: "a once grant's credential was fetched"}
	}
	rp, err := s.party(g.RP)
	if err != nil {
		return nil, err
	}
	if rp.State != state.PartyActive {
		return nil, &Error{Kind: ErrForbidden, Code: CodeRPSuspended, Msg: fmt.Sprintf("relying party %s is %s", rp.ID, rp.State)}
	}
	if voided(g, rp) {
		return nil, &Error{Kind: ErrGone, Code: CodeGrantRevoked, Field: "id", Msg: "the grant was made before the relying party's last suspension"}
	}
	cp, err := s.store.Get(g.Copy)
	if err != nil {
		if errors.Is(err, state.ErrNotFound) {
			return nil, licenceNotValid("the licence copy is gone")
		}
		return nil, &Error{Kind: ErrUnavailable, Msg: "reading the store", Err: err}
	}
	if _, err := s.licenceValid(cp, now); err != nil {
		return nil, err
	}
	ev := &ledgerevent.GrantUse{Time: now, Agency: g.Agency, Grant: g.ID, RP: g.RP}
	idx, err := s.record(ctx, events{{ev, nil}}, func(tx state.Tx, first uint64) error {
		return tx.UseGrant(g.ID, first)
	})
	// The state re-checks what was read above in the ledger's
	// transaction: a suspension or status change committed meanwhile,
	// on any replica, refuses the fetch with the same answers.
	switch {
	case errors.Is(err, state.ErrRevoked):
		return nil, &Error{Kind: ErrGone, Code: CodeGrantRevoked, Field: "id", Msg: "the grant was revoked, or made before the relying party's last suspension"}
	case errors.Is(err, state.ErrExists):
		return nil, &Error{Kind: ErrGone, Code: CodeGrantUsed, Field: "id", Msg: "a once grant's credential was fetched"}
	case errors.Is(err, state.ErrSuspended):
		return nil, &Error{Kind: ErrForbidden, Code: CodeRPSuspended, Msg: "relying party " + g.RP + " is not active"}
	case errors.Is(err, state.ErrNotValid):
		return nil, licenceNotValid("the licence or its copy is no longer valid")
	case errors.Is(err, state.ErrNotFound):
		return nil, grantNotFound()
	case err != nil:
		return nil, err
	}
	var sb strings.Builder
	sb.WriteString(g.Credential)
	sb.WriteByte('~')
	for _, d := range g.Disclosures {
		sb.WriteString(d)
		sb.WriteByte('~')
	}
	return &Fetched{Credential: sb.String(), Consent: g.Consent, Request: g.RequestJWS, LedgerIndex: idx,
		Grant: FetchedGrant{ID: g.ID, RP: g.RP, Matter: g.Matter, Fields: g.Fields, NotAfter: g.NotAfter.UTC().Format(time.RFC3339), Use: string(g.Use)}}, nil
}

// RevokeGrant ends grant id at once, for its holder or its party, with
// a grant-revoked event. Revoking a revoked grant changes nothing.
func (s *Service) RevokeGrant(ctx context.Context, c Caller, id string) (*GrantView, error) {
	end, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer end()
	g, err := s.grantOf(c, id)
	if err != nil {
		return nil, err
	}
	rp, _ := s.party(g.RP)
	if !g.RevokedAt.IsZero() {
		return s.grantView(g, rp, c.Copy != ""), nil
	}
	by, sby := ledgerevent.ByRelyingParty, state.ByParty
	if c.Copy != "" {
		by, sby = ledgerevent.ByHolder, state.ByHolder
	}
	now := s.now()
	ev := &ledgerevent.GrantRevoked{Time: now, Agency: g.Agency, Grant: g.ID, RP: g.RP, By: by}
	_, err = s.record(ctx, events{{ev, nil}}, func(tx state.Tx, first uint64) error {
		return tx.RevokeGrant(g.ID, now, sby, first)
	})
	if errors.Is(err, state.ErrRevoked) {
		// Revoked meanwhile, by the other side or on another replica.
		if g, err = s.store.Grant(id); err != nil {
			return nil, &Error{Kind: ErrUnavailable, Msg: "reading the grant", Err: err}
		}
		return s.grantView(g, rp, c.Copy != ""), nil
	}
	if err != nil {
		return nil, err
	}
	g.RevokedAt, g.RevokedBy = now, sby
	s.log.Info("grant revoked", "grant", g.ID, "by", by)
	return s.grantView(g, rp, c.Copy != ""), nil
}

// MaxGrantsPage bounds a page of a party's grants.
const MaxGrantsPage = 100

// PartyGrants lists relying party c.RP's grants, a page at a time from
// the cursor after (a ledger index; 0 for the first page), only the
// active ones unless all.
func (s *Service) PartyGrants(c Caller, all bool, after uint64) ([]*GrantView, uint64, error) {
	if c.RP == "" {
		return nil, 0, &Error{Kind: ErrForbidden, Msg: "a relying party lists its grants"}
	}
	rp, err := s.party(c.RP)
	if err != nil {
		return nil, 0, err
	}
	gs, next, err := s.store.GrantsOfParty(c.RP, after, MaxGrantsPage)
	if err != nil {
		return nil, 0, &Error{Kind: ErrUnavailable, Msg: "reading the grants", Err: err}
	}
	out := make([]*GrantView, 0, len(gs))
	for _, g := range gs {
		v := s.grantView(g, rp, false)
		if all || v.State == "active" {
			out = append(out, v)
		}
	}
	return out, next, nil
}

// HolderGrants lists the grants of licence copy c.Copy, which must be
// the copy asked for.
func (s *Service) HolderGrants(c Caller, copyID string) ([]*GrantView, error) {
	if c.Copy == "" || c.Copy != copyID {
		return nil, &Error{Kind: ErrForbidden, Code: CodeLicenceNotCopy, Field: "licence", Msg: "a holder lists the grants of the copy its proof is signed for"}
	}
	gs, err := s.store.GrantsOfCopy(copyID)
	if err != nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "reading the grants", Err: err}
	}
	parties := map[string]*state.RelyingParty{}
	out := make([]*GrantView, len(gs))
	for i, g := range gs {
		rp, ok := parties[g.RP]
		if !ok {
			rp, _ = s.party(g.RP)
			parties[g.RP] = rp
		}
		out[i] = s.grantView(g, rp, true)
	}
	return out, nil
}
