package mobilesdk

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"net/http"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/consent"
	"elicense/certs/ledgerevent"
	"elicense/internal/gm"
)

// This file is the wallet's side of the certs/consent formats (proofs,
// consents, requests) and of the ledger events a holder's uses list.

// Kinds of use the checks tell apart (ledger event kind names).
const (
	kindGrant           = "grant"
	kindCounterVerified = "counter-verified"
)

// requestView is a verified signed request.
type requestView struct {
	ID                             string
	RPID, RPName, OrgCode, OrgName string
	MatterCode, MatterName, Class  string
	Fields                         []*RequestField
	Duration                       int64
	Use                            string
	IssuedAt, ExpiresAt            int64
}

// signProof makes the Authorization: ELProof token for one call.
func signProof(key *gm.PrivateKey, sub, method, path string, body []byte, now time.Time) (string, error) {
	return consent.SignProof(key, consent.ProofClaims{Subject: sub, Method: method, Path: path, IssuedAt: now, Body: body})
}

// signConsent makes the holder's consent: approve with fields, or refuse
// (fields nil).
func signConsent(key *gm.PrivateKey, requestID, requestJWS, copyID string, fields []string, now time.Time) (string, error) {
	c := consent.ConsentClaims{Request: requestID, RequestSM3: consent.RequestSM3(requestJWS), Licence: copyID,
		Decision: consent.Refuse, IssuedAt: now}
	if fields != nil {
		c.Decision, c.Fields = consent.Approve, fields
	}
	return consent.SignConsent(key, c)
}

// verifyRequest verifies a signed request as docs/consent.md §4 says:
// signed by the ledger key, not expired, from iss, every field a field
// of its class. An expired request is a *ConsentError (REQUEST_EXPIRED),
// anything else wrong ErrForgedAnswer.
func verifyRequest(token string, ledgerKey *ecdsa.PublicKey, iss string, now time.Time) (*requestView, error) {
	r, err := consent.ParseRequest(token)
	if err != nil {
		return nil, wrapf(ErrForgedAnswer, "signed request: %v", err)
	}
	if err := r.Verify(ledgerKey, iss, catalog.Default(), now); err != nil {
		if errors.Is(err, consent.ErrExpired) {
			return nil, &ConsentError{Status: http.StatusGone, Code: CodeRequestExpired, Detail: "checked by the wallet: " + err.Error()}
		}
		return nil, wrapf(ErrForgedAnswer, "signed request: %v", err)
	}
	v := &requestView{ID: r.ID, RPID: r.RP.ID, RPName: r.RP.Name, OrgCode: r.RP.OrgCode, OrgName: r.RP.OrgName,
		MatterCode: r.Matter.Code, MatterName: r.Matter.Name, Class: r.Class,
		Duration: int64(r.Duration / time.Second), Use: string(r.Use), IssuedAt: r.IssuedAt.Unix(), ExpiresAt: r.ExpiresAt.Unix()}
	for _, f := range r.Fields {
		v.Fields = append(v.Fields, &RequestField{Key: f.Key, Name: f.Name, Purpose: f.Purpose})
	}
	return v, nil
}

// useEvent is a decoded ledger entry, as the uses list needs it.
type useEvent struct {
	kind                                        string
	time                                        time.Time
	subject                                     string
	grant, rp, matter, fields, counter, verdict string
	subjectIsCopy                               bool // the subject is the copy id (claim)
	commitsLicence                              bool // the entry commits to the licence
	ev                                          ledgerevent.Event
}

func decodeUseEvent(entry []byte) (*useEvent, error) {
	ev, err := ledgerevent.Decode(entry)
	if err != nil {
		return nil, err
	}
	h := ev.Head()
	u := &useEvent{kind: ev.Kind().String(), time: h.Time, subject: h.Subject, ev: ev}
	switch e := ev.(type) {
	case *ledgerevent.Claim:
		u.subjectIsCopy = true
	case *ledgerevent.Grant:
		u.grant, u.rp, u.matter, u.fields, u.commitsLicence = e.Grant, e.RP, e.Matter, e.Fields, true
	case *ledgerevent.GrantUse:
		u.grant, u.rp = e.Grant, e.RP
	case *ledgerevent.GrantRevoked:
		u.grant, u.rp = e.Grant, e.RP
	case *ledgerevent.CounterVerified:
		u.counter, u.verdict, u.commitsLicence = e.Counter, e.Verdict, true
	}
	return u, nil
}

// open checks the opening of the entry's licence commitment.
func (u *useEvent) open(salt, value []byte) error {
	if len(salt) != ledgerevent.SaltSize {
		return fmt.Errorf("opening: salt of %d bytes, want %d", len(salt), ledgerevent.SaltSize)
	}
	o := ledgerevent.Opening{Field: ledgerevent.FieldLicence, Value: value}
	copy(o.Salt[:], salt)
	if err := ledgerevent.VerifyOpening(u.ev, o); err != nil {
		return fmt.Errorf("the opening does not match the entry's commitment")
	}
	return nil
}
