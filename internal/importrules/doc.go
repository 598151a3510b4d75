// Package importrules holds, in its tests, the import rules of the whole
// module and the test that enforces them on every .go file, test files
// included:
//
//   - imports flow cmd → issuer | verifier | mobile-sdk → certs → internal:
//     a package imports only packages of its own layer or below;
//   - issuer, verifier and mobile-sdk never import each other, and no
//     verifier or mobile-sdk package depends on issuer through any chain of
//     imports;
//   - only elicense/internal/gm imports an SM2/SM3/SM4 library;
//   - test-support packages (they start binaries or browsers, or mint test
//     keys) are imported only from _test.go files.
//
// Each allowed exception is listed, with its reason, in the exceptions
// table of rules_test.go. The package has no non-test code: it exists so
// that `go test ./...` runs the check. It reads source with go/parser
// rather than loading packages, so that files for every GOOS/GOARCH (the
// js/wasm wallet) are checked, not only the host's, and so that the check
// needs no new dependency and builds nothing.
package importrules
