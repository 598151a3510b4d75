package pki

import (
	"errors"

	"elicense/internal/gm"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrExists means Init found a PKI already in the directory; nothing
	// was changed.
	ErrExists = errors.New("pki: directory already holds a PKI")
	// ErrNotEmpty means Init found the directory holding other files;
	// nothing was changed.
	ErrNotEmpty = errors.New("pki: directory is not empty")
	// ErrConfig means the InitOptions or agency configuration are invalid.
	ErrConfig = errors.New("pki: invalid configuration")
	// ErrCorrupt means a PKI directory is damaged or has been tampered
	// with: a file that does not parse, a certificate that does not chain
	// to the root, a key that does not match its certificate, a manifest
	// that disagrees with the certificates.
	ErrCorrupt = errors.New("pki: damaged or tampered PKI")
	// ErrPassphrase is gm.ErrPassphrase: a key could not be decrypted with
	// the passphrase given.
	ErrPassphrase = gm.ErrPassphrase
)

// FileError names the file a Load or Init problem is about.
type FileError struct {
	Path string // the file, as joined with the directory given
	Err  error  // wraps ErrCorrupt, ErrPassphrase or an fs error
}

func (e *FileError) Error() string { return "pki: " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }
