package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
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

// ReissueRequest changes a licence's fields by issuing its next version.
type ReissueRequest struct {
	Fields map[string]string `json:"fields"` // fields to change; others are kept
	Number string            `json:"number,omitempty"`
}

// Reissue issues the next version of a licence's identifier with changed
// fields and marks the old version superseded (reason 变更), in one
// ledger event.
func (s *Service) Reissue(ctx context.Context, op Operator, id string, req ReissueRequest) (*state.Record, error) {
	old, done, err := s.forChange(op, id)
	if err != nil {
		return nil, err
	}
	defer done()
	if old.CopyOf != "" {
		return nil, &Error{Kind: ErrConflict, Field: "id", Msg: "re-issue the licence, not a device copy of it"}
	}
	if old.Status != state.StatusValid && old.Status != state.StatusSuspended {
		return nil, &Error{Kind: ErrConflict, Field: "status", Msg: fmt.Sprintf("cannot re-issue a licence that is %s", old.Status)}
	}
	cl, _ := s.cat.Lookup(old.Class)
	ag, ok := s.pki().Agency(old.Agency)
	if !ok {
		return nil, &Error{Kind: ErrConflict, Msg: "the issuing agency is no longer configured"}
	}
	oldID, err := parseID(old.ID)
	if err != nil {
		return nil, err
	}
	next, err := oldID.NextVersion()
	if err != nil {
		return nil, &Error{Kind: ErrConflict, Msg: "no further version", Err: err}
	}
	fields := maps.Clone(old.Fields)
	maps.Copy(fields, req.Fields)
	for k, v := range req.Fields {
		if v == "" {
			delete(fields, k)
		}
	}
	list, idx, err := s.status.Allocate(ag.Code)
	if err != nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "no free status-list position", Err: err}
	}
	rec, err := s.build(cl, ag, fields, s.now(), req.Number, list, idx, next.Version, next.Serial, nil)
	if err != nil {
		s.status.Release(list, idx)
		return nil, err
	}
	rec.Supersedes = old.ID
	put, err := s.store.Prepare(rec, nil)
	if err != nil {
		s.status.Release(list, idx)
		return nil, &Error{Kind: ErrConflict, Msg: "could not record the licence", Err: err}
	}
	now := s.now()
	ev := s.audit.Reissue(ledgerevent.Reissue{Time: now, Agency: ag.Code, ID: rec.ID, Supersedes: old.ID,
		Credential: mustHash(rec.CredentialHash), Superseded: mustHash(old.CredentialHash), From: ledgerStatus[old.Status], Reason: "变更"}, op.Subject)
	first, err := s.change(ctx, events{{ev, opAudit(op)}}, old, state.Change{ID: old.ID, Status: state.StatusSuperseded, Reason: "变更", At: now, SupersededBy: rec.ID}, insert(put))
	if err != nil {
		s.status.Release(list, idx)
		return nil, err
	}
	s.log.Info("licence re-issued", "id", rec.ID, "supersedes", old.ID, "ledger_index", first, "operator", op.Subject)
	return rec, nil
}

// Recover brings the store in line with the ledger at start, restores
// the status lists and starts the housekeeping (expired claim codes are
// deleted every ClaimPruneInterval). The server writes every change in the
// transaction that appends its ledger event, so there is nothing to
// reconcile for those; Recover replays the events from the store's
// watermark through the catalogue (certs/ledgerevent), checking the
// store holds what they record. Call it before serving.
func (s *Service) Recover(ctx context.Context) error {
	if err := s.recover(ctx); err != nil {
		return err
	}
	s.startHousekeeping()
	return nil
}

func (s *Service) recover(ctx context.Context) error {
	from, err := s.store.Watermark()
	if err != nil {
		return err
	}
	size := s.ledger.Size()
	for i := from; i < size; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		ev, err := s.event(i)
		if err != nil {
			return err
		}
		if err := s.replay(i, ev); err != nil {
			return err
		}
	}
	if err := s.store.SetWatermark(size); err != nil {
		return err
	}
	if err := s.ensureAgencySeals(); err != nil {
		return err
	}
	if s.restoreStatus(ctx, size) {
		return nil
	}
	// Rebuild the status lists from the records.
	return s.store.ForEach(func(r *state.Record) error {
		return s.status.Set(r.StatusList, r.StatusIndex, r.Status)
	})
}

// event reads and decodes ledger entry i.
func (s *Service) event(i uint64) (ledgerevent.Event, error) {
	raw, err := s.ledger.Entry(i)
	if err != nil {
		return nil, fmt.Errorf("service: reading ledger entry %d: %w", i, err)
	}
	ev, err := ledgerevent.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("service: ledger entry %d: %w", i, err)
	}
	return ev, nil
}

