package statetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"elicense/issuer/state"
	"elicense/issuer/state/boltstate"
	"elicense/issuer/state/pgstate"
)

// EnvStore names the environment variable that selects the backend the
// issuer's test suites run on.
const EnvStore = "ELICENSE_TEST_STORE"

// An opener opens (or reopens) the backend's data for a test whose
// files live under dir; config is the selector's value (a DSN for a
// networked backend). cleanup, if not nil, registers what removes the
// data when the test ends (a database schema: the test's dir goes with
// the test, a schema would stay).
type opener func(dir, config string, cleanup func(func())) (state.Backend, error)

// backends are the selectable backends: by name, or by a DSN's scheme.
var backends = map[string]opener{
	"bbolt": func(dir, _ string, _ func(func())) (state.Backend, error) {
		return boltstate.Open(filepath.Join(dir, "ledger.db"), boltstate.Options{})
	},
	"postgres":   openPG,
	"postgresql": openPG,
}

// openPG opens a PostgreSQL schema of the test's own, named after dir
// (unique per test), so reopening dir reaches the same data. Nothing is
// dropped at open; the schema is dropped when the test ends.
func openPG(dir, dsn string, cleanup func(func())) (state.Backend, error) {
	schema := PGSchema(dir)
	s, err := pgstate.Open(context.Background(), dsn, pgstate.Options{Schema: schema})
	if err != nil {
		return nil, err
	}
	if cleanup != nil {
		cleanup(func() {
			if err := pgstate.DropSchema(context.Background(), dsn, schema); err != nil {
				fmt.Fprintf(os.Stderr, "statetest: dropping schema %s: %v\n", schema, err)
			}
		})
	}
	return s, nil
}

// PGSchema is the PostgreSQL schema the selector gives a test's dir.
func PGSchema(dir string) string {
	h := sha256.Sum256([]byte(dir))
	return fmt.Sprintf("t_%x", h[:8])
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
func OpenSelected(sel, dir string) (state.Backend, error) { return openSelected(sel, dir, nil) }

func openSelected(sel, dir string, cleanup func(func())) (state.Backend, error) {
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
	return open(dir, sel, cleanup)
}

// Open opens the backend ELICENSE_TEST_STORE selects for data under dir,
// or fails tb. The caller closes it (or the service.Data made from it).
func Open(tb testing.TB, dir string) state.Backend {
	tb.Helper()
	b, err := openSelected(Selected(), dir, tb.Cleanup)
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
