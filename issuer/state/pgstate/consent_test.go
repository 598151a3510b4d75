package pgstate_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/issuer/state"
	"elicense/issuer/state/pgstate"
	"elicense/issuer/state/statetest"
)

// TestConsentTwoProcesses: two stores on one schema, each with its own
// Log, as two issuer replicas run. 64 clients fetch one once grant at
// the same time: exactly one fetch is counted and written, the others
// are refused with ErrExists. 64 fetch a repeat grant while it is
// revoked: every fetch before the revocation counts, none after. A
// refusal and a grant race for one request: one wins.
func TestConsentTwoProcesses(t *testing.T) {
	p := openTwoProcesses(t, "t_pg_consent2")
	p.checkOnceFetchRace()
	p.checkRevokeRace()
	p.checkAnswerRace()
	p.checkReplaceRacingSuspension()
	p.checkFencedGrant()
}

// checkReplaceRacingSuspension: process a reads party rp (active), b
// suspends it, then a writes its replacement of the registration: the
// party stays suspended, with b's VoidBefore, and a's registration.
func (p *twoProcesses) checkReplaceRacingSuspension() {
	t := p.t
	read, err := p.a.RelyingParty("rp")
	if err != nil || read.State != state.PartyActive {
		t.Fatalf("the party before: %+v %v", read, err)
	}
	at := p.t0.Add(time.Hour)
	if err := p.do(1, "suspend", func(tx state.Tx, i uint64) error { return tx.SetPartyState("rp", state.PartySuspended, at, i) }); err != nil {
		t.Fatal(err)
	}
	read.Name = "renamed"
	if err := p.do(0, "replace", func(tx state.Tx, i uint64) error { return tx.PutRelyingParty(read, false, i) }); err != nil {
		t.Fatal(err)
	}
	got, err := p.b.RelyingParty("rp")
	if err != nil || got.State != state.PartySuspended || !got.VoidBefore.Equal(at) || got.Name != "renamed" {
		t.Fatalf("after a replace racing a suspension: %+v %v", got, err)
	}
}

