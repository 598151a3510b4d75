package pgstate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"elicense/internal/pgtest"
	"elicense/issuer/state"
	"elicense/issuer/state/pgstate"
)

// TestUnreplicatedNotAcknowledged: with a synchronous standby that has
// stopped, a commit waits for it (statement_timeout does not end that
// wait). A cancel request then ends the wait and PostgreSQL reports the
// commit done, with a warning: it is, on the primary alone, and the
// primary's loss would lose it. The store must not acknowledge such a
// change: every kind of write fails with ErrUnreplicated (and
// state.ErrUnavailable). Without a cancel, a write gives up at
// OpTimeout instead of waiting for the standby for ever. Once the
// standby is back, writes are acknowledged again.
func TestUnreplicatedNotAcknowledged(t *testing.T) {
	primary := pgtest.New(t, pgtest.Options{})
	standby := primary.SynchronousStandby(t, pgtest.Options{})
	const opTimeout = 3 * time.Second
	s, err := pgstate.Open(ctx, primary.DSN("postgres"), pgstate.Options{Schema: "t_pg_syncrep", StatementTimeout: 500 * time.Millisecond, OpTimeout: opTimeout})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := insert(s, record("L1", "s1", 1, "")); err != nil {
		t.Fatalf("with the standby streaming: %v", err)
	}

	if err := standby.Stop("fast"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.RevokeToken("jti-0", time.Now().Add(time.Hour)); !errors.Is(err, state.ErrUnavailable) || errors.Is(err, pgstate.ErrUnreplicated) {
		t.Errorf("a write nobody cancels, with the standby stopped: %v, want state.ErrUnavailable at OpTimeout", err)
	} else if took := time.Since(start); took < opTimeout || took > opTimeout+5*time.Second {
		t.Errorf("the write gave up after %v, want OpTimeout (%v)", took, opTimeout)
	}

	writes := []struct {
		name string
		do   func() error
	}{
		{"ledger transaction", func() error { _, err := insert(s, record("L2", "s1", 2, "")); return err }},
		{"claim ticket", func() error {
			_, err := s.PutClaim(state.Claim{LicenceID: "L1", Expires: time.Now().Add(time.Hour), Verifier: []byte("v")})
			return err
		}},
		{"token revocation", func() error { return s.RevokeToken("jti-1", time.Now().Add(time.Hour)) }},
		{"key fence", func() error { return s.FenceKey("kid-1") }},
		{"seal revocation", func() error { return s.RevokeSeal("esid-1", time.Now(), "lost") }},
		{"serials", func() error { _, err := s.ReserveSerials(10); return err }},
	}
	for _, w := range writes {
		done := make(chan error, 1)
		go func() { done <- w.do() }()
		cancelSyncWait(t, primary, done)
		err := <-done
		if !errors.Is(err, state.ErrUnavailable) || !errors.Is(err, pgstate.ErrUnreplicated) || !strings.Contains(err.Error(), "standby") {
			t.Errorf("%s, its wait for the stopped standby cancelled: %v, want ErrUnreplicated (state.ErrUnavailable)", w.name, err)
		}
	}

	if err := standby.Start(); err != nil {
		t.Fatal(err)
	}
	if err := primary.WaitSynchronous(30 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, standby.Log())
	}
	if _, err := insert(s, record("L3", "s1", 3, "")); err != nil {
		t.Fatalf("with the standby back: %v", err)
	}
	if err := s.RevokeToken("jti-2", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("with the standby back: %v", err)
	}
}

// cancelSyncWait sends a cancel request (pg_cancel_backend) to every
// backend of c that waits for a synchronous standby until the write is
// done: each in turn, as a pooler or an operator clearing stuck
// sessions would. (A backend whose client gave up at OpTimeout waits
// too: it does not notice its closed connection.)
func cancelSyncWait(t *testing.T, c *pgtest.Cluster, done chan error) {
	t.Helper()
	cancelled := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			done <- err
			if !cancelled {
				t.Errorf("the write ended before any cancel request: %v", err)
			}
			return
		default:
		}
		n, err := c.Query(`SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE wait_event = 'SyncRep'`)
		if err != nil {
			t.Fatal(err)
		}
		cancelled = cancelled || n != "0"
	}
	t.Fatalf("the write did not end within 5 s of cancel requests")
}

// TestStateOnlyDurable: a commit whose wait for the synchronous standby
// ended without it (a cancel request; a backend that outlives its
// killed postmaster ends the wait too) is visible on the primary alone.
// State, from which other processes' Logs take in entries and
// checkpoints, must not report it before the standby has it: the
// primary's loss would take it back, and a Log that had taken it in
// would hold a tree the new primary does not (and stop at its next
// append as inconsistent).
func TestStateOnlyDurable(t *testing.T) {
	primary := pgtest.New(t, pgtest.Options{})
	standby := primary.SynchronousStandby(t, pgtest.Options{})
	opts := pgstate.Options{Schema: "t_pg_durable", OpTimeout: 2 * time.Second}
	a, err := pgstate.Open(ctx, primary.DSN("postgres"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := pgstate.Open(ctx, primary.DSN("postgres"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := insert(a, record("L1", "s1", 1, "")); err != nil {
		t.Fatal(err)
	}
	st, err := b.Ledger().State(ctx)
	if err != nil || st.Size != 1 {
		t.Fatalf("State with the standby streaming: %d entries, %v", st.Size, err)
	}

	if err := standby.Stop("fast"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := insert(a, record("L2", "s1", 2, "")); done <- err }()
	cancelSyncWait(t, primary, done)
	if err := <-done; !errors.Is(err, pgstate.ErrUnreplicated) {
		t.Fatalf("the append whose wait was cancelled: %v, want ErrUnreplicated", err)
	}
	if seen, err := primary.Query(`SELECT size FROM t_pg_durable.ledger_head`); err != nil || seen != "2" {
		t.Fatalf("a plain read on the primary sees %q entries (%v), want the unreplicated commit's 2", seen, err)
	}
	st, err = b.Ledger().State(ctx)
	if err == nil && st.Size > 1 {
		t.Fatalf("State reported %d entries while the second is on the primary alone", st.Size)
	}
	if !errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("State while the standby is stopped: %v, want state.ErrUnavailable", err)
	}

	if err := standby.Start(); err != nil {
		t.Fatal(err)
	}
	if err := primary.WaitSynchronous(30 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, standby.Log())
	}
	if st, err = b.Ledger().State(ctx); err != nil || st.Size != 2 {
		t.Fatalf("State with the standby back: %d entries, %v (want the second, now replicated)", st.Size, err)
	}
}
