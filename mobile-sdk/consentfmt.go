package mobilesdk

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/jws"
	"elicense/certs/ledgerevent"
	"elicense/internal/gm"
)

// This file is the wallet's side of the certs/consent formats: proofs,
// consents, requests and the ledger events of kinds 10–15.

// Kinds of use (ledger event kind names).
const (
	kindClaim           = "claim"
	kindGrant           = "grant"
	kindGrantUse        = "grant-use"
	kindGrantRevoked    = "grant-revoked"
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

func signJWS(key *gm.PrivateKey, header string, payload any) (string, error) {
	pb, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(pb)
	sig, err := gm.SignRS(key, []byte(in))
	if err != nil {
		return "", err
	}
	return in + "." + enc.EncodeToString(sig), nil
}

// signProof makes the Authorization: ELProof token for one call.
func signProof(key *gm.PrivateKey, sub, method, path string, body []byte, now time.Time) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	p := map[string]any{"sub": sub, "htm": method, "htu": path, "iat": now.Unix(), "jti": base64.RawURLEncoding.EncodeToString(jti)}
	if body != nil {
		sum := gm.SM3(body)
		p["bh"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return signJWS(key, `{"alg":"SM2SM3","typ":"elicense-proof+jwt"}`, p)
}

// signConsent makes the holder's consent (decision "approve" with fields,
// or "refuse").
func signConsent(key *gm.PrivateKey, requestID, requestJWS, copyID, decision string, fields []string, now time.Time) (string, error) {
	sum := gm.SM3([]byte(requestJWS))
	p := map[string]any{"request": requestID, "request_sm3": base64.RawURLEncoding.EncodeToString(sum[:]),
		"licence": copyID, "decision": decision, "iat": now.Unix()}
	if decision == "approve" {
		p["fields"] = fields
	}
	return signJWS(key, `{"alg":"SM2SM3","typ":"elicense-consent+jwt"}`, p)
}

// verifyRequest verifies a signed request: the ledger key's signature,
// not expired, iss, every field of its class.
func verifyRequest(token string, ledgerKey *ecdsa.PublicKey, iss string, now time.Time) (*requestView, error) {
	bad := func(format string, args ...any) error {
		return wrapf(ErrForgedAnswer, "signed request: "+format, args...)
	}
	t, err := jws.Parse(token, jws.Expect{Typ: "elicense-request+jwt"})
	if err != nil {
		return nil, bad("%v", err)
	}
	if err := gm.VerifyRS(ledgerKey, t.SigningInput, t.Signature); err != nil {
		return nil, bad("not signed by the ledger key: %v", err)
	}
	var p struct {
		ID  string `json:"id"`
		Iss string `json:"iss"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
		RP  struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			OrgCode string `json:"org_code"`
			OrgName string `json:"org_name"`
		} `json:"rp"`
		Matter struct {
			Code string `json:"code"`
			Name string `json:"name"`
		} `json:"matter"`
		Class    string          `json:"class"`
		Fields   []*RequestField `json:"fields"`
		Duration int64           `json:"duration"`
		Use      string          `json:"use"`
	}
	if err := json.Unmarshal(t.Payload, &p); err != nil {
		return nil, bad("payload: %v", err)
	}
	switch {
	case !validRequestID(p.ID):
		return nil, bad("id %q", p.ID)
	case p.Iss != iss:
		return nil, bad("issued by %q, not %q", p.Iss, iss)
	case now.Unix() > p.Exp:
		return nil, wrapf(ErrRequestExpired, "the request expired at %s", time.Unix(p.Exp, 0).UTC().Format(time.RFC3339))
	case p.RP.ID == "" || p.Matter.Code == "":
		return nil, bad("no relying party or matter")
	case p.Use != UseOnce && p.Use != UseRepeat:
		return nil, bad("use %q", p.Use)
	case p.Duration < 60 || p.Duration > 365*24*3600:
		return nil, bad("duration %d s", p.Duration)
	case len(p.Fields) == 0:
		return nil, bad("no fields")
	}
	cl, ok := catalog.Default().Lookup(p.Class)
	if !ok {
		return nil, bad("unknown class %q", p.Class)
	}
	seen := map[string]bool{}
	for _, f := range p.Fields {
		if f == nil {
			return nil, bad("null field")
		}
		if _, ok := cl.Field(f.Key); !ok || seen[f.Key] {
			return nil, bad("field %q is not a field of %s, or named twice", f.Key, p.Class)
		}
		seen[f.Key] = true
	}
	return &requestView{ID: p.ID, RPID: p.RP.ID, RPName: p.RP.Name, OrgCode: p.RP.OrgCode, OrgName: p.RP.OrgName,
		MatterCode: p.Matter.Code, MatterName: p.Matter.Name, Class: p.Class, Fields: p.Fields,
		Duration: p.Duration, Use: p.Use, IssuedAt: p.Iat, ExpiresAt: p.Exp}, nil
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
	switch ev.(type) {
	case *ledgerevent.Claim:
		u.subjectIsCopy = true
	}
	return u, nil
}

// open checks the opening of the entry's licence commitment.
func (u *useEvent) open(salt, value []byte) error {
	if len(salt) != ledgerevent.SaltSize {
		return fmt.Errorf("opening: salt of %d bytes", len(salt))
	}
	o := ledgerevent.Opening{Field: "licence", Value: value}
	copy(o.Salt[:], salt)
	if err := ledgerevent.VerifyOpening(u.ev, o); err != nil {
		return fmt.Errorf("the opening does not match the entry's commitment")
	}
	return nil
}
