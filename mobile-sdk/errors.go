package mobilesdk

import (
	"errors"
	"fmt"
)

// Sentinel reasons. Every error the SDK returns matches one of them with
// errors.Is, so an app can show a precise message whatever the platform.
var (
	// ErrWrongPassphrase: the passphrase does not open the device key.
	ErrWrongPassphrase = errors.New("mobilesdk: wrong passphrase")
	// ErrCorrupt: a store file was damaged or tampered with. Only that
	// entry is affected; the others stay readable.
	ErrCorrupt = errors.New("mobilesdk: store file corrupt or tampered with")
	// ErrNotFound: the wallet holds no licence with that ID.
	ErrNotFound = errors.New("mobilesdk: no such licence in the wallet")
	// ErrClaimRefused: the issuer refused the claim (code unknown, used or
	// expired, bad request); see ClaimError for its reason.
	ErrClaimRefused = errors.New("mobilesdk: the issuer refused the claim")
	// ErrForgedAnswer: the issuer's answer does not check (not bound to
	// this device, digest mismatch, bad signature against the trust root).
	ErrForgedAnswer = errors.New("mobilesdk: the issuer's answer does not check")
	// ErrNetwork: the issuer could not be reached or answered garbage.
	ErrNetwork = errors.New("mobilesdk: cannot talk to the issuer")
	// ErrInvalidArgument: a caller-supplied value is unusable.
	ErrInvalidArgument = errors.New("mobilesdk: invalid argument")
	// ErrPresentation: the licence cannot be shown this way (for example
	// a static QR of a device-bound licence, or an unknown field to
	// disclose).
	ErrPresentation = errors.New("mobilesdk: cannot present the licence")
)

// StoreError reports a store file that could not be read or written.
// It matches ErrCorrupt (when the file is damaged) or its cause.
type StoreError struct {
	File    string // the file's name inside the wallet
	Corrupt bool   // damaged or tampered with, as opposed to an I/O failure
	err     error
}

func (e *StoreError) Error() string {
	what := "store file"
	if e.Corrupt {
		what = "corrupt store file"
	}
	return fmt.Sprintf("mobilesdk: %s %s: %v", what, e.File, e.err)
}

// Is makes errors.Is(err, ErrCorrupt) true for a damaged file.
func (e *StoreError) Is(target error) bool { return e.Corrupt && target == ErrCorrupt }

// Unwrap returns the cause.
func (e *StoreError) Unwrap() error { return e.err }

// ClaimError is the issuer's refusal of a claim, as its API reported it.
// It matches ErrClaimRefused.
type ClaimError struct {
	Status  int64  // HTTP status
	Code    string // the API's error code, e.g. "forbidden", "invalid"
	Field   string // the request field concerned, if any
	Message string // the issuer's message
}

