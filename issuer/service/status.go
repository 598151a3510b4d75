package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"elicense/certs/ledgerevent"
	"elicense/issuer/state"
)

// Action is a status change an operator asks for.
type Action string

// Actions.
const (
	ActionSuspend   Action = "suspend"
	ActionReinstate Action = "reinstate"
	ActionRevoke    Action = "revoke"
)

// Reason codes an agency gives for a change (GB/T 36903 practice).
var (
	RevokeReasons  = []string{"注销", "吊销", "撤销", "变更", "遗失", "损毁"}
	SuspendReasons = []string{"暂扣", "核查", "其他"}
)

// transitions: from → action → to.
var transitions = map[state.Status]map[Action]state.Status{
	state.StatusValid:     {ActionSuspend: state.StatusSuspended, ActionRevoke: state.StatusRevoked},
	state.StatusSuspended: {ActionReinstate: state.StatusValid, ActionRevoke: state.StatusRevoked},
}

// ledgerStatus is a status as the ledger records it; storeStatus the
// reverse.
var (
	ledgerStatus = map[state.Status]ledgerevent.Status{
		state.StatusValid:      ledgerevent.StatusValid,
		state.StatusSuspended:  ledgerevent.StatusSuspended,
		state.StatusRevoked:    ledgerevent.StatusRevoked,
		state.StatusSuperseded: ledgerevent.StatusRevoked,
	}
	storeStatus = map[ledgerevent.Status]state.Status{
		ledgerevent.StatusValid:     state.StatusValid,
		ledgerevent.StatusSuspended: state.StatusSuspended,
		ledgerevent.StatusRevoked:   state.StatusRevoked,
	}
)

// ChangeStatus suspends, reinstates or revokes a licence, with a reason
// code, and returns the updated record once the ledger holds the change.
func (s *Service) ChangeStatus(ctx context.Context, op Operator, id string, action Action, reason string) (*state.Record, error) {
	if action != ActionSuspend && action != ActionReinstate && action != ActionRevoke {
		return nil, invalid("action", "unknown action %q (want suspend, reinstate or revoke)", action)
	}
	switch action {
	case ActionRevoke:
		if !slices.Contains(RevokeReasons, reason) {
			return nil, invalid("reason", "revocation needs a reason code: one of %s", strings.Join(RevokeReasons, ", "))
		}
	case ActionSuspend:
		if !slices.Contains(SuspendReasons, reason) {
			return nil, invalid("reason", "suspension needs a reason code: one of %s", strings.Join(SuspendReasons, ", "))
		}
	}
	r, done, err := s.forChange(op, id)
	if err != nil {
		return nil, err
	}
	defer done()
	if r.CopyOf != "" {
		return nil, &Error{Kind: ErrConflict, Field: "id", Msg: "a device copy follows its licence; revoke it on its own with unbind"}
	}
	to, ok := transitions[r.Status][action]
	if !ok {
		return nil, &Error{Kind: ErrConflict, Field: "status", Msg: fmt.Sprintf("cannot %s a licence that is %s", action, r.Status)}
	}
	now := s.now()
	ev := s.audit.StatusChange(ledgerevent.StatusChange{Time: now, Agency: r.Agency, ID: r.ID, Credential: mustHash(r.CredentialHash),
		From: ledgerStatus[r.Status], To: ledgerStatus[to], Reason: reason}, op.Subject)
	idx, err := s.change(ctx, events{{ev, opAudit(op)}}, r, state.Change{ID: r.ID, Status: to, Reason: reason, At: now})
	if err != nil {
		return nil, err
	}
	r.Status, r.Reason, r.UpdatedAt = to, reason, now
	s.log.Info("licence status changed", "id", r.ID, "action", action, "to", to, "reason", reason, "ledger_index", idx, "operator", op.Subject)
	return r, nil
}

// forChange admits a mutating call on licence id: the service is open,
// the licence (with its device copies) is locked, and op may read and
// change it. done releases both.
func (s *Service) forChange(op Operator, id string) (*state.Record, func(), error) {
	end, err := s.begin()
	if err != nil {
		return nil, nil, err
	}
	parent, _, _ := strings.Cut(id, "#") // a copy is locked with its licence
	unlock := s.lock(parent)
	done := func() { unlock(); end() }
	r, err := s.Get(op, id)
	if err == nil {
		err = s.mayChange(op, r)
	}
	if err != nil {
		done()
		return nil, nil, err
	}
	return r, done, nil
}

func (s *Service) mayChange(op Operator, r *state.Record) error {
	cl, ok := s.cat.Lookup(r.Class)
	if !ok {
		return &Error{Kind: ErrConflict, Msg: "licence class " + r.Class + " is no longer in the catalogue"}
	}
	if err := op.canAct(r.Agency, cl); err != nil {
		return err
	}
	return nil
}

// change appends es, whose last event is the status change c of r, with
// c applied to the store in the same transaction, then updates the status
// lists of r and its device copies. It returns the index of c's entry.
func (s *Service) change(ctx context.Context, es events, r *state.Record, c state.Change, also ...func(tx state.Tx, first uint64) error) (uint64, error) {
	last := uint64(len(es) - 1)
	first, err := s.record(ctx, es, func(tx state.Tx, first uint64) error {
		for _, fn := range also {
			if err := fn(tx, first); err != nil {
				return err
			}
		}
		c.LedgerIndex = first + last
		return tx.Apply(c)
	})
	if err != nil {
		return 0, err
	}
	// The store carried the change to the licence's device copies; the
	// status lists follow them.
	s.replica.lists.Lock()
	defer s.replica.lists.Unlock()
	for _, id := range append([]string{r.ID}, r.Copies...) {
		cur, err := s.store.Get(id)
		if err != nil {
			return 0, &Error{Kind: ErrUnavailable, Msg: "reading the store", Err: err}
		}
		if err := s.status.Set(cur.StatusList, cur.StatusIndex, cur.Status); err != nil {
			return 0, &Error{Kind: ErrUnavailable, Msg: "status list update failed", Err: err}
		}
	}
	return first + last, nil
}
