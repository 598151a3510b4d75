package trust

import (
	"errors"
	"fmt"
	"time"
)

// Sentinels for errors.Is. Every error Sign and Verify return wraps one of
// them; a stale bundle's error is a *StaleError.
var (
	// ErrMalformed: the token or the bundle is not well formed or not
	// consistent with itself (unsupported version, bad encoding, a missing
	// or duplicate entry, a dangling reference).
	ErrMalformed = errors.New("trust: malformed bundle")
	// ErrBadSignature: the signature does not verify with the signer
	// certificate's key.
	ErrBadSignature = errors.New("trust: bad signature")
	// ErrUntrustedSigner: the signer certificate does not chain to a pinned
	// root, is not the root or the ledger/status signer, or the bundle
	// names another root than the one it chains to.
	ErrUntrustedSigner = errors.New("trust: untrusted bundle signer")
	// ErrUntrustedKey: an agency or ledger certificate does not chain to
	// the root, has the wrong role, or its policy does not cover the
	// agency's code or classes.
	ErrUntrustedKey = errors.New("trust: untrusted key in bundle")
	// ErrKeyIDMismatch: a kid is not gm.KeyIDString of its certificate.
	ErrKeyIDMismatch = errors.New("trust: key ID does not match its certificate")
	// ErrUnknownClass: an agency lists a class key the catalogue does not
	// have.
	ErrUnknownClass = errors.New("trust: unknown licence class")
	// ErrRollback: the bundle is older than the one the counter holds, or
	// has the same sequence number with other content.
	ErrRollback = errors.New("trust: bundle rollback")
	// ErrStale: the bundle is past its next_update. Verify returns the
	// (otherwise valid) bundle with a *StaleError.
	ErrStale = errors.New("trust: bundle is stale")
)

// StaleError says that a verified bundle is past its next_update, and by
// how much. It matches ErrStale.
type StaleError struct {
	NextUpdate time.Time
	Now        time.Time
}

// Overdue returns how long ago the bundle should have been replaced.
func (e *StaleError) Overdue() time.Duration { return e.Now.Sub(e.NextUpdate) }

func (e *StaleError) Error() string {
	return fmt.Sprintf("trust: bundle is stale: next update was due %s, %s ago",
		e.NextUpdate.UTC().Format(time.RFC3339), e.Overdue().Round(time.Second))
}

// Unwrap returns ErrStale.
func (e *StaleError) Unwrap() error { return ErrStale }

func errf(reason error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{reason}, args...)...)
}
