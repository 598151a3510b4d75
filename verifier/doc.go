// Package verifier is the counter side of elicense: checking presentations
// and credentials offline against a cached trust bundle and status lists,
// and giving a clear, typed verdict. It may import certs and internal, never
// issuer or mobile-sdk.
package verifier
