package tsp

import (
	"encoding/asn1"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"elicense/certs/ses"
)

// Object identifiers of RFC 5652, RFC 3161 and GM/T 0010.
var (
	// OIDSignedData is PKCS #7 / CMS id-signedData.
	OIDSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	// OIDSignedDataGM is GM/T 0010's signedData content type.
	OIDSignedDataGM = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 1, 4, 2, 2}
	// OIDTSTInfo is id-ct-TSTInfo, the content type of a TSTInfo.
	OIDTSTInfo = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	// OIDContentType is the content-type signed attribute.
	OIDContentType = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	// OIDMessageDigest is the message-digest signed attribute.
	OIDMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
)

// Token is a parsed TimeStampToken. Its byte slices alias the input.
type Token struct {
	// ContentType is the ContentInfo's type: OIDSignedData or
	// OIDSignedDataGM.
	ContentType asn1.ObjectIdentifier
	// Version is SignedData.version.
	Version int64
	// RawTSTInfo is the encapsulated content, the DER TSTInfo: the
	// messageDigest attribute is a digest of it, and the signature is over
	// it when there are no signed attributes.
	RawTSTInfo []byte
	// Info is RawTSTInfo decoded.
	Info TSTInfo
	// Certificates holds the DER of each certificate in
	// SignedData.certificates, unparsed and in order.
	Certificates [][]byte
	// Signer is the first SignerInfo.
	Signer SignerInfo
}

// TSTInfo holds the fields of RFC 3161 §2.4.2's TSTInfo up to genTime.
type TSTInfo struct {
	Version int64
	Policy  asn1.ObjectIdentifier
	// HashAlgorithm and HashedMessage are the messageImprint: the digest of
	// the time-stamped data, under that algorithm.
	HashAlgorithm asn1.ObjectIdentifier
	HashedMessage []byte
	SerialNumber  *big.Int
	// GenTime is read as certs/ses reads GeneralizedTime: with a fraction
	// and a Z or ±HHMM zone, or none (China Standard Time).
	GenTime time.Time
}

// SignerInfo is RFC 5652 §5.3's SignerInfo, without unsignedAttrs.
type SignerInfo struct {
	Version         int64
	SID             SignerIdentifier
	DigestAlgorithm asn1.ObjectIdentifier
	// RawSignedAttrs is the DER of signedAttrs as it came, its [0] tag
	// included; nil when there are none.
	RawSignedAttrs []byte
	// SignedAttrs is RawSignedAttrs decoded (non-nil, possibly empty, when
	// RawSignedAttrs is present).
	SignedAttrs        []Attribute
	SignatureAlgorithm asn1.ObjectIdentifier
	Signature          []byte
}

// SignerIdentifier names the signer's certificate: by issuer and serial
// number (Issuer and SerialNumber set) or by subject key identifier
// (SubjectKeyID set, Issuer nil).
type SignerIdentifier struct {
	Issuer       []byte // DER Name, as in the certificate's RawIssuer
	SerialNumber *big.Int
	SubjectKeyID []byte
}

// Attribute is one signed attribute.
type Attribute struct {
	Type   asn1.ObjectIdentifier
	Values [][]byte // the DER of each value of attrValues
}

// SignedMessage returns the bytes the signature is over (RFC 5652 §5.4):
// the signed attributes as a DER SET OF when there are any, else the
// TSTInfo.
func (t *Token) SignedMessage() []byte {
	if t.Signer.RawSignedAttrs == nil {
		return t.RawTSTInfo
	}
	return append([]byte{0x31}, t.Signer.RawSignedAttrs[1:]...)
}

var (
	tagContext0     = cbasn1.Tag(0).ContextSpecific().Constructed()
	tagContext1     = cbasn1.Tag(1).ContextSpecific().Constructed()
	tagSubjectKeyID = cbasn1.Tag(0).ContextSpecific()
)

// Parse reads a DER TimeStampToken (ContentInfo), or a TimeStampResp
// {status, timeStampToken}, whose status it skips. It checks structure
// only: see the package documentation for what it leaves to the caller.
func Parse(der []byte) (*Token, error) {
	in := cryptobyte.String(der)
	var ci cryptobyte.String
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, malformed("TimeStampToken", "not one DER SEQUENCE")
	}
	if peek(ci) == byte(cbasn1.SEQUENCE) {
		var status, tok cryptobyte.String
		if !ci.ReadASN1(&status, cbasn1.SEQUENCE) || !ci.ReadASN1(&tok, cbasn1.SEQUENCE) || !ci.Empty() {
			return nil, malformed("TimeStampResp", "want SEQUENCE {status PKIStatusInfo, timeStampToken}")
		}
		ci = tok
	}
	t := new(Token)
	if !ci.ReadASN1ObjectIdentifier(&t.ContentType) || !(t.ContentType.Equal(OIDSignedData) || t.ContentType.Equal(OIDSignedDataGM)) {
		return nil, malformed("TimeStampToken.contentType", "not SignedData")
	}
	var wrap, sd cryptobyte.String
	if !ci.ReadASN1(&wrap, tagContext0) || !wrap.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return nil, malformed("TimeStampToken.content", "want [0] EXPLICIT SignedData")
	}
	si, err := t.readSignedData(sd)
	if err != nil {
		return nil, err
	}
	if t.Info, err = parseTSTInfo(t.RawTSTInfo); err != nil {
		return nil, err
	}
	if t.Signer, err = parseSignerInfo(si); err != nil {
		return nil, err
	}
	return t, nil
}

// readSignedData reads SignedData into t, except the SignerInfo it
// returns.
func (t *Token) readSignedData(sd cryptobyte.String) (cryptobyte.String, error) {
	var digestAlgs, encap cryptobyte.String
	if !sd.ReadASN1Int64WithTag(&t.Version, cbasn1.INTEGER) || !sd.ReadASN1(&digestAlgs, cbasn1.SET) || !sd.ReadASN1(&encap, cbasn1.SEQUENCE) {
		return nil, malformed("SignedData", "want version, digestAlgorithms, encapContentInfo")
	}
	var eType asn1.ObjectIdentifier
	if !encap.ReadASN1ObjectIdentifier(&eType) || !eType.Equal(OIDTSTInfo) {
		return nil, malformed("SignedData.encapContentInfo.eContentType", "not TSTInfo")
	}
	var eWrap cryptobyte.String
	if !encap.ReadASN1(&eWrap, tagContext0) || !eWrap.ReadASN1Bytes(&t.RawTSTInfo, cbasn1.OCTET_STRING) {
		return nil, malformed("SignedData.encapContentInfo.eContent", "want [0] EXPLICIT OCTET STRING")
	}
	var certSet, crls cryptobyte.String
	if !sd.ReadOptionalASN1(&certSet, nil, tagContext0) {
		return nil, malformed("SignedData.certificates", "bad [0] IMPLICIT SET")
	}
	for !certSet.Empty() {
		var c cryptobyte.String
		if !certSet.ReadASN1Element(&c, cbasn1.SEQUENCE) {
			return nil, malformed("SignedData.certificates", "certificate %d is not a SEQUENCE", len(t.Certificates))
		}
		t.Certificates = append(t.Certificates, c)
	}
	if !sd.ReadOptionalASN1(&crls, nil, tagContext1) {
		return nil, malformed("SignedData.crls", "bad [1] IMPLICIT SET")
	}
	var signerInfos, si cryptobyte.String
	if !sd.ReadASN1(&signerInfos, cbasn1.SET) || !signerInfos.ReadASN1(&si, cbasn1.SEQUENCE) {
		return nil, malformed("SignedData.signerInfos", "no SignerInfo")
	}
	return si, nil
}

// parseTSTInfo reads TSTInfo up to genTime.
func parseTSTInfo(der []byte) (TSTInfo, error) {
	var info TSTInfo
	in := cryptobyte.String(der)
	var body, imprint, hashAlg cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) {
		return info, malformed("TSTInfo", "not a SEQUENCE")
	}
	if !body.ReadASN1Int64WithTag(&info.Version, cbasn1.INTEGER) {
		return info, malformed("TSTInfo.version", "want INTEGER")
	}
	if !body.ReadASN1ObjectIdentifier(&info.Policy) {
		return info, malformed("TSTInfo.policy", "want OBJECT IDENTIFIER")
	}
	if !body.ReadASN1(&imprint, cbasn1.SEQUENCE) ||
		!imprint.ReadASN1(&hashAlg, cbasn1.SEQUENCE) || !hashAlg.ReadASN1ObjectIdentifier(&info.HashAlgorithm) ||
		!imprint.ReadASN1Bytes(&info.HashedMessage, cbasn1.OCTET_STRING) {
		return info, malformed("TSTInfo.messageImprint", "want SEQUENCE {hashAlgorithm, hashedMessage}")
	}
	info.SerialNumber = new(big.Int)
	if !body.ReadASN1Integer(info.SerialNumber) {
		return info, malformed("TSTInfo.serialNumber", "want INTEGER")
	}
	var gen []byte
	if !body.ReadASN1Bytes(&gen, cbasn1.GeneralizedTime) {
		return info, malformed("TSTInfo.genTime", "want GeneralizedTime")
	}
	t, err := ses.ParseGeneralizedTime(string(gen))
	if err != nil {
		return info, malformed("TSTInfo.genTime", "%q: not a GeneralizedTime", gen)
	}
	info.GenTime = t
	return info, nil
}

