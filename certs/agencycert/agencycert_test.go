package agencycert

import (
	"bytes"
	"crypto/x509/pkix"
	"elicense/internal/testneed"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/internal/gm"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// testCode is a dev 统一社会信用代码 (GB 11714 self-defined range PDY).
const testCode = "11310000PDY100010H"

func typeCode(t testing.TB, class string) string {
	t.Helper()
	cl, ok := catalog.Default().Lookup(class)
	if !ok {
		t.Fatalf("class %q not in the catalogue", class)
	}
	return cl.TypeCode
}

// certSpec describes a test certificate.
type certSpec struct {
	cn        string
	ca        bool
	usage     gm.KeyUsage
	exts      []pkix.Extension
	notSelf   bool // issued by a separate parent
	noBasicCA bool // no basic constraints at all
}

// makeCert issues a real certificate and parses it back.
func makeCert(t testing.TB, s certSpec) *gm.Certificate {
	t.Helper()
	key, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &gm.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: s.cn, Organization: []string{s.cn + " org"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              s.usage,
		BasicConstraintsValid: !s.noBasicCA,
		IsCA:                  s.ca,
		ExtraExtensions:       s.exts,
	}
	parent, signer := tmpl, key
	if s.notSelf {
		pk, err := gm.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		parent = &gm.Certificate{Subject: pkix.Name{CommonName: "some other CA"}}
		signer = pk
	}
	der, err := gm.CreateCertificate(tmpl, parent, key.PublicKey(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := gm.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustExt(t testing.TB, p Policy) pkix.Extension {
	t.Helper()
	e, err := p.Extension()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mustRoleExt(t testing.TB, r Role) pkix.Extension {
	t.Helper()
	e, err := RoleExtension(r)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// decodeOID renders OID contents octets in dotted form (arcs of any size).
func decodeOID(b []byte) string {
	var arcs []*big.Int
	cur := new(big.Int)
	for _, c := range b {
		cur.Lsh(cur, 7).Or(cur, big.NewInt(int64(c&0x7f)))
		if c&0x80 == 0 {
			arcs = append(arcs, cur)
			cur = new(big.Int)
		}
	}
	first := arcs[0].Int64()
	x, y := first/40, first%40
	if x > 2 {
		x, y = 2, first-80
	}
	parts := []string{fmt.Sprint(x), fmt.Sprint(y)}
	for _, a := range arcs[1:] {
		parts = append(parts, a.String())
	}
	return strings.Join(parts, ".")
}

func TestOIDContents(t *testing.T) {
	tests := []struct{ oid, hex string }{
		{"2.5.29.9", "551d09"},
		{"1.2.840.113549", "2a864886f70d"},
		{"1.2.156.10197.1.501", "2a811ccf55018375"},
		{"2.25.0", "6900"},
		{"2.999.3", "883703"},
	}
	for _, tt := range tests {
		got, err := oidContents(tt.oid)
		if err != nil || hex.EncodeToString(got) != tt.hex {
			t.Errorf("oidContents(%s) = %x, %v; want %s", tt.oid, got, err, tt.hex)
		}
	}
	for _, bad := range []string{"", "2", "3.1", "1.40", "2.-1", "2.01", "2.x"} {
		if _, err := oidContents(bad); err == nil {
			t.Errorf("oidContents(%q) succeeded", bad)
		}
	}
	for _, oid := range []string{RoleAttributeOID, PolicyAttributeOID} {
		b := mustOIDContents(oid)
		if got := decodeOID(b); got != oid {
			t.Errorf("round trip of %s gave %s", oid, got)
		}
		// A 2.25 UUID arc: first octet 2*40+25, then the 128-bit arc.
		if b[0] != 0x69 || len(b) < 17 {
			t.Errorf("%s encodes as %x", oid, b)
		}
		// The arcs are UUIDs (v4): 128-bit numbers with version nibble 4.
		n, _ := new(big.Int).SetString(strings.TrimPrefix(oid, "2.25."), 10)
		if n.BitLen() > 128 || new(big.Int).Rsh(n, 76).Int64()&0xf != 4 {
			t.Errorf("%s is not a version-4 UUID arc", oid)
		}
	}
}

func TestPolicyRoundTrip(t *testing.T) {
	p := Policy{
		AgencyCode: testCode,
		AgencyName: "ignored by Extension",
		// a key, a type code and a Chinese name
		Classes: []string{"business-license", typeCode(t, "food-operation-permit"), "药品经营许可证"},
	}
	c := makeCert(t, certSpec{cn: "上海市市场监督管理局", usage: gm.KeyUsageDigitalSignature | gm.KeyUsageContentCommitment, exts: []pkix.Extension{mustExt(t, p)}})
	got, err := FromCertificate(c)
	if err != nil {
		t.Fatal(err)
	}
	want := Policy{
		AgencyCode: testCode,
		AgencyName: "上海市市场监督管理局 org",
		Classes:    []string{typeCode(t, "business-license"), typeCode(t, "food-operation-permit"), typeCode(t, "drug-operation-permit")},
	}
	if got.AgencyCode != want.AgencyCode || got.AgencyName != want.AgencyName || !slices.Equal(got.Classes, want.Classes) {
		t.Fatalf("FromCertificate = %+v, want %+v", got, want)
	}
	if keys := got.ClassKeys(); !slices.Equal(keys, []string{"business-license", "food-operation-permit", "drug-operation-permit"}) {
		t.Errorf("ClassKeys = %v", keys)
	}
	if r, err := RoleOf(c); r != RoleAgency || err != nil {
		t.Errorf("RoleOf = %v, %v; want agency", r, err)
	}
	if ext := c.Extensions[len(c.Extensions)-1]; ext.Critical {
		t.Error("policy extension is critical")
	}
	// The attribute value is exactly MarshalPolicy's output.
	der, err := p.MarshalPolicy()
	if err != nil {
		t.Fatal(err)
	}
	if pp, err := ParsePolicy(der); err != nil || !slices.Equal(pp.Classes, want.Classes) {
		t.Errorf("ParsePolicy(MarshalPolicy) = %+v, %v", pp, err)
	}

	allows := []struct {
		class string
		want  bool
	}{
		{"business-license", true},
		{typeCode(t, "business-license"), true},
		{"营业执照", true},
		{"food-operation-permit", true},
		{"药品经营许可证", true},
		{"drug-operation-permit", true},
		{"marriage-certificate", false},
		{typeCode(t, "marriage-certificate"), false},
		{"结婚证", false},
		{"", false},
		{"no-such-class", false},
		{"Business-License", false},
	}
	for _, a := range allows {
		if got := got.Allows(a.class); got != a.want {
			t.Errorf("Allows(%q) = %v, want %v", a.class, got, a.want)
		}
	}
	bl, _ := catalog.Default().Lookup("business-license")
	mc, _ := catalog.Default().Lookup("marriage-certificate")
	if !got.AllowsClass(bl) || got.AllowsClass(mc) || got.AllowsClass(nil) {
		t.Error("AllowsClass")
	}
	// A policy whose entries are keys allows the same classes.
	keyed := Policy{AgencyCode: testCode, Classes: []string{"business-license", "unknown-x"}}
	if !keyed.Allows(typeCode(t, "business-license")) || !keyed.Allows("营业执照") || !keyed.Allows("unknown-x") || keyed.Allows("drivers-license") {
		t.Error("Allows on a keyed policy")
	}
}

func TestExtensionErrors(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		want string
	}{
		{"empty code", Policy{Classes: []string{"business-license"}}, `agency code: uscc "": has 0 characters, want 18`},
		{"bad check", Policy{AgencyCode: "11310000PDY100010A", Classes: []string{"business-license"}}, "check character is 'A', want 'H'"},
		{"no classes", Policy{AgencyCode: testCode}, "agency 11310000PDY100010H: no classes"},
		{"unknown class", Policy{AgencyCode: testCode, Classes: []string{"business-license", "fishing-licence"}},
			`classes[1] "fishing-licence" is not a class key, type code or name in the catalogue`},
		{"duplicate", Policy{AgencyCode: testCode, Classes: []string{"business-license", "drivers-license", "营业执照"}},
			`classes[0] "business-license" and classes[2] "营业执照" are both business-license`},
		{"too many", Policy{AgencyCode: testCode, Classes: make([]string, MaxClasses+1)}, "1025 classes, at most 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.p.Extension()
			if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Extension() = %v, want ErrInvalidPolicy containing %q", err, tt.want)
			}
			if _, err := tt.p.MarshalPolicy(); !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("MarshalPolicy() = %v", err)
			}
		})
	}
}

// der builds DER with a cryptobyte builder.
func der(f func(b *cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	f(&b)
	return b.BytesOrPanic()
}

func addString(b *cryptobyte.Builder, tag cbasn1.Tag, s string) {
	b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
}

// policyDER builds an AgencyPolicy with the given code and class strings.
func policyDER(code string, classes ...string) []byte {
	return der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addString(b, cbasn1.UTF8String, code)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, c := range classes {
					addString(b, cbasn1.PrintableString, c)
				}
			})
		})
	})
}

