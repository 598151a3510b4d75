package conformance

import (
	"crypto"
	"encoding/base64"
	"strings"
	"time"

	"elicense/internal/gm"
)

// credInput is the input of a credential vector.
type credInput struct {
	JWS string `json:"jws"`
}

var b64 = base64.RawURLEncoding

// resignJWS edits the decoded header and payload JSON texts of a compact
// JWS with edit and signs the result with key (nil: keep the old
// signature).
func resignJWS(jws string, key crypto.Signer, edit func(h, p string) (string, string)) (string, error) {
	parts := strings.Split(jws, ".")
	h, err := b64.DecodeString(parts[0])
	if err != nil {
		return "", err
	}
	p, err := b64.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	hs, ps := edit(string(h), string(p))
	in := b64.EncodeToString([]byte(hs)) + "." + b64.EncodeToString([]byte(ps))
	if key == nil {
		return in + "." + parts[2], nil
	}
	sig, err := gm.SignRS(key, []byte(in))
	if err != nil {
		return "", err
	}
	return in + "." + b64.EncodeToString(sig), nil
}

// replaceOnce replaces the first old in s by new, and panics if there is
// none (the generator's own data).
func replaceOnce(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("conformance: no " + old + " in " + s)
	}
	return strings.Replace(s, old, new, 1)
}

type credEdit struct {
	desc, want string
	rules      []string
	edit       func(h, p string) (string, string)
}

func (k *kit) credentialVectors() error {
	w := k.w
	const f = "credential.json"
	add := func(jws, want, desc string, rules ...string) string {
		return k.add(f, Vector{Rules: rules, Description: desc, Input: credInput{JWS: jws}, Expected: want})
	}
	bl, err := w.issueLicence(w.Market, "business-license", "amr-1", 30, false, nil)
	if err != nil {
		return err
	}
	add(bl.JWS, "VALID", "a business licence credential (original, no cnf), every check passes",
		"CRED-01", "CRED-02", "CRED-03", "CRED-04", "CRED-05", "CRED-06", "CRED-12", "CRED-13", "CRED-16", "CRED-17", "JWS-01", "JWS-02", "GM-08", "CAT-19", "VERIFY-01")
	dl, err := w.issueLicence(w.Police, "drivers-license", "gab-1", 30, true, nil)
	if err != nil {
		return err
	}
	add(dl.JWS, "VALID", "a device copy of a driving licence (cnf.jwk on the SM2 curve)", "CRED-07", "CRED-09", "CRED-10")
	rev, err := w.issueLicence(w.Market, "business-license", "amr-1", 2, false, nil)
	if err != nil {
		return err
	}
	add(rev.JWS, "REVOKED", "status.status_list names amr-1 entry 2, which is revoked", "CRED-11", "CRED-20", "STATUS-18")
	exp, err := w.issueLicence(w.Police, "drivers-license", "gab-1", 31, false, func(f map[string]string) { f["valid_term"] = "2012-07-15至2018-07-15" })
	if err != nil {
		return err
	}
	add(exp.JWS, "EXPIRED", "valid until 2018-07-15", "CRED-18", "GM-09")
	nyv, err := w.issueLicence(w.Police, "drivers-license", "gab-1", 32, false, func(f map[string]string) { f["valid_term"] = "2030-07-15至2036-07-15" })
	if err != nil {
		return err
	}
	add(nyv.JWS, "NOT_YET_VALID", "valid from 2030-07-15", "CRED-18")
	comp, err := w.issueLicence(w.Compromised, "business-license", "amr-1", 33, false, nil)
	if err != nil {
		return err
	}
	add(comp.JWS, "KEY_COMPROMISED", "signed (iat) after the key's compromise", "TRUST-15")
	ret, err := w.issueLicence(w.Retired, "business-license", "amr-1", 34, false, nil)
	if err != nil {
		return err
	}
	add(ret.JWS, "KEY_RETIRED", "signed (iat) after the key's retirement", "TRUST-15")
	early, err := w.issueAt(w.Market, "business-license", "amr-1", 35, false, w.Now.Add(-48*time.Hour), nil)
	if err != nil {
		return err
	}
	add(early.JWS, "EXPIRED", "iat before the key certificate's NotBefore", "TRUST-15", "CERT-11")
	out, err := w.issueLicence(w.Outsider, "business-license", "amr-1", 36, false, nil)
	if err != nil {
		return err
	}
	add(out.JWS, "UNKNOWN_ISSUER", "kid of a key the bundle does not list", "CRED-13", "GM-05")
	pol, err := w.issueLicence(w.Police, "business-license", "gab-1", 37, false, nil)
	if err != nil {
		return err
	}
	add(pol.JWS, "CLASS_NOT_ALLOWED_FOR_ISSUER", "a business licence signed by the police's key", "CRED-15", "CERT-12")
	// Holder copies (CRED-09 … CRED-11): the original, revoked, and a
	// device copy of it with the same jti at its own position.
	orig, err := w.issueLicence(w.Police, "drivers-license", "gab-1", 9, false, nil)
	if err != nil {
		return err
	}
	cp, err := w.copyOf(orig, w.Police, "gab-1", 60, "copy-device-1")
	if err != nil {
		return err
	}
	add(orig.JWS, "REVOKED", "an original whose status entry (gab-1 9) is revoked", "CRED-11", "STATUS-18")
	add(cp.JWS, "VALID", "a device copy of that original: same jti, own cnf and status position (gab-1 60), which is valid", "CRED-09", "CRED-10", "CRED-11")
	k.copyQR = [2]*licence{orig, cp}
	if err := k.credentialEdits(bl, dl); err != nil {
		return err
	}
	if err := k.credentialClass(bl); err != nil {
		return err
	}
	return k.credentialDeviations(bl)
}

