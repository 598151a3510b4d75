package ses

import (
	"encoding/asn1"
	"fmt"
)

// Version is the format generation of a seal or signature, told apart by
// structure (not by the header's version number).
type Version int

// The two generations.
const (
	// V1 is GM/T 0031-2014: SESeal {esealInfo, signInfo}, UTCTime dates,
	// no certListType, SES_Signature {toSign, signature} with the signer
	// certificate inside TBS_Sign.
	V1 Version = 1
	// V4 is GB/T 38540-2020: SES_Seal {esealInfo, cert, signAlgID,
	// signedValue}, GeneralizedTime dates, certListType, SES_Signature
	// {toSign, cert, signatureAlgID, signature, [0] timeStamp}.
	V4 Version = 4
)

func (v Version) String() string {
	switch v {
	case V1:
		return "GM/T 0031-2014 (v1)"
	case V4:
		return "GB/T 38540-2020 (v4)"
	}
	return fmt.Sprintf("unknown version %d", int(v))
}

// Form records how an optional element was tagged, so that vendor variants
// re-encode as they came. The zero value is the form the standard gives.
type Form uint8

// The forms.
const (
	// FormStandard is the form of GB/T 38540: untagged for
	// SES_SealInfo.extDatas, [0] EXPLICIT for TBS_Sign.extDatas and for
	// SES_Signature.timeStamp.
	FormStandard Form = iota
	// FormUntagged is the element written without a tag.
	FormUntagged
	// FormExplicit is the element wrapped in [0] EXPLICIT.
	FormExplicit
	// FormImplicit is the element re-tagged [0] IMPLICIT.
	FormImplicit
)

// Seal types (印章类型) elicense writes in SES_ESPropertyInfo.type. GB/T
// 38540 leaves the values to applications; these follow the usual numbering
// of seal kinds (1 法定名称章/公章, 2 财务专用章, 3 发票专用章, 4 合同专用章,
// 5 法定代表人名章). Other values are read and kept as they are.
const (
	TypeOfficial      int64 = 1 // 公章 (法定名称章)
	TypeFinance       int64 = 2 // 财务专用章
	TypeInvoice       int64 = 3 // 发票专用章
	TypeContract      int64 = 4 // 合同专用章
	TypeLegalRepName  int64 = 5 // 法定代表人名章
	TypeOtherBusiness int64 = 99
)

// TypeName returns the Chinese name of a seal type, or "" when unknown.
func TypeName(t int64) string {
	switch t {
	case TypeOfficial:
		return "公章"
	case TypeFinance:
		return "财务专用章"
	case TypeInvoice:
		return "发票专用章"
	case TypeContract:
		return "合同专用章"
	case TypeLegalRepName:
		return "法定代表人名章"
	case TypeOtherBusiness:
		return "业务专用章"
	}
	return ""
}

// Certificate list types (certListType).
const (
	CertListCerts   int64 = 1 // certs: SEQUENCE OF OCTET STRING (DER certificates)
	CertListDigests int64 = 2 // certDigestList: SEQUENCE OF CertDigestObj
)

// Header is SES_Header {ID IA5String ("ES"), version INTEGER, Vid IA5String}.
type Header struct {
	ID      string // "ES"
	Version int64  // 4 for GB/T 38540, 1 for GM/T 0031 (as written; not trusted)
	VID     string // vendor identifier (厂商标识)
}

// CertDigest is CertDigestObj {type PrintableString, value OCTET STRING}.
type CertDigest struct {
	Type    string // digest algorithm, e.g. "SM3"
	Value   []byte
	typeTag byte // string tag as read; 0 writes PrintableString
}

// Property is SES_ESPropertyInfo. For V1 seals CertListType is 0 (the field
// does not exist) and the list is Certs.
type Property struct {
	Type         int64  // 印章类型, see TypeOfficial …
	Name         string // 印章名称 (UTF8String)
	CertListType int64  // 1 (Certs) or 2 (CertDigests); 0 in v1
	Certs        [][]byte
	CertDigests  []CertDigest
	CreateDate   Time
	ValidStart   Time
	ValidEnd     Time
}

// Picture is SES_ESPictrueInfo {type IA5String, data OCTET STRING, width
// INTEGER, height INTEGER}; width and height are in millimetres.
type Picture struct {
	Type   string // "PNG", "GIF", "JPG", "BMP", "SVG", "OFD" …
	Data   []byte
	Width  int64
	Height int64
}

// ExtData is ExtData {extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT
// FALSE, extnValue OCTET STRING}.
type ExtData struct {
	ID       OID
	Critical bool
	// CriticalEncoded writes critical even when it is FALSE (DER omits a
	// DEFAULT value; some producers write it). Set by the parser.
	CriticalEncoded bool
	Value           []byte
}

// Extensions is ExtensionDatas (SEQUENCE OF ExtData) with the way it was
// tagged.
type Extensions struct {
	Form Form
	List []ExtData
}

// SealInfo is SES_SealInfo {header, esID IA5String, property, picture,
// extDatas ExtensionDatas OPTIONAL}.
type SealInfo struct {
	Header   Header
	ESID     string // 电子印章标识符
	Property Property
	Picture  Picture
	ExtDatas *Extensions // nil when absent
}

