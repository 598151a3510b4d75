package conformance

import (
	"strings"

	"elicense/certs/ident"
)

// valueInput is the input of an identifier or field vector: check is
// uscc, resident-id, org-code or license-id (identifiers.md), or field
// (the validator of field of class, catalogue.md).
type valueInput struct {
	Check string `json:"check"`
	Value string `json:"value"`
	Class string `json:"class,omitempty"`
	Field string `json:"field,omitempty"`
}

func (k *kit) fieldVectors() error {
	const fi = "identifiers.json"
	id := func(check, value, want, desc string, rules ...string) {
		k.add(fi, Vector{Rules: rules, Description: desc, Input: valueInput{Check: check, Value: value}, Expected: want})
	}
	good := ident.LicenseID{TypeCode: "11310000PDY00001XQ001", IssuerCode: codeMarket, Serial: "T000001", Version: 1}.String()
	id("license-id", good, "VALID", "an elicense identifier: type code, issuer USCC, serial, version 001, check character", "ID-01", "ID-02", "ID-03", "ID-04", "ID-05", "ID-06")
	id("license-id", good[:len(good)-1]+flipCheck(good[len(good)-1]), "MALFORMED", "the same identifier with another check character", "ID-06")
	id("license-id", strings.Replace(good, ".001.", ".1.", 1), "MALFORMED", "version written 1, not 001", "ID-05")
	id("license-id", "1.2.156.3005.3"+good[len("1.2.156.3005.2"):], "MALFORMED", "another OID root", "ID-01")
	id("license-id", " "+good, "MALFORMED", "a space before the identifier", "ID-01")
	id("license-id", strings.Replace(good, "11310000PDY00001XQ001", "11310000PDY00001XQ00A", 1), "MALFORMED", "type code not USCC + three digits", "ID-02")
	id("license-id", strings.Replace(good, codeMarket, codeMarket[:17]+"X", 1), "MALFORMED", "issuer code with a wrong USCC check character", "ID-03")
	id("license-id", strings.Replace(good, ".T000001.", ".T00-0001.", 1), "MALFORMED", "serial with a hyphen", "ID-04")
	id("uscc", codeMarket, "VALID", "a valid 统一社会信用代码", "ID-10", "ID-11", "ID-12", "ID-13")
	id("uscc", strings.ToLower(codeMarket), "MALFORMED", "lower case", "ID-10")
	id("uscc", "1131000OPDY100010H", "MALFORMED", "letter O in position 8", "ID-10")
	id("uscc", "0"+codeMarket[1:], "MALFORMED", "registration authority 0 is not assigned", "ID-11")
	id("uscc", codeMarket[:17]+"0", "MALFORMED", "wrong check character", "ID-12")
	id("uscc", uscc("11310000PDY10001A"), "MALFORMED", "positions 8–16 fail the GB 11714 check (USCC check recomputed)", "ID-13")
	id("resident-id", "11010519491231002X", "VALID", "GB 11643 Appendix A example", "ID-14", "ID-15", "ID-16", "ID-17")
	id("resident-id", "11010519491231002x", "MALFORMED", "lower-case x", "ID-14")
	id("resident-id", "990105194912310021", "MALFORMED", "99 is not a province-level code", "ID-15")
	id("resident-id", residentID("11010520301231001"), "MALFORMED", "born 2030-12-31: after today", "ID-16")
	id("resident-id", residentID("11010517991231001"), "MALFORMED", "born 1799-12-31: before 1800-01-01", "ID-16")
	id("resident-id", "110105194912310021", "MALFORMED", "wrong check character", "ID-17")
	id("org-code", "71526726-X", "VALID", "organisation code with hyphen", "ID-18", "ID-19")
	id("org-code", "71526726X", "VALID", "organisation code without hyphen", "ID-18")
	id("org-code", "71526726_X", "MALFORMED", "another separator", "ID-18")
	id("org-code", "71526726-1", "MALFORMED", "wrong check character", "ID-19")
	v0 := ident.LicenseID{TypeCode: "11310000PDY00001XQ001", IssuerCode: codeMarket, Serial: "T000001", Version: 0}.String()
	if !strings.Contains(v0, ".000.") {
		panic("conformance: version 0 not written 000: " + v0) // the generator's own data
	}
	id("license-id", v0, "MALFORMED", "version 000 (its check character computed): versions start at 001", "ID-05")

	const ff = "fields.json"
	fv := func(class, field, value, want, desc string, rules ...string) {
		k.add(ff, Vector{Rules: rules, Description: desc, Input: valueInput{Check: "field", Class: class, Field: field, Value: value}, Expected: want})
	}
	fv("business-license", "name", "上海浦江示例网络科技有限公司", "VALID", "a company name", "CAT-14", "CAT-15")
	fv("business-license", "name", "", "MALFORMED", "a required field empty", "CAT-11")
	fv("business-license", "registered_capital", "", "VALID", "an optional field empty (absent)", "CAT-11")
	fv("business-license", "name", "上海浦江示例网络科技有限公司 ", "MALFORMED", "trailing white space", "CAT-12")
	fv("business-license", "established", "2019-02-30", "MALFORMED", "a date that does not exist", "CAT-15", "CAT-14")
	fv("business-license", "established", "1799-12-31", "MALFORMED", "an event date before 1800-01-01", "CAT-16")
	fv("business-license", "approval_date", "1949-09-30", "MALFORMED", "an act date before 1949-10-01", "CAT-16")
	fv("business-license", "approval_date", "2100-01-01", "VALID", "an act date after the issue day: a verifier does not refuse it", "CAT-17", "CAT-16")
	fv("business-license", "term", "2019-04-18至长期", "VALID", "a term ending 长期", "CAT-15", "CAT-09")
	fv("business-license", "term", "2019-04-18至2019-04-17", "MALFORMED", "a term ending before it starts", "CAT-15")
	fv("business-license", "registered_capital", "500万", "MALFORMED", "money with neither a currency nor 元", "CAT-15")
	fv("drivers-license", "vehicle_class", "C1", "VALID", "a pattern field", "CAT-18")
	fv("drivers-license", "vehicle_class", "C1 ", "MALFORMED", "pattern must match the whole value", "CAT-18", "CAT-12")
	fv("drivers-license", "vehicle_class", "X9", "MALFORMED", "pattern not matched", "CAT-18", "CAT-14")
	fv("drivers-license", "sex", "男", "VALID", "an enum value", "CAT-15")
	fv("drivers-license", "sex", "M", "MALFORMED", "a value outside the enum", "CAT-15")
	fv("drivers-license", "license_no", "310110197811230516", "VALID", "a resident_id field", "CAT-15", "CAT-08")
	fv("drivers-license", "license_no", "310110197811230517", "MALFORMED", "a resident_id field with a wrong check", "CAT-15", "CAT-08")
	fv("marriage-certificate", "cert_no", "J310101-2020-000123", "VALID", "结婚证字号 pattern", "CAT-18")
	fv("drivers-license", "name", strings.Repeat("王", 30), "VALID", "a text of max_len (30) code points", "CAT-12")
	fv("drivers-license", "name", strings.Repeat("王", 31), "MALFORMED", "a text one code point over max_len (30)", "CAT-12")
	fv("business-license", "legal_rep", "张\u0007伟", "MALFORMED", "a text with a control character (U+0007)", "CAT-15")
	fv("business-license", "legal_rep", "张\u2028伟", "MALFORMED", "a text with U+2028 LINE SEPARATOR", "CAT-15")
	fv("business-license", "business_scope", "软件开发；\n技术服务", "VALID", "a longtext with a line feed", "CAT-15")
	fv("business-license", "business_scope", "软件开发；\r\n技术服务", "MALFORMED", "a longtext with a carriage return", "CAT-15")
	return nil
}

// residentID completes 17 digits into a 公民身份号码.
func residentID(first17 string) string {
	c, err := ident.ResidentIDCheckChar(first17)
	if err != nil {
		panic(err) // constant input
	}
	return first17 + string(c)
}

func flipCheck(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}
