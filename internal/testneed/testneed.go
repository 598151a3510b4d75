package testneed

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// The needs ELICENSE_SKIP can name (comma- or space-separated).
const (
	Browser  = "browser"  // Chromium with a CJK font, for the pages' tests
	OpenSSL  = "openssl"  // the OpenSSL 3 command line, for interop tests
	Postgres = "postgres" // a PostgreSQL server, for the shared backend
)

// Env is the variable that names the needs whose tests may be skipped.
const Env = "ELICENSE_SKIP"

// Skipped reports whether ELICENSE_SKIP names need.
func Skipped(need string) bool {
	return slices.Contains(strings.FieldsFunc(os.Getenv(Env), func(r rune) bool { return r == ',' || r == ' ' }), need)
}

// Missing ends a test that cannot have need: skipped when ELICENSE_SKIP
// names it, failed otherwise. why says what is missing and how to get it.
func Missing(t testing.TB, need, why string) {
	t.Helper()
	if Skipped(need) {
		t.Skipf("%s=%s: skipped by request: %s", Env, os.Getenv(Env), why)
		return
	}
	t.Fatalf("%s (or run with %s=%s to skip these tests, as scripts/test reports)", why, Env, need)
}
