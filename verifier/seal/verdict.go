package seal

import "strings"

// Verdict is the outcome of verifying an electronic signature. Every
// verdict but Valid is also an error value: the *Error that Verify returns
// wraps it, so callers test errors.Is(err, seal.DocumentModified).
type Verdict string

// The verdicts, in the order Verify checks for them.
const (
	Valid                 Verdict = "VALID"
	Malformed             Verdict = "MALFORMED"
	UnsupportedAlgorithm  Verdict = "UNSUPPORTED_ALGORITHM"
	BadSignature          Verdict = "BAD_SIGNATURE"
	SignerNotInSeal       Verdict = "SIGNER_NOT_IN_SEAL"
	BadSealSignature      Verdict = "BAD_SEAL_SIGNATURE"
	MakerUntrusted        Verdict = "MAKER_UNTRUSTED"
	SealNotYetValid       Verdict = "SEAL_NOT_YET_VALID"
	SealExpired           Verdict = "SEAL_EXPIRED"
	SignerCertNotYetValid Verdict = "SIGNER_CERT_NOT_YET_VALID"
	SignerCertExpired     Verdict = "SIGNER_CERT_EXPIRED"
	BadTimestamp          Verdict = "BAD_TIMESTAMP"
	DocumentModified      Verdict = "DOCUMENT_MODIFIED"
	SealRevoked           Verdict = "SEAL_REVOKED"
)

// Verdicts lists every verdict, Valid first, then in checking order.
var Verdicts = []Verdict{
	Valid, Malformed, UnsupportedAlgorithm, BadSignature, SignerNotInSeal, BadSealSignature,
	MakerUntrusted, SealNotYetValid, SealExpired, SignerCertNotYetValid, SignerCertExpired,
	BadTimestamp, DocumentModified, SealRevoked,
}

type sentences struct{ en, zh string }

var messages = map[Verdict]sentences{
	Valid: {"The electronic signature is valid: the seal, its maker, the signer and the document all check out.",
		"电子签章有效：印章、制章人、签章人及原文均验证通过。"},
	Malformed: {"The signature data is malformed and cannot be read as an SES_Signature.",
		"电子签章数据格式错误，无法按 SES_Signature 结构解析。"},
	UnsupportedAlgorithm: {"The signature uses an algorithm other than SM2 with SM3, which is not supported.",
		"电子签章使用了不支持的算法（仅支持 SM2/SM3）。"},
	BadSignature: {"The signer's signature does not verify: the signed data was altered or signed with another key.",
		"签章人签名值验证失败：签章数据被篡改或并非由该证书的密钥签署。"},
	SignerNotInSeal: {"The signer's certificate is not one of the certificates the seal allows to use it.",
		"签章人证书不在电子印章允许使用的证书列表中。"},
	BadSealSignature: {"The seal maker's signature on the seal does not verify: the seal was altered.",
		"电子印章的制章人签名验证失败：印章数据被篡改。"},
	MakerUntrusted: {"The seal maker's certificate is not trusted: it does not chain to a trusted root or is not valid.",
		"制章人证书不可信：未链接到受信任的根证书，或证书不在有效期内。"},
	SealNotYetValid: {"The seal was not yet valid at the signing time.",
		"签章时间早于电子印章的有效起始日期，印章尚未生效。"},
	SealExpired: {"The seal had expired at the signing time.",
		"签章时间晚于电子印章的有效终止日期，印章已过期。"},
	SignerCertNotYetValid: {"The signer's certificate was not yet valid at the signing time.",
		"签章时签章人证书尚未生效。"},
	SignerCertExpired: {"The signer's certificate had expired at the signing time.",
		"签章时签章人证书已过期。"},
	BadTimestamp: {"The time-stamp on the signature does not verify.",
		"电子签章的时间戳验证失败。"},
	DocumentModified: {"The document does not match the signature: it was modified after it was signed.",
		"原文杂凑值与签章不符：文档在签章后被修改。"},
	SealRevoked: {"The seal has been revoked.",
		"电子印章已被吊销或注销。"},
}

// Message returns the verdict as an English sentence.
func (v Verdict) Message() string {
	if m, ok := messages[v]; ok {
		return m.en
	}
	return "Unknown verdict " + string(v) + "."
}

// MessageZH returns the verdict as a Chinese sentence.
func (v Verdict) MessageZH() string {
	if m, ok := messages[v]; ok {
		return m.zh
	}
	return "未知结论 " + string(v) + "。"
}

// String returns the code, e.g. "DOCUMENT_MODIFIED".
func (v Verdict) String() string { return string(v) }

// Error returns the code and the English sentence, so that a Verdict is an
// error value (for errors.Is).
func (v Verdict) Error() string {
	return "seal: " + string(v) + ": " + strings.TrimSuffix(v.Message(), ".")
}

// Error is what Verify returns for every verdict but Valid: the verdict,
// a detail saying exactly what failed, and the cause when there is one
// (for MALFORMED, a *ses.MalformedError naming the bad element).
type Error struct {
	Verdict Verdict
	Detail  string
	Err     error
}

func (e *Error) Error() string {
	msg := "seal: " + string(e.Verdict)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the verdict and the cause, so that errors.Is matches
// both seal.Malformed and ses.ErrMalformed.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Verdict}
	}
	return []error{e.Verdict, e.Err}
}
