package agencycert

import (
	"crypto/x509/pkix"
	"fmt"
	"slices"
	"unicode/utf8"

	"elicense/certs/catalog"
	"elicense/certs/ident"
	"elicense/internal/gm"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// MaxClasses bounds the number of classes one policy may list, so that a
// hostile certificate cannot make a parser allocate without limit.
const MaxClasses = 1024

// typeCodeLen is the length of a GB/T 36904 licence type code: the
// 18-character 统一社会信用代码 of the defining agency and three digits.
const typeCodeLen = 21

// Policy is what an agency certificate permits.
type Policy struct {
	// AgencyCode is the agency's 18-character 统一社会信用代码 (颁发机构代码).
	AgencyCode string
	// AgencyName is the agency's name (颁发机构). It lives in the
	// certificate subject (O), not in the policy attribute; FromCertificate
	// fills it from there and Extension ignores it.
	AgencyName string
	// Classes are the licence classes the agency may issue. FromCertificate
	// returns them as GB/T 36904 type codes, in certificate order;
	// Extension accepts class keys, type codes or Chinese names.
	Classes []string
}

// Extension returns the non-critical Subject Directory Attributes extension
// that marks a certificate as an agency issuing certificate for p: the role
// attribute (agency) and the policy attribute. Each class is resolved
// through catalog.Default() and written as its type code. It fails with
// ErrInvalidPolicy when the agency code is not a valid 统一社会信用代码, when
// there are no classes or more than MaxClasses, or when a class is unknown
// or named twice.
func (p Policy) Extension() (pkix.Extension, error) {
	codes, err := p.typeCodes()
	if err != nil {
		return pkix.Extension{}, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addRoleAttribute(b, RoleAgency)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(policyOIDBytes) })
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				b.AddBytes(marshalPolicy(p.AgencyCode, codes))
			})
		})
	})
	v, err := b.Bytes()
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("%w: encoding: %v", ErrInvalidPolicy, err)
	}
	return pkix.Extension{Id: OIDSubjectDirectoryAttributes, Value: v}, nil
}

// MarshalPolicy returns the DER AgencyPolicy value for p (the content of
// the policy attribute), with the checks and class resolution of Extension.
func (p Policy) MarshalPolicy() ([]byte, error) {
	codes, err := p.typeCodes()
	if err != nil {
		return nil, err
	}
	return marshalPolicy(p.AgencyCode, codes), nil
}

func marshalPolicy(code string, typeCodes []string) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(code)) })
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, tc := range typeCodes {
				b.AddASN1(cbasn1.PrintableString, func(b *cryptobyte.Builder) { b.AddBytes([]byte(tc)) })
			}
		})
	})
	return b.BytesOrPanic() // nothing above can fail
}

// typeCodes checks p and resolves its classes to type codes.
func (p Policy) typeCodes() ([]string, error) {
	if err := ident.ValidateUSCC(p.AgencyCode); err != nil {
		return nil, fmt.Errorf("%w: agency code: %v", ErrInvalidPolicy, err)
	}
	switch {
	case len(p.Classes) == 0:
		return nil, fmt.Errorf("%w: agency %s: no classes", ErrInvalidPolicy, p.AgencyCode)
	case len(p.Classes) > MaxClasses:
		return nil, fmt.Errorf("%w: agency %s: %d classes, at most %d", ErrInvalidPolicy, p.AgencyCode, len(p.Classes), MaxClasses)
	}
	cat := catalog.Default()
	codes := make([]string, 0, len(p.Classes))
	for i, c := range p.Classes {
		cl, ok := cat.Lookup(c)
		if !ok {
			return nil, fmt.Errorf("%w: agency %s: classes[%d] %q is not a class key, type code or name in the catalogue",
				ErrInvalidPolicy, p.AgencyCode, i, c)
		}
		if j := slices.Index(codes, cl.TypeCode); j >= 0 {
			return nil, fmt.Errorf("%w: agency %s: classes[%d] %q and classes[%d] %q are both %s",
				ErrInvalidPolicy, p.AgencyCode, j, p.Classes[j], i, c, cl.Key)
		}
		codes = append(codes, cl.TypeCode)
	}
	return codes, nil
}

