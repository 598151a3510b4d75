package ofd

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"elicense/internal/gm"
)

// Object identifiers of GM/T 0010 and PKCS #7 / CMS.
var (
	oidGMSignedData   = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 1, 4, 2, 2}
	oidPKCS7Signed    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidSM3            = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}
	oidSM2            = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}
	oidSM2Sign        = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301, 1}
	oidSM3WithSM2     = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501}
	oidMessageDigest  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	errSignedDataForm = errors.New("not a GM/T 0010 SignedData")
)

// signedData is what verification needs of a GM/T 0010 SignedData with one
// signer.
type signedData struct {
	certs         [][]byte
	issuer        []byte // the signer's issuer Name (DER)
	serial        []byte // the signer's serial number (INTEGER contents)
	digestAlg     asn1.ObjectIdentifier
	sigAlg        asn1.ObjectIdentifier
	attrs         []byte // signed attributes re-tagged as SET, or nil
	messageDigest []byte
	signingTime   time.Time
	signature     []byte
}

func cmsErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errSignedDataForm, fmt.Sprintf(format, args...))
}

// parseSignedData reads ContentInfo {contentType, [0] EXPLICIT SignedData}.
func parseSignedData(der []byte) (*signedData, error) {
	in := cryptobyte.String(der)
	var ci, sd cryptobyte.String
	var ct asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, cmsErr("ContentInfo is not one DER SEQUENCE")
	}
	if !ci.ReadASN1ObjectIdentifier(&ct) {
		return nil, cmsErr("ContentInfo.contentType")
	}
	if !ct.Equal(oidGMSignedData) && !ct.Equal(oidPKCS7Signed) {
		return nil, cmsErr("content type %s, want %s", ct, oidGMSignedData)
	}
	var wrapped cryptobyte.String
	if !ci.ReadASN1(&wrapped, cbasn1.Tag(0).Constructed().ContextSpecific()) || !ci.Empty() ||
		!wrapped.ReadASN1(&sd, cbasn1.SEQUENCE) || !wrapped.Empty() {
		return nil, cmsErr("ContentInfo.content [0] SignedData")
	}
	out := &signedData{}
	var version int64
	var digestAlgs, encap, signerInfos cryptobyte.String
	if !sd.ReadASN1Integer(&version) || !sd.ReadASN1(&digestAlgs, cbasn1.SET) || !sd.ReadASN1(&encap, cbasn1.SEQUENCE) {
		return nil, cmsErr("SignedData version, digestAlgorithms or contentInfo")
	}
	if sd.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		var certs cryptobyte.String
		if !sd.ReadASN1(&certs, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return nil, cmsErr("SignedData.certificates")
		}
		for !certs.Empty() {
			var c cryptobyte.String
			if !certs.ReadASN1Element(&c, cbasn1.SEQUENCE) {
				return nil, cmsErr("SignedData.certificates: not a certificate")
			}
			out.certs = append(out.certs, c)
		}
	}
	if sd.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()) && !sd.SkipASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return nil, cmsErr("SignedData.crls")
	}
	if !sd.ReadASN1(&signerInfos, cbasn1.SET) || !sd.Empty() {
		return nil, cmsErr("SignedData.signerInfos")
	}
	var si cryptobyte.String
	if !signerInfos.ReadASN1(&si, cbasn1.SEQUENCE) {
		return nil, cmsErr("no SignerInfo")
	}
	if !signerInfos.Empty() {
		return nil, cmsErr("more than one SignerInfo")
	}
	if err := out.parseSignerInfo(si); err != nil {
		return nil, err
	}
	return out, nil
}

