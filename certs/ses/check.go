package ses

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"elicense/internal/gm"
)

// SignedForm says which bytes a seal maker signed.
type SignedForm uint8

// The forms a maker signature is found over.
const (
	// SignedSealInfo is DER(SES_SealInfo), the form of GB/T 38540 v4.
	SignedSealInfo SignedForm = iota + 1
	// SignedV1Form is DER(SEQUENCE {SES_SealInfo, cert OCTET STRING,
	// signatureAlgorithm OBJECT IDENTIFIER}), the form of GM/T 0031 v1.
	SignedV1Form
)

func (f SignedForm) String() string {
	switch f {
	case SignedSealInfo:
		return "DER(SES_SealInfo)"
	case SignedV1Form:
		return "DER(SEQUENCE{SES_SealInfo, cert, signatureAlgorithm})"
	}
	return "unknown"
}

// SignedMessage returns the bytes of the given form, built from the parsed
// SES_SealInfo bytes (RawSealInfo) when there are any.
func (s *Seal) SignedMessage(form SignedForm) ([]byte, error) {
	info := s.RawSealInfo
	if info == nil {
		var err error
		if info, err = s.Info.Marshal(); err != nil {
			return nil, err
		}
	}
	switch form {
	case SignedSealInfo:
		return info, nil
	case SignedV1Form:
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(info)
			addOctets(b, s.MakerCert)
			addOID(b, s.SignAlg)
		})
		return b.Bytes()
	}
	return nil, wrapf(ErrInvalidInput, "unknown signed form %d", form)
}

// MakerCertificate parses the maker certificate (errors.Is
// ErrBadCertificate when it is not an SM2 X.509 certificate).
func (s *Seal) MakerCertificate() (*gm.Certificate, error) {
	return parseCert(s.MakerCert, "maker")
}

// SignerCertificate parses the signer certificate (errors.Is
// ErrBadCertificate when it is not an SM2 X.509 certificate).
func (sig *Signature) SignerCertificate() (*gm.Certificate, error) {
	return parseCert(sig.SignerCert, "signer")
}

func parseCert(der []byte, who string) (*gm.Certificate, error) {
	c, err := gm.ParseCertificate(der)
	if err != nil {
		return nil, wrapf(ErrBadCertificate, "%s certificate: %v", who, err)
	}
	return c, nil
}

// CheckSignature verifies the maker's signature with maker (the parsed
// MakerCert, or any certificate the caller chooses). The standard form of
// the seal's version is tried first, then the other one, which some
// producers use (a v4 seal signed in the v1 way, and the reverse); the
// form that verified is returned. Errors wrap ErrUnsupportedAlgorithm,
// ErrBadSignature or ErrMalformed.
func (s *Seal) CheckSignature(maker *gm.Certificate) (SignedForm, error) {
	if !IsSM2WithSM3(s.SignAlg) {
		return 0, wrapf(ErrUnsupportedAlgorithm, "seal signature algorithm %s", s.SignAlg)
	}
	pub, ok := maker.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return 0, wrapf(ErrBadCertificate, "maker certificate has no SM2 key")
	}
	der, err := signatureDER(s.SignedValue)
	if err != nil {
		return 0, wrapf(ErrBadSignature, "seal signature: %v", err)
	}
	forms := []SignedForm{SignedSealInfo, SignedV1Form}
	if s.Version == V1 {
		forms[0], forms[1] = forms[1], forms[0]
	}
	for _, f := range forms {
		msg, err := s.SignedMessage(f)
		if err != nil {
			return 0, err
		}
		if gm.Verify(pub, msg, der) == nil {
			return f, nil
		}
	}
	return 0, wrapf(ErrBadSignature, "seal signature does not verify under the maker certificate")
}

// CheckSignature verifies the signature over TBS_Sign (the parsed bytes,
// RawTBSSign, or the encoding of TBS when built in memory) with signer
// (the parsed SignerCert, or any certificate the caller chooses). Errors
// wrap ErrUnsupportedAlgorithm or ErrBadSignature.
func (sig *Signature) CheckSignature(signer *gm.Certificate) error {
	if !IsSM2WithSM3(sig.SignAlg) {
		return wrapf(ErrUnsupportedAlgorithm, "signature algorithm %s", sig.SignAlg)
	}
	pub, ok := signer.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return wrapf(ErrBadCertificate, "signer certificate has no SM2 key")
	}
	der, err := signatureDER(sig.Value)
	if err != nil {
		return wrapf(ErrBadSignature, "%v", err)
	}
	tbs := sig.RawTBSSign
	if tbs == nil {
		if tbs, err = sig.MarshalTBS(); err != nil {
			return err
		}
	}
	if err := gm.Verify(pub, tbs, der); err != nil {
		return wrapf(ErrBadSignature, "signature over TBS_Sign does not verify under the signer certificate")
	}
	return nil
}

// signatureDER returns an SM2 signature value as DER. Most producers write
// DER in the BIT STRING; some write the bare 64-byte r‖s, accepted too.
func signatureDER(v []byte) ([]byte, error) {
	if _, err := gm.DERToRS(v); err == nil {
		return v, nil
	}
	if len(v) == gm.SignatureSize {
		return gm.RSToDER(v)
	}
	return nil, errors.New("signature value is neither DER nor a 64-byte r‖s")
}

// HasSigner reports whether the seal's certList names the certificate
// certDER: the same DER certificate (certListType 1, and v1), or an SM3
// digest of it (certListType 2, digest type "SM3" or its OID). If the list
// holds digests of other algorithms only and none matches, the error wraps
// ErrUnsupportedAlgorithm.
func (s *Seal) HasSigner(certDER []byte) (bool, error) {
	p := &s.Info.Property
	if p.CertListType != CertListDigests {
		for _, c := range p.Certs {
			if bytes.Equal(c, certDER) {
				return true, nil
			}
		}
		return false, nil
	}
	var sum []byte
	unsupported := ""
	for _, d := range p.CertDigests {
		if !IsSM3Name(d.Type) {
			unsupported = d.Type
			continue
		}
		if sum == nil {
			h := gm.SM3(certDER)
			sum = h[:]
		}
		if bytes.Equal(d.Value, sum) {
			return true, nil
		}
	}
	if unsupported != "" {
		return false, wrapf(ErrUnsupportedAlgorithm, "certificate digest type %q", unsupported)
	}
	return false, nil
}

// IsSM3Name reports whether a CertDigestObj type names SM3 ("SM3" in any
// case, or 1.2.156.10197.1.401).
func IsSM3Name(t string) bool {
	return strings.EqualFold(t, "SM3") || t == OIDSM3.String()
}

// DigestMatches reports whether the signature's dataHash is the SM3 digest
// of doc.
func (sig *Signature) DigestMatches(doc []byte) bool {
	h := gm.SM3(doc)
	return bytes.Equal(sig.TBS.DataHash, h[:])
}
