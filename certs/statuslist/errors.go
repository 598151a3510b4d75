package statuslist

import "errors"

// Sentinels for errors.Is. Every error the package returns wraps one of
// them (or is one of them: Get returns ErrIndex itself, to stay
// allocation-free).
var (
	// ErrMalformed: the token, list or delta is not well formed.
	ErrMalformed = errors.New("statuslist: malformed")
	// ErrBadSignature: no key with the token's key ID verifies the signature.
	ErrBadSignature = errors.New("statuslist: bad signature")
	// ErrUnknownKey: the key lookup knows no key with the token's key ID.
	ErrUnknownKey = errors.New("statuslist: unknown signing key")
	// ErrWrongList: the token is for another list (its sub is not the URI
	// the caller expects).
	ErrWrongList = errors.New("statuslist: token is for another list")
	// ErrExpired: the token is past its exp. Parse and ParseDelta return
	// the verified value along with this error, so that a counter may fall
	// back on it under its staleness policy.
	ErrExpired = errors.New("statuslist: expired")
	// ErrTooLarge: the list inflates beyond the configured maximum.
	ErrTooLarge = errors.New("statuslist: list too large")
	// ErrRollback: the version is older than the one the caller holds.
	ErrRollback = errors.New("statuslist: version rollback")
	// ErrWrongBase: a delta does not apply to the given list (another list,
	// another version or other content), or applying it does not give the
	// list it promises.
	ErrWrongBase = errors.New("statuslist: delta does not apply to this list")
	// ErrIndex: an index outside the list.
	ErrIndex = errors.New("statuslist: index out of range")
	// ErrInvalidStatus: a status value other than 0..3.
	ErrInvalidStatus = errors.New("statuslist: invalid status")
	// ErrFull: an Allocator has no free index left.
	ErrFull = errors.New("statuslist: no free index")
)
