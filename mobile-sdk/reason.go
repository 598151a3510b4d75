package mobilesdk

import (
	"errors"
	"fmt"
	"strings"
)

// Reasons refining ErrInvalidArgument and ErrNetwork, and two for front
// ends (a page whose wallet is locked, a browser with no storage).
var (
	// ErrPassphraseTooShort: shorter than MinPassphraseLen.
	ErrPassphraseTooShort = refine(ErrInvalidArgument, "mobilesdk: the passphrase is too short")
	// ErrBadClaimCode: no claim code given.
	ErrBadClaimCode = refine(ErrInvalidArgument, "mobilesdk: not a claim code")
	// ErrBadServerURL: the issuer's address is not an http(s)://host URL.
	ErrBadServerURL = refine(ErrInvalidArgument, "mobilesdk: not an issuer URL")
	// ErrNoTrustRoot: the call needs a pinned trust root (SetTrustRoot).
	ErrNoTrustRoot = refine(ErrInvalidArgument, "mobilesdk: no trust root is pinned")
	// ErrServer: the issuer answered with a server error (5xx). It also
	// matches ErrNetwork: the holder can only try again later.
	ErrServer = refine(ErrNetwork, "mobilesdk: the issuer failed")
	// ErrLocked: the front end's wallet is not open (locked).
	ErrLocked = errors.New("mobilesdk: the wallet is not open")
	// ErrNoStorage: the platform offers no storage for the wallet (a
	// browser in private mode, say).
	ErrNoStorage = errors.New("mobilesdk: no storage for the wallet")
)

// Reason codes: what went wrong, stable and language-neutral, for an app
// (or the web wallet, across the WebAssembly boundary) to choose its
// words. Reason gives an error's code; ErrorMessage gives the SDK's words
// for it.
const (
	ReasonWrongPassphrase    = "wrong_passphrase"
	ReasonPassphraseTooShort = "passphrase_too_short"
	ReasonClaimCodeMalformed = "claim_code_malformed" // not a claim code (the issuer's 422 on field code, or none given)
	ReasonClaimCodeRefused   = "claim_code_refused"   // unknown, used or expired: the issuer does not say which
	ReasonAlreadyClaimed     = "already_claimed"      // this device already holds the licence
	ReasonClaimRetry         = "claim_retry"          // the challenge expired or the device's proof failed
	ReasonLicenceNotValid    = "licence_not_valid"    // suspended, revoked, superseded or gone at the issuer
	ReasonNoSealedFile       = "no_sealed_file"       // FetchOFD: not valid at the issuer, so no file is sealed (ErrNoSealedFile)
	ReasonRateLimited        = "rate_limited"
	ReasonServerError        = "server_error"
	ReasonNetwork            = "network"
	ReasonBadServerURL       = "bad_server_url"
	ReasonForgedAnswer       = "forged_answer"
	ReasonNotFound           = "not_found" // no such licence in the wallet
	ReasonAmbiguous          = "ambiguous" // several copies match (*AmbiguousError)
	ReasonCorrupt            = "store_corrupt"
	ReasonStorage            = "storage"
	ReasonNoStorage          = "no_storage"
	ReasonLocked             = "wallet_locked"
	ReasonNotPresentable     = "not_presentable" // *StatusError
	ReasonCannotPresent      = "cannot_present"
	ReasonNoTrustRoot        = "no_trust_root"
	ReasonNoLicence          = "no_licence"
	ReasonRequestExpired     = "request_expired"
	ReasonRequestAnswered    = "request_answered"
	ReasonRPSuspended        = "rp_suspended"
	ReasonProofInvalid       = "proof_invalid"
	ReasonGrantEnded         = "grant_ended"
	ReasonRequestNotFound    = "request_not_found"
	ReasonIssuerRefused      = "issuer_refused" // any other refusal by the issuer
	ReasonInvalidArgument    = "invalid_argument"
	ReasonUnknown            = "unknown"
)

// reasonOf maps sentinels to reasons, the particular before the general.
var reasonOf = []struct {
	err    error
	reason string
}{
	{ErrWrongPassphrase, ReasonWrongPassphrase},
	{ErrNoSealedFile, ReasonNoSealedFile},
	{ErrPassphraseTooShort, ReasonPassphraseTooShort},
	{ErrBadClaimCode, ReasonClaimCodeMalformed},
	{ErrBadServerURL, ReasonBadServerURL},
	{ErrNoTrustRoot, ReasonNoTrustRoot},
	{ErrAmbiguous, ReasonAmbiguous},
	{ErrNotFound, ReasonNotFound},
	{ErrCorrupt, ReasonCorrupt},
	{ErrServer, ReasonServerError},
	{ErrNetwork, ReasonNetwork},
	{ErrForgedAnswer, ReasonForgedAnswer},
	{ErrNoLicence, ReasonNoLicence},
	{ErrPresentation, ReasonCannotPresent},
	{ErrLocked, ReasonLocked},
	{ErrNoStorage, ReasonNoStorage},
	{ErrInvalidArgument, ReasonInvalidArgument},
}

