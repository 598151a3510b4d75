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
	dsn := testDSN(t)
	a := openTest(t, dsn, "t_pg_consent2")
	b, err := pgstate.Open(ctx, dsn, pgstate.Options{Schema: "t_pg_consent2"})
	if err != nil {
		t.Fatal(err)
	}
	key, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	var logs []*ledger.Log[state.Tx]
	for _, s := range []*pgstate.Store{a, b} {
		l, err := ledger.Open(s.Ledger(), ledger.Options{Origin: "pgstate/consent", Signer: key, EntryFormat: "test 1"})
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	defer func() {
		for _, l := range logs {
			l.Close()
		}
		b.Close()
		a.Close()
	}()
	do := func(p int, what string, fn func(tx state.Tx, at uint64) error) error {
		_, err := logs[p].AppendWith(ctx, [][]byte{[]byte(what)}, func(tx state.Tx, first uint64) error { return fn(tx, first) })
		return err
	}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	mkGrant := func(id, req string, use state.GrantUse) {
		t.Helper()
		if err := a.PutRequest(&state.Request{ID: req, RP: "rp", JWS: "x", Use: use, Created: t0, Expires: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		g := &state.Grant{ID: id, Request: req, RP: "rp", Copy: "L#1", Use: use, Created: t0}
		if err := do(0, "grant", func(tx state.Tx, at uint64) error { return tx.PutGrant(g, at) }); err != nil {
			t.Fatal(err)
		}
	}
	const clients = 64
	race := func(fn func(i int) error) []error {
		errs := make([]error, clients)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range clients {
			wg.Go(func() { <-start; errs[i] = fn(i) })
		}
		close(start)
		wg.Wait()
		return errs
	}
	use := func(i int, id string) error {
		return do(i%2, "use", func(tx state.Tx, at uint64) error { return tx.UseGrant(id, at) })
	}

	mkGrant("g_once", "r_once", state.UseOnce)
	won := 0
	for i, err := range race(func(i int) error { return use(i, "g_once") }) {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, state.ErrExists):
			t.Errorf("client %d: %v", i, err)
		}
	}
	g, err := b.Grant("g_once")
	if err != nil || won != 1 || g.Fetches != 1 {
		t.Fatalf("%d fetches of a once grant won, %d counted (%v)", won, g.Fetches, err)
	}

	mkGrant("g_rep", "r_rep", state.UseRepeat)
	var revokedAt uint64
	errs := race(func(i int) error {
		if i == clients/2 {
			return do(1, "revoke", func(tx state.Tx, at uint64) error {
				revokedAt = at
				return tx.RevokeGrant("g_rep", t0, state.ByHolder, at)
			})
		}
		return use(i, "g_rep")
	})
	won = 0
	for i, err := range errs {
		switch {
		case i == clients/2 && err != nil:
			t.Fatalf("the revocation: %v", err)
		case i == clients/2:
		case err == nil:
			won++
		case !errors.Is(err, state.ErrRevoked):
			t.Errorf("client %d: %v", i, err)
		}
	}
	g, err = a.Grant("g_rep")
	if err != nil || g.Fetches != uint64(won) || g.RevokedAt.IsZero() {
		t.Fatalf("%d fetches succeeded, %d counted, revoked %v (%v)", won, g.Fetches, g.RevokedAt, err)
	}
	uses, err := a.Uses("L#1")
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

	if err := a.PutRequest(&state.Request{ID: "r_race", RP: "rp", JWS: "x", Created: t0, Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	won = 0
	for i, err := range race(func(i int) error {
		if i%2 == 0 {
			return []*pgstate.Store{a, b}[i%4/2].RefuseRequest("r_race", t0)
		}
		g := &state.Grant{ID: fmt.Sprintf("g_race%d", i), Request: "r_race", RP: "rp", Copy: "L#2", Use: state.UseOnce, Created: t0}
		return do(i%4/2, "grant", func(tx state.Tx, at uint64) error { return tx.PutGrant(g, at) })
	}) {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, state.ErrExists):
			t.Errorf("client %d: %v", i, err)
		}
	}
	r, err := b.Request("r_race")
	gs, _ := b.GrantsOfCopy("L#2")
	if err != nil || won != 1 || (r.Answer == state.AnswerGranted) != (len(gs) == 1) || len(gs) > 1 {
		t.Fatalf("%d answers won; the request %+v (%v), grants %d", won, r, err, len(gs))
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
