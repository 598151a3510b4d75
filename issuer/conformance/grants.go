package conformance

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"elicense/certs/consent"
	"elicense/internal/gm"
)

// grantInput is the input of a grant vector (files.go documents it).
type grantInput struct {
	Op string `json:"op"` // grant or proof
	// grant: what a relying party holds when it checks a grant credential.
	SDJWT   string `json:"sdjwt,omitempty"`
	Consent string `json:"consent,omitempty"`
	Request string `json:"request,omitempty"`
	RP      string `json:"rp,omitempty"`
	Grant   string `json:"grant,omitempty"`
	// proof: an ELProof, the key it must verify with (compressed point,
	// hex) and the call it must match.
	Proof  string `json:"proof,omitempty"`
	Key    string `json:"key,omitempty"`
	Method string `json:"method,omitempty"`
	Path   string `json:"path,omitempty"`
	Body   []byte `json:"body,omitempty"`
}

func init() { ctxSteps = append(ctxSteps, (*kit).grantVectors) }

const (
	kitRP      = "bank-of-example"
	kitGrant   = "g_AAAAAAAAAAAAAAAAAAAAAA"
	kitRequest = "r_AAAAAAAAAAAAAAAAAAAAAA"
)

// fixDisclosures replaces the random salts of a grant credential's
// disclosures by fixed ones, rewrites _sd and signs the JWT again, so the
// kit's bytes do not change between runs.
func fixDisclosures(jwt string, fields map[string]string, key *agency) (string, map[string]string, error) {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	disc := map[string]string{}
	var sd []string
	for i, k := range keys {
		salt := gm.SM3(fmt.Appendf(nil, "elicense/conformance/grant-salt/%d", i))
		raw, err := json.Marshal([]string{b64.EncodeToString(salt[:16]), k, fields[k]})
		if err != nil {
			return "", nil, err
		}
		enc := b64.EncodeToString(raw)
		disc[k] = enc
		d := gm.SM3([]byte(enc))
		sd = append(sd, b64.EncodeToString(d[:]))
	}
	sort.Strings(sd)
	sdJSON, _ := json.Marshal(sd)
	out, err := resignJWS(jwt, key.signer(), func(h, p string) (string, string) {
		i := strings.Index(p, `"_sd":[`) + len(`"_sd":`)
		j := i + strings.Index(p[i:], "]") + 1
		return h, p[:i] + string(sdJSON) + p[j:]
	})
	return out, disc, err
}

// grantParts are the documents of one consented grant.
type grantParts struct {
	request, consent, jwt string
	disc                  map[string]string
}

func (g *grantParts) present(keys ...string) string { return consent.Present(g.jwt, g.disc, keys) }

func (k *kit) makeGrant(l *licence, signer *agency, fields map[string]string, approve []string) (*grantParts, error) {
	w := k.w
	req, err := consent.SignRequest(detSigner{w.LedgerKey}, w.ledgerKID(), consent.RequestClaims{
		ID: kitRequest, Issuer: "https://elicense.example.gov.cn", IssuedAt: w.Now.Add(-10 * time.Minute),
		RP:     consent.RP{ID: kitRP, Name: "示例银行", OrgCode: "91310000MA1FL0000X", OrgName: "示例银行股份有限公司"},
		Matter: consent.Matter{Code: "account-opening", Name: "开立账户"}, Class: "drivers-license",
		Fields:   []consent.RequestedField{{Key: "name", Name: "姓名", Purpose: "实名核验"}, {Key: "vehicle_class", Name: "准驾车型", Purpose: "核验准驾车型"}},
		Duration: 24 * time.Hour, Use: consent.UseOnce,
	})
	if err != nil {
		return nil, err
	}
	g := &grantParts{request: req}
	if g.consent, err = consent.SignConsent(detSigner{l.Device}, consent.ConsentClaims{
		Request: kitRequest, RequestSM3: consent.RequestSM3(req), Licence: l.Licence.ID + "#0123456789abcdef",
		Decision: consent.Approve, Fields: approve, IssuedAt: w.Now.Add(-9 * time.Minute),
	}); err != nil {
		return nil, err
	}
	base, err := consent.BaseFromLicence(l.Licence, kitRP, kitGrant, w.Now.Add(-8*time.Minute))
	if err != nil {
		return nil, err
	}
	jwt, _, err := consent.IssueGrantCredential(signer.signer(), signer.KID, base, fields)
	if err != nil {
		return nil, err
	}
	if g.jwt, g.disc, err = fixDisclosures(jwt, fields, signer); err != nil {
		return nil, err
	}
	return g, nil
}

