package testneed

import (
	"fmt"
	"strings"
	"testing"
)

func TestSkipped(t *testing.T) {
	for _, c := range []struct {
		env, need string
		want      bool
	}{
		{"", Browser, false},
		{"browser", Browser, true},
		{"openssl,browser", Browser, true},
		{"openssl browser", Browser, true},
		{"browsers", Browser, false},
		{"openssl", Browser, false},
		{" postgres ,", Postgres, true},
	} {
		t.Setenv(Env, c.env)
		if got := Skipped(c.need); got != c.want {
			t.Errorf("%s=%q: Skipped(%q) = %v, want %v", Env, c.env, c.need, got, c.want)
		}
	}
}

// recorder is a testing.TB that records how a test was ended.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Skipf(f string, args ...any)  { r.skipped = fmt.Sprintf(f, args...) }
func (r *recorder) Fatalf(f string, args ...any) { r.failed = fmt.Sprintf(f, args...) }

func TestMissing(t *testing.T) {
	t.Setenv(Env, "")
	var r recorder
	Missing(&r, Browser, "Chromium not found")
	if r.skipped != "" || !strings.Contains(r.failed, "Chromium not found") || !strings.Contains(r.failed, "ELICENSE_SKIP=browser") {
		t.Errorf("without ELICENSE_SKIP: skipped %q, failed %q; want a failure naming the need", r.skipped, r.failed)
	}
	t.Setenv(Env, "browser")
	r = recorder{}
	Missing(&r, Browser, "Chromium not found")
	if r.failed != "" || !strings.Contains(r.skipped, "skipped by request") {
		t.Errorf("with ELICENSE_SKIP=browser: skipped %q, failed %q; want a skip", r.skipped, r.failed)
	}
}