// Allows reports whether p lets the agency issue class, given as a class
// key, type code or Chinese name. Names the catalogue knows are compared as
// classes (a policy listing "business-license" allows its type code and
// vice versa); other strings must match an entry exactly.
func (p Policy) Allows(class string) bool {
	if class == "" {
		return false
	}
	cat := catalog.Default()
	want := canonical(cat, class)
	for _, c := range p.Classes {
		if canonical(cat, c) == want {
			return true
		}
	}
	return false
}

// AllowsClass reports whether p lists cl, by type code or key. It consults
// no catalogue, so it suits callers that hold a deployment's own catalogue.
func (p Policy) AllowsClass(cl *catalog.Class) bool {
	return cl != nil && (slices.Contains(p.Classes, cl.TypeCode) || slices.Contains(p.Classes, cl.Key))
}

// ClassKeys returns p.Classes as catalogue class keys, in order; an entry
// the catalogue does not know is returned unchanged.
func (p Policy) ClassKeys() []string {
	cat := catalog.Default()
	out := make([]string, len(p.Classes))
	for i, c := range p.Classes {
		out[i] = c
		if cl, ok := cat.Lookup(c); ok {
			out[i] = cl.Key
		}
	}
	return out
}

func canonical(cat *catalog.Catalog, s string) string {
	if cl, ok := cat.Lookup(s); ok {
		return cl.TypeCode
	}
	return s
}

// FromCertificate returns the agency policy of c, with AgencyName taken from
// the subject (the first O, else the CN). It fails with ErrNoPolicy when c
// carries no policy attribute and with ErrMalformedPolicy when the elicense
// attributes are not well formed. It does not check c's signature, validity
// or role; see gm.VerifyChain and RoleOf.
func FromCertificate(c *gm.Certificate) (Policy, error) {
	if c == nil {
		return Policy{}, fmt.Errorf("%w: nil certificate", ErrNoPolicy)
	}
	a, err := certAttributes(c)
	if err != nil {
		return Policy{}, err
	}
	if a.policy == nil {
		if !a.present {
			return Policy{}, fmt.Errorf("%w: certificate %q has no subject directory attributes extension", ErrNoPolicy, subjectOf(c))
		}
		return Policy{}, fmt.Errorf("%w: certificate %q has no policy attribute (%s)", ErrNoPolicy, subjectOf(c), PolicyAttributeOID)
	}
	p := *a.policy
	switch {
	case len(c.Subject.Organization) > 0:
		p.AgencyName = c.Subject.Organization[0]
	default:
		p.AgencyName = c.Subject.CommonName
	}
	return p, nil
}

func subjectOf(c *gm.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return c.Subject.String()
}