func TestParsePolicyErrors(t *testing.T) {
	bl := typeCode(t, "business-license")
	good := policyDER(testCode, bl)
	if _, err := ParsePolicy(good); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		der  []byte
		want string
	}{
		{"empty", nil, "policy: end of data, want a SEQUENCE"},
		{"not a sequence", []byte{0x31, 0x00}, "policy: found SET, want a SEQUENCE"},
		{"garbage", []byte{0x30, 0x85}, "policy: undecodable element (first byte 0x30), want a SEQUENCE"},
		{"trailing", append(slices.Clone(good), 0x05, 0x00), "policy: 2 bytes of trailing data after the SEQUENCE"},
		{"code printable", der(func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { addString(b, cbasn1.PrintableString, testCode) })
		}), "agency code: found PrintableString, want a UTF8String"},
		{"code invalid utf8", policyDER("\xff", bl), "agency code is not valid UTF-8"},
		{"code bad check", policyDER("11310000PDY1000103", bl), `agency code: uscc "11310000PDY1000103": check character is '3', want 'H'`},
		{"no classes seq", der(func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { addString(b, cbasn1.UTF8String, testCode) })
		}), "policy: classes: end of data, want a SEQUENCE"},
		{"classes as set", der(func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addString(b, cbasn1.UTF8String, testCode)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { addString(b, cbasn1.PrintableString, bl) })
			})
		}), "policy: classes: found SET, want a SEQUENCE"},
		{"trailing after classes", der(func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addString(b, cbasn1.UTF8String, testCode)
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { addString(b, cbasn1.PrintableString, bl) })
				b.AddASN1NULL()
			})
		}), "policy: 2 bytes of trailing data after the classes"},
		{"empty classes", policyDER(testCode), "policy: no classes"},
		{"class utf8", der(func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addString(b, cbasn1.UTF8String, testCode)
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					addString(b, cbasn1.PrintableString, bl)
					addString(b, cbasn1.UTF8String, "business-license")
				})
			})
		}), "policy: classes[1]: found UTF8String, want a PrintableString"},
		{"class key not type code", policyDER(testCode, "business-license"), `classes[0]: type code "business-license" has 16 characters, want 21`},
		{"type code bad agency", policyDER(testCode, "11310000PDY00001XA001"), `classes[0]: type code "11310000PDY00001XA001": defining agency: uscc "11310000PDY00001XA": check character is 'A', want 'Q'`},
		{"type code letter", policyDER(testCode, bl[:18]+"0A1"), "character 'A' at position 19 is not a digit"},
		{"duplicate", policyDER(testCode, bl, typeCode(t, "drivers-license"), bl), "policy: classes[2] repeats classes[0] " + bl},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy(tt.der)
			if !errors.Is(err, ErrMalformedPolicy) {
				t.Fatalf("ParsePolicy = %+v, %v; want ErrMalformedPolicy", p, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
	// An unknown but well-formed type code (a newer catalogue) parses.
	tc := "11310000PDY00001XQ999"
	if p, err := ParsePolicy(policyDER(testCode, tc)); err != nil || p.Classes[0] != tc {
		t.Errorf("ParsePolicy(unknown type code) = %+v, %v", p, err)
	}
}

// attr builds one Attribute with the given type OID contents and values.
func attr(b *cryptobyte.Builder, oid []byte, values ...func(b *cryptobyte.Builder)) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(oid) })
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			for _, v := range values {
				v(b)
			}
		})
	})
}

