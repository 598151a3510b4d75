// Package consent is the wire format of 授权用证 (docs/consent.md): the
// proofs that relying parties and holders sign on each call, the request
// the platform signs for the wallet to show, the holder's consent, and the
// SD-JWT grant credential a relying party fetches and checks alone.
//
// Every token is a compact JWS read by certs/jws; every field value is
// checked by its certs/catalog validator. Parsers check form only and
// never panic; the Verify methods check signatures, bindings and times,
// and every refusal is an *Error whose Reason callers test with
// errors.Is (ErrMalformed, ErrSignature, ErrExpired, ErrMismatch,
// ErrWidened …).
//
// The package holds no state: the server remembers proof jti values,
// the relying party reads the status list; both pass what they know in.
package consent
