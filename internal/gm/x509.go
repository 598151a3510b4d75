package gm

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Certificate is an X.509 certificate that may carry SM2 keys and
// SM2-with-SM3 signatures. It is gmsm's type, aliased so that callers never
// import the SM library themselves.
type Certificate = smx509.Certificate

// KeyUsage and ExtKeyUsage are the X.509 key usage types for Certificate.
type (
	KeyUsage    = smx509.KeyUsage
	ExtKeyUsage = smx509.ExtKeyUsage
)

// The key usages elicense certificates use.
const (
	KeyUsageDigitalSignature  = smx509.KeyUsageDigitalSignature
	KeyUsageContentCommitment = smx509.KeyUsageContentCommitment
	KeyUsageKeyEncipherment   = smx509.KeyUsageKeyEncipherment
	KeyUsageCertSign          = smx509.KeyUsageCertSign
	KeyUsageCRLSign           = smx509.KeyUsageCRLSign
	ExtKeyUsageAny            = smx509.ExtKeyUsageAny
	ExtKeyUsageTimeStamping   = smx509.ExtKeyUsageTimeStamping
)

// ErrMalformedCertificate means certificate bytes could not be parsed.
var ErrMalformedCertificate = errors.New("gm: malformed certificate")

// ErrUntrusted means a certificate does not chain to the given roots at the
// given time.
var ErrUntrusted = errors.New("gm: certificate not trusted")

// KeyIDSize is the length of a key ID in bytes.
const KeyIDSize = 8

// CreateCertificate issues a certificate for pub from template, signed by
// signer on behalf of parent (pass template as parent for a self-signed
// root). The signature algorithm is SM2-with-SM3 (1.2.156.10197.1.501), and
// the public key is encoded with id-ecPublicKey and the SM2 curve OID, the
// form OpenSSL and tjfoc/gmsm produce. It returns the DER bytes.
func CreateCertificate(template, parent *Certificate, pub *ecdsa.PublicKey, signer crypto.Signer) ([]byte, error) {
	if !IsSM2PublicKey(pub) || !IsSM2PublicKey(signer.Public()) {
		return nil, ErrNotSM2Key
	}
	tmpl := *template
	tmpl.SignatureAlgorithm = smx509.SM2WithSM3
	der, err := smx509.CreateCertificate(rand.Reader, &tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("gm: creating certificate: %w", err)
	}
	return der, nil
}

// ParseCertificate parses one DER certificate and requires an SM2 public
// key, whether the key is labelled id-ecPublicKey with the SM2 curve or with
// the SM2 OID 1.2.156.10197.1.301 itself. It tolerates the quirks
// [ParseCertificateQuirks] lists.
func ParseCertificate(der []byte) (*Certificate, error) {
	c, _, err := ParseCertificateQuirks(der)
	return c, err
}

// ParseCertificateQuirks is ParseCertificate that also says which quirks it
// tolerated, one sentence each. The one tolerated quirk is a name attribute
// (issuer or subject, e.g. an e-mail address) written as an IA5String that
// holds UTF-8 text: OpenSSL reads it, Go's parser refuses it. The attribute
// is read as a UTF8String; Raw, RawTBSCertificate, RawSubject and RawIssuer
// keep the bytes as written, so signatures and chains verify as signed.
func ParseCertificateQuirks(der []byte) (*Certificate, []string, error) {
	c, err := smx509.ParseCertificate(der)
	var quirks []string
	if err != nil {
		relabelled, q := relabelIA5Names(der)
		if len(q) == 0 {
			return nil, nil, fmt.Errorf("%w: %v", ErrMalformedCertificate, err)
		}
		c2, err2 := smx509.ParseCertificate(relabelled)
		if err2 != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrMalformedCertificate, err)
		}
		// The parsed Raw fields are slices of relabelled: put the original
		// bytes back under them (the relabelling kept every length).
		copy(relabelled, der)
		c, quirks = c2, q
	}
	if !IsSM2PublicKey(c.PublicKey) {
		return nil, nil, fmt.Errorf("%w: certificate %q", ErrNotSM2Key, c.Subject.String())
	}
	return c, quirks, nil
}

