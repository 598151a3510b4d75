package ses

import (
	"bytes"
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"
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
	parts := strings.Split(dotted, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("ses: OID %q has fewer than two arcs", dotted)
	}
	arcs := make([]*big.Int, len(parts))
	for i, p := range parts {
		n, ok := new(big.Int).SetString(p, 10)
		if !ok || n.Sign() < 0 || p == "" || p[0] == '+' || (len(p) > 1 && p[0] == '0') {
			return nil, fmt.Errorf("ses: OID %q: arc %q is not a decimal number", dotted, p)
		}
		arcs[i] = n
	}
	two, forty := big.NewInt(2), big.NewInt(40)
	if arcs[0].Cmp(two) > 0 || (arcs[0].Cmp(two) < 0 && arcs[1].Cmp(forty) >= 0) {
		return nil, fmt.Errorf("ses: OID %q: invalid first two arcs", dotted)
	}
	first := new(big.Int).Mul(arcs[0], forty)
	first.Add(first, arcs[1])
	var out OID
	for _, a := range append([]*big.Int{first}, arcs[2:]...) {
		out = appendBase128(out, a)
	}
	return out, nil
}

// MustParseOID is ParseOID for constants; it panics on a bad OID.
func MustParseOID(dotted string) OID {
	o, err := ParseOID(dotted)
	if err != nil {
		panic(err)
	}
	return o
}

func appendBase128(out []byte, n *big.Int) []byte {
	if n.Sign() == 0 {
		return append(out, 0)
	}
	var groups []byte
	v := new(big.Int).Set(n)
	mask := big.NewInt(0x7f)
	for v.Sign() > 0 {
		groups = append(groups, byte(new(big.Int).And(v, mask).Uint64()))
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

// valid reports whether o is well-formed DER contents: non-empty, each arc
// minimal (no leading 0x80) and the last octet ending an arc.
func (o OID) valid() bool {
	if len(o) == 0 || o[len(o)-1]&0x80 != 0 {
		return false
	}
	start := true
	for _, b := range o {
		if start && b == 0x80 {
			return false
		}
		start = b&0x80 == 0
	}
	return true
}

// String returns the dotted form.
func (o OID) String() string {
	if !o.valid() {
		return fmt.Sprintf("invalid OID %x", []byte(o))
	}
	var sb strings.Builder
	v := new(big.Int)
	first := true
	for _, b := range o {
		v.Lsh(v, 7)
		v.Or(v, big.NewInt(int64(b&0x7f)))
		if b&0x80 != 0 {
			continue
		}
		if first {
			x, y := big.NewInt(0), new(big.Int).Set(v)
			switch {
			case v.Cmp(big.NewInt(40)) < 0:
			case v.Cmp(big.NewInt(80)) < 0:
				x.SetInt64(1)
				y.Sub(y, big.NewInt(40))
			default:
				x.SetInt64(2)
				y.Sub(y, big.NewInt(80))
			}
			sb.WriteString(x.String() + "." + y.String())
			first = false
		} else {
			sb.WriteString("." + v.String())
		}
		v.SetInt64(0)
	}
	return sb.String()
}

// Equal reports whether o and x are the same OID.
func (o OID) Equal(x OID) bool { return bytes.Equal(o, x) }
