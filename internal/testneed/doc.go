// Package testneed decides what a test does when something it needs from
// the machine (a browser, OpenSSL 3, a CJK font, a PostgreSQL server) is
// missing: it fails, saying how to install it, unless ELICENSE_SKIP names
// that need, in which case it is skipped. A skip is never silent by
// default, so `go test ./...` printing ok means the test ran. Tests only.
package testneed