// Seal is an electronic seal, SES_Seal (V4) or SESeal (V1):
//
//	-- GB/T 38540-2020
//	SES_Seal ::= SEQUENCE {
//	    esealInfo   SES_SealInfo,
//	    cert        OCTET STRING,        -- maker certificate
//	    signAlgID   OBJECT IDENTIFIER,
//	    signedValue BIT STRING }         -- over DER(SES_SealInfo)
//
//	-- GM/T 0031-2014
//	SESeal ::= SEQUENCE {
//	    esealInfo SES_SealInfo,
//	    signInfo  SES_SignInfo }
//	SES_SignInfo ::= SEQUENCE {
//	    cert               OCTET STRING, -- maker certificate
//	    signatureAlgorithm OBJECT IDENTIFIER,
//	    signData           BIT STRING }  -- over DER(SEQUENCE {esealInfo, cert, signatureAlgorithm})
//
// A parsed Seal keeps the exact bytes of the whole seal (Raw) and of the
// signed part (RawSealInfo). Marshal re-encodes from the fields.
type Seal struct {
	Version     Version
	Info        SealInfo
	MakerCert   []byte // DER certificate of the seal maker (制章人)
	SignAlg     asn1.ObjectIdentifier
	SignedValue []byte // DER SM2 signature (or a bare r‖s from some producers)

	Raw         []byte // the whole SES_Seal as parsed
	RawSealInfo []byte // DER(SES_SealInfo) as parsed: what the maker signed
}

// TBSSign is TBS_Sign, the signed part of an electronic signature:
//
//	-- GB/T 38540-2020
//	TBS_Sign ::= SEQUENCE {
//	    version      INTEGER,            -- 4
//	    eseal        SES_Seal,
//	    timeInfo     GeneralizedTime,
//	    dataHash     BIT STRING,         -- SM3 of the document
//	    propertyInfo IA5String,
//	    extDatas     [0] EXPLICIT ExtensionDatas OPTIONAL }
//
//	-- GM/T 0031-2014
//	TBS_Sign ::= SEQUENCE {
//	    version            INTEGER,      -- 1
//	    eseal              SESeal,
//	    timeInfo           BIT STRING,   -- a UTCTime, DER or text
//	    dataHash           BIT STRING,
//	    propertyInfo       IA5String,
//	    cert               OCTET STRING, -- signer certificate
//	    signatureAlgorithm OBJECT IDENTIFIER }
//
// For V1 the signer certificate and algorithm live in Signature.SignerCert
// and Signature.SignAlg and are written inside TBS_Sign.
type TBSSign struct {
	Version      int64
	Seal         *Seal
	TimeInfo     Time
	DataHash     []byte
	PropertyInfo string
	ExtDatas     *Extensions // V4 only; nil when absent

	dataHashOctets bool // v1 producers that write dataHash as OCTET STRING
}

// Timestamp is SES_Signature.timeStamp: a time-stamp token (RFC 3161 /
// GM/T 0033 TimeStampToken, DER) over the signature value.
type Timestamp struct {
	Form  Form
	Token []byte
}

// Signature is an electronic signature (电子签章), SES_Signature:
//
//	-- GB/T 38540-2020
//	SES_Signature ::= SEQUENCE {
//	    toSign         TBS_Sign,
//	    cert           OCTET STRING,     -- signer certificate
//	    signatureAlgID OBJECT IDENTIFIER,
//	    signature      BIT STRING,       -- over DER(TBS_Sign)
//	    timeStamp      [0] EXPLICIT BIT STRING OPTIONAL }
//
//	-- GM/T 0031-2014
//	SES_Signature ::= SEQUENCE {
//	    toSign    TBS_Sign,
//	    signature BIT STRING }
//
// A parsed Signature keeps the exact bytes of the whole signature (Raw),
// of TBS_Sign (RawTBSSign) and, in TBS.Seal, of the seal inside.
type Signature struct {
	Version    Version
	TBS        TBSSign
	SignerCert []byte // DER certificate of the signer (签章人)
	SignAlg    asn1.ObjectIdentifier
	Value      []byte     // DER SM2 signature over RawTBSSign
	Timestamp  *Timestamp // V4 only; nil when absent

	Raw        []byte // the whole SES_Signature as parsed
	RawTBSSign []byte // DER(TBS_Sign) as parsed: what the signer signed
}

// laterVersion is the header version of a later revision that keeps the
// v4 structure; it is read as v4 and reported as written.
const laterVersion = 5

// VersionNumber is the version to report for the seal: 1 for the GM/T 0031
// structure; for the v4 structure, 5 when the header says 5 (a later
// revision read as the v4 structure it has), else 4.
func (s *Seal) VersionNumber() int64 {
	if s.Version == V1 {
		return 1
	}
	if s.Info.Header.Version == laterVersion {
		return laterVersion
	}
	return 4
}

// VersionNumber is the version to report for the signature: 1 for the
// GM/T 0031 structure; for the v4 structure, 5 when TBS_Sign.version says
// 5 (read as v4), else 4.
func (sig *Signature) VersionNumber() int64 {
	if sig.Version == V1 {
		return 1
	}
	if sig.TBS.Version == laterVersion {
		return laterVersion
	}
	return 4
}

// FormatName describes the signature's format as reported to people,
// e.g. "SES_Signature GB/T 38540-2020 (v4)", naming the seal's version too
// when it differs from the signature's.
func (sig *Signature) FormatName() string {
	name := "SES_Signature " + VersionName(sig.VersionNumber())
	if n := sig.TBS.Seal.VersionNumber(); n != sig.VersionNumber() {
		name += ", seal " + VersionName(n)
	}
	return name
}

// VersionName describes a reported version number, e.g. "GB/T 38540-2020
// (v4)" or "version 5 (read as GB/T 38540-2020 v4)".
func VersionName(n int64) string {
	switch n {
	case 1:
		return V1.String()
	case 4:
		return V4.String()
	}
	return fmt.Sprintf("version %d (read as GB/T 38540-2020 v4)", n)
}