func (k *kit) credentialEdits(bl, dl *licence) error {
	w := k.w
	const f = "credential.json"
	key := w.Market.signer()
	both := func(fn func(string) string) func(h, p string) (string, string) {
		return func(h, p string) (string, string) { return h, fn(p) }
	}
	hdr := func(fn func(string) string) func(h, p string) (string, string) {
		return func(h, p string) (string, string) { return fn(h), p }
	}
	edits := []credEdit{
		{"payload changed without re-signing", "BAD_SIGNATURE", []string{"CRED-13", "GM-01"}, nil},
		{"header alg ES256", "MALFORMED", []string{"JWS-02", "CRED-01"}, hdr(func(h string) string { return replaceOnce(h, `"SM2SM3"`, `"ES256"`) })},
		{"header typ JWT", "MALFORMED", []string{"JWS-02", "CRED-01"}, hdr(func(h string) string { return replaceOnce(h, `"elicense+jwt"`, `"JWT"`) })},
		{"header with crit", "MALFORMED", []string{"JWS-02"}, hdr(func(h string) string { return replaceOnce(h, `{`, `{"crit":["x"],"x":1,`) })},
		{"header with x5c", "MALFORMED", []string{"JWS-02", "CRED-01"}, hdr(func(h string) string { return replaceOnce(h, `{`, `{"x5c":["MA=="],`) })},
		{"header with alg twice", "MALFORMED", []string{"JWS-02"}, hdr(func(h string) string { return replaceOnce(h, `{`, `{"alg":"SM2SM3",`) })},
		{"iss of another agency (the police)", "CLASS_NOT_ALLOWED_FOR_ISSUER", []string{"CRED-14"}, both(func(p string) string { return replaceOnce(p, `"iss":"`+codeMarket, `"iss":"`+codePolice) })},
		{"payload with iss twice", "MALFORMED", []string{"CRED-02", "GM-08"}, both(func(p string) string { return replaceOnce(p, `{`, `{"iss":"x",`) })},
		{"lic.class an unknown class key", "MALFORMED", []string{"CRED-15", "CRED-16"}, both(func(p string) string { return replaceOnce(p, `"class":"business-license"`, `"class":"no-such-class"`) })},
		{"claims flattened: a top-level member \"lic.class\" instead of the nested lic object", "MALFORMED", []string{"GM-08"}, both(func(p string) string { return replaceOnce(p, `"lic":{`, `"lic.class":"business-license","lic2":{`) })},
		{"lic.issued_on not YYYY-MM-DD", "MALFORMED", []string{"CRED-03"}, both(func(p string) string { return replaceOnce(p, `"issued_on":"2026-03-01"`, `"issued_on":"2026-3-1"`) })},
		{"nbf one second late", "MALFORMED", []string{"CRED-04"}, nbfEdit(1)},
		{"exp absent though valid_until is a date", "MALFORMED", []string{"CRED-05"}, expRemove},
		{"iat absent", "MALFORMED", []string{"CRED-06"}, iatRemove},
		{"a lic.fields value failing its validator (uscc check character)", "MALFORMED", []string{"CRED-16", "CAT-19", "ID-12"}, both(func(p string) string {
			return replaceOnce(p, `"uscc":"91310115MA1FPA014G"`, `"uscc":"91310115MA1FPA014H"`)
		})},
		{"an unknown member in lic.fields", "MALFORMED", []string{"CAT-13", "CRED-02"}, both(func(p string) string { return replaceOnce(p, `"fields":{`, `"fields":{"colour":"red",`) })},
		{"empty payload, signed", "MALFORMED", []string{"CRED-02", "CRED-12"}, both(func(string) string { return "" })},
		{"an unknown top-level claim (ignored)", "VALID", []string{"CRED-02"}, both(func(p string) string { return replaceOnce(p, `{`, `{"x-note":"ignored",`) })},
		{"lic.holder_name differs from the name field", "MALFORMED", []string{"CRED-17", "CAT-07"}, both(func(p string) string {
			return replaceOnce(p, `"holder_name":"上海浦江示例网络科技有限公司"`, `"holder_name":"上海另一家公司"`)
		})},
		{"lic.fields.term disagreeing with lic.valid_until", "MALFORMED", []string{"CAT-09", "CRED-16"}, both(func(p string) string {
			return replaceOnce(p, `"term":"2019-04-18至2049-04-17"`, `"term":"2019-04-18至2039-04-17"`)
		})},
		{"no status claim: no status can be claimed valid", "STATUS_UNAVAILABLE", []string{"CRED-20"}, both(func(p string) string {
			i := strings.Index(p, `,"status":{`)
			j := i + strings.Index(p[i:], "}}") + 2
			return p[:i] + p[j:]
		})},
		{"the required legal_rep field absent", "MALFORMED", []string{"CAT-11", "CRED-16"}, both(func(p string) string { return replaceOnce(p, `"legal_rep":"张伟",`, ``) })},
	}
	for _, e := range edits {
		sign := key
		if e.edit == nil {
			sign = nil
			e.edit = both(func(p string) string { return replaceOnce(p, "张伟", "李四") })
		}
		jws, err := resignJWS(bl.JWS, sign, e.edit)
		if err != nil {
			return err
		}
		k.add(f, Vector{Rules: e.rules, Description: e.desc, Input: credInput{JWS: jws}, Expected: e.want})
	}
	// Structural faults of the compact form.
	parts := strings.Split(bl.JWS, ".")
	sig, _ := b64.DecodeString(parts[2])
	for _, c := range []struct {
		jws, want, desc string
		rules           []string
	}{
		{parts[0] + "." + parts[1] + "." + b64.EncodeToString(sig[:63]), "BAD_SIGNATURE", "signature of 63 bytes", []string{"JWS-03", "GM-02"}},
		{parts[0] + "." + parts[1] + "." + b64.EncodeToString(make([]byte, 64)), "BAD_SIGNATURE", "signature r = s = 0", []string{"GM-02", "JWS-03"}},
		{parts[0] + "." + parts[1] + "." + parts[2] + "=", "MALFORMED", "base64url signature part with padding", []string{"JWS-01", "GM-07"}},
		{parts[0] + "." + parts[1], "MALFORMED", "two parts", []string{"JWS-01"}},
		{parts[0] + ".." + parts[2], "BAD_SIGNATURE", "empty payload part (well-formed base64url; the signature is checked first)", []string{"JWS-01", "CRED-12"}},
	} {
		k.add(f, Vector{Rules: c.rules, Description: c.desc, Input: credInput{JWS: c.jws}, Expected: c.want})
	}
	offCurve, err := resignJWS(dl.JWS, w.Police.signer(), func(h, p string) (string, string) {
		i := strings.Index(p, `"x":"`)
		return h, p[:i+5] + b64.EncodeToString(make([]byte, 32)) + p[i+5+43:]
	})
	if err != nil {
		return err
	}
	k.add(f, Vector{Rules: []string{"CRED-07", "GM-04"}, Description: "cnf.jwk x = 0: not a point of the curve", Input: credInput{JWS: offCurve}, Expected: "MALFORMED"})
	return nil
}

