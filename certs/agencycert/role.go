package agencycert

import (
	"bytes"
	"crypto/x509/pkix"
	"fmt"

	"elicense/internal/gm"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Role is the part a certificate plays in an elicense PKI.
type Role uint8

// The roles. Their numbers are the ENUMERATED values of the role attribute.
const (
	// RoleUnknown is a certificate that carries no elicense role.
	RoleUnknown Role = 0
	// RoleRoot is the trust anchor that certifies every other key.
	RoleRoot Role = 1
	// RoleAgency is an agency's issuing key, scoped by a Policy.
	RoleAgency Role = 2
	// RoleLedger signs ledger checkpoints, status lists and trust bundles.
	RoleLedger Role = 3
	// RoleReceipt is the platform's SM2 encryption key for counter
	// receipts; it never signs.
	RoleReceipt Role = 4
)

// String returns "unknown", "root", "agency", "ledger" or "receipt".
func (r Role) String() string {
	switch r {
	case RoleRoot:
		return "root"
	case RoleAgency:
		return "agency"
	case RoleLedger:
		return "ledger"
	case RoleReceipt:
		return "receipt"
	case RoleUnknown:
		return "unknown"
	default:
		return fmt.Sprintf("Role(%d)", uint8(r))
	}
}

// RoleExtension returns the non-critical Subject Directory Attributes
// extension holding only the role attribute, for the root or the ledger
// certificate. An agency certificate takes Policy.Extension instead, which
// carries its role and its policy together (a certificate may hold one
// extension of each type). The receipt certificate takes it too.
func RoleExtension(r Role) (pkix.Extension, error) {
	if r != RoleRoot && r != RoleLedger && r != RoleReceipt {
		return pkix.Extension{}, fmt.Errorf("%w: RoleExtension takes root, ledger or receipt, not %v (use Policy.Extension for an agency)", ErrRole, r)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { addRoleAttribute(b, r) })
	return pkix.Extension{Id: OIDSubjectDirectoryAttributes, Value: b.BytesOrPanic()}, nil
}

func addRoleAttribute(b *cryptobyte.Builder, r Role) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(roleOIDBytes) })
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.ENUM, func(b *cryptobyte.Builder) { b.AddUint8(uint8(r)) })
		})
	})
}

// RoleOf returns the role of c, judged from its role attribute, basic
// constraints, key usage and policy (see the package documentation). A
// certificate with no elicense attributes is RoleRoot if it is a
// self-issued CA with keyCertSign, else RoleUnknown; neither is an error.
// Attributes that are malformed give ErrMalformedPolicy; parts that
// disagree give ErrRole. RoleOf does not check signatures or validity.
func RoleOf(c *gm.Certificate) (Role, error) {
	if c == nil {
		return RoleUnknown, fmt.Errorf("%w: nil certificate", ErrRole)
	}
	a, err := certAttributes(c)
	if err != nil {
		return RoleUnknown, err
	}
	name := subjectOf(c)
	fail := func(format string, args ...any) (Role, error) {
		return RoleUnknown, fmt.Errorf("%w: certificate %q: "+format, append([]any{ErrRole, name}, args...)...)
	}
	if c.BasicConstraintsValid && c.IsCA {
		switch {
		case a.role != RoleUnknown && a.role != RoleRoot:
			return fail("is a CA but its role attribute says %v", a.role)
		case a.policy != nil:
			return fail("is a CA but carries an agency policy")
		case c.KeyUsage&gm.KeyUsageCertSign == 0:
			return fail("is a CA without the keyCertSign key usage")
		case !bytes.Equal(c.RawSubject, c.RawIssuer):
			return fail("is a CA that is not self-issued (issuer %q); elicense PKIs have no intermediate CAs", c.Issuer.String())
		}
		return RoleRoot, nil
	}
	// An end entity.
	if a.role == RoleUnknown && a.policy == nil {
		return RoleUnknown, nil
	}
	if a.role == RoleReceipt {
		// An encryption key: it must say so, and must not sign anything a
		// verifier would take for the platform's signature.
		switch {
		case a.policy != nil:
			return fail("role attribute says receipt but it carries an agency policy")
		case c.KeyUsage&gm.KeyUsageKeyEncipherment == 0:
			return fail("role attribute says receipt but it lacks the keyEncipherment key usage")
		case c.KeyUsage&(gm.KeyUsageDigitalSignature|gm.KeyUsageContentCommitment|gm.KeyUsageCertSign|gm.KeyUsageCRLSign) != 0:
			return fail("role attribute says receipt but its key usage allows signing")
		}
		return RoleReceipt, nil
	}
	if c.KeyUsage&gm.KeyUsageDigitalSignature == 0 {
		return fail("has an elicense role but lacks the digitalSignature key usage")
	}
	switch {
	case a.role == RoleRoot:
		return fail("role attribute says root but it is not a CA")
	case a.policy != nil && a.role == RoleLedger:
		return fail("role attribute says ledger but it carries an agency policy")
	case a.policy != nil:
		return RoleAgency, nil // role attribute agency, or absent
	case a.role == RoleAgency:
		return fail("role attribute says agency but it carries no agency policy")
	default:
		return RoleLedger, nil
	}
}