func enum(v byte) func(b *cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) { b.AddASN1(cbasn1.ENUM, func(b *cryptobyte.Builder) { b.AddUint8(v) }) }
}

func raw(d []byte) func(b *cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) { b.AddBytes(d) }
}

func sda(attrs ...func(b *cryptobyte.Builder)) pkix.Extension {
	v := der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, a := range attrs {
				a(b)
			}
		})
	})
	return pkix.Extension{Id: OIDSubjectDirectoryAttributes, Value: v}
}

func TestDirectoryAttributes(t *testing.T) {
	pol := policyDER(testCode, typeCode(t, "business-license"))
	dateOfBirth := []byte{0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x09, 0x01} // 1.3.6.1.5.5.7.9.1
	roleAttr := func(v ...func(*cryptobyte.Builder)) func(*cryptobyte.Builder) {
		return func(b *cryptobyte.Builder) { attr(b, roleOIDBytes, v...) }
	}
	polAttr := func(v ...func(*cryptobyte.Builder)) func(*cryptobyte.Builder) {
		return func(b *cryptobyte.Builder) { attr(b, policyOIDBytes, v...) }
	}
	other := func(b *cryptobyte.Builder) {
		attr(b, dateOfBirth, func(b *cryptobyte.Builder) { addString(b, cbasn1.GeneralizedTime, "19700101120000Z") })
	}
	tests := []struct {
		name     string
		ext      pkix.Extension
		role     Role
		policy   bool
		wantErr  error
		contains string
	}{
		{"role and policy", sda(roleAttr(enum(2)), polAttr(raw(pol))), RoleAgency, true, nil, ""},
		{"policy only", sda(polAttr(raw(pol))), RoleAgency, true, nil, ""},
		{"other attributes skipped", sda(other, polAttr(raw(pol)), other), RoleAgency, true, nil, ""},
		{"only another attribute", sda(other), RoleUnknown, false, nil, ""},
		{"ledger", sda(roleAttr(enum(3))), RoleLedger, false, nil, ""},
		{"empty", sda(), 0, false, ErrMalformedPolicy, "empty SEQUENCE (SIZE (1..MAX) required)"},
		{"not a sequence", pkix.Extension{Id: OIDSubjectDirectoryAttributes, Value: []byte{0x04, 0x00}}, 0, false, ErrMalformedPolicy, "subject directory attributes: found OCTET STRING, want a SEQUENCE"},
		{"trailing", pkix.Extension{Id: OIDSubjectDirectoryAttributes, Value: append(slices.Clone(sda(other).Value), 0)}, 0, false, ErrMalformedPolicy, "1 bytes of trailing data"},
		{"critical", pkix.Extension{Id: OIDSubjectDirectoryAttributes, Critical: true, Value: sda(polAttr(raw(pol))).Value}, 0, false, ErrMalformedPolicy, "is critical; RFC 5280 requires it non-critical"},
		{"attribute not a sequence", sda(func(b *cryptobyte.Builder) { b.AddASN1NULL() }), 0, false, ErrMalformedPolicy, "attribute 0: found NULL, want a SEQUENCE"},
		{"attribute type not an OID", sda(func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(5) })
		}), 0, false, ErrMalformedPolicy, "attribute 0: type: found INTEGER, want an OBJECT IDENTIFIER"},
		{"values not a set", sda(func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(roleOIDBytes) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {})
			})
		}), 0, false, ErrMalformedPolicy, "attribute 0: values: found SEQUENCE, want a SET"},
		{"empty values", sda(other, roleAttr()), 0, false, ErrMalformedPolicy, "attribute 1: empty value SET"},
		{"two roles", sda(roleAttr(enum(2)), roleAttr(enum(2))), 0, false, ErrMalformedPolicy, "attribute 1: a second role attribute"},
		{"two policies", sda(polAttr(raw(pol)), polAttr(raw(pol))), 0, false, ErrMalformedPolicy, "attribute 1: a second policy attribute"},
		{"two role values", sda(roleAttr(enum(2), enum(3))), 0, false, ErrMalformedPolicy, "role attribute: more than one value"},
		{"two policy values", sda(polAttr(raw(pol), raw(pol))), 0, false, ErrMalformedPolicy, "policy attribute: more than one value"},
		{"role 0", sda(roleAttr(enum(0))), 0, false, ErrMalformedPolicy, "role attribute: value 00 is not root(1), agency(2), ledger(3) or receipt(4)"},
		{"role 5", sda(roleAttr(enum(5))), 0, false, ErrMalformedPolicy, "value 05 is not"},
		{"role as integer", sda(roleAttr(func(b *cryptobyte.Builder) { b.AddASN1Int64(2) })), 0, false, ErrMalformedPolicy, "role attribute: found INTEGER, want an ENUMERATED"},
		{"bad policy inside", sda(polAttr(raw(policyDER(testCode)))), 0, false, ErrMalformedPolicy, "policy: no classes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &gm.Certificate{Subject: pkix.Name{CommonName: "test"}, Extensions: []pkix.Extension{tt.ext},
				KeyUsage: gm.KeyUsageDigitalSignature, BasicConstraintsValid: true}
			p, perr := FromCertificate(c)
			r, rerr := RoleOf(c)
			if tt.wantErr != nil {
				for _, err := range []error{perr, rerr} {
					if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.contains) {
						t.Fatalf("error %v, want %v containing %q", err, tt.wantErr, tt.contains)
					}
					if !strings.Contains(err.Error(), `certificate "test"`) {
						t.Errorf("error %q does not name the certificate", err)
					}
				}
				return
			}
			if rerr != nil || r != tt.role {
				t.Fatalf("RoleOf = %v, %v; want %v", r, rerr, tt.role)
			}
			if tt.policy {
				if perr != nil || p.AgencyCode != testCode {
					t.Fatalf("FromCertificate = %+v, %v", p, perr)
				}
			} else if !errors.Is(perr, ErrNoPolicy) || !strings.Contains(perr.Error(), "has no policy attribute") {
				t.Fatalf("FromCertificate error %v, want ErrNoPolicy", perr)
			}
		})
	}
}