// relabelIA5Names returns a copy of der in which every issuer or subject
// attribute value that is an IA5String holding non-ASCII UTF-8 is tagged
// UTF8String instead (one byte changes, no length), and a sentence per
// attribute; no sentence when there is none or der is not a certificate.
func relabelIA5Names(der []byte) ([]byte, []string) {
	buf := bytes.Clone(der)
	// Offsets come from capacities: every cryptobyte.String below is a
	// slice of buf, and cap(buf) - cap(s) is where s starts.
	off := func(s cryptobyte.String) int { return cap(buf) - cap(s) }
	in := cryptobyte.String(buf)
	var cert, tbs, skip cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, nil
	}
	if tbs.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) && !tbs.SkipASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, nil
	}
	if !tbs.ReadASN1(&skip, cbasn1.INTEGER) || !tbs.ReadASN1(&skip, cbasn1.SEQUENCE) {
		return nil, nil
	}
	var tags []int
	var quirks []string
	for _, which := range []string{"issuer", "validity", "subject"} {
		var name cryptobyte.String
		if !tbs.ReadASN1(&name, cbasn1.SEQUENCE) {
			return nil, nil
		}
		if which == "validity" {
			continue
		}
		for !name.Empty() {
			var rdn cryptobyte.String
			if !name.ReadASN1(&rdn, cbasn1.SET) {
				return nil, nil
			}
			for !rdn.Empty() {
				var atv cryptobyte.String
				var oid asn1.ObjectIdentifier
				if !rdn.ReadASN1(&atv, cbasn1.SEQUENCE) || !atv.ReadASN1ObjectIdentifier(&oid) {
					return nil, nil
				}
				at := off(atv)
				var tag cbasn1.Tag
				var value cryptobyte.String
				if !atv.ReadAnyASN1(&value, &tag) {
					return nil, nil
				}
				if tag == cbasn1.IA5String && !isASCII(value) && utf8.Valid(value) {
					tags = append(tags, at)
					quirks = append(quirks, fmt.Sprintf("the %s attribute %s is an IA5String holding UTF-8 text (read as UTF8String)", which, oid))
				}
			}
		}
	}
	for _, at := range tags {
		buf[at] = byte(cbasn1.UTF8String)
	}
	return buf, quirks
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// ParseCertificatesPEM parses every CERTIFICATE block in data. Other block
// types are an error, as is data holding no certificate.
func ParseCertificatesPEM(data []byte) ([]*Certificate, error) {
	var out []*Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: PEM block %q, want CERTIFICATE", ErrMalformedCertificate, b.Type)
		}
		c, err := ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no PEM CERTIFICATE block", ErrMalformedCertificate)
	}
	return out, nil
}

// EncodeCertificatePEM wraps DER certificate bytes in a PEM block.
func EncodeCertificatePEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// VerifyChain checks that leaf chains to one of roots (through any of
// intermediates) with every certificate valid at the time at, and every
// signature SM2-with-SM3 and correct. Extended key usage is not
// constrained: elicense scopes keys by its own policy, not by EKU.
func VerifyChain(leaf *Certificate, roots, intermediates []*Certificate, at time.Time) error {
	return VerifyChainFor(leaf, roots, intermediates, at, ExtKeyUsageAny)
}

// VerifyChainFor is VerifyChain for one extended key usage: every
// certificate of the chain that lists extended key usages must allow
// usage (a certificate listing none allows any, as in crypto/x509; a
// caller that requires the usage of the leaf itself checks its
// ExtKeyUsage).
func VerifyChainFor(leaf *Certificate, roots, intermediates []*Certificate, at time.Time, usage ExtKeyUsage) error {
	rp, ip := smx509.NewCertPool(), smx509.NewCertPool()
	for _, c := range roots {
		rp.AddCert(c)
	}
	for _, c := range intermediates {
		ip.AddCert(c)
	}
	_, err := leaf.Verify(smx509.VerifyOptions{
		Roots:         rp,
		Intermediates: ip,
		CurrentTime:   at,
		KeyUsages:     []ExtKeyUsage{usage},
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	return nil
}

// KeyID returns the first 8 bytes of SM3 over the DER certificate, the key
// identifier carried in JWS headers ("kid", hex) and QR tokens. Different
// certificates may share an ID in principle; verifiers try each match.
func KeyID(certDER []byte) [KeyIDSize]byte {
	h := SM3(certDER)
	var id [KeyIDSize]byte
	copy(id[:], h[:KeyIDSize])
	return id
}

// KeyIDString is KeyID in lower-case hex, as used in "kid" headers.
func KeyIDString(certDER []byte) string {
	id := KeyID(certDER)
	return hex.EncodeToString(id[:])
}

// MarshalPKIXPublicKey encodes an SM2 public key as a DER
// SubjectPublicKeyInfo.
func MarshalPKIXPublicKey(pub *ecdsa.PublicKey) ([]byte, error) {
	if !IsSM2PublicKey(pub) {
		return nil, ErrNotSM2Key
	}
	return smx509.MarshalPKIXPublicKey(pub)
}

// ParsePKIXPublicKey decodes a DER SubjectPublicKeyInfo holding an SM2 key.
func ParsePKIXPublicKey(der []byte) (*ecdsa.PublicKey, error) {
	k, err := smx509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || !IsSM2PublicKey(pub) {
		return nil, ErrNotSM2Key
	}
	return pub, nil
}
