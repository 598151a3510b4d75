package pgstate

import (
	"strings"
	"testing"
)

// TestRedactKeyValue: every way libpq's key=value form writes a password
// is hidden, the rest kept.
func TestRedactKeyValue(t *testing.T) {
	for _, dsn := range []string{
		"host=db password=s3cretpw user=u",
		"host=db password = s3cretpw user=u",
		"host=db password='my s3cretpw pw' user=u",
		`host=db password='it\'s s3cretpw' user=u`,
		"password=s3cretpw",
		"host=db password='s3cretpw",
	} {
		got := Redact(dsn)
		if strings.Contains(got, "s3cretpw") || !strings.Contains(got, "host=db") && strings.HasPrefix(dsn, "host") {
			t.Errorf("Redact(%q) = %q", dsn, got)
		}
		if strings.Contains(dsn, "user=u") && !strings.Contains(got, "user=u") {
			t.Errorf("Redact(%q) = %q lost the user", dsn, got)
		}
	}
}