func TestFromCertificateNoPolicy(t *testing.T) {
	c := makeCert(t, certSpec{cn: "plain", usage: gm.KeyUsageDigitalSignature})
	_, err := FromCertificate(c)
	if !errors.Is(err, ErrNoPolicy) || err.Error() != `agencycert: no agency policy: certificate "plain" has no subject directory attributes extension` {
		t.Fatalf("err = %v", err)
	}
	if _, err := FromCertificate(nil); !errors.Is(err, ErrNoPolicy) {
		t.Fatalf("nil: %v", err)
	}
	if r, err := RoleOf(c); r != RoleUnknown || err != nil {
		t.Fatalf("RoleOf(plain) = %v, %v", r, err)
	}
	if err := RequireRole(c, RoleAgency); !errors.Is(err, ErrRole) || !strings.Contains(err.Error(), `certificate "plain" has role unknown, want agency`) {
		t.Fatalf("RequireRole = %v", err)
	}
	// A certificate that is not SM2-parsed by us can hold two SDA
	// extensions only as a struct; Go's parser refuses duplicates.
	dup := &gm.Certificate{Extensions: []pkix.Extension{sda(), sda()}}
	if _, err := RoleOf(dup); !errors.Is(err, ErrMalformedPolicy) || !strings.Contains(err.Error(), "two subject directory attributes extensions") {
		t.Fatalf("duplicate SDA: %v", err)
	}
}