func (k *kit) grantVectors(*Context) error {
	w := k.w
	const f = "grants.json"
	add := func(in grantInput, want, desc string, rules ...string) {
		if in.Op == "" {
			in.Op = "grant"
		}
		if in.RP == "" {
			in.RP = kitRP
		}
		if in.Grant == "" {
			in.Grant = kitGrant
		}
		k.add(f, Vector{Rules: rules, Description: desc, Input: in, Expected: want})
	}
	l, err := w.issueLicence(w.Police, "drivers-license", "gab-1", 40, true, nil)
	if err != nil {
		return err
	}
	s := samples()["drivers-license"]
	fields := map[string]string{"name": s["name"], "vehicle_class": s["vehicle_class"], "address": s["address"]}
	g, err := k.makeGrant(l, w.Police, fields, []string{"name", "vehicle_class"})
	if err != nil {
		return err
	}
	ok := g.present("name", "vehicle_class")
	add(grantInput{SDJWT: ok, Consent: g.consent, Request: g.request}, "VALID", "a grant credential disclosing the two consented fields, with the consent and the signed request",
		"GRANT-03", "GRANT-04", "GRANT-05", "GRANT-06", "GRANT-08", "GRANT-09", "GRANT-10", "GRANT-11", "GRANT-12", "GRANT-13", "GRANT-14", "GRANT-15", "GRANT-16", "GRANT-17", "CAT-21")
	add(grantInput{SDJWT: g.present("name", "vehicle_class", "address"), Consent: g.consent, Request: g.request}, "reject:consent.ErrWidened",
		"the address disclosed too (not consented)", "GRANT-16", "GRANT-07")
	add(grantInput{SDJWT: ok, Consent: g.consent, Request: g.request, RP: "another-party"}, "reject:consent.ErrMismatch", "checked by another relying party (aud)", "GRANT-14")
	add(grantInput{SDJWT: ok, Consent: g.consent, Request: g.request, Grant: "g_BBBBBBBBBBBBBBBBBBBBBB"}, "reject:consent.ErrMismatch", "fetched under another grant id", "GRANT-14")
	add(grantInput{SDJWT: strings.TrimSuffix(ok, "~"), Consent: g.consent, Request: g.request}, "reject:consent.ErrMalformed", "does not end with ~", "GRANT-08")
	dup := ok + strings.Split(ok, "~")[1] + "~"
	add(grantInput{SDJWT: dup, Consent: g.consent, Request: g.request}, "reject:consent.ErrMalformed", "a disclosure repeated", "GRANT-10")
	forged := strings.Split(ok, "~")
	raw, _ := json.Marshal([]string{b64.EncodeToString(make([]byte, 16)), "name", "张三"})
	forged[1] = b64.EncodeToString(raw)
	add(grantInput{SDJWT: strings.Join(forged, "~"), Consent: g.consent, Request: g.request}, "reject:consent.ErrMismatch", "a disclosure whose digest is not in _sd", "GRANT-10")
	bad, err := resignJWS(g.jwt, nil, func(h, p string) (string, string) { return h, replaceOnce(p, `"aud":"`+kitRP, `"aud":"`+kitRP+`x`) })
	if err != nil {
		return err
	}
	add(grantInput{SDJWT: consent.Present(bad, g.disc, []string{"name", "vehicle_class"}), Consent: g.consent, Request: g.request, RP: kitRP + "x"},
		"reject:consent.ErrSignature", "issuer JWT changed after signing", "GRANT-12", "GRANT-11")
	sdAlg, err := resignJWS(g.jwt, w.Police.signer(), func(h, p string) (string, string) { return h, replaceOnce(p, `"_sd_alg":"sm3"`, `"_sd_alg":"sha-256"`) })
	if err != nil {
		return err
	}
	add(grantInput{SDJWT: consent.Present(sdAlg, g.disc, []string{"name", "vehicle_class"}), Consent: g.consent, Request: g.request},
		"reject:consent.ErrMalformed", "_sd_alg sha-256", "GRANT-09")
	ctyp, err := resignJWS(g.consent, detSigner{l.Device}, func(h, p string) (string, string) {
		return replaceOnce(h, `"elicense-consent+jwt"`, `"JWT"`), p
	})
	if err != nil {
		return err
	}
	add(grantInput{SDJWT: ok, Consent: ctyp, Request: g.request}, "reject:consent.ErrMalformed", "the consent's typ JWT", "GRANT-06")
	other, err := k.makeGrant(l, w.Police, fields, []string{"name", "vehicle_class"})
	if err != nil {
		return err
	}
	otherReq, err := resignJWS(other.request, detSigner{w.LedgerKey}, func(h, p string) (string, string) { return h, replaceOnce(p, "开立账户", "贷款审批") })
	if err != nil {
		return err
	}
	add(grantInput{SDJWT: ok, Consent: g.consent, Request: otherReq}, "reject:consent.ErrMismatch", "the consent's request_sm3 is of another request", "GRANT-05")
	byAgency, err := resignJWS(g.request, w.Police.signer(), func(h, p string) (string, string) { return h, p })
	if err != nil {
		return err
	}
	c2, err := consent.SignConsent(detSigner{l.Device}, consent.ConsentClaims{
		Request: kitRequest, RequestSM3: consent.RequestSM3(byAgency), Licence: l.Licence.ID + "#0123456789abcdef",
		Decision: consent.Approve, Fields: []string{"name", "vehicle_class"}, IssuedAt: w.Now.Add(-9 * time.Minute),
	})
	if err != nil {
		return err
	}
	rtyp, err := resignJWS(g.request, detSigner{w.LedgerKey}, func(h, p string) (string, string) {
		return replaceOnce(h, `"elicense-request+jwt"`, `"JWT"`), p
	})
	if err != nil {
		return err
	}
	c3, err := consent.SignConsent(detSigner{l.Device}, consent.ConsentClaims{
		Request: kitRequest, RequestSM3: consent.RequestSM3(rtyp), Licence: l.Licence.ID + "#0123456789abcdef",
		Decision: consent.Approve, Fields: []string{"name", "vehicle_class"}, IssuedAt: w.Now.Add(-9 * time.Minute),
	})
	if err != nil {
		return err
	}
	add(grantInput{SDJWT: ok, Consent: c3, Request: rtyp}, "reject:consent.ErrMalformed", "the request's typ JWT (the consent is over it)", "GRANT-03")
	add(grantInput{SDJWT: ok, Consent: c2, Request: byAgency}, "reject:consent.ErrSignature", "the request signed by an agency key, not the ledger key (the consent is over it)", "GRANT-03", "GRANT-04")
	devSig, err := resignJWS(g.consent, detSigner{seedKey("other-device")}, func(h, p string) (string, string) { return h, p })
	if err != nil {
		return err
	}
	add(grantInput{SDJWT: ok, Consent: devSig, Request: g.request}, "reject:consent.ErrSignature", "the consent signed by another device key", "GRANT-06", "GRANT-16")
	civil, err := k.makeGrant(l, w.Civil, fields, []string{"name", "vehicle_class"})
	if err != nil {
		return err
	}
	add(grantInput{SDJWT: civil.present("name", "vehicle_class"), Consent: civil.consent, Request: civil.request}, "reject:consent.ErrKey",
		"a driving-licence grant signed by the civil affairs key", "GRANT-13")
	badField := map[string]string{"name": s["name"], "vehicle_class": "X9"}
	bf, err := k.makeGrant(l, w.Police, badField, []string{"name", "vehicle_class"})
	if err != nil {
		return err
	}
	add(grantInput{SDJWT: bf.present("name", "vehicle_class"), Consent: bf.consent, Request: bf.request}, "reject:consent.ErrField",
		"a disclosed vehicle_class failing its pattern", "GRANT-15", "CAT-21")
	// Entry 9 of gab-1 is revoked in the context's list.
	rl, err := w.issueLicence(w.Police, "drivers-license", "gab-1", 9, true, nil)
	if err != nil {
		return err
	}
	rg, err := k.makeGrant(rl, w.Police, fields, []string{"name", "vehicle_class"})
	if err != nil {
		return err
	}
	add(grantInput{SDJWT: rg.present("name", "vehicle_class"), Consent: rg.consent, Request: rg.request}, "reject:consent.ErrStatus",
		"the copy's status entry is revoked", "GRANT-17")
	if err := k.consentVectors(l, rl, g, ok); err != nil {
		return err
	}
	return k.proofVectors2(l)
}

