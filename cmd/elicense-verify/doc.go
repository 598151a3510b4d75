// Command elicense-verify is the counter verifier: it pins a root, syncs
// the trust bundle, status lists and ledger checkpoint from an issuer, and
// checks licence QR codes offline (typed text, a keyboard-wedge scanner, or
// a camera image), logging every check to a hash-chained local log.
//
//	elicense-verify trust add root.pem
//	elicense-verify sync --from http://issuer:8080
//	elicense-verify check TEXT | -
//	elicense-verify scan
//	elicense-verify image photo.png
//	elicense-verify log export [--out FILE] | log verify
//
// check prints the verdict code as the first word of its first line and
// exits 0 for VALID and VALID_STATIC, 1 for any other verdict, 2 for a
// usage or trust-store error. It links no issuer or server-side code.
package main