// RequireRole returns nil if RoleOf(c) is want, and otherwise an error
// wrapping ErrRole (or ErrMalformedPolicy) that says what c is instead.
func RequireRole(c *gm.Certificate, want Role) error {
	got, err := RoleOf(c)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%w: certificate %q has role %v, want %v", ErrRole, subjectOf(c), got, want)
	}
	return nil
}

// attributes are the elicense attributes found in a certificate.
type attributes struct {
	present bool // the certificate has a Subject Directory Attributes extension
	role    Role // RoleUnknown when there is no role attribute
	policy  *Policy
}

// certAttributes finds and parses the Subject Directory Attributes of c.
func certAttributes(c *gm.Certificate) (attributes, error) {
	var ext *pkix.Extension
	for i := range c.Extensions {
		if c.Extensions[i].Id.Equal(OIDSubjectDirectoryAttributes) {
			if ext != nil {
				return attributes{}, malformed("certificate %q has two subject directory attributes extensions", subjectOf(c))
			}
			ext = &c.Extensions[i]
		}
	}
	if ext == nil {
		return attributes{}, nil
	}
	if ext.Critical {
		return attributes{}, malformed("certificate %q: the subject directory attributes extension is critical; RFC 5280 requires it non-critical", subjectOf(c))
	}
	a, err := parseDirectoryAttributes(ext.Value)
	if err != nil {
		return attributes{}, fmt.Errorf("certificate %q: %w", subjectOf(c), err)
	}
	return a, nil
}

// parseDirectoryAttributes parses a SubjectDirectoryAttributes value
// strictly, keeping the elicense attributes and skipping others.
func parseDirectoryAttributes(der []byte) (attributes, error) {
	a := attributes{present: true}
	s := cryptobyte.String(der)
	var seq cryptobyte.String
	if desc, ok := readASN1(&s, &seq, cbasn1.SEQUENCE); !ok {
		return a, malformed("subject directory attributes: %s, want a SEQUENCE", desc)
	}
	if !s.Empty() {
		return a, malformed("subject directory attributes: %d bytes of trailing data", len(s))
	}
	if seq.Empty() {
		return a, malformed("subject directory attributes: empty SEQUENCE (SIZE (1..MAX) required)")
	}
	var sawRole bool
	for i := 0; !seq.Empty(); i++ {
		var attr, oid, values cryptobyte.String
		if desc, ok := readASN1(&seq, &attr, cbasn1.SEQUENCE); !ok {
			return a, malformed("attribute %d: %s, want a SEQUENCE", i, desc)
		}
		if desc, ok := readASN1(&attr, &oid, cbasn1.OBJECT_IDENTIFIER); !ok {
			return a, malformed("attribute %d: type: %s, want an OBJECT IDENTIFIER", i, desc)
		}
		if len(oid) == 0 {
			return a, malformed("attribute %d: type: empty OBJECT IDENTIFIER", i)
		}
		if desc, ok := readASN1(&attr, &values, cbasn1.SET); !ok {
			return a, malformed("attribute %d: values: %s, want a SET", i, desc)
		}
		if !attr.Empty() {
			return a, malformed("attribute %d: %d bytes of trailing data", i, len(attr))
		}
		if values.Empty() {
			return a, malformed("attribute %d: empty value SET (SIZE (1..MAX) required)", i)
		}
		switch {
		case bytes.Equal(oid, roleOIDBytes):
			if sawRole {
				return a, malformed("attribute %d: a second role attribute", i)
			}
			sawRole = true
			r, err := parseRoleValues(values)
			if err != nil {
				return a, err
			}
			a.role = r
		case bytes.Equal(oid, policyOIDBytes):
			if a.policy != nil {
				return a, malformed("attribute %d: a second policy attribute", i)
			}
			var v cryptobyte.String
			var tag cbasn1.Tag
			if !values.ReadAnyASN1Element(&v, &tag) {
				return a, malformed("policy attribute: undecodable value")
			}
			if !values.Empty() {
				return a, malformed("policy attribute: more than one value")
			}
			p, err := ParsePolicy(v)
			if err != nil {
				return a, err
			}
			a.policy = &p
		}
	}
	return a, nil
}

func parseRoleValues(values cryptobyte.String) (Role, error) {
	var body cryptobyte.String
	if desc, ok := readASN1(&values, &body, cbasn1.ENUM); !ok {
		return RoleUnknown, malformed("role attribute: %s, want an ENUMERATED", desc)
	}
	if !values.Empty() {
		return RoleUnknown, malformed("role attribute: more than one value")
	}
	// DER: a minimal two's-complement integer; the defined roles are 1-4.
	if len(body) != 1 || body[0] < byte(RoleRoot) || body[0] > byte(RoleReceipt) {
		return RoleUnknown, malformed("role attribute: value %X is not root(1), agency(2), ledger(3) or receipt(4)", []byte(body))
	}
	return Role(body[0]), nil
}
