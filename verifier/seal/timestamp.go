package seal

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"elicense/certs/ses"
	"elicense/internal/gm"
)

// Time-stamp tokens (SES_Signature.timeStamp): an RFC 3161 TimeStampToken,
// a CMS SignedData (PKCS #7 or GM/T 0010 content type) whose content is a
// TSTInfo, with SM3 digests and an SM2 signature (GM/T 0033). The message
// imprint is SM3 over the signature value.

var (
	oidSignedData     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidSignedDataGM   = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 1, 4, 2, 2}
	oidTSTInfo        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidContentTypeAt  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSM2Sign        = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301, 1}
	oidSM2            = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}
	errTimestampShape = errors.New("time-stamp token is not a CMS SignedData TimeStampToken")
)

type timestampInfo struct {
	genTime time.Time
	trusted bool
	tsa     *gm.Certificate
}

func tsErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errTimestampShape, fmt.Sprintf(format, args...))
}

// checkTimestamp verifies token over sigValue: structure, SM3 imprint of
// sigValue, the TSA's SM2 signature (with the certificate the token
// carries, or one of roots), and, when roots are given, the TSA chain at
// genTime.
func checkTimestamp(token, sigValue []byte, roots, intermediates []*gm.Certificate) (*timestampInfo, error) {
	in := cryptobyte.String(token)
	var ci cryptobyte.String
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, tsErr("not one DER SEQUENCE")
	}
	// A whole TimeStampResp {status PKIStatusInfo, timeStampToken} is
	// accepted too: skip the status.
	if peek(ci) == byte(cbasn1.SEQUENCE) {
		var status, tok cryptobyte.String
		if !ci.ReadASN1(&status, cbasn1.SEQUENCE) || !ci.ReadASN1(&tok, cbasn1.SEQUENCE) || !ci.Empty() {
			return nil, tsErr("bad TimeStampResp")
		}
		ci = tok
	}
	var ctype asn1.ObjectIdentifier
	var sdWrap, sd cryptobyte.String
	if !ci.ReadASN1ObjectIdentifier(&ctype) || !(ctype.Equal(oidSignedData) || ctype.Equal(oidSignedDataGM)) {
		return nil, tsErr("content type is not SignedData")
	}
	if !ci.ReadASN1(&sdWrap, cbasn1.Tag(0).ContextSpecific().Constructed()) || !sdWrap.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return nil, tsErr("bad SignedData")
	}
	var version int64
	var digestAlgs, encap cryptobyte.String
	if !sd.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) || !sd.ReadASN1(&digestAlgs, cbasn1.SET) || !sd.ReadASN1(&encap, cbasn1.SEQUENCE) {
		return nil, tsErr("bad SignedData header")
	}
	var eType asn1.ObjectIdentifier
	var eWrap, eContent cryptobyte.String
	if !encap.ReadASN1ObjectIdentifier(&eType) || !eType.Equal(oidTSTInfo) {
		return nil, tsErr("encapsulated content is not a TSTInfo")
	}
	if !encap.ReadASN1(&eWrap, cbasn1.Tag(0).ContextSpecific().Constructed()) || !eWrap.ReadASN1(&eContent, cbasn1.OCTET_STRING) {
		return nil, tsErr("no TSTInfo content")
	}
	var certs []*gm.Certificate
	var certSet cryptobyte.String
	var hasCerts bool
	if !sd.ReadOptionalASN1(&certSet, &hasCerts, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return nil, tsErr("bad certificates")
	}
	for !certSet.Empty() {
		var c cryptobyte.String
		if !certSet.ReadASN1Element(&c, cbasn1.SEQUENCE) {
			return nil, tsErr("bad certificate in the token")
		}
		if cert, err := gm.ParseCertificate(c); err == nil {
			certs = append(certs, cert)
		}
	}
	var crls cryptobyte.String
	var hasCRLs bool
	if !sd.ReadOptionalASN1(&crls, &hasCRLs, cbasn1.Tag(1).ContextSpecific().Constructed()) {
		return nil, tsErr("bad crls")
	}
	var signerInfos, si cryptobyte.String
	if !sd.ReadASN1(&signerInfos, cbasn1.SET) || !signerInfos.ReadASN1(&si, cbasn1.SEQUENCE) {
		return nil, tsErr("no SignerInfo")
	}

	// TSTInfo: version, policy, messageImprint, serialNumber, genTime, …
	tst := cryptobyte.String(eContent)
	var tstBody, imprint, hashAlg cryptobyte.String
	var tstVersion int64
	var policy, imprintAlg asn1.ObjectIdentifier
	var hashed []byte
	serial := new(big.Int)
	var genText []byte
	if !tst.ReadASN1(&tstBody, cbasn1.SEQUENCE) ||
		!tstBody.ReadASN1Int64WithTag(&tstVersion, cbasn1.INTEGER) ||
		!tstBody.ReadASN1ObjectIdentifier(&policy) ||
		!tstBody.ReadASN1(&imprint, cbasn1.SEQUENCE) ||
		!imprint.ReadASN1(&hashAlg, cbasn1.SEQUENCE) ||
		!hashAlg.ReadASN1ObjectIdentifier(&imprintAlg) ||
		!imprint.ReadASN1Bytes(&hashed, cbasn1.OCTET_STRING) ||
		!tstBody.ReadASN1Integer(serial) ||
		!tstBody.ReadASN1Bytes(&genText, cbasn1.GeneralizedTime) {
		return nil, tsErr("bad TSTInfo")
	}
	genTime, err := ses.ParseGeneralizedTime(string(genText))
	if err != nil {
		return nil, tsErr("bad genTime %q", genText)
	}
	if !imprintAlg.Equal(ses.OIDSM3) {
		return nil, fmt.Errorf("%w: time-stamp imprint algorithm %s", ses.ErrUnsupportedAlgorithm, imprintAlg)
	}
	want := gm.SM3(sigValue)
	if !bytes.Equal(hashed, want[:]) {
		return nil, errors.New("the time-stamp is not over this signature value (message imprint differs)")
	}

	// SignerInfo: version, sid, digestAlgorithm, [0] signedAttrs,
	// signatureAlgorithm, signature.
	var siVersion int64
	var sidRaw cryptobyte.String
	var dAlg, sAlg cryptobyte.String
	var dAlgOID, sAlgOID asn1.ObjectIdentifier
	var signature []byte
	if !si.ReadASN1Int64WithTag(&siVersion, cbasn1.INTEGER) || len(si) == 0 {
		return nil, tsErr("bad SignerInfo")
	}
	sidTag := cbasn1.Tag(si[0])
	if !si.ReadASN1Element(&sidRaw, sidTag) ||
		!si.ReadASN1(&dAlg, cbasn1.SEQUENCE) || !dAlg.ReadASN1ObjectIdentifier(&dAlgOID) {
		return nil, tsErr("bad SignerInfo")
	}
	var attrsRaw cryptobyte.String
	hasAttrs := peek(si) == 0xa0
	if hasAttrs && !si.ReadASN1Element(&attrsRaw, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return nil, tsErr("bad signedAttrs")
	}
	if !si.ReadASN1(&sAlg, cbasn1.SEQUENCE) || !sAlg.ReadASN1ObjectIdentifier(&sAlgOID) ||
		!si.ReadASN1Bytes(&signature, cbasn1.OCTET_STRING) {
		return nil, tsErr("bad SignerInfo")
	}
	if !dAlgOID.Equal(ses.OIDSM3) {
		return nil, fmt.Errorf("%w: time-stamp digest algorithm %s", ses.ErrUnsupportedAlgorithm, dAlgOID)
	}
	if !(sAlgOID.Equal(oidSM2Sign) || sAlgOID.Equal(ses.OIDSM3WithSM2) || sAlgOID.Equal(oidSM2)) {
		return nil, fmt.Errorf("%w: time-stamp signature algorithm %s", ses.ErrUnsupportedAlgorithm, sAlgOID)
	}

	msg := []byte(eContent)
	if hasAttrs {
		if err := checkSignedAttrs(attrsRaw, eContent); err != nil {
			return nil, err
		}
		// The signature is over the attributes as a DER SET OF.
		msg = append([]byte{0x31}, attrsRaw[1:]...)
	}

	candidates := append(append([]*gm.Certificate(nil), certs...), roots...)
	var tsa *gm.Certificate
	for _, c := range candidates {
		if matchesSID(c, sidTag, sidRaw) {
			tsa = c
			break
		}
	}
	if tsa == nil {
		return nil, errors.New("the time-stamp authority's certificate is not in the token")
	}
	pub, ok := tsa.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("the time-stamp authority has no SM2 key")
	}
	if err := gm.Verify(pub, msg, signature); err != nil {
		return nil, fmt.Errorf("the time-stamp authority's signature does not verify: %w", err)
	}
	if genTime.Before(tsa.NotBefore) || genTime.After(tsa.NotAfter) {
		return nil, fmt.Errorf("time-stamp %s outside its authority's certificate validity", stamp(genTime))
	}
	info := &timestampInfo{genTime: genTime, tsa: tsa}
	if len(roots) > 0 {
		if err := gm.VerifyChain(tsa, roots, append(certs, intermediates...), genTime); err != nil {
			return nil, fmt.Errorf("time-stamp authority not trusted: %w", err)
		}
		info.trusted = true
	}
	return info, nil
}

