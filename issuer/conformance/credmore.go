package conformance

import (
	"strings"
	"time"

	"elicense/certs/ident"
)

// credentialClass are credentials that each break one check of CRED-16
// or CAT-09 (signed, so that only that check fails), the 29 February
// terms of CAT-09, and a credential's stale status (CRED-20, STATUS-19).
func (k *kit) credentialClass(bl *licence) error {
	w := k.w
	const f = "credential.json"
	add := func(jws, want, desc string, rules ...string) {
		k.add(f, Vector{Rules: rules, Description: desc, Input: credInput{JWS: jws}, Expected: want})
	}
	edited := func(l *licence, signer *agency, fn func(p string) string) (string, error) {
		return resignJWS(l.JWS, signer.signer(), func(h, p string) (string, string) { return h, fn(p) })
	}
	id, err := ident.ParseLicenseID(bl.Licence.ID)
	if err != nil {
		return err
	}
	id.IssuerCode = codePolice
	for _, c := range []struct {
		desc string
		edit func(string) string
	}{
		{"lic.holder_code_type resident-id for an organisation's 统一社会信用代码", func(p string) string {
			return replaceOnce(p, `"holder_code_type":"uscc"`, `"holder_code_type":"resident-id"`)
		}},
		{"jti a valid identifier of the class whose issuer code is another agency's, not iss", func(p string) string {
			return replaceOnce(p, `"jti":"`+bl.Licence.ID+`"`, `"jti":"`+id.String()+`"`)
		}},
		{"lic.type_code another class's type code", func(p string) string {
			return replaceOnce(p, `"type_code":"11310000PDY00001XQ001"`, `"type_code":"11310000PDY00001XQ002"`)
		}},
		{"lic.name another class's name", func(p string) string {
			return replaceOnce(p, `"name":"营业执照"`, `"name":"食品经营许可证"`)
		}},
	} {
		jws, err := edited(bl, w.Market, c.edit)
		if err != nil {
			return err
		}
		add(jws, "MALFORMED", c.desc, "CRED-16")
	}
	// Fixed terms (drivers-license: 6 or 10 years) from 29 February:
	// S + n years is 1 March, so the term may end on 28 February or
	// 1 March and on no other day.
	const day = 24 * 60 * 60
	idx := uint64(70)
	// Serials of their own, so that the licences made after these keep
	// theirs (and their vectors their bytes).
	saved := w.licSerial
	w.licSerial = 9000
	defer func() { w.licSerial = saved }()
	for _, c := range []struct {
		end, printed string
		shift        int64
		want, desc   string
	}{
		{"2034-03-01", "", 0, "VALID", "a 10-year term from 2024-02-29 to 2034-03-01 (S + 10 years, normalised)"},
		{"2034-02-28", "", 0, "VALID", "a 10-year term from 2024-02-29 to 2034-02-28 (the day before)"},
		{"2034-03-01", "2034-03-02", day, "MALFORMED", "a term from 2024-02-29 to 2034-03-02: a day too long"},
		{"2034-02-28", "2034-02-27", -day, "MALFORMED", "a term from 2024-02-29 to 2034-02-27: a day too short"},
		{"2030-07-15", "2029-07-15", -365 * day, "MALFORMED", "a 9-year term 2020-07-15 to 2029-07-15 (the class allows 6 or 10)"},
	} {
		start := "2024-02-29"
		if strings.HasPrefix(c.end, "2030") {
			start = "2020-07-15"
		}
		l, err := w.issueLicence(w.Police, "drivers-license", "gab-1", idx, false, func(f map[string]string) { f["valid_term"] = start + "至" + c.end })
		if err != nil {
			return err
		}
		idx++
		jws := l.JWS
		if c.printed != "" {
			if jws, err = edited(l, w.Police, func(p string) string {
				p = strings.ReplaceAll(p, c.end, c.printed)
				return shiftNumber(p, `"exp":`, c.shift)
			}); err != nil {
				return err
			}
		}
		add(jws, c.want, c.desc, "CAT-09", "CRED-16")
	}
	// Stale status: amr-1 was signed an hour before the kit's now; a
	// business licence allows 24 h and fails closed.
	add(bl.JWS, "STATUS_STALE", "the business licence 24 h after its list was signed and an hour more: stale under fail", "CRED-20", "STATUS-19")
	k.file(f).Vectors[len(k.file(f).Vectors)-1].Now = w.Now.Add(24 * time.Hour)
	return nil
}
