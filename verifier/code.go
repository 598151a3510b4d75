package verifier

// Code is the machine-readable verdict. Its string form is stable: other
// tools read it as the first word of elicense-verify's output.
type Code string

// The verdicts. Only VALID and VALID_STATIC accept the licence.
const (
	Valid                    Code = "VALID"                        // holder-bound presentation, all checks passed
	ValidStatic              Code = "VALID_STATIC"                 // unbound (paper) QR: genuine, but check the holder's identity
	Revoked                  Code = "REVOKED"                      // status entry 1
	Suspended                Code = "SUSPENDED"                    // status entry 2
	Superseded               Code = "SUPERSEDED"                   // status entry 3: a newer version replaces it
	Expired                  Code = "EXPIRED"                      // past its validity
	NotYetValid              Code = "NOT_YET_VALID"                // before its validity
	UnknownIssuer            Code = "UNKNOWN_ISSUER"               // no key with that ID in the trust bundle
	KeyCompromised           Code = "KEY_COMPROMISED"              // signed with a key marked compromised
	KeyRetired               Code = "KEY_RETIRED"                  // signed (or claims to be) after its key was retired
	ClassNotAllowedForIssuer Code = "CLASS_NOT_ALLOWED_FOR_ISSUER" // the agency may not issue this class
	BadSignature             Code = "BAD_SIGNATURE"                // issuer signature does not verify
	BadDisclosure            Code = "BAD_DISCLOSURE"               // a disclosed field does not match the signed commitment
	HolderBindingFailed      Code = "HOLDER_BINDING_FAILED"        // device signature missing, wrong or superfluous
	PresentationExpired      Code = "PRESENTATION_EXPIRED"         // presentation too old or from the future
	Replayed                 Code = "REPLAYED"                     // this exact presentation was already shown
	StatusStale              Code = "STATUS_STALE"                 // status data older than the class allows (fail-closed class)
	StatusUnavailable        Code = "STATUS_UNAVAILABLE"           // no status data held for the licence's list or index
	Malformed                Code = "MALFORMED"                    // not a well-formed elicense QR token
	UnsupportedVersion       Code = "UNSUPPORTED_VERSION"          // another format version (EL2: …)
	NoTrust                  Code = "NO_TRUST"                     // the counter holds no trust bundle
)

// Codes lists every verdict code.
var Codes = []Code{Valid, ValidStatic, Revoked, Suspended, Superseded, Expired, NotYetValid, UnknownIssuer,
	KeyCompromised, KeyRetired, ClassNotAllowedForIssuer, BadSignature, BadDisclosure, HolderBindingFailed,
	PresentationExpired, Replayed, StatusStale, StatusUnavailable, Malformed, UnsupportedVersion, NoTrust}

// OK reports whether the code accepts the licence.
func (c Code) OK() bool { return c == Valid || c == ValidStatic }

// Colour is the counter page's colour for the code: green, amber or red.
func (c Code) Colour() string {
	switch c {
	case Valid:
		return "green"
	case ValidStatic:
		return "amber"
	default:
		return "red"
	}
}

type messages struct{ zh, en string }

// headlines are the short Chinese verdicts a clerk reads at a glance.
var headlines = map[Code]string{
	Valid: "有效", ValidStatic: "有效（静态码）", Revoked: "已吊销或注销", Suspended: "已暂扣", Superseded: "已被新版本取代",
	Expired: "已过有效期", NotYetValid: "尚未生效", UnknownIssuer: "签发机构未知", KeyCompromised: "签发密钥已泄露",
	KeyRetired: "签发密钥已停用", ClassNotAllowedForIssuer: "机构无权签发", BadSignature: "签名无效",
	BadDisclosure: "信息项被篡改", HolderBindingFailed: "非本人设备出示", PresentationExpired: "二维码已过期",
	Replayed: "二维码已使用过", StatusStale: "状态数据过旧", StatusUnavailable: "无状态数据", Malformed: "无法识别",
	UnsupportedVersion: "版本不支持", NoTrust: "未配置信任数据",
}

// Headline returns the short Chinese verdict shown as the page's headline
// (the code itself is a small label beside it).
func (c Code) Headline() string { return headlines[c] }

var text = map[Code]messages{
	Valid:                    {"有效：证照真实有效，持证人设备签名已核验。", "Valid: the licence is genuine and the holder's device signature checks."},
	ValidStatic:              {"证照真实有效（静态二维码）：请核对持证人身份证件。", "Valid static QR: the licence is genuine; check the holder's identity document."},
	Revoked:                  {"证照已被吊销或注销，不予认可。", "Revoked: the licence has been revoked or cancelled."},
	Suspended:                {"证照已被暂停使用，不予认可。", "Suspended: the licence is suspended."},
	Superseded:               {"证照已被新版本取代，请出示最新版本。", "Superseded: a newer version replaces this licence; ask for the current one."},
	Expired:                  {"证照已过有效期。", "Expired: the licence is past its validity."},
	NotYetValid:              {"证照尚未生效。", "Not yet valid: the licence's validity has not begun."},
	UnknownIssuer:            {"签发机构或密钥未知，不予认可。", "Unknown issuer: no trusted key with this ID."},
	KeyCompromised:           {"签发密钥已被标记为泄露，不予认可。", "Key compromised: the issuing key is marked compromised."},
	KeyRetired:               {"签发密钥在签发时已停用，不予认可。", "Key retired: the token claims a signing time after its key was retired."},
	ClassNotAllowedForIssuer: {"该机构无权签发此类证照。", "Class not allowed: this agency may not issue this licence class."},
	BadSignature:             {"签发机构签名无效，疑似伪造。", "Bad signature: the issuer's signature does not verify (forged?)."},
	BadDisclosure:            {"出示的信息项与签名承诺不符，疑似篡改。", "Bad disclosure: a shown field does not match the signed commitment."},
	HolderBindingFailed:      {"持证人设备签名核验失败（可能是截图或复制件）。", "Holder binding failed: the device signature is missing or wrong (a copy?)."},
	PresentationExpired:      {"二维码已过期，请持证人刷新后重新出示。", "Presentation expired: ask the holder to refresh the QR code."},
	Replayed:                 {"该二维码已被使用过（重放），请持证人刷新。", "Replayed: this QR was already shown; ask the holder to refresh."},
	StatusStale:              {"本机状态数据过旧，无法确认证照状态，请同步后重试。", "Status data too old for this class; sync and try again."},
	StatusUnavailable:        {"本机没有该证照的状态数据，请同步后重试。", "No status data for this licence; sync and try again."},
	Malformed:                {"无法识别的二维码内容。", "Malformed: not a readable elicense QR code."},
	UnsupportedVersion:       {"不支持的二维码版本，请升级核验软件。", "Unsupported QR version: update the verifier."},
	NoTrust:                  {"本机尚未配置信任数据，请先同步。", "No trust data: pin the root and sync first."},
}

// Message returns the Chinese sentence for the code.
func (c Code) Message() string { return text[c].zh }

// MessageEN returns the English sentence for the code.
func (c Code) MessageEN() string { return text[c].en }
