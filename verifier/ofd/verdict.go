package ofd

// Verdict is the outcome for one signature or for the whole document.
type Verdict string

// The verdicts, most severe first (Valid last).
const (
	Malformed        Verdict = "MALFORMED"
	SignatureInvalid Verdict = "SIGNATURE_INVALID"
	DocumentModified Verdict = "DOCUMENT_MODIFIED"
	Revoked          Verdict = "REVOKED"
	Expired          Verdict = "EXPIRED"
	UntrustedMaker   Verdict = "UNTRUSTED_MAKER"
	UntrustedSigner  Verdict = "UNTRUSTED_SIGNER"
	// LicenceNotGenuine, LicenceNotValid and LicenceUnchecked are document
	// verdicts of a licence file checked with Options.Licences: it was not
	// sealed by the issuing agency or disagrees with its own QR token; the
	// licence is revoked, suspended, superseded or out of its validity; its
	// status could not be checked here.
	LicenceNotGenuine Verdict = "LICENCE_NOT_GENUINE"
	LicenceNotValid   Verdict = "LICENCE_NOT_VALID"
	LicenceUnchecked  Verdict = "LICENCE_UNCHECKED"
	// PartiallyProtected is the document verdict when every signature is
	// valid but a shown file is protected by none of them.
	PartiallyProtected Verdict = "PARTIALLY_PROTECTED"
	// NotSigned is the document verdict of a package without signatures.
	NotSigned Verdict = "NOT_SIGNED"
	Valid     Verdict = "VALID"
)

// Verdicts lists every verdict, most severe first.
var Verdicts = []Verdict{Malformed, SignatureInvalid, DocumentModified, Revoked, Expired, UntrustedMaker, UntrustedSigner, LicenceNotGenuine, LicenceNotValid, LicenceUnchecked, PartiallyProtected, NotSigned, Valid}

func (v Verdict) severity() int {
	for i, x := range Verdicts {
		if x == v {
			return i
		}
	}
	return 0
}

// OK reports whether v is Valid.
func (v Verdict) OK() bool { return v == Valid }

var messages = map[Verdict][2]string{
	Malformed:          {"The document or a signature in it cannot be read.", "文档或其中的签名无法解析。"},
	SignatureInvalid:   {"A signature does not verify: the signature data or its Signature.xml was altered.", "签名验证失败：签名数据或签名描述文件被篡改。"},
	DocumentModified:   {"The document was modified after it was signed: a protected file differs or is missing.", "文档在签名后被修改：受保护的文件被改动或缺失。"},
	Revoked:            {"The seal has been revoked.", "电子印章已被吊销。"},
	Expired:            {"A certificate or the seal was not valid at the time checked.", "证书或印章在核验时间不在有效期内。"},
	UntrustedMaker:     {"The seal maker's certificate is not trusted.", "制章人证书不可信。"},
	UntrustedSigner:    {"The signer's certificate is not trusted.", "签名人证书不可信。"},
	LicenceNotGenuine:  {"The file is not the issuing agency's: it was sealed by another party, or its metadata and its QR token disagree.", "该证照文件并非颁发机构所出：由其他机构加盖印章，或其元数据与二维码不一致。"},
	LicenceNotValid:    {"The file is unchanged, but the licence it carries is no longer valid (revoked, suspended, superseded or out of its validity).", "文件未被修改，但所载证照已失效（已吊销、已暂停、已被新版本取代或不在有效期内）。"},
	LicenceUnchecked:   {"The signatures are valid, but the licence's status could not be checked here (no synced trust data, or the file carries no QR token).", "签名有效，但本机无法核验证照状态（未同步信任数据，或文件未载二维码）。"},
	PartiallyProtected: {"Every signature is valid, but part of what the document shows is protected by none of them and may have been changed.", "签名均有效，但文档显示的部分内容不受任何签名保护，可能已被改动。"},
	NotSigned:          {"The document carries no signature.", "文档未签名。"},
	Valid:              {"Every signature is valid and the document is unchanged.", "所有签名有效，文档未被修改。"},
}

// Message returns the verdict as an English sentence.
func (v Verdict) Message() string { return messages[v][0] }

// MessageZH returns the verdict as a Chinese sentence.
func (v Verdict) MessageZH() string { return messages[v][1] }

func (v Verdict) String() string { return string(v) }
