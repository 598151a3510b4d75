package seal

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"elicense/certs/ses"
	"elicense/certs/tsp"
	"elicense/internal/gm"
)

// Time-stamp tokens (SES_Signature.timeStamp): an RFC 3161 TimeStampToken
// that certs/tsp parses, with SM3 digests and an SM2 signature (GM/T
// 0033). The message imprint is SM3 over the signature value.

var (
	oidSM2Sign = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301, 1}
	oidSM2     = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}
)

type timestampInfo struct {
	genTime time.Time
	trusted bool
	// chainErr is why a time-stamp checked against roots is not trusted:
	// its authority does not chain to any of them at genTime.
	chainErr error
	tsa      *gm.Certificate
}

// checkTimestamp verifies token over sigValue: structure, SM3 imprint of
// sigValue, the TSA's SM2 signature (with the certificate the token
// carries, or one of roots), genTime within the TSA certificate's
// validity; any failure there is an error. When roots are given, the TSA
// chain at genTime decides only whether the time-stamp is trusted
// (SEAL-16 item 5): an authority the verifier does not know proves
// nothing about the time, but nothing against the signature either, so
// it is reported as untrusted (chainErr), exactly as with no roots.
func checkTimestamp(token, sigValue []byte, roots, intermediates []*gm.Certificate) (*timestampInfo, error) {
	tok, err := tsp.Parse(token)
	if err != nil {
		return nil, fmt.Errorf("time-stamp token: %w", err)
	}
	info := &tok.Info
	if !info.HashAlgorithm.Equal(ses.OIDSM3) {
		return nil, fmt.Errorf("%w: time-stamp imprint algorithm %s", ses.ErrUnsupportedAlgorithm, info.HashAlgorithm)
	}
	want := gm.SM3(sigValue)
	if !bytes.Equal(info.HashedMessage, want[:]) {
		return nil, errors.New("the time-stamp is not over this signature value (message imprint differs)")
	}
	si := &tok.Signer
	if !si.DigestAlgorithm.Equal(ses.OIDSM3) {
		return nil, fmt.Errorf("%w: time-stamp digest algorithm %s", ses.ErrUnsupportedAlgorithm, si.DigestAlgorithm)
	}
	if a := si.SignatureAlgorithm; !(a.Equal(oidSM2Sign) || a.Equal(ses.OIDSM3WithSM2) || a.Equal(oidSM2)) {
		return nil, fmt.Errorf("%w: time-stamp signature algorithm %s", ses.ErrUnsupportedAlgorithm, a)
	}
	if si.RawSignedAttrs != nil {
		if err := checkSignedAttrs(si.SignedAttrs, tok.RawTSTInfo); err != nil {
			return nil, err
		}
	}
	tsa, certs, err := timestampSigner(tok, roots)
	if err != nil {
		return nil, err
	}
	if err := gm.Verify(tsa.PublicKey.(*ecdsa.PublicKey), tok.SignedMessage(), si.Signature); err != nil {
		return nil, fmt.Errorf("the time-stamp authority's signature does not verify: %w", err)
	}
	if info.GenTime.Before(tsa.NotBefore) || info.GenTime.After(tsa.NotAfter) {
		return nil, fmt.Errorf("time-stamp %s outside its authority's certificate validity", stamp(info.GenTime))
	}
	ts := &timestampInfo{genTime: info.GenTime, tsa: tsa}
	if len(roots) > 0 {
		ts.chainErr = gm.VerifyChainFor(tsa, roots, append(certs, intermediates...), info.GenTime, gm.ExtKeyUsageTimeStamping)
		if ts.chainErr == nil {
			ts.chainErr = timeStampingOnly(tsa)
		}
		ts.trusted = ts.chainErr == nil
	}
	return ts, nil
}

// errNotTimeStamping is why a TSA certificate under a pinned root is
// not trusted when its extended key usage is wrong.
var errNotTimeStamping = errors.New("its certificate is not a time-stamping one (extended key usage id-kp-timeStamping alone, RFC 3161 §2.3)")

// timeStampingOnly refuses to trust a time-stamp authority certificate
// whose extended key usage is not id-kp-timeStamping alone (RFC 3161
// §2.3): any other certificate under a TSA root — a seal signer's, whose
// holder could back-date a time-stamp of its own signature past the
// seal's revocation — cannot vouch for a time. (RFC 3161 also makes the
// extension critical; authorities that mark it otherwise are accepted.)
func timeStampingOnly(c *gm.Certificate) error {
	if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != gm.ExtKeyUsageTimeStamping || len(c.UnknownExtKeyUsage) != 0 {
		return fmt.Errorf("%w: %w", gm.ErrUntrusted, errNotTimeStamping)
	}
	return nil
}

// timestampSigner returns the certificate the SignerInfo names, among the
// token's certificates (those that parse) and roots, and the token's
// certificates. The certificate has an SM2 key.
func timestampSigner(tok *tsp.Token, roots []*gm.Certificate) (*gm.Certificate, []*gm.Certificate, error) {
	var certs []*gm.Certificate
	for _, der := range tok.Certificates {
		if c, err := gm.ParseCertificate(der); err == nil {
			certs = append(certs, c)
		}
	}
	candidates := append(append([]*gm.Certificate(nil), certs...), roots...)
	for _, c := range candidates {
		if !matchesSID(c, tok.Signer.SID) {
			continue
		}
		if _, ok := c.PublicKey.(*ecdsa.PublicKey); !ok {
			return nil, nil, errors.New("the time-stamp authority has no SM2 key")
		}
		return c, certs, nil
	}
	return nil, nil, errors.New("the time-stamp authority's certificate is not in the token")
}

// checkSignedAttrs requires a messageDigest attribute equal to SM3 of the
// content and, if present, a content-type attribute naming TSTInfo.
func checkSignedAttrs(attrs []tsp.Attribute, content []byte) error {
	found := false
	for _, a := range attrs {
		var first cryptobyte.String
		if len(a.Values) > 0 {
			first = a.Values[0]
		}
		switch {
		case a.Type.Equal(tsp.OIDMessageDigest):
			var d []byte
			if !first.ReadASN1Bytes(&d, cbasn1.OCTET_STRING) {
				return errors.New("the time-stamp's messageDigest attribute is not an OCTET STRING")
			}
			h := gm.SM3(content)
			if !bytes.Equal(d, h[:]) {
				return errors.New("the time-stamp's messageDigest does not match its TSTInfo")
			}
			found = true
		case a.Type.Equal(tsp.OIDContentType):
			var ct asn1.ObjectIdentifier
			if !first.ReadASN1ObjectIdentifier(&ct) || !ct.Equal(tsp.OIDTSTInfo) {
				return errors.New("the time-stamp's content-type attribute is not TSTInfo")
			}
		}
	}
	if !found {
		return errors.New("the time-stamp has signed attributes but no messageDigest")
	}
	return nil
}

// matchesSID reports whether c is the certificate a SignerIdentifier
// names.
func matchesSID(c *gm.Certificate, id tsp.SignerIdentifier) bool {
	if id.Issuer != nil {
		return bytes.Equal(id.Issuer, c.RawIssuer) && c.SerialNumber != nil && id.SerialNumber.Cmp(c.SerialNumber) == 0
	}
	return len(c.SubjectKeyId) > 0 && bytes.Equal(id.SubjectKeyID, c.SubjectKeyId)
}
