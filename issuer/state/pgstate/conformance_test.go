package pgstate_test

import (
	"context"
	"elicense/internal/testneed"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"elicense/issuer/state"
	"elicense/issuer/state/boltstate"
	"elicense/issuer/state/pgstate"
	"elicense/issuer/state/statetest"
)

// EnvPG names the DSN of the PostgreSQL server the tests use; "skip"
// skips them (a CI without a server decides so, loudly).
const EnvPG = "ELICENSE_TEST_PG"

const defaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// testDSN returns the server's DSN, or fails the test if none answers:
// a missing server is never a silent skip.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvPG)
	switch dsn {
	case "skip":
		testneed.Missing(t, testneed.Postgres, EnvPG+"=skip: the PostgreSQL tests are NOT run")
	case "":
		dsn = defaultDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	if err != nil {
		t.Fatalf("no PostgreSQL server for the tests at %s (set %s to a DSN, or to skip): %v", pgstate.Redact(dsn), EnvPG, err)
	}
	return dsn
}

// TestConformance runs the backend conformance suite on PostgreSQL,
// each subtest in a schema of its own.
func TestConformance(t *testing.T) {
	dsn := testDSN(t)
	statetest.Run(t, func(t testing.TB, dir string) state.Backend {
		return openTest(t, dsn, statetest.PGSchema(dir))
	})
}

// openTest opens schema (dropped when t ends).
func openTest(t testing.TB, dsn, schema string) *pgstate.Store {
	t.Helper()
	s, err := pgstate.Open(context.Background(), dsn, pgstate.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := pgstate.DropSchema(context.Background(), dsn, schema); err != nil {
			t.Errorf("dropping %s: %v", schema, err)
		}
	})
	return s
}

// TestExportImport checks Export, then moves a filled schema into an
// empty one with Import and checks the copy.
func TestExportImport(t *testing.T) {
	dsn := testDSN(t)
	open := func(t testing.TB, dir string) state.Backend {
		return openTest(t, dsn, statetest.PGSchema(dir))
	}
	t.Run("Export", func(t *testing.T) { statetest.RunExport(t, open) })
	t.Run("Import", func(t *testing.T) { statetest.RunImport(t, open, open) })
	// From a bbolt data file, as elicense migrate moves one: the census
	// digests of the two engines agree, consent pieces included.
	t.Run("ImportFromBolt", func(t *testing.T) {
		statetest.RunImport(t, func(t testing.TB, dir string) state.Backend {
			s, err := boltstate.Open(filepath.Join(dir, "ledger.db"), boltstate.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, open)
	})
}
