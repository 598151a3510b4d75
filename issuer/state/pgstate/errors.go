package pgstate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"elicense/internal/ledger"
	"elicense/issuer/state"
)

// SQLSTATEs of the refusals the schema's reject function raises
// (schema.go): a unique key taken, a record missing, a key retired, a
// grant revoked or a relying party removed. Their DETAIL is
// the ledger index of the change refused.
const (
	codeExists   = "EL409"
	codeNotFound = "EL404"
	codeRetired  = "EL410"
	codeRevoked  = "EL411"
	codeSuspend  = "EL403"
	codeNotValid = "EL422"
	// codeSeqLimit is sequence_generator_limit_exceeded: every claim
	// ticket number was handed out.
	codeSeqLimit = "2200H"
)

// ErrText means a string to store is not valid UTF-8 or holds a NUL
// byte, which PostgreSQL's text cannot keep. A key like that is never
// found.
var ErrText = errors.New("pgstate: not valid UTF-8 text without NUL bytes")

// textOK reports whether every string can be stored as text.
func textOK(ss ...string) bool {
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// badText is the error for strings textOK refuses.
func badText(what string) error { return fmt.Errorf("%w: %s", ErrText, what) }

// unavailable wraps err in state.ErrUnavailable when it says the
// database cannot be reached (a refused or dropped connection, a
// statement timeout, a server shutting down); other errors are returned
// as they are.
func unavailable(err error) error {
	if err == nil || !isUnavailable(err) || errors.Is(err, state.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", state.ErrUnavailable, err)
}

func isUnavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // admin shutdown, crash shutdown, cannot connect now
			pe.Code == "57014", // query_canceled: statement_timeout
			pe.Code == "53300": // too_many_connections
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne),
		pgconn.SafeToRetry(err), pgconn.Timeout(err),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	// pgx reports a connection it closed after a failure this way.
	return strings.Contains(err.Error(), "conn closed")
}

// rejection turns a refusal raised by the schema's reject function into
// the ledger's RejectedError (the index is the change's ledger index);
// any other error is returned as unavailable(err).
func rejection(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return unavailable(err)
	}
	var cause error
	switch pe.Code {
	case codeExists:
		cause = state.ErrExists
	case codeNotFound:
		cause = state.ErrNotFound
	case codeRetired:
		cause = state.ErrKeyRetired
	case codeRevoked:
		cause = state.ErrRevoked
	case codeSuspend:
		cause = state.ErrSuspended
	case codeNotValid:
		cause = state.ErrNotValid
	default:
		return unavailable(err)
	}
	idx, perr := strconv.ParseUint(pe.Detail, 10, 64)
	if perr != nil {
		return fmt.Errorf("pgstate: a refusal without its ledger index (%q): %w", pe.Detail, err)
	}
	return &ledger.RejectedError{Index: idx, Err: fmt.Errorf("%w: %s", cause, pe.Message)}
}

// noRows maps pgx.ErrNoRows to state.ErrNotFound with what, and other
// errors through unavailable.
func noRows(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %s", state.ErrNotFound, what)
	}
	return unavailable(err)
}