func (e *ClaimError) Error() string {
	msg := fmt.Sprintf("mobilesdk: claim refused (%d %s)", e.Status, e.Code)
	if e.Field != "" {
		msg += " [" + e.Field + "]"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Is makes errors.Is(err, ErrClaimRefused) true.
func (e *ClaimError) Is(target error) bool { return target == ErrClaimRefused }

// wrapped is an error with a sentinel reason and a cause.
type wrapped struct {
	reason error
	err    error
}

func (e *wrapped) Error() string { return e.reason.Error() + ": " + e.err.Error() }

// Is matches the reason and what the reason refines.
func (e *wrapped) Is(target error) bool { return target == e.reason || errors.Is(e.reason, target) }
func (e *wrapped) Unwrap() error        { return e.err }

// refine makes a reason that is a particular case of parent: errors.Is
// matches both.
func refine(parent error, text string) error { return &refined{text: text, parent: parent} }

type refined struct {
	text   string
	parent error
}

func (e *refined) Error() string { return e.text }
func (e *refined) Unwrap() error { return e.parent }

func wrapf(reason error, format string, args ...any) error {
	return &wrapped{reason: reason, err: fmt.Errorf(format, args...)}
}

// Reasons of the 授权用证 calls (OpenRequest, Consent, Refuse, Grants,
// RevokeGrant, Uses).
var (
	// ErrNoLicence: the licence named cannot answer the request (another
	// class, another issuer, not bound to this device), or the wallet
	// holds none that can.
	ErrNoLicence = errors.New("mobilesdk: no licence in the wallet can answer the request")
	// ErrConsentRefused: the issuer refused a consent, grant or use call;
	// see ConsentError for its reason.
	ErrConsentRefused = errors.New("mobilesdk: the issuer refused the call")
	// ErrRequestExpired: the request is past its 10 minutes.
	ErrRequestExpired = errors.New("mobilesdk: the request has expired")
	// ErrRequestAnswered: the request was already approved or refused.
	ErrRequestAnswered = errors.New("mobilesdk: the request was already answered")
	// ErrLicenceNotValid: the issuer holds the licence or its copy as
	// suspended, revoked, superseded or unbound.
	ErrLicenceNotValid = errors.New("mobilesdk: the issuer holds the licence as not valid")
	// ErrGrantEnded: the grant is already revoked, used or expired.
	ErrGrantEnded = errors.New("mobilesdk: the grant has ended")
)

// The issuer's error codes for the 授权用证 calls (docs/consent.md).
const (
	CodeRequestExpired  = "REQUEST_EXPIRED"
	CodeRequestAnswered = "REQUEST_ANSWERED"
	CodeLicenceNotValid = "LICENCE_NOT_VALID"
	CodeConsentInvalid  = "CONSENT_INVALID"
	CodeProofInvalid    = "PROOF_INVALID"
	CodeRPSuspended     = "RP_SUSPENDED"
	CodeGrantRevoked    = "GRANT_REVOKED"
	CodeGrantExpired    = "GRANT_EXPIRED"
	CodeGrantUsed       = "GRANT_USED"
)

// ConsentError is the issuer's refusal of a 授权用证 call, as its API
// reported it. It matches ErrConsentRefused and, by Code,
// ErrRequestExpired, ErrRequestAnswered, ErrLicenceNotValid or
// ErrGrantEnded.
type ConsentError struct {
	Status int64  // HTTP status
	Code   string // the API's error code, e.g. "REQUEST_EXPIRED"
	Field  string // the request field concerned, if any
	Detail string // the issuer's message (English); Message gives the holder's
}

func (e *ConsentError) Error() string {
	msg := fmt.Sprintf("mobilesdk: the issuer refused (%d %s)", e.Status, e.Code)
	if e.Field != "" {
		msg += " [" + e.Field + "]"
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Is makes errors.Is match ErrConsentRefused and the code's sentinel.
func (e *ConsentError) Is(target error) bool {
	if target == ErrConsentRefused {
		return true
	}
	switch e.Code {
	case CodeRequestExpired:
		return target == ErrRequestExpired
	case CodeRequestAnswered:
		return target == ErrRequestAnswered
	case CodeLicenceNotValid:
		return target == ErrLicenceNotValid
	case CodeGrantRevoked, CodeGrantExpired, CodeGrantUsed:
		return target == ErrGrantEnded
	}
	if e.Status == 404 {
		return target == ErrNotFound
	}
	return false
}

// Message is the refusal in the holder's language: "zh" (the default) or
// "en", saying what to do.
func (e *ConsentError) Message(lang string) string {
	en := isEnglish(lang)
	pick := func(zh, english string) string {
		if en {
			return english
		}
		return zh
	}
	switch {
	case e.Code == CodeRequestExpired:
		return pick("该授权请求已过期。请在办事页面重新发起。", "The request has expired. Ask the service for a new one.")
	case e.Code == CodeRequestAnswered:
		return pick("该授权请求已处理过，无需再次处理。", "The request has already been answered.")
	case e.Code == CodeLicenceNotValid:
		return pick("该证照当前无效（已暂停、吊销、换发或解绑），不能授权使用。请联系颁发机构。", "The licence is not valid now (suspended, revoked, replaced or unbound) and cannot be shared. Please contact the issuing agency.")
	case e.Code == CodeRPSuspended:
		return pick("该用证方已被暂停，不能接受授权。如有疑问，请联系该办事服务。", "The service asking is suspended and cannot receive licence data. Ask the service if in doubt.")
	case e.Code == CodeConsentInvalid || e.Code == CodeProofInvalid:
		return pick("发证机构未能核验本机的签名。请确认本机时间准确，且证照是在本机领取的。", "The issuer could not check this device's signature. Check the device's clock and that the licence was claimed on this device.")
	case e.Code == CodeGrantRevoked || e.Code == CodeGrantExpired || e.Code == CodeGrantUsed:
		return pick("该授权已结束，无需再撤销；如需继续办理，请在办事页面重新发起授权。", "The authorisation has already ended; to go on, ask the service for a new one.")
	case e.Status == 404:
		return pick("发证机构找不到该请求或授权。请在办事页面重新发起。", "The issuer does not know this request or authorisation. Ask the service for a new one.")
	case e.Status == 429:
		return pick("尝试次数过多。请等几分钟后再试。", "Too many attempts. Wait a few minutes and try again.")
	}
	return pick("发证机构拒绝了此操作。请稍后重试；如仍不行，请联系发证机构。", "The issuer refused. Try again later; if it persists, contact the issuing agency.")
}

// consentErr turns the API refusals do reports as *ClaimError into
// *ConsentError.
func consentErr(err error) error {
	var ce *ClaimError
	if errors.As(err, &ce) {
		return &ConsentError{Status: ce.Status, Code: ce.Code, Field: ce.Field, Detail: ce.Message}
	}
	return err
}