// Reason is err's reason code (ReasonWrongPassphrase, …): from its type
// and sentinels (errors.As, errors.Is) and, for the issuer's refusals,
// from the API's status, code and field; never from its text.
// ReasonUnknown for an error the SDK does not know, "" for nil.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var se *StatusError
	var ce *ConsentError
	var cl *ClaimError
	var st *StoreError
	switch {
	case errors.As(err, &se):
		return ReasonNotPresentable
	case errors.As(err, &ce):
		return consentReason(ce)
	case errors.As(err, &cl):
		return claimReason(cl)
	}
	for _, m := range reasonOf {
		if errors.Is(err, m.err) {
			return m.reason
		}
	}
	if errors.As(err, &st) {
		return ReasonStorage
	}
	return ReasonUnknown
}

// claimReason reads a refusal by the issuer's API (docs: issuer/api): the
// claim's field says what was wrong with it.
func claimReason(e *ClaimError) string {
	switch {
	case e.Status == 429:
		return ReasonRateLimited
	case e.Field == "code" && (e.Status == 400 || e.Status == 422):
		return ReasonClaimCodeMalformed
	case e.Field == "code" && e.Status == 403:
		return ReasonClaimCodeRefused
	case e.Field == "device_key" && e.Status == 409:
		return ReasonAlreadyClaimed
	case e.Field == "challenge" || e.Field == "signature":
		return ReasonClaimRetry
	case e.Status == 409 || (e.Field == "code" && e.Status == 404):
		return ReasonLicenceNotValid
	}
	return ReasonIssuerRefused
}

func consentReason(e *ConsentError) string {
	switch e.Code {
	case CodeRequestExpired:
		return ReasonRequestExpired
	case CodeRequestAnswered:
		return ReasonRequestAnswered
	case CodeLicenceNotValid:
		return ReasonLicenceNotValid
	case CodeRPSuspended:
		return ReasonRPSuspended
	case CodeConsentInvalid, CodeProofInvalid:
		return ReasonProofInvalid
	case CodeGrantRevoked, CodeGrantExpired, CodeGrantUsed:
		return ReasonGrantEnded
	}
	switch e.Status {
	case 404:
		return ReasonRequestNotFound
	case 429:
		return ReasonRateLimited
	}
	return ReasonIssuerRefused
}

