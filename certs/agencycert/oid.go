package agencycert

import (
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"
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
// encoding/asn1 cannot hold a 122-bit arc, so they are encoded here.
var (
	roleOIDBytes   = mustOIDContents(RoleAttributeOID)
	policyOIDBytes = mustOIDContents(PolicyAttributeOID)
)

// oidContents encodes a dotted OID of any arc size as the contents octets of
// an OBJECT IDENTIFIER (X.690 §8.19).
func oidContents(dotted string) ([]byte, error) {
	parts := strings.Split(dotted, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("OID %q has fewer than two arcs", dotted)
	}
	arcs := make([]*big.Int, len(parts))
	for i, p := range parts {
		n, ok := new(big.Int).SetString(p, 10)
		if !ok || n.Sign() < 0 || (len(p) > 1 && p[0] == '0') {
			return nil, fmt.Errorf("OID %q: arc %q is not a non-negative decimal number", dotted, p)
		}
		arcs[i] = n
	}
	if arcs[0].Cmp(big.NewInt(2)) > 0 || (arcs[0].Cmp(big.NewInt(2)) < 0 && arcs[1].Cmp(big.NewInt(39)) > 0) {
		return nil, fmt.Errorf("OID %q: invalid first two arcs", dotted)
	}
	first := new(big.Int).Mul(arcs[0], big.NewInt(40))
	first.Add(first, arcs[1])
	var out []byte
	for _, a := range append([]*big.Int{first}, arcs[2:]...) {
		out = appendBase128(out, a)
	}
	return out, nil
}

func appendBase128(out []byte, n *big.Int) []byte {
	if n.Sign() == 0 {
		return append(out, 0)
	}
	var groups []byte
	v := new(big.Int).Set(n)
	mask := big.NewInt(0x7f)
	for v.Sign() > 0 {
		groups = append(groups, byte(new(big.Int).And(v, mask).Int64()))
		v.Rsh(v, 7)
	}
	for i := len(groups) - 1; i >= 0; i-- {
		b := groups[i]
		if i > 0 {
			b |= 0x80
		}
		out = append(out, b)
	}
	return out
}

func mustOIDContents(dotted string) []byte {
	b, err := oidContents(dotted)
	if err != nil {
		panic("agencycert: " + err.Error())
	}
	return b
}
