package agencycert

import "errors"

// Sentinel errors. Every error this package returns wraps exactly one of
// them, with a message saying precisely what is wrong; test with errors.Is.
var (
	// ErrNoPolicy means a certificate carries no agency policy: no Subject
	// Directory Attributes extension, or one without the policy attribute.
	ErrNoPolicy = errors.New("agencycert: no agency policy")
	// ErrMalformedPolicy means the elicense attributes of a certificate
	// (role or policy) are present but not well formed: bad DER, a wrong
	// tag, trailing data, a repeated attribute, an invalid agency code or
	// type code, a duplicate class, an undefined role.
	ErrMalformedPolicy = errors.New("agencycert: malformed agency policy")
	// ErrInvalidPolicy means a Policy cannot be encoded: an invalid agency
	// code, no classes, a class the catalogue does not know, a class given
	// twice.
	ErrInvalidPolicy = errors.New("agencycert: invalid agency policy")
	// ErrRole means a certificate's role attribute, basic constraints, key
	// usage and policy disagree, or the certificate is not of the role a
	// caller requires.
	ErrRole = errors.New("agencycert: wrong or inconsistent certificate role")
)
