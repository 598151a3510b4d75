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

func (e *wrapped) Error() string        { return e.reason.Error() + ": " + e.err.Error() }
func (e *wrapped) Is(target error) bool { return target == e.reason }
func (e *wrapped) Unwrap() error        { return e.err }

func wrapf(reason error, format string, args ...any) error {
	return &wrapped{reason: reason, err: fmt.Errorf(format, args...)}
}
