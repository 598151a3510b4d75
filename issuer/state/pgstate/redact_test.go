package pgstate_test

import (
	"strings"
	"testing"

	"elicense/issuer/state/pgstate"
)

// TestRedact: a password never shows, in either DSN form.
func TestRedact(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://u:s3cret@db.example:5432/x?sslmode=disable": "postgres://u:xxxxx@db.example:5432/x?sslmode=disable",
		"postgres://db.example/x?password=s3cret&user=u":        "postgres://db.example/x?password=xxxxx&user=u",
		"host=db.example user=u password=s3cret dbname=x":       "host=db.example user=u password=xxxxx dbname=x",
		"postgres://u@db.example/x":                             "postgres://u@db.example/x",
		"postgres://u:s3cret@db.example:port/x":                 "(a DSN that does not parse)",
		"postgres://u:s3cret@[::1/x":                            "(a DSN that does not parse)",
	} {
		if got := pgstate.Redact(dsn); got != want {
			t.Errorf("Redact(%q) = %q, want %q", dsn, got, want)
		}
	}
}

// FuzzRedact: Redact never panics and never shows a password given as
// a URL's or a key=value string's, whatever follows it (seeds in
// testdata/fuzz/FuzzRedact).
func FuzzRedact(f *testing.F) {
	f.Add(true, "s3cret", "db.example:5432/x?sslmode=disable")
	f.Add(false, "s3cret", "user=u dbname=x")
	f.Add(true, "pw12", "[::1/x")
	f.Fuzz(func(t *testing.T, url bool, pw, rest string) {
		// URL escaping may spell the password out of rest's bytes
		// ("\x0000" is "%0000"): rest is kept to printable ASCII.
		if strings.ContainsFunc(rest, func(r rune) bool { return r <= ' ' || r > '~' || r == '%' }) {
			return
		}
		if len(pw) < 4 || strings.Trim(pw, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" || strings.Contains(rest, pw) || strings.Contains(pw, "xxxxx") {
			return
		}
		dsn := "host=h password=" + pw + " " + rest
		if url {
			dsn = "postgres://u:" + pw + "@" + rest
		}
		if got := pgstate.Redact(dsn); strings.Contains(got, pw) {
			t.Fatalf("Redact(%q) = %q shows the password", dsn, got)
		}
	})
}