// messages are the holder's words for each reason: what happened and
// what to do, in Chinese and English. StatusError, ConsentError and
// AmbiguousError carry their own (they name the agency, the request or
// the choices).
var messages = map[string][2]string{
	ReasonWrongPassphrase: {"口令不正确。请重新输入首次打开证照包时设置的口令。",
		"Wrong passphrase. Enter the passphrase you set when you first opened the wallet."},
	ReasonPassphraseTooShort: {fmt.Sprintf("口令太短，至少需要 %d 个字符。请重新输入。", MinPassphraseLen),
		fmt.Sprintf("The passphrase is too short: it needs at least %d characters. Enter a longer one.", MinPassphraseLen)},
	ReasonClaimCodeMalformed: {"领证码格式不正确：应为 20 位字母和数字，如 0000-1A7K-3QM9-PX2R-TB8W。请核对后重新输入。",
		"That is not a claim code: it has 20 letters and digits, like 0000-1A7K-3QM9-PX2R-TB8W. Check it and enter it again."},
	ReasonClaimCodeRefused: {"领证码无效、已使用或已过期。请核对后重新输入；如仍不行，请向发证机构申请新的领证码。",
		"The claim code is unknown, already used or expired. Check it and enter it again; if it still fails, ask the issuing agency for a new one."},
	ReasonAlreadyClaimed: {"本机已领取过这份证照，无需再次领取。请在证照列表中查看。",
		"This device already holds this licence; there is no need to claim it again. See your licences."},
	ReasonClaimRetry: {"领取未完成。请重新领取；如仍失败，请检查本机的日期和时间是否准确。",
		"The claim did not complete. Claim again; if it still fails, check this device's date and time."},
	ReasonLicenceNotValid: {"该证照在发证机构处当前无效（已暂停、吊销、注销或换发），不能领取或使用。请联系发证机构。",
		"The issuer holds this licence as not valid (suspended, revoked, cancelled or replaced): it cannot be claimed or used. Contact the issuing agency."},
	ReasonNoSealedFile: {"该证照在发证机构处当前无效（已暂停、吊销、注销或换发），发证机构不为它加盖电子印章生成证照文件。请联系发证机构。",
		"The issuer holds this licence as not valid (suspended, revoked, cancelled or replaced), so it seals no licence file of it. Contact the issuing agency."},
	ReasonRateLimited: {"尝试次数过多。请等几分钟后再试。",
		"Too many attempts. Wait a few minutes and try again."},
	ReasonServerError: {"发证机构的服务暂时出现故障。请稍后再试；如持续出现，请联系发证机构。",
		"The issuer's service failed. Try again later; if it persists, contact the issuing agency."},
	ReasonNetwork: {"无法连接发证机构。请检查网络连接和发证机构地址后重试。",
		"Cannot reach the issuer. Check the network connection and the issuer's address, then try again."},
	ReasonBadServerURL: {"发证机构地址不正确：应以 https:// 或 http:// 开头，如 https://licences.example.gov.cn。请核对后重新输入。",
		"The issuer's address is not right: it starts with https:// or http://, like https://licences.example.gov.cn. Check it and enter it again."},
	ReasonForgedAnswer: {"发证机构的应答或请求未通过核验，可能被篡改。请勿继续，并联系发证机构。",
		"The issuer's answer or the request did not verify and may have been tampered with. Do not go on; contact the issuing agency."},
	ReasonNotFound: {"本证照包中没有这份证照。请核对证照标识，或使用证照列表中的序号。",
		"There is no such licence in this wallet. Check the licence identifier, or use its number from the list."},
	ReasonCorrupt: {"本机保存的证照数据已损坏或被改动，受影响的证照无法使用。请删除它，并向发证机构申请新的领证码重新领取。",
		"The wallet's stored data is damaged or was altered, and the licence concerned cannot be used. Remove it and ask the issuing agency for a new claim code."},
	ReasonStorage: {"无法读写本机存储。请确认存储空间充足后重试。",
		"Cannot read or write this device's storage. Make sure there is free space and try again."},
	ReasonNoStorage: {"此浏览器无法保存证照包（可能处于无痕或隐私模式）。请在普通窗口中打开本页。",
		"This browser cannot keep the wallet (private mode?). Open this page in a normal window."},
	ReasonLocked: {"证照包已锁定。请输入口令打开后再试。",
		"The wallet is locked. Open it with your passphrase and try again."},
	ReasonCannotPresent: {"无法按所选方式出示此证照。请取消勾选所选信息后重试。",
		"The licence cannot be shown this way. Untick the chosen details and try again."},
	ReasonNoTrustRoot: {"尚未设置发证机构的根证书，无法核验。请先领取证照；命令行钱包请用 --trust-root 指定根证书文件。",
		"No root certificate is pinned, so nothing can be verified. Claim a licence first; in the command-line wallet, give --trust-root with the root certificate file."},
	ReasonNoLicence: {"本证照包中没有可用于此请求的证照（需同一发证机构、同类证照，且已在本机领取）。请先领取相应证照。",
		"No licence in this wallet can answer the request (it needs a licence of that class, from that issuer, claimed on this device). Claim it first."},
	ReasonIssuerRefused: {"发证机构拒绝了此操作。请稍后重试；如仍不行，请联系发证机构。",
		"The issuer refused. Try again later; if it persists, contact the issuing agency."},
	ReasonInvalidArgument: {"输入有误，无法完成操作。请检查后重试。",
		"Something entered is not right, so this could not be done. Check it and try again."},
	ReasonUnknown: {"出现意外错误。请重试；如仍不行，请联系发证机构，并提供详情中的信息。",
		"Something unexpected went wrong. Try again; if it persists, contact the issuing agency with the details."},
}

// ErrorMessage is err in the holder's language ("zh", the default, or
// "en"): what happened and what to do, for every error the SDK returns
// (chosen by Reason; a *StatusError, *ConsentError or *AmbiguousError
// gives its own Message). It never returns the error's technical text,
// which an app keeps for a details view or its log. "" for nil.
func ErrorMessage(err error, lang string) string {
	if err == nil {
		return ""
	}
	var se *StatusError
	var ce *ConsentError
	var ae *AmbiguousError
	switch {
	case errors.As(err, &se):
		return se.Message(lang)
	case errors.As(err, &ce):
		return ce.Message(lang)
	case errors.As(err, &ae):
		return ae.Message(lang)
	}
	m, ok := messages[Reason(err)]
	if !ok {
		m = messages[ReasonUnknown]
	}
	if isEnglish(lang) {
		return m[1]
	}
	return m[0]
}

// Message is the refusal in the holder's language ("zh" or "en"), with
// the numbers to choose from.
func (e *AmbiguousError) Message(lang string) string {
	n := strings.Count(e.IDs, ",") + 1
	if isEnglish(lang) {
		return fmt.Sprintf("This wallet holds %d copies of licence %s (numbers %s in the list). Choose one by its number.", n, e.Ref, strings.ReplaceAll(e.Indexes, ",", ", "))
	}
	return fmt.Sprintf("本证照包中有 %d 份证照 %s（列表序号 %s）。请用序号指定其中一份。", n, e.Ref, strings.ReplaceAll(e.Indexes, ",", "、"))
}
