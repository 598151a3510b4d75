package pgstate_test

import (
	"errors"
	"testing"
	"time"

	"elicense/issuer/state/pgstate"
)

// TestUnrelatedWarningNotUnreplicated: 01000 is the SQLSTATE of every
// WARNING without a code of its own, not only of the cancelled wait for
// a synchronous standby: PostgreSQL's "database … must be vacuumed
// within N transactions" (raised at each new transaction ID once past
// xidWarnLimit), a trigger's RAISE WARNING, an extension's. A trigger
// stands in for them here: the write commits, with no standby at all,
// and must be acknowledged.
func TestUnrelatedWarningNotUnreplicated(t *testing.T) {
	dsn := testDSN(t)
	s := openTest(t, dsn, "t_pg_notice")
	if _, err := s.Pool().Exec(ctx, `CREATE FUNCTION t_pg_notice.w() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE WARNING 'database "x" must be vacuumed within 39999999 transactions'; RETURN NEW; END$$;
		CREATE TRIGGER w BEFORE INSERT ON t_pg_notice.revoked_tokens FOR EACH ROW EXECUTE FUNCTION t_pg_notice.w()`); err != nil {
		t.Fatal(err)
	}
	err := s.RevokeToken("jti-1", time.Now().Add(time.Hour))
	var n int
	if qerr := s.Pool().QueryRow(ctx, `SELECT count(*) FROM t_pg_notice.revoked_tokens`).Scan(&n); qerr != nil {
		t.Fatal(qerr)
	}
	if errors.Is(err, pgstate.ErrUnreplicated) {
		t.Errorf("a committed write (%d row) with no synchronous standby configured, under an unrelated WARNING: %v", n, err)
	}
}
