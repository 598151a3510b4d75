package agencycert

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
)

// The object identifiers this package uses, in dotted form.
const (
	// RoleAttributeOID is the attribute type of the certificate role: the
	// UUID a8e9aa25-422c-4f90-b844-f7036dea8ef6 under 2.25 (ITU-T X.667).
	RoleAttributeOID = "2.25.224523559421458694417872874496817008374"
	// PolicyAttributeOID is the attribute type of the agency policy: the
	// UUID 05bd16bc-7ac3-47fa-a7b7-fabd57e07801 under 2.25 (ITU-T X.667).
	PolicyAttributeOID = "2.25.7627945231086746449576750595306452993"
)

// OIDSubjectDirectoryAttributes is id-ce-subjectDirectoryAttributes
// (RFC 5280 §4.2.1.8), the extension that carries both attributes.
var OIDSubjectDirectoryAttributes = asn1.ObjectIdentifier{2, 5, 29, 9}

// The DER contents (without tag and length) of the two attribute types.
// encoding/asn1 cannot hold a 122-bit arc; crypto/x509.OID can.
var (
	roleOIDBytes   = mustOIDContents(RoleAttributeOID)
	policyOIDBytes = mustOIDContents(PolicyAttributeOID)
)

// oidContents encodes a dotted OID of any arc size as the contents octets of
// an OBJECT IDENTIFIER (X.690 §8.19).
func oidContents(dotted string) ([]byte, error) {
	oid, err := x509.ParseOID(dotted)
	if err != nil {
		return nil, err
	}
	if oid.String() != dotted { // x509 takes "2.01"; DER has one spelling
		return nil, fmt.Errorf("OID %q is not in canonical dotted form", dotted)
	}
	return oid.MarshalBinary()
}

func mustOIDContents(dotted string) []byte {
	b, err := oidContents(dotted)
	if err != nil {
		panic("agencycert: " + err.Error())
	}
	return b
}
