package service

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"elicense/certs/consent"
	"elicense/issuer/state"
)

// RequestInput is a relying party's request for a holder's consent: the
// body of POST /v1/requests (docs/consent.md §4).
type RequestInput struct {
	Matter   string   `json:"matter"`
	Class    string   `json:"class"`
	Fields   []string `json:"fields"`
	Duration int64    `json:"duration"` // seconds
	Use      string   `json:"use"`      // once | repeat
	State    string   `json:"state,omitempty"`
}

// RequestMade is the answer to a new request.
type RequestMade struct {
	ID         string `json:"id"`
	RequestURI string `json:"request_uri"`
	Link       string `json:"link"`
	QR         string `json:"qr"`
	ExpiresAt  string `json:"expires_at"` // RFC 3339
	Request    string `json:"request"`    // the signed request
}

// RequestState is a request as GET /v1/requests/{id} shows it.
type RequestState struct {
	Request string `json:"request"`
	State   string `json:"state"` // pending | granted | refused | expired
	Grant   string `json:"grant,omitempty"`
	RPState string `json:"rp_state,omitempty"` // the party's own state, as it gave it
}

// matterOf finds what rp registered for matter and class: the matter
// and its fields.
func matterOf(rp *state.RelyingParty, matter, class string) (*state.Matter, *state.MatterClass) {
	for i := range rp.Matters {
		m := &rp.Matters[i]
		if m.Code != matter {
			continue
		}
		for j := range m.Classes {
			if m.Classes[j].Class == class {
				return m, &m.Classes[j]
			}
		}
		return m, nil
	}
	return nil, nil
}

func purposeOf(mc *state.MatterClass, key string) (string, bool) {
	for _, f := range mc.Fields {
		if f.Key == key {
			return f.Purpose, true
		}
	}
	return "", false
}

// activeParty returns the caller's registration if it may act now.
func (s *Service) activeParty(id string) (*state.RelyingParty, error) {
	rp, err := s.party(id)
	if err != nil {
		return nil, err
	}
	if rp.State != state.PartyActive {
		return nil, &Error{Kind: ErrForbidden, Code: CodeRPSuspended, Msg: fmt.Sprintf("relying party %s is %s", id, rp.State)}
	}
	return rp, nil
}

// CreateRequest makes and keeps a request of relying party c.RP, signed
// by the ledger key, for the holder's wallet to show.
func (s *Service) CreateRequest(ctx context.Context, c Caller, in RequestInput) (*RequestMade, error) {
	if c.RP == "" {
		return nil, &Error{Kind: ErrForbidden, Msg: "requests are made by relying parties"}
	}
	end, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer end()
	rp, err := s.activeParty(c.RP)
	if err != nil {
		return nil, err
	}
	cl, ok := s.cat.Lookup(in.Class)
	if !ok {
		return nil, &Error{Kind: ErrInvalid, Code: CodeNotRegistered, Field: "class", Msg: fmt.Sprintf("unknown licence class %q", in.Class)}
	}
	m, mc := matterOf(rp, in.Matter, cl.Key)
	switch {
	case m == nil:
		return nil, &Error{Kind: ErrInvalid, Code: CodeNotRegistered, Field: "matter", Msg: fmt.Sprintf("%s is not registered for matter %q", rp.ID, in.Matter)}
	case mc == nil:
		return nil, &Error{Kind: ErrInvalid, Code: CodeNotRegistered, Field: "class", Msg: fmt.Sprintf("matter %s of %s does not ask for class %s", m.Code, rp.ID, cl.Key)}
	case len(in.Fields) == 0:
		return nil, invalid("fields", "a request asks for at least one field")
	}
	fields := make([]consent.RequestedField, 0, len(in.Fields))
	for _, k := range in.Fields {
		purpose, ok := purposeOf(mc, k)
		if !ok {
			return nil, &Error{Kind: ErrInvalid, Code: CodeNotRegistered, Field: "fields", Msg: fmt.Sprintf("matter %s of %s is not registered for field %q", m.Code, rp.ID, k)}
		}
		if slices.ContainsFunc(fields, func(f consent.RequestedField) bool { return f.Key == k }) {
			return nil, invalid("fields", "field %s twice", k)
		}
		f, _ := cl.Field(k)
		fields = append(fields, consent.RequestedField{Key: k, Name: f.Label, Purpose: purpose})
	}
	d := time.Duration(in.Duration) * time.Second
	if in.Duration < int64(consent.MinDuration/time.Second) || in.Duration > int64(consent.MaxDuration/time.Second) {
		return nil, invalid("duration", "duration is %d … %d seconds", int64(consent.MinDuration/time.Second), int64(consent.MaxDuration/time.Second))
	}
	use := consent.Use(in.Use)
	if !use.Valid() {
		return nil, invalid("use", `use is "once" or "repeat"`)
	}
	if len(in.State) > consent.MaxStateLen {
		return nil, invalid("state", "state is at most %d bytes", consent.MaxStateLen)
	}
	now := s.now()
	claims := consent.RequestClaims{
		ID: consent.NewRequestID(), Issuer: s.baseURL, IssuedAt: now, ExpiresAt: now.Add(consent.RequestLifetime),
		RP:     consent.RP{ID: rp.ID, Name: rp.Name, OrgCode: rp.OrgCode, OrgName: rp.OrgName},
		Matter: consent.Matter{Code: m.Code, Name: m.Name}, Class: cl.Key, Fields: fields, Duration: d, Use: use,
	}
	led := s.pki().Ledger
	jws, err := consent.SignRequest(led.Signer, led.KeyID, claims)
	if err != nil {
		return nil, &Error{Kind: ErrInvalid, Msg: "signing the request failed", Err: err}
	}
	r := &state.Request{ID: claims.ID, RP: rp.ID, JWS: jws, Matter: m.Code, Class: cl.Key, Fields: claims.FieldKeys(),
		Duration: d, Use: state.GrantUse(use), State: in.State, Created: now, Expires: claims.ExpiresAt}
	if err := s.store.PutRequest(r); err != nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "storing the request", Err: err}
	}
	link := s.baseURL + "/wallet/?request=" + url.QueryEscape(r.ID)
	return &RequestMade{ID: r.ID, RequestURI: s.baseURL + "/v1/requests/" + r.ID, Link: link, QR: link,
		ExpiresAt: r.Expires.UTC().Format(time.RFC3339), Request: jws}, nil
}

// request reads a request; the id is its secret, so an unknown one and a
// malformed one are alike.
func (s *Service) request(id string) (*state.Request, error) {
	if !consent.ValidRequestID(id) {
		return nil, &Error{Kind: ErrNotFound, Code: CodeRequestNotFound, Field: "request", Msg: "no such request"}
	}
	r, err := s.store.Request(id)
	if errors.Is(err, state.ErrNotFound) {
		return nil, &Error{Kind: ErrNotFound, Code: CodeRequestNotFound, Field: "request", Msg: "no such request"}
	}
	if err != nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "reading the request", Err: err}
	}
	return r, nil
}

// Request returns a request and its state (no authentication: the id is
// the secret, as an OID4VP request_uri is).
func (s *Service) Request(id string) (*RequestState, error) {
	r, err := s.request(id)
	if err != nil {
		return nil, err
	}
	st := string(r.Answer)
	if r.Answer == state.AnswerPending {
		st = "pending"
		if s.now().After(r.Expires) {
			st = "expired"
		}
	}
	return &RequestState{Request: r.JWS, State: st, Grant: r.Grant, RPState: r.State}, nil
}
