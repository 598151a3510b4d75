package main

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"elicense/internal/issuertest"
	"elicense/issuer/state/pgstate"
)

// pgTool finds a PostgreSQL client program: the server's version's
// first (Debian's layout), then PATH.
func pgTool(name string) (string, bool) {
	for _, dir := range []string{"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p, true
		}
	}
	p, err := exec.LookPath(name)
	return p, err == nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestRestoreDrill performs the restore drill of docs/deployment.md
// (Backups) on PostgreSQL: a logical backup with pg_dump taken while the
// server issues, the schema lost, pg_restore, and the server started on
// the restored schema. Every licence acknowledged before the dump
// answers as it did, the ledger verifies, the one issued after the dump
// is gone (what a restore loses), the backup endpoint says to use the
// database's tools, and issuing goes on.
func TestRestoreDrill(t *testing.T) {
	dsn, schema := testPG(t) // ELICENSE_TEST_PG=skip skips it, by name
	dump, ok1 := pgTool("pg_dump")
	restore, ok2 := pgTool("pg_restore")
	if !ok1 || !ok2 {
		t.Fatal("pg_dump or pg_restore not found (install postgresql-client-15, or set ELICENSE_TEST_PG=skip): the restore drill of docs/deployment.md cannot run")
	}
	db, _ := splitSchema(dsn) // the database's URL, for libpq's tools
	data := filepath.Join(t.TempDir(), "data")
	s := startServer(t, data, "--store", dsn)
	admin := readToken(t, data)
	var tok struct{ Token string }
	if st := s.call(t, "POST", "/v1/tokens", admin, map[string]any{"subject": "drill", "role": "operator", "agency": issuertest.AgencyOf(t, data, "drivers-license"), "ttl": "1h"}, &tok); st != 201 {
		t.Fatalf("token: %d", st)
	}
	op := tok.Token
	fields := loadSamples(t)["drivers-license"]
	before := issueMany(t, s, op, fields, 40)
	if st := s.call(t, "POST", "/v1/licences/"+before[0].ID+"/revoke", op, map[string]string{"reason": "注销"}, nil); st != 200 {
		t.Fatalf("revoke: %d", st)
	}
	before[0].Status = "revoked"
	if st := s.call(t, "GET", "/v1/backup", admin, nil, nil); st != 409 {
		t.Errorf("GET /v1/backup on PostgreSQL: %d, want 409", st)
	}

	// The backup, taken while the server runs.
	file := filepath.Join(t.TempDir(), "elicense.dump")
	if out, err := exec.Command(dump, "--format=custom", "--schema="+schema, "--file="+file, "--dbname="+db).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	after := issueMany(t, s, op, fields, 1) // acknowledged after the backup: a restore loses it
	s.stop(t)

	// The disaster: the schema is gone. Then the restore.
	if err := pgstate.DropSchema(context.Background(), db, schema); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(restore, "--exit-on-error", "--dbname="+db, file).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}

	v := elicense(t, nil, "ledger", "verify", "--data", data, "--store", dsn)
	if v.code != 0 || !strings.HasPrefix(v.stdout, "OK ") {
		t.Fatalf("ledger verify of the restored schema: %s %s", v.stdout, v.stderr)
	}
	s = startServer(t, data, "--store", dsn)
	for _, was := range before {
		var l migrated
		if st := s.call(t, "GET", "/v1/licences/"+url.PathEscape(was.ID), admin, nil, &l); st != 200 {
			t.Fatalf("%s after the restore: %d", was.ID, st)
		}
		if l.Status != was.Status || l.LedgerIndex != was.LedgerIndex {
			t.Errorf("%s: %s at %d after the restore, %s at %d before", was.ID, l.Status, l.LedgerIndex, was.Status, was.LedgerIndex)
		}
	}
	if st := s.call(t, "GET", "/v1/licences/"+url.PathEscape(after[0].ID), admin, nil, nil); st != 404 {
		t.Errorf("the licence issued after the backup answers %d after the restore, want 404", st)
	}
	if st := claimCode(t, s, before[1].ClaimCode); st != 201 {
		t.Errorf("a claim code from before the backup, after the restore: %d", st)
	}
	issueMany(t, s, op, fields, 5)
	s.stop(t)
	v = elicense(t, nil, "ledger", "verify", "--data", data, "--store", dsn)
	if v.code != 0 {
		t.Fatalf("ledger verify after issuing on the restored schema: %s %s", v.stdout, v.stderr)
	}
	t.Logf("restore drill: %s", strings.SplitN(v.stdout, "\n", 2)[0])
}
