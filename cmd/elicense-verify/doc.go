// Command elicense-verify is the counter verifier: it pins a root, syncs
// the trust bundle, status lists and ledger checkpoint from an issuer, and
// checks licence QR codes offline (typed text, a keyboard-wedge scanner, or
// a camera image), logging every check to a hash-chained local log.
//
//	elicense-verify trust add [--tsa] [--fingerprint HEX] root.pem | trust list | trust remove --tsa HEX
//	elicense-verify sync [--from http://issuer:8080]
//	elicense-verify check [--json] TEXT | -
//	elicense-verify scan [--json] [--sync-every 5m]
//	elicense-verify image [--json] photo.png
//	elicense-verify serve [--addr 127.0.0.1:8090] [--sync-every 5m]
//	elicense-verify log export [--out FILE] | log verify
//
// Every command has its own --help with examples. All front ends on one
// store share its replay memory and verification log (verifier/store's
// Checker); serve and scan keep their trust data fresh (verifier/store's
// Keeper).
//
// check prints the verdict code as the first word of its first line and
// exits 0 for VALID and VALID_STATIC, 1 for any other verdict, 2 for a
// usage or trust-store error. It links no issuer or server-side code.
package main
