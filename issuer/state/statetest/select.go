package statetest

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"elicense/issuer/state"
	"elicense/issuer/state/boltstate"
)

// EnvStore names the environment variable that selects the backend the
// issuer's test suites run on.
const EnvStore = "ELICENSE_TEST_STORE"

// An opener opens (or reopens) the backend's data for a test whose
// files live under dir; config is the selector's value (a DSN for a
// networked backend).
type opener func(dir, config string) (state.Backend, error)

// backends are the selectable backends: by name, or by a DSN's scheme.
var backends = map[string]opener{
	"bbolt": func(dir, _ string) (state.Backend, error) {
		return boltstate.Open(filepath.Join(dir, "ledger.db"), boltstate.Options{})
	},
}

// Selected returns the value of ELICENSE_TEST_STORE ("bbolt" if unset).
func Selected() string {
	if v := os.Getenv(EnvStore); v != "" {
		return v
	}
	return "bbolt"
}

// Supported lists the names and DSN schemes Open accepts.
func Supported() []string {
	var out []string
	for k := range backends {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// OpenSelected opens the backend sel names ("bbolt", or a DSN such as
// postgres://… whose scheme names one) for data under dir. Opening the
// same dir again reopens the same data, as a restarted server would.
func OpenSelected(sel, dir string) (state.Backend, error) {
	key := sel
	if strings.Contains(sel, "://") {
		u, err := url.Parse(sel)
		if err != nil {
			return nil, fmt.Errorf("statetest: %s=%q is not a DSN: %v", EnvStore, redact(sel), err)
		}
		key = u.Scheme
	}
	open, ok := backends[key]
	if !ok {
		return nil, fmt.Errorf("statetest: %s=%q names no backend this build supports; supported: %s", EnvStore, redact(sel), strings.Join(Supported(), ", "))
	}
	return open(dir, sel)
}

// Open opens the backend ELICENSE_TEST_STORE selects for data under dir,
// or fails tb. The caller closes it (or the service.Data made from it).
func Open(tb testing.TB, dir string) state.Backend {
	tb.Helper()
	b, err := OpenSelected(Selected(), dir)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// redact hides a DSN's password in messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	return u.Redacted()
}