// checkSignedAttrs requires a messageDigest attribute equal to SM3 of the
// content and, if present, a content-type attribute naming TSTInfo.
func checkSignedAttrs(raw, content []byte) error {
	in := cryptobyte.String(raw)
	var attrs cryptobyte.String
	if !in.ReadASN1(&attrs, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return tsErr("bad signedAttrs")
	}
	found := false
	for !attrs.Empty() {
		var attr, values cryptobyte.String
		var typ asn1.ObjectIdentifier
		if !attrs.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&typ) || !attr.ReadASN1(&values, cbasn1.SET) {
			return tsErr("bad signed attribute")
		}
		switch {
		case typ.Equal(oidMessageDigest):
			var d []byte
			if !values.ReadASN1Bytes(&d, cbasn1.OCTET_STRING) {
				return tsErr("bad messageDigest attribute")
			}
			h := gm.SM3(content)
			if !bytes.Equal(d, h[:]) {
				return errors.New("the time-stamp's messageDigest does not match its TSTInfo")
			}
			found = true
		case typ.Equal(oidContentTypeAt):
			var ct asn1.ObjectIdentifier
			if !values.ReadASN1ObjectIdentifier(&ct) || !ct.Equal(oidTSTInfo) {
				return errors.New("the time-stamp's content-type attribute is not TSTInfo")
			}
		}
	}
	if !found {
		return errors.New("the time-stamp has signed attributes but no messageDigest")
	}
	return nil
}

// matchesSID reports whether c is the certificate a SignerIdentifier names:
// IssuerAndSerialNumber (SEQUENCE) or [0] SubjectKeyIdentifier.
func matchesSID(c *gm.Certificate, tag cbasn1.Tag, raw []byte) bool {
	in := cryptobyte.String(raw)
	switch tag {
	case cbasn1.SEQUENCE:
		var body, issuer cryptobyte.String
		serial := new(big.Int)
		if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1Element(&issuer, cbasn1.SEQUENCE) || !body.ReadASN1Integer(serial) {
			return false
		}
		return bytes.Equal(issuer, c.RawIssuer) && c.SerialNumber != nil && serial.Cmp(c.SerialNumber) == 0
	case cbasn1.Tag(0).ContextSpecific():
		var ski cryptobyte.String
		if !in.ReadASN1(&ski, tag) {
			return false
		}
		return len(c.SubjectKeyId) > 0 && bytes.Equal(ski, c.SubjectKeyId)
	}
	return false
}

func peek(s cryptobyte.String) byte {
	if len(s) == 0 {
		return 0
	}
	return s[0]
}