// ParsePolicy parses a DER AgencyPolicy (the value of the policy attribute)
// strictly: exact tags, no trailing data, a valid 统一社会信用代码, one to
// MaxClasses well-formed distinct type codes. AgencyName is left empty.
// Errors wrap ErrMalformedPolicy.
func ParsePolicy(der []byte) (Policy, error) {
	s := cryptobyte.String(der)
	var seq, code, classes cryptobyte.String
	if desc, ok := readASN1(&s, &seq, cbasn1.SEQUENCE); !ok {
		return Policy{}, malformed("policy: %s, want a SEQUENCE", desc)
	}
	if !s.Empty() {
		return Policy{}, malformed("policy: %d bytes of trailing data after the SEQUENCE", len(s))
	}
	if desc, ok := readASN1(&seq, &code, cbasn1.UTF8String); !ok {
		return Policy{}, malformed("policy: agency code: %s, want a UTF8String", desc)
	}
	if !utf8.Valid(code) {
		return Policy{}, malformed("policy: agency code is not valid UTF-8")
	}
	if err := ident.ValidateUSCC(string(code)); err != nil {
		return Policy{}, malformed("policy: agency code: %v", err)
	}
	if desc, ok := readASN1(&seq, &classes, cbasn1.SEQUENCE); !ok {
		return Policy{}, malformed("policy: classes: %s, want a SEQUENCE", desc)
	}
	if !seq.Empty() {
		return Policy{}, malformed("policy: %d bytes of trailing data after the classes", len(seq))
	}
	p := Policy{AgencyCode: string(code)}
	for i := 0; !classes.Empty(); i++ {
		if i == MaxClasses {
			return Policy{}, malformed("policy: more than %d classes", MaxClasses)
		}
		var tc cryptobyte.String
		if desc, ok := readASN1(&classes, &tc, cbasn1.PrintableString); !ok {
			return Policy{}, malformed("policy: classes[%d]: %s, want a PrintableString", i, desc)
		}
		if err := checkTypeCode(string(tc)); err != nil {
			return Policy{}, malformed("policy: classes[%d]: %v", i, err)
		}
		if j := slices.Index(p.Classes, string(tc)); j >= 0 {
			return Policy{}, malformed("policy: classes[%d] repeats classes[%d] %s", i, j, tc)
		}
		p.Classes = append(p.Classes, string(tc))
	}
	if len(p.Classes) == 0 {
		return Policy{}, malformed("policy: no classes")
	}
	return p, nil
}

// checkTypeCode checks a GB/T 36904 type code: a valid 统一社会信用代码 of
// the defining agency followed by three digits.
func checkTypeCode(tc string) error {
	if len(tc) != typeCodeLen {
		return fmt.Errorf("type code %q has %d characters, want 21 (an 18-character USCC and 3 digits)", tc, len(tc))
	}
	if err := ident.ValidateUSCC(tc[:18]); err != nil {
		return fmt.Errorf("type code %q: defining agency: %v", tc, err)
	}
	for i := 18; i < typeCodeLen; i++ {
		if tc[i] < '0' || tc[i] > '9' {
			return fmt.Errorf("type code %q: character %q at position %d is not a digit", tc, tc[i], i)
		}
	}
	return nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedPolicy}, args...)...)
}

// readASN1 reads one element with the given tag from s into out. When the
// next element is missing or has another tag it returns false and says what
// is there instead.
func readASN1(s, out *cryptobyte.String, tag cbasn1.Tag) (string, bool) {
	before := *s
	if s.ReadASN1(out, tag) {
		return "", true
	}
	*s = before
	return describeTLV(before), false
}

// describeTLV says what the next element of b is, for error messages.
func describeTLV(b []byte) string {
	if len(b) == 0 {
		return "end of data"
	}
	var tag cbasn1.Tag
	var body cryptobyte.String
	s := cryptobyte.String(b)
	if !s.ReadAnyASN1(&body, &tag) {
		return fmt.Sprintf("undecodable element (first byte 0x%02x)", b[0])
	}
	if name, ok := tagNames[tag]; ok {
		return "found " + name
	}
	return fmt.Sprintf("found tag 0x%02x", uint8(tag))
}

var tagNames = map[cbasn1.Tag]string{
	cbasn1.BOOLEAN:           "BOOLEAN",
	cbasn1.INTEGER:           "INTEGER",
	cbasn1.BIT_STRING:        "BIT STRING",
	cbasn1.OCTET_STRING:      "OCTET STRING",
	cbasn1.NULL:              "NULL",
	cbasn1.OBJECT_IDENTIFIER: "OBJECT IDENTIFIER",
	cbasn1.ENUM:              "ENUMERATED",
	cbasn1.UTF8String:        "UTF8String",
	cbasn1.SEQUENCE:          "SEQUENCE",
	cbasn1.SET:               "SET",
	cbasn1.PrintableString:   "PrintableString",
	cbasn1.T61String:         "T61String",
	cbasn1.IA5String:         "IA5String",
	cbasn1.UTCTime:           "UTCTime",
	cbasn1.GeneralizedTime:   "GeneralizedTime",
	cbasn1.GeneralString:     "GeneralString",
}