// checkFencedGrant: a key fenced by a rotation on another process (not
// yet retired by its event) refuses a grant it signs, as it refuses a
// licence.
func (p *twoProcesses) checkFencedGrant() {
	t := p.t
	const kid = "3132333435363738"
	if err := p.b.FenceKey(kid); err != nil {
		t.Fatal(err)
	}
	if err := p.a.PutRequest(&state.Request{ID: "r_fenced", RP: "rp", JWS: "x", Use: state.UseOnce, Created: p.t0, Expires: p.t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	g := &state.Grant{ID: "g_fenced", Request: "r_fenced", RP: "rp", Copy: "L#1", Use: state.UseOnce, Created: p.t0, KeyID: kid}
	if err := p.do(0, "grant", func(tx state.Tx, at uint64) error { return tx.PutGrant(g, at) }); !errors.Is(err, state.ErrKeyRetired) {
		t.Fatalf("a grant signed by a fenced key: %v, want ErrKeyRetired", err)
	}
	if r, _ := p.b.Request("r_fenced"); r.Answer != state.AnswerPending {
		t.Fatalf("the refused grant answered its request: %+v", r)
	}
	g.KeyID = "4142434445464748"
	if err := p.do(1, "grant", func(tx state.Tx, at uint64) error { return tx.PutGrant(g, at) }); err != nil {
		t.Fatalf("a grant signed by another key: %v", err)
	}
}

// raceClients is how many clients each race of TestConsentTwoProcesses
// runs.
const raceClients = 64

// twoProcesses is two stores on one schema, each with its own Log.
type twoProcesses struct {
	t    *testing.T
	a, b *pgstate.Store
	logs []*ledger.Log[state.Tx] // logs[0] on a, logs[1] on b
	t0   time.Time
}

// openTwoProcesses opens schema twice, with a Log on each store, all
// closed when t ends.
func openTwoProcesses(t *testing.T, schema string) *twoProcesses {
	dsn := testDSN(t)
	a := openTest(t, dsn, schema)
	b, err := pgstate.Open(ctx, dsn, pgstate.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	key, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	p := &twoProcesses{t: t, a: a, b: b, t0: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	t.Cleanup(p.close)
	for _, s := range []*pgstate.Store{a, b} {
		l, err := ledger.Open(s.Ledger(), ledger.Options{Origin: "pgstate/consent", Signer: key, EntryFormat: "test 1"})
		if err != nil {
			t.Fatal(err)
		}
		p.logs = append(p.logs, l)
	}
	return p
}

func (p *twoProcesses) close() {
	for _, l := range p.logs {
		l.Close()
	}
	p.b.Close()
	p.a.Close()
}

// do appends one entry what by process n's Log, running fn in its Tx.
func (p *twoProcesses) do(n int, what string, fn func(tx state.Tx, at uint64) error) error {
	_, err := p.logs[n].AppendWith(ctx, [][]byte{[]byte(what)}, fn)
	return err
}

// mkGrant stores request req and grants it with grant id for copy L#1.
func (p *twoProcesses) mkGrant(id, req string, use state.GrantUse) {
	p.t.Helper()
	if err := p.a.PutRequest(&state.Request{ID: req, RP: "rp", JWS: "x", Use: use, Created: p.t0, Expires: p.t0.Add(time.Hour)}); err != nil {
		p.t.Fatal(err)
	}
	statetest.SeedFetch(p.t, p.a, p.logs[0], "rp", "L#1")
	g := &state.Grant{ID: id, Request: req, RP: "rp", Copy: "L#1", Use: use, Created: p.t0}
	if err := p.do(0, "grant", func(tx state.Tx, at uint64) error { return tx.PutGrant(g, at) }); err != nil {
		p.t.Fatal(err)
	}
}

// race runs fn for raceClients clients started at once and returns
// their errors.
func (p *twoProcesses) race(fn func(i int) error) []error {
	errs := make([]error, raceClients)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range raceClients {
		wg.Go(func() { <-start; errs[i] = fn(i) })
	}
	close(start)
	wg.Wait()
	return errs
}

// use fetches grant id as client i, by the processes in turn.
func (p *twoProcesses) use(i int, id string) error {
	return p.do(i%2, "use", func(tx state.Tx, at uint64) error { return tx.UseGrant(id, at) })
}

// checkOnceFetchRace: clients fetch one once grant at the same time,
// exactly one fetch is counted, the others are refused with ErrExists.
func (p *twoProcesses) checkOnceFetchRace() {
	t := p.t
	p.mkGrant("g_once", "r_once", state.UseOnce)
	won := 0
	for i, err := range p.race(func(i int) error { return p.use(i, "g_once") }) {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, state.ErrExists):
			t.Errorf("client %d: %v", i, err)
		}
	}
	g, err := p.b.Grant("g_once")
	if err != nil || won != 1 || g.Fetches != 1 {
		t.Fatalf("%d fetches of a once grant won, %d counted (%v)", won, g.Fetches, err)
	}
}

// checkRevokeRace: clients fetch a repeat grant while it is revoked,
// every fetch before the revocation counts, none after.
func (p *twoProcesses) checkRevokeRace() {
	t := p.t
	p.mkGrant("g_rep", "r_rep", state.UseRepeat)
	var revokedAt uint64
	errs := p.race(func(i int) error {
		if i == raceClients/2 {
			return p.do(1, "revoke", func(tx state.Tx, at uint64) error {
				revokedAt = at
				return tx.RevokeGrant("g_rep", p.t0, state.ByHolder, at)
			})
		}
		return p.use(i, "g_rep")
	})
	won := 0
	for i, err := range errs {
		switch {
		case i == raceClients/2 && err != nil:
			t.Fatalf("the revocation: %v", err)
		case i == raceClients/2:
		case err == nil:
			won++
		case !errors.Is(err, state.ErrRevoked):
			t.Errorf("client %d: %v", i, err)
		}
	}
	g, err := p.a.Grant("g_rep")
	if err != nil || g.Fetches != uint64(won) || g.RevokedAt.IsZero() {
		t.Fatalf("%d fetches succeeded, %d counted, revoked %v (%v)", won, g.Fetches, g.RevokedAt, err)
	}
	uses, err := p.a.Uses("L#1")
	if err != nil {
		t.Fatal(err)
	}
	after := 0
	for _, u := range uses {
		if u > revokedAt {
			after++
		}
	}
	// The uses: two grants, one once fetch, the repeat fetches and the
	// revocation, none after it.
	if len(uses) != 2+1+won+1 || after != 0 {
		t.Fatalf("uses %v (%d after the revocation at %d), %d fetches", uses, after, revokedAt, won)
	}
}

// checkAnswerRace: refusals and grants of one request race on both
// processes, exactly one answer wins.
func (p *twoProcesses) checkAnswerRace() {
	t := p.t
	if err := p.a.PutRequest(&state.Request{ID: "r_race", RP: "rp", JWS: "x", Created: p.t0, Expires: p.t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	won := 0
	for i, err := range p.race(p.answer) {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, state.ErrExists):
			t.Errorf("client %d: %v", i, err)
		}
	}
	r, err := p.b.Request("r_race")
	gs, _ := p.b.GrantsOfCopy("L#2")
	if err != nil || won != 1 || (r.Answer == state.AnswerGranted) != (len(gs) == 1) || len(gs) > 1 {
		t.Fatalf("%d answers won; the request %+v (%v), grants %d", won, r, err, len(gs))
	}
}

// answer is client i of checkAnswerRace: even clients refuse r_race, odd
// ones grant it, by the processes in turn.
func (p *twoProcesses) answer(i int) error {
	if i%2 == 0 {
		return []*pgstate.Store{p.a, p.b}[i%4/2].RefuseRequest("r_race", p.t0)
	}
	g := &state.Grant{ID: fmt.Sprintf("g_race%d", i), Request: "r_race", RP: "rp", Copy: "L#2", Use: state.UseOnce, Created: p.t0}
	return p.do(i%4/2, "grant", func(tx state.Tx, at uint64) error { return tx.PutGrant(g, at) })
}

// TestMigrateFromVersion3: a version-3 schema's parties and grants get
// their void_before and created columns from their docs at open, and a
// fetch of a grant made before the party's last suspension is refused.
func TestMigrateFromVersion3(t *testing.T) {
	dsn := testDSN(t)
	const schema = "t_pg_v3"
	s := openTest(t, dsn, schema)
	key, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(s.Ledger(), ledger.Options{Origin: "pgstate/v3", Signer: key, EntryFormat: "test 1"})
	if err != nil {
		t.Fatal(err)
	}
	do := func(fn func(tx state.Tx, at uint64) error) {
		t.Helper()
		if _, err := l.AppendWith(ctx, [][]byte{[]byte("x")}, fn); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	statetest.SeedFetch(t, s, l, "rp", "L#1")
	for _, id := range []string{"g_old", "g_new"} {
		if err := s.PutRequest(&state.Request{ID: "r" + id[1:], RP: "rp", JWS: "x", Use: state.UseRepeat, Created: t0, Expires: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	void := t0.Add(time.Hour + 123456*time.Nanosecond)
	do(func(tx state.Tx, at uint64) error {
		return tx.PutGrant(&state.Grant{ID: "g_old", Request: "r_old", RP: "rp", Copy: "L#1", Use: state.UseRepeat, Created: t0}, at)
	})
	do(func(tx state.Tx, at uint64) error { return tx.SetPartyState("rp", state.PartySuspended, void, at) })
	do(func(tx state.Tx, at uint64) error { return tx.SetPartyState("rp", state.PartyActive, void, at) })
	do(func(tx state.Tx, at uint64) error {
		return tx.PutGrant(&state.Grant{ID: "g_new", Request: "r_new", RP: "rp", Copy: "L#1", Use: state.UseRepeat, Created: void.Add(time.Second)}, at)
	})
	// Back to version 3: the doc holds what the columns held.
	if _, err := s.Pool().Exec(ctx, `UPDATE "t_pg_v3".relying_parties SET doc = convert_to(jsonb_set(convert_from(doc, 'UTF8')::jsonb, '{void_before}', to_jsonb('`+void.Format(time.RFC3339Nano)+`'::text))::text, 'UTF8');
		ALTER TABLE "t_pg_v3".relying_parties DROP COLUMN void_before; ALTER TABLE "t_pg_v3".grants DROP COLUMN created;
		DROP TABLE "t_pg_v3".durable_mark; UPDATE "t_pg_v3".schema_version SET version = 3`); err != nil {
		t.Fatal(err)
	}
	l.Close()
	s.Close()
	s2, err := pgstate.Open(ctx, dsn, pgstate.Options{Schema: schema})
	if err != nil {
		t.Fatalf("opening a version-3 schema: %v", err)
	}
	defer s2.Close()
	rp, err := s2.RelyingParty("rp")
	if err != nil || rp.State != state.PartyActive || !rp.VoidBefore.Equal(void.Truncate(time.Microsecond)) {
		t.Fatalf("the party after the migration: %+v %v", rp, err)
	}
	l2, err := ledger.Open(s2.Ledger(), ledger.Options{Origin: "pgstate/v3", Signer: key, EntryFormat: "test 1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	use := func(id string) error {
		_, err := l2.AppendWith(ctx, [][]byte{[]byte("use")}, func(tx state.Tx, at uint64) error { return tx.UseGrant(id, at) })
		return err
	}
	if err := use("g_old"); !errors.Is(err, state.ErrRevoked) {
		t.Fatalf("a grant made before the suspension, after the migration: %v, want ErrRevoked", err)
	}
	if err := use("g_new"); err != nil {
		t.Fatalf("a grant made after the suspension, after the migration: %v", err)
	}
}

// BenchmarkGrantFetch: the credential fetch's read and Tx
// (statetest.BenchGrantFetch) on PostgreSQL.
func BenchmarkGrantFetch(b *testing.B) {
	dsn := testDSN(b)
	statetest.BenchGrantFetch(b, func(t testing.TB, dir string) state.Backend {
		return openTest(t, dsn, statetest.PGSchema(dir))
	})
}