// consentVectors break one check of GRANT-13 or GRANT-16 each: the
// grant's validity window, a refusal, another licence, a consented field
// not disclosed.
func (k *kit) consentVectors(l, other *licence, g *grantParts, ok string) error {
	w := k.w
	const f = "grants.json"
	add := func(in grantInput, now time.Time, want, desc string, rules ...string) {
		in.Op, in.RP, in.Grant = "grant", kitRP, kitGrant
		k.add(f, Vector{Rules: rules, Description: desc, Now: now, Input: in, Expected: want})
	}
	gc, err := consent.ParseGrantCredential(ok)
	if err != nil {
		return err
	}
	if gc.Expires.IsZero() {
		return fmt.Errorf("conformance: the grant's licence has no exp")
	}
	in := grantInput{SDJWT: ok, Consent: g.consent, Request: g.request}
	add(in, gc.Expires.Add(-time.Second), "VALID", "checked one second before the credential's exp", "GRANT-13")
	add(in, gc.Expires, "reject:consent.ErrExpired", "checked at the credential's exp (now ≥ exp)", "GRANT-13")
	sign := func(c consent.ConsentClaims) (string, error) {
		c.Request, c.RequestSM3, c.IssuedAt = kitRequest, consent.RequestSM3(g.request), w.Now.Add(-9*time.Minute)
		return consent.SignConsent(detSigner{l.Device}, c)
	}
	refuse, err := sign(consent.ConsentClaims{Licence: l.Licence.ID + "#0123456789abcdef", Decision: consent.Refuse})
	if err != nil {
		return err
	}
	add(grantInput{SDJWT: ok, Consent: refuse, Request: g.request}, w.Now, "reject:consent.ErrRefused", "the holder's consent refuses", "GRANT-16")
	another, err := sign(consent.ConsentClaims{Licence: other.Licence.ID + "#0123456789abcdef", Decision: consent.Approve, Fields: []string{"name", "vehicle_class"}})
	if err != nil {
		return err
	}
	add(grantInput{SDJWT: ok, Consent: another, Request: g.request}, w.Now, "reject:consent.ErrMismatch", "the consent names another licence's copy", "GRANT-16")
	add(grantInput{SDJWT: g.present("name"), Consent: g.consent, Request: g.request}, w.Now, "reject:consent.ErrMismatch",
		"vehicle_class consented but not disclosed", "GRANT-16")
	return nil
}