// replay brings the store in line with ledger event i. Every event the
// server writes commits with its state change, so for those the store
// already agrees; a licence or seal the store does not hold means the
// state file is not this ledger's. Status changes are applied again,
// which is harmless.
func (s *Service) replay(i uint64, ev ledgerevent.Event) error {
	missing := func(what, id string, err error) error {
		return fmt.Errorf("service: ledger entry %d records the %s of %s, which the store does not hold: %w", i, what, id, err)
	}
	switch e := ev.(type) {
	case *ledgerevent.Issue:
		if _, err := s.store.Get(e.ID); err != nil {
			return missing("issue", e.ID, err)
		}
	case *ledgerevent.Claim:
		if _, err := s.store.Get(e.ID); err != nil {
			return missing("claim", e.ID, err)
		}
	case *ledgerevent.Reissue:
		if _, err := s.store.Get(e.ID); err != nil {
			return missing("re-issue", e.ID, err)
		}
		return s.apply(state.Change{ID: e.Supersedes, Status: state.StatusSuperseded, Reason: e.Reason, At: e.Time, LedgerIndex: i, SupersededBy: e.ID})
	case *ledgerevent.StatusChange:
		return s.apply(state.Change{ID: e.ID, Status: storeStatus[e.To], Reason: e.Reason, At: e.Time, LedgerIndex: i})
	case *ledgerevent.Unbind:
		return s.apply(state.Change{ID: e.ID, Status: state.StatusRevoked, Reason: e.Reason, At: e.Time, LedgerIndex: i, Unbind: true})
	case *ledgerevent.SealMade:
		if _, err := s.store.Seal(e.ESID); err != nil {
			return missing("seal", e.ESID, err)
		}
	case *ledgerevent.SealRevoked:
		return s.store.RevokeSeal(e.ESID, e.Time, e.Reason)
	case *ledgerevent.KeyRotated, *ledgerevent.KeyCompromised:
		// The PKI directory holds the keys' states.
	}
	return nil
}

func (s *Service) apply(c state.Change) error {
	if err := s.store.Apply(c); err != nil && !errors.Is(err, state.ErrNotFound) {
		return err
	}
	return nil
}

// licencesOf lists the licences (or device copies) whose status an event
// changes.
func licencesOf(ev ledgerevent.Event) []string {
	switch e := ev.(type) {
	case *ledgerevent.Issue:
		return []string{e.ID}
	case *ledgerevent.Reissue:
		return []string{e.ID, e.Supersedes}
	case *ledgerevent.StatusChange:
		return []string{e.ID}
	case *ledgerevent.Unbind:
		return []string{e.ID}
	case *ledgerevent.Claim:
		return []string{e.ID}
	}
	return nil
}

// restoreStatus restores the status lists from the snapshot taken at the
// last clean shutdown and applies what the ledger gained since: the
// licences its events name (with their device copies) are set to their
// state in the state. It reports false when there is no usable snapshot.
func (s *Service) restoreStatus(ctx context.Context, size uint64) bool {
	sn, ok := s.status.(snapshotter)
	if !ok {
		return false
	}
	at, data, err := s.store.StatusSnapshot()
	switch {
	case err != nil:
		s.log.Warn("status snapshot unreadable; rebuilding from the records", "err", err)
		return false
	case data == nil:
		return false
	case at > size:
		s.log.Warn("status snapshot is ahead of the ledger; rebuilding from the records", "snapshot_at", at, "ledger_size", size)
		return false
	}
	if err := sn.Restore(data); err != nil {
		s.log.Warn("status snapshot refused; rebuilding from the records", "err", err)
		return false
	}
	for i := at; i < size; i++ {
		if ctx.Err() != nil {
			return false
		}
		ev, err := s.event(i)
		if err != nil {
			s.log.Warn("reading the ledger after the status snapshot; rebuilding from the records", "index", i, "err", err)
			return false
		}
		for _, id := range licencesOf(ev) {
			if !s.restoreOne(id) {
				return false
			}
		}
	}
	s.log.Info("status lists restored from the snapshot", "snapshot_at", at, "replayed", size-at)
	return true
}

// restoreOne sets the status-list entries of licence id and its device
// copies to their state in the state.
func (s *Service) restoreOne(id string) bool {
	r, err := s.store.Get(id)
	if err != nil {
		s.log.Warn("a licence the ledger names since the status snapshot is unreadable; rebuilding from the records", "id", id, "err", err)
		return false
	}
	for _, cid := range append([]string{r.ID}, r.Copies...) {
		cur := r
		if cid != r.ID {
			if cur, err = s.store.Get(cid); err != nil {
				return false
			}
		}
		if err := s.status.Set(cur.StatusList, cur.StatusIndex, cur.Status); err != nil {
			s.log.Warn("status snapshot replay failed; rebuilding from the records", "id", cid, "err", err)
			return false
		}
	}
	return true
}