// parseSignerInfo reads SignerInfo up to the signature.
func parseSignerInfo(si cryptobyte.String) (SignerInfo, error) {
	var s SignerInfo
	if !si.ReadASN1Int64WithTag(&s.Version, cbasn1.INTEGER) {
		return s, malformed("SignerInfo.version", "want INTEGER")
	}
	var sid cryptobyte.String
	sidTag := cbasn1.Tag(peek(si))
	if len(si) == 0 || !si.ReadASN1Element(&sid, sidTag) {
		return s, malformed("SignerInfo.sid", "missing or bad")
	}
	var dAlg, sAlg cryptobyte.String
	if !si.ReadASN1(&dAlg, cbasn1.SEQUENCE) || !dAlg.ReadASN1ObjectIdentifier(&s.DigestAlgorithm) {
		return s, malformed("SignerInfo.digestAlgorithm", "want AlgorithmIdentifier")
	}
	if peek(si) == byte(tagContext0) {
		var raw cryptobyte.String
		if !si.ReadASN1Element(&raw, tagContext0) {
			return s, malformed("SignerInfo.signedAttrs", "bad [0] IMPLICIT SET")
		}
		s.RawSignedAttrs = raw
	}
	if !si.ReadASN1(&sAlg, cbasn1.SEQUENCE) || !sAlg.ReadASN1ObjectIdentifier(&s.SignatureAlgorithm) {
		return s, malformed("SignerInfo.signatureAlgorithm", "want AlgorithmIdentifier")
	}
	if !si.ReadASN1Bytes(&s.Signature, cbasn1.OCTET_STRING) {
		return s, malformed("SignerInfo.signature", "want OCTET STRING")
	}
	var err error
	if s.SID, err = parseSID(sidTag, sid); err != nil {
		return s, err
	}
	if s.RawSignedAttrs != nil {
		s.SignedAttrs, err = parseAttributes(s.RawSignedAttrs)
	}
	return s, err
}

// parseSID reads a SignerIdentifier: IssuerAndSerialNumber or
// [0] SubjectKeyIdentifier.
func parseSID(tag cbasn1.Tag, in cryptobyte.String) (SignerIdentifier, error) {
	var id SignerIdentifier
	switch tag {
	case cbasn1.SEQUENCE:
		var body, issuer cryptobyte.String
		id.SerialNumber = new(big.Int)
		if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1Element(&issuer, cbasn1.SEQUENCE) || !body.ReadASN1Integer(id.SerialNumber) {
			return id, malformed("SignerInfo.sid", "bad issuerAndSerialNumber")
		}
		id.Issuer = issuer
	case tagSubjectKeyID:
		var ski cryptobyte.String
		if !in.ReadASN1(&ski, tagSubjectKeyID) {
			return id, malformed("SignerInfo.sid", "bad subjectKeyIdentifier")
		}
		id.SubjectKeyID = ski
	default:
		return id, malformed("SignerInfo.sid", "tag 0x%02x is neither issuerAndSerialNumber nor [0] subjectKeyIdentifier", uint8(tag))
	}
	return id, nil
}

// parseAttributes reads signedAttrs, [0] IMPLICIT SET OF Attribute.
func parseAttributes(raw []byte) ([]Attribute, error) {
	in := cryptobyte.String(raw)
	var attrs cryptobyte.String
	if !in.ReadASN1(&attrs, tagContext0) {
		return nil, malformed("SignerInfo.signedAttrs", "bad [0] IMPLICIT SET")
	}
	list := []Attribute{}
	for !attrs.Empty() {
		var attr, values cryptobyte.String
		var a Attribute
		if !attrs.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&a.Type) || !attr.ReadASN1(&values, cbasn1.SET) {
			return nil, malformed("SignerInfo.signedAttrs", "attribute %d: want SEQUENCE {attrType, attrValues SET}", len(list))
		}
		for !values.Empty() {
			var v cryptobyte.String
			if !values.ReadAnyASN1Element(&v, nil) {
				return nil, malformed("SignerInfo.signedAttrs", "attribute %s: bad value", a.Type)
			}
			a.Values = append(a.Values, v)
		}
		list = append(list, a)
	}
	return list, nil
}

func peek(s cryptobyte.String) byte {
	if len(s) == 0 {
		return 0
	}
	return s[0]
}
