// Package verifier is the counter side of elicense: checking presentations
// and credentials offline against a cached trust bundle and status lists,
// and giving a clear, typed verdict. It may import certs and internal, never
// issuer or mobile-sdk.
//
// [Verifier.Verify] takes QR text and a time and returns a [Verdict]: a
// [Code] (VALID, VALID_STATIC, REVOKED, … see [Codes]), Chinese and English
// sentences, the licence, the shown fields, the issuing agency and the age
// of the status data. It checks, through certs/qr, the issuer signature
// with every key of that key ID, the key's state, the agency's right to the
// class, the disclosures, the device signature and presentation window, and
// the validity dates; then replay (a bounded cache over the presentation
// window), and the status entry with the class's staleness bound
// (StalePolicy fail → STATUS_STALE, warn → accepted with a warning).
//
// Subpackages: store (trust store and sync), scan (scanner lines and
// camera images), vlog (hash-chained verification log).
package verifier
