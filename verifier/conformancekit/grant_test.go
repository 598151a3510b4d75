package conformancekit

import (
	"encoding/hex"
	"errors"
	"testing"

	"elicense/certs/consent"
	"elicense/certs/credential"
	"elicense/certs/statuslist"
	"elicense/internal/gm"
)

var consentErrs = map[string]error{
	"consent.ErrMalformed": consent.ErrMalformed, "consent.ErrSignature": consent.ErrSignature,
	"consent.ErrExpired": consent.ErrExpired, "consent.ErrMismatch": consent.ErrMismatch,
	"consent.ErrWidened": consent.ErrWidened, "consent.ErrRefused": consent.ErrRefused,
	"consent.ErrField": consent.ErrField, "consent.ErrUnknownKey": consent.ErrUnknownKey,
	"consent.ErrKey": consent.ErrKey, "consent.ErrStatus": consent.ErrStatus,
}

type grantInput struct {
	Op      string `json:"op"`
	SDJWT   string `json:"sdjwt"`
	Consent string `json:"consent"`
	Request string `json:"request"`
	RP      string `json:"rp"`
	Grant   string `json:"grant"`
	Proof   string `json:"proof"`
	Key     string `json:"key"`
	Method  string `json:"method"`
	Path    string `json:"path"`
	Body    []byte `json:"body"`
}

func runGrant(t *testing.T, e *env, v vector) string {
	var in grantInput
	mustInput(t, v, &in)
	switch in.Op {
	case "grant":
		b := e.state.Bundle
		_, err := consent.VerifyGrantCredential(in.SDJWT, in.Consent, in.Request, consent.VerifyOptions{
			Bundle: b, RP: in.RP, Grant: in.Grant, Now: v.Now,
			Status: func(ref credential.StatusRef) (statuslist.Status, error) {
				sl, ok := b.StatusListByURI(ref.URI)
				if !ok {
					return 0, errors.New("no such list")
				}
				list, ok := e.state.Lists[sl.ID]
				if !ok {
					return 0, errors.New("list not held")
				}
				return list.Status(int(ref.Index))
			},
		})
		if err != nil {
			return reject(err, consentErrs)
		}
		return "VALID"
	case "proof":
		p, err := consent.ParseProof(in.Proof)
		if err != nil {
			return reject(err, consentErrs)
		}
		raw, err := hex.DecodeString(in.Key)
		if err != nil {
			t.Fatalf("%s: key: %v", v.ID, err)
		}
		pub, err := gm.ParsePublicKey(raw)
		if err != nil {
			t.Fatalf("%s: key: %v", v.ID, err)
		}
		if err := p.Verify(pub, in.Method, in.Path, in.Body, v.Now); err != nil {
			return reject(err, consentErrs)
		}
		return "VALID"
	}
	t.Fatalf("%s: unknown op %q", v.ID, in.Op)
	return ""
}