func (k *kit) proofVectors2(l *licence) error {
	w := k.w
	const f = "grants.json"
	body := []byte(`{"consent":"…"}`)
	sub := l.Licence.ID + "#0123456789abcdef"
	p, err := consent.SignProof(detSigner{l.Device}, consent.ProofClaims{Subject: sub, Method: "POST", Path: "/v1/grants",
		IssuedAt: w.Now.Add(-10 * time.Second), JTI: "AAAAAAAAAAAAAAAAAAAAAA", Body: body})
	if err != nil {
		return err
	}
	pub, err := gm.MarshalPublicKeyCompressed(l.Device.PublicKey())
	if err != nil {
		return err
	}
	key := fmt.Sprintf("%x", pub)
	add := func(in grantInput, now time.Time, want, desc string, rules ...string) {
		in.Op = "proof"
		k.add(f, Vector{Rules: rules, Description: desc, Now: now, Input: in, Expected: want})
	}
	in := grantInput{Proof: p, Key: key, Method: "POST", Path: "/v1/grants", Body: body}
	add(in, w.Now, "VALID", "an ELProof by the copy's device key for POST /v1/grants with its body", "GRANT-01", "GRANT-02")
	add(in, w.Now.Add(51*time.Second), "reject:consent.ErrExpired", "checked 61 s after iat", "GRANT-02")
	add(in, w.Now.Add(50*time.Second), "VALID", "checked 60 s after iat", "GRANT-02")
	add(in, w.Now.Add(-71*time.Second), "reject:consent.ErrExpired", "checked 61 s before iat (a proof from the future)", "GRANT-02")
	add(in, w.Now.Add(-70*time.Second), "VALID", "checked 60 s before iat", "GRANT-02")
	other := in
	other.Path = "/v1/requests"
	add(other, w.Now, "reject:consent.ErrMismatch", "another path (htu)", "GRANT-02")
	nobody := in
	nobody.Body = []byte(`{"consent":"x"}`)
	add(nobody, w.Now, "reject:consent.ErrMismatch", "another body (bh)", "GRANT-02")
	mal := in
	mal.Proof = strings.Replace(p, ".", "..", 1)
	add(mal, w.Now, "reject:consent.ErrMalformed", "not a compact JWS", "GRANT-01")
	return nil
}
