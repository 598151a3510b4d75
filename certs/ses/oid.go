package ses

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
)

// Algorithm identifiers of GB/T 35275 / GM/T 0006.
var (
	// OIDSM3WithSM2 is the SM2 signature with SM3 (1.2.156.10197.1.501),
	// the algorithm GB/T 38540 names for seals and signatures.
	OIDSM3WithSM2 = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501}
	// OIDSM2Sign is the SM2-1 digital signature algorithm
	// (1.2.156.10197.1.301.1). Some producers write it where
	// OIDSM3WithSM2 belongs; the reader accepts it as SM2 with SM3.
	OIDSM2Sign = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301, 1}
	// OIDSM3 is the SM3 hash (1.2.156.10197.1.401).
	OIDSM3 = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}
)

// IsSM2WithSM3 reports whether oid names an SM2 signature over SM3, the
// only signature algorithm elicense verifies.
func IsSM2WithSM3(oid asn1.ObjectIdentifier) bool {
	return oid.Equal(OIDSM3WithSM2) || oid.Equal(OIDSM2Sign)
}

// OID is an OBJECT IDENTIFIER held as its DER contents octets, so that an
// extnID with any arc — 2.25 UUID arcs included, which encoding/asn1
// cannot hold — is read and re-encoded as it came.
type OID []byte

// ParseOID encodes a dotted OID ("2.25.2312…") of any arc size.
func ParseOID(dotted string) (OID, error) {
	oid, err := x509.ParseOID(dotted)
	if err != nil {
		return nil, fmt.Errorf("ses: OID %q: %w", dotted, err)
	}
	if oid.String() != dotted { // x509 takes "1.02"; DER has one spelling
		return nil, fmt.Errorf("ses: OID %q is not in canonical dotted form", dotted)
	}
	der, err := oid.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("ses: OID %q: %w", dotted, err)
	}
	return der, nil
}

// MustParseOID is ParseOID for constants; it panics on a bad OID.
func MustParseOID(dotted string) OID {
	o, err := ParseOID(dotted)
	if err != nil {
		panic(err)
	}
	return o
}

// x509 returns o as a crypto/x509.OID, which checks that the contents are
// well-formed DER: non-empty, each arc minimal, the last octet ending an arc.
func (o OID) x509() (x509.OID, error) {
	var x x509.OID
	err := x.UnmarshalBinary(o)
	return x, err
}

func (o OID) valid() bool {
	_, err := o.x509()
	return err == nil
}

// String returns the dotted form.
func (o OID) String() string {
	x, err := o.x509()
	if err != nil {
		return fmt.Sprintf("invalid OID %x", []byte(o))
	}
	return x.String()
}

// Equal reports whether o and x are the same OID.
func (o OID) Equal(x OID) bool { return bytes.Equal(o, x) }
