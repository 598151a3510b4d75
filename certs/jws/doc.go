// Package jws is elicense's one reader of compact JWS (RFC 7515) tokens:
// the credential, the status list, the trust bundle and the wallet's
// readers all take their tokens apart here, so the rules cannot drift
// between formats.
//
// Parse checks structure only: three parts, strict unpadded base64url in
// each, a header that is a JSON object without duplicate members whose
// alg and typ are exactly the ones the caller expects, a kid when the
// caller needs one, no "crit" (RFC 7515 §4.1.11: a recipient must refuse
// extensions it does not understand, and elicense defines none), and a
// signature of the size the algorithm gives. Other header members are
// ignored, as §4 asks. Checking the signature is the caller's: it knows
// which keys may have signed (Token.SigningInput and Token.Signature).
package jws