// nbfEdit adds d seconds to nbf.
func nbfEdit(d int64) func(h, p string) (string, string) {
	return func(h, p string) (string, string) { return h, shiftNumber(p, `"nbf":`, d) }
}

func expRemove(h, p string) (string, string) { return h, removeNumber(p, `"exp":`) }
func iatRemove(h, p string) (string, string) { return h, removeNumber(p, `"iat":`) }

// numberAt returns the span of the JSON number after key in p.
func numberAt(p, key string) (int, int) {
	i := strings.Index(p, key)
	if i < 0 {
		panic("conformance: no " + key)
	}
	s := i + len(key)
	e := s
	for e < len(p) && strings.IndexByte("0123456789.-", p[e]) >= 0 {
		e++
	}
	return s, e
}

func shiftNumber(p, key string, d int64) string {
	s, e := numberAt(p, key)
	var n int64
	for _, c := range p[s:e] {
		n = n*10 + int64(c-'0')
	}
	return p[:s] + itoa(n+d) + p[e:]
}

func removeNumber(p, key string) string {
	i := strings.Index(p, key)
	_, e := numberAt(p, key)
	if e < len(p) && p[e] == ',' {
		return p[:i] + p[e+1:]
	}
	// last member: drop the comma before it
	return strings.TrimSuffix(p[:i], ",") + p[e:]
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func (k *kit) credentialDeviations(bl *licence) error {
	const f = "credential.json"
	for _, alt := range []struct{ value, desc string }{
		{"11310000PDY00001XQ001", "the class's type code"},
		{"营业执照", "the class's Chinese name"},
	} {
		jws, err := resignJWS(bl.JWS, k.w.Market.signer(), func(h, p string) (string, string) {
			return h, replaceOnce(p, `"class":"business-license"`, `"class":"`+alt.value+`"`)
		})
		if err != nil {
			return err
		}
		k.add(f, Vector{Rules: []string{"CRED-15"}, Description: "lic.class written as " + alt.desc + " instead of the class key",
			Input: credInput{JWS: jws}, Expected: "MALFORMED"})
	}
	return nil
}