func (out *signedData) parseSignerInfo(si cryptobyte.String) error {
	var version int64
	var ias, issuer, serial cryptobyte.String
	if !si.ReadASN1Integer(&version) || !si.ReadASN1(&ias, cbasn1.SEQUENCE) ||
		!ias.ReadASN1Element(&issuer, cbasn1.SEQUENCE) || !ias.ReadASN1(&serial, cbasn1.INTEGER) || !ias.Empty() {
		return cmsErr("SignerInfo version or issuerAndSerialNumber")
	}
	out.issuer, out.serial = issuer, serial
	var err error
	if out.digestAlg, err = readAlgorithm(&si); err != nil {
		return cmsErr("SignerInfo.digestAlgorithm: %v", err)
	}
	attrTag := cbasn1.Tag(0).Constructed().ContextSpecific()
	if si.PeekASN1Tag(attrTag) {
		var full cryptobyte.String
		if !si.ReadASN1Element(&full, attrTag) {
			return cmsErr("SignerInfo.authenticatedAttributes")
		}
		// What was signed is the attributes as a SET OF: the same bytes
		// with the [0] IMPLICIT tag replaced by SET.
		out.attrs = append([]byte{byte(cbasn1.SET)}, full[1:]...)
		if err := out.parseAttributes(full); err != nil {
			return err
		}
	}
	if out.sigAlg, err = readAlgorithm(&si); err != nil {
		return cmsErr("SignerInfo.digestEncryptionAlgorithm: %v", err)
	}
	var sig cryptobyte.String
	if !si.ReadASN1(&sig, cbasn1.OCTET_STRING) {
		return cmsErr("SignerInfo.encryptedDigest")
	}
	out.signature = sig
	if si.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()) && !si.SkipASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return cmsErr("SignerInfo.unauthenticatedAttributes")
	}
	if !si.Empty() {
		return cmsErr("SignerInfo: trailing data")
	}
	return nil
}

func (out *signedData) parseAttributes(full cryptobyte.String) error {
	var attrs cryptobyte.String
	if !full.ReadASN1(&attrs, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return cmsErr("authenticatedAttributes")
	}
	seen := map[string]bool{}
	for !attrs.Empty() {
		var attr, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !attrs.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) || !attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() {
			return cmsErr("authenticatedAttributes: bad Attribute")
		}
		if seen[oid.String()] {
			return cmsErr("attribute %s appears twice", oid)
		}
		seen[oid.String()] = true
		switch {
		case oid.Equal(oidMessageDigest):
			var md cryptobyte.String
			if !values.ReadASN1(&md, cbasn1.OCTET_STRING) || !values.Empty() {
				return cmsErr("messageDigest attribute")
			}
			out.messageDigest = md
		case oid.Equal(oidSigningTime):
			var err error
			switch {
			case values.PeekASN1Tag(cbasn1.UTCTime):
				err = boolErr(values.ReadASN1UTCTime(&out.signingTime))
			case values.PeekASN1Tag(cbasn1.GeneralizedTime):
				err = boolErr(values.ReadASN1GeneralizedTime(&out.signingTime))
			default:
				err = errors.New("not a time")
			}
			if err != nil || !values.Empty() {
				return cmsErr("signingTime attribute")
			}
		}
	}
	if out.messageDigest == nil {
		return cmsErr("signed attributes without messageDigest")
	}
	return nil
}

func boolErr(ok bool) error {
	if !ok {
		return errors.New("bad value")
	}
	return nil
}

// readAlgorithm reads an AlgorithmIdentifier, whose parameters (NULL or
// absent) are ignored.
func readAlgorithm(s *cryptobyte.String) (asn1.ObjectIdentifier, error) {
	var alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
		return nil, errors.New("not an AlgorithmIdentifier")
	}
	return oid, nil
}

// signerCert finds the certificate the SignerInfo names.
func (sd *signedData) signerCert() ([]byte, *gm.Certificate, []string, error) {
	for _, der := range sd.certs {
		c, quirks, err := gm.ParseCertificateQuirks(der)
		if err != nil {
			continue
		}
		serial := c.SerialNumber.Bytes()
		if bytes.Equal(c.RawIssuer, sd.issuer) && bytes.Equal(trimSerial(sd.serial), serial) {
			return der, c, quirks, nil
		}
	}
	return nil, nil, nil, cmsErr("no certificate in the SignedData matches the signer's issuer and serial number")
}

// trimSerial drops the leading zero octets of a positive INTEGER.
func trimSerial(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

func isSM2Signature(oid asn1.ObjectIdentifier) bool {
	return oid.Equal(oidSM2Sign) || oid.Equal(oidSM3WithSM2) || oid.Equal(oidSM2)
}
