package service

import (
	"context"
	"elicense/internal/testneed"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"elicense/issuer/state"
	"elicense/issuer/state/statetest"
)

// staleShared delivers StatusSince's rows only after hook ran: the
// follow's read was taken, then something else happened.
type staleShared struct {
	state.Shared
	hook func()
}

func (s *staleShared) StatusSince(from uint64, limit int, fn func(*state.Record) error) (uint64, error) {
	var recs []*state.Record
	next, err := s.Shared.StatusSince(from, limit, func(r *state.Record) error { recs = append(recs, r); return nil })
	if err != nil {
		return next, err
	}
	if h := s.hook; h != nil {
		s.hook = nil
		h()
	}
	for _, r := range recs {
		if err := fn(r); err != nil {
			return from, err
		}
	}
	return next, nil
}

// TestReplicasFollowStatus (on a shared backend: ELICENSE_TEST_STORE=
// postgres://…): a status change made through one service reaches the
// other's status lists, and a follow whose read came before a change
// made through the same service never undoes it.
func TestReplicasFollowStatus(t *testing.T) {
	if !strings.Contains(statetest.Selected(), "://") {
		// Replicas need a shared backend: PostgreSQL, whatever the
		// suite's selection.
		pg := os.Getenv("ELICENSE_TEST_PG")
		switch pg {
		case "skip":
			testneed.Missing(t, testneed.Postgres, "ELICENSE_TEST_PG=skip: the PostgreSQL replica test does NOT run")
		case "":
			pg = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
		}
		t.Setenv(statetest.EnvStore, pg)
	}
	dir := t.TempDir()
	a := openEnv(t, dir)
	defer a.close(t)
	if a.svc.replica.shared == nil {
		t.Fatal("the backend is not shared by several processes")
	}
	b := openEnv(t, dir)
	defer b.close(t)
	ctx := context.Background()
	listOf := func(e *env, r *state.Record) state.Status {
		e.status.mu.Lock()
		defer e.status.mu.Unlock()
		return e.status.set[fmt.Sprint(r.StatusList, r.StatusIndex)]
	}

	rec, op := issueOne(t, a, "business-license")
	if _, err := a.svc.ChangeStatus(ctx, op, rec.ID, ActionRevoke, "吊销"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * FollowEvery); listOf(b, rec) != state.StatusRevoked; time.Sleep(FollowEvery / 10) {
		if time.Now().After(deadline) {
			t.Fatalf("b's list holds %q for the licence a revoked", listOf(b, rec))
		}
	}

	// b's follow reads, then b revokes a licence of its own (its change
	// waits for the follow to finish), then the follow applies its read.
	rec2, op2 := issueOne(t, b, "business-license")
	b.svc.stopHousekeeping() // the test follows by hand from here
	b.svc.replica.from = rec2.LedgerIndex
	done := make(chan error, 1)
	ss := &staleShared{Shared: b.svc.replica.shared}
	ss.hook = func() {
		go func() {
			_, err := b.svc.ChangeStatus(ctx, op2, rec2.ID, ActionRevoke, "吊销")
			done <- err
		}()
		time.Sleep(50 * time.Millisecond) // the change commits meanwhile
	}
	b.svc.replica.shared = ss
	b.svc.followStatus()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := listOf(b, rec2); got != state.StatusRevoked {
		t.Fatalf("an acknowledged revocation undone in b's list by a follow read before it: %q", got)
	}
}