func TestRoles(t *testing.T) {
	pol := Policy{AgencyCode: testCode, Classes: []string{"marriage-certificate"}}
	sign := gm.KeyUsageDigitalSignature
	leaf := gm.KeyUsageDigitalSignature | gm.KeyUsageContentCommitment
	caUsage := gm.KeyUsageCertSign | gm.KeyUsageCRLSign
	ledgerWithPolicy := sda(func(b *cryptobyte.Builder) { addRoleAttribute(b, RoleLedger) }, func(b *cryptobyte.Builder) {
		attr(b, policyOIDBytes, raw(policyDER(testCode, typeCode(t, "marriage-certificate"))))
	})
	tests := []struct {
		name string
		spec certSpec
		want Role
		err  string // substring of an ErrRole error
	}{
		{"root", certSpec{ca: true, usage: caUsage, exts: []pkix.Extension{mustRoleExt(t, RoleRoot)}}, RoleRoot, ""},
		{"foreign root without attributes", certSpec{ca: true, usage: caUsage}, RoleRoot, ""},
		{"agency", certSpec{usage: leaf, exts: []pkix.Extension{mustExt(t, pol)}}, RoleAgency, ""},
		{"agency without basic constraints", certSpec{usage: sign, noBasicCA: true, exts: []pkix.Extension{mustExt(t, pol)}}, RoleAgency, ""},
		{"ledger", certSpec{usage: sign, exts: []pkix.Extension{mustRoleExt(t, RoleLedger)}}, RoleLedger, ""},
		{"plain leaf", certSpec{usage: sign}, RoleUnknown, ""},
		{"CA says ledger", certSpec{ca: true, usage: caUsage, exts: []pkix.Extension{mustRoleExt(t, RoleLedger)}}, 0, "is a CA but its role attribute says ledger"},
		{"CA with policy", certSpec{ca: true, usage: caUsage, exts: []pkix.Extension{mustExt(t, pol)}}, 0, "is a CA but its role attribute says agency"},
		{"CA without certSign", certSpec{ca: true, usage: sign, exts: []pkix.Extension{mustRoleExt(t, RoleRoot)}}, 0, "is a CA without the keyCertSign key usage"},
		{"intermediate CA", certSpec{ca: true, usage: caUsage, notSelf: true}, 0, "is a CA that is not self-issued"},
		{"leaf says root", certSpec{usage: sign, exts: []pkix.Extension{mustRoleExt(t, RoleRoot)}}, 0, "role attribute says root but it is not a CA"},
		{"ledger without digitalSignature", certSpec{usage: gm.KeyUsageContentCommitment, exts: []pkix.Extension{mustRoleExt(t, RoleLedger)}}, 0, "lacks the digitalSignature key usage"},
		{"ledger with policy", certSpec{usage: sign, exts: []pkix.Extension{ledgerWithPolicy}}, 0, "role attribute says ledger but it carries an agency policy"},
		{"receipt", certSpec{usage: gm.KeyUsageKeyEncipherment, exts: []pkix.Extension{mustRoleExt(t, RoleReceipt)}}, RoleReceipt, ""},
		{"receipt without keyEncipherment", certSpec{usage: 0, exts: []pkix.Extension{mustRoleExt(t, RoleReceipt)}}, 0, "lacks the keyEncipherment key usage"},
		{"receipt that signs", certSpec{usage: gm.KeyUsageKeyEncipherment | sign, exts: []pkix.Extension{mustRoleExt(t, RoleReceipt)}}, 0, "its key usage allows signing"},
		{"receipt with policy", certSpec{usage: gm.KeyUsageKeyEncipherment, exts: []pkix.Extension{sda(func(b *cryptobyte.Builder) { addRoleAttribute(b, RoleReceipt) }, func(b *cryptobyte.Builder) {
			attr(b, policyOIDBytes, raw(policyDER(testCode, typeCode(t, "marriage-certificate"))))
		})}}, 0, "role attribute says receipt but it carries an agency policy"},
		{"agency role without policy", certSpec{usage: sign, exts: []pkix.Extension{sda(func(b *cryptobyte.Builder) { addRoleAttribute(b, RoleAgency) })}}, 0, "role attribute says agency but it carries no agency policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.cn = tt.name
			c := makeCert(t, tt.spec)
			got, err := RoleOf(c)
			if tt.err != "" {
				if !errors.Is(err, ErrRole) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("RoleOf = %v, %v; want ErrRole containing %q", got, err, tt.err)
				}
				if rerr := RequireRole(c, RoleAgency); !errors.Is(rerr, ErrRole) {
					t.Fatalf("RequireRole = %v", rerr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("RoleOf = %v, %v; want %v", got, err, tt.want)
			}
			if err := RequireRole(c, tt.want); err != nil {
				t.Fatalf("RequireRole(%v) = %v", tt.want, err)
			}
		})
	}
	if _, err := RoleExtension(RoleAgency); !errors.Is(err, ErrRole) {
		t.Errorf("RoleExtension(agency) = %v", err)
	}
	if _, err := RoleExtension(Role(9)); !errors.Is(err, ErrRole) || !strings.Contains(err.Error(), "Role(9)") {
		t.Errorf("RoleExtension(9) = %v", err)
	}
	if _, err := RoleOf(nil); !errors.Is(err, ErrRole) {
		t.Errorf("RoleOf(nil) = %v", err)
	}
	for r, s := range map[Role]string{RoleUnknown: "unknown", RoleRoot: "root", RoleAgency: "agency", RoleLedger: "ledger", RoleReceipt: "receipt"} {
		if r.String() != s {
			t.Errorf("%d.String() = %q", r, r.String())
		}
	}
}

