package gm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/smx509"
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
// the SM2 OID 1.2.156.10197.1.301 itself.
func ParseCertificate(der []byte) (*Certificate, error) {
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedCertificate, err)
	}
	if !IsSM2PublicKey(c.PublicKey) {
		return nil, fmt.Errorf("%w: certificate %q", ErrNotSM2Key, c.Subject.String())
	}
	return c, nil
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
		KeyUsages:     []ExtKeyUsage{ExtKeyUsageAny},
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