// TestOpenSSLReadsAttributes checks our DER, OIDs included, with an
// independent parser.
func TestOpenSSLReadsAttributes(t *testing.T) {
	testneed.OpenSSL3(t)
	c := makeCert(t, certSpec{cn: "agency", usage: gm.KeyUsageDigitalSignature, exts: []pkix.Extension{
		mustExt(t, Policy{AgencyCode: testCode, Classes: []string{"business-license", "drivers-license"}}),
	}})
	dir := t.TempDir()
	var val []byte
	for _, e := range c.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 9}) {
			val = e.Value
		}
	}
	f := filepath.Join(dir, "sda.der")
	if err := os.WriteFile(f, val, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("openssl", "asn1parse", "-inform", "DER", "-in", f).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl asn1parse: %v\n%s", err, out)
	}
	for _, want := range []string{
		":" + RoleAttributeOID, ":" + PolicyAttributeOID, "ENUMERATED        :02",
		"UTF8STRING        :" + testCode,
		"PRINTABLESTRING   :" + typeCode(t, "business-license"),
		"PRINTABLESTRING   :" + typeCode(t, "drivers-license"),
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("openssl asn1parse output lacks %q:\n%s", want, out)
		}
	}
	pemFile := filepath.Join(dir, "c.pem")
	if err := os.WriteFile(pemFile, gm.EncodeCertificatePEM(c.Raw), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("openssl", "x509", "-in", pemFile, "-noout", "-text").CombinedOutput(); err != nil {
		t.Fatalf("openssl x509: %v\n%s", err, out)
	}
}
