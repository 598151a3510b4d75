package service

import (
	bolt "go.etcd.io/bbolt"

	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"elicense/internal/ledger/tlog"
	"elicense/issuer/store"
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
var transitions = map[store.Status]map[Action]store.Status{
	store.StatusValid:     {ActionSuspend: store.StatusSuspended, ActionRevoke: store.StatusRevoked},
	store.StatusSuspended: {ActionReinstate: store.StatusValid, ActionRevoke: store.StatusRevoked},
}

var ledgerStatus = map[store.Status]tlog.Status{
	store.StatusValid:      tlog.StatusValid,
	store.StatusSuspended:  tlog.StatusSuspended,
	store.StatusRevoked:    tlog.StatusRevoked,
	store.StatusSuperseded: tlog.StatusRevoked,
}

var entryType = map[Action]tlog.EntryType{
	ActionSuspend: tlog.TypeSuspend, ActionReinstate: tlog.TypeReinstate, ActionRevoke: tlog.TypeRevoke,
}

// ChangeStatus suspends, reinstates or revokes a licence, with a reason
// code, and returns the updated record once the ledger holds the change.
func (s *Service) ChangeStatus(ctx context.Context, op Operator, id string, action Action, reason string) (*store.Record, error) {
	if _, ok := entryType[action]; !ok {
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
	idx, err := s.change(ctx, []tlog.Entry{{
		Type: entryType[action], Time: now, Agency: r.Agency, LicenseID: r.ID, CredentialHash: mustHash(r.CredentialHash),
		StatusFrom: ledgerStatus[r.Status], StatusTo: ledgerStatus[to], Reason: reason, Operator: op.Subject,
	}}, r, store.Change{ID: r.ID, Status: to, Reason: reason, At: now})
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
func (s *Service) forChange(op Operator, id string) (*store.Record, func(), error) {
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

func (s *Service) mayChange(op Operator, r *store.Record) error {
	cl, ok := s.cat.Lookup(r.Class)
	if !ok {
		return &Error{Kind: ErrConflict, Msg: "licence class " + r.Class + " is no longer in the catalogue"}
	}
	if err := op.canAct(r.Agency, cl); err != nil {
		return err
	}
	return nil
}

// change appends es, whose last entry is the status change c of r, with
// c applied to the store in the same transaction, then updates the status
// lists of r and its device copies. It returns the index of c's entry.
func (s *Service) change(ctx context.Context, es []tlog.Entry, r *store.Record, c store.Change, also ...func(tx *bolt.Tx, first uint64) error) (uint64, error) {
	last := uint64(len(es) - 1)
	first, err := s.record(ctx, es, func(tx *bolt.Tx, first uint64) error {
		for _, fn := range also {
			if err := fn(tx, first); err != nil {
				return err
			}
		}
		c.LedgerIndex = first + last
		return store.ApplyTx(tx, c)
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
// fields and marks the old version superseded (reason 变更), both in one
// ledger batch.
func (s *Service) Reissue(ctx context.Context, op Operator, id string, req ReissueRequest) (*store.Record, error) {
	old, done, err := s.forChange(op, id)
	if err != nil {
		return nil, err
	}
	defer done()
	if old.CopyOf != "" {
		return nil, &Error{Kind: ErrConflict, Field: "id", Msg: "re-issue the licence, not a device copy of it"}
	}
	if old.Status != store.StatusValid && old.Status != store.StatusSuspended {
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
	put, err := s.store.Insert(rec, nil)
	if err != nil {
		s.status.Release(list, idx)
		return nil, &Error{Kind: ErrConflict, Msg: "could not record the licence", Err: err}
	}
	now := s.now()
	first, err := s.change(ctx, []tlog.Entry{
		{Type: tlog.TypeReissue, Time: now, Agency: ag.Code, LicenseID: rec.ID, CredentialHash: mustHash(rec.CredentialHash),
			StatusTo: tlog.StatusValid, Reason: "变更", Operator: op.Subject, Extra: []byte(old.ID)},
		{Type: tlog.TypeRevoke, Time: now, Agency: ag.Code, LicenseID: old.ID, CredentialHash: mustHash(old.CredentialHash),
			StatusFrom: ledgerStatus[old.Status], StatusTo: tlog.StatusRevoked, Reason: "变更", Operator: op.Subject, Extra: []byte(rec.ID)},
	}, old, store.Change{ID: old.ID, Status: store.StatusSuperseded, Reason: "变更", At: now, SupersededBy: rec.ID}, put)
	if err != nil {
		s.status.Release(list, idx)
		return nil, err
	}
	first-- // the re-issue is the entry before the revocation
	s.log.Info("licence re-issued", "id", rec.ID, "supersedes", old.ID, "ledger_index", first, "operator", op.Subject)
	return rec, nil
}

// Recover brings the store in line with the ledger at start, restores
// the status lists and starts the housekeeping (expired claim codes are
// deleted every ClaimPruneInterval). The server writes every change in the
// transaction that appends its ledger event, so there is nothing to
// reconcile for those; what Recover replays, from the store's watermark,
// are the events the seal and key commands append while the server is
// stopped. Call it before serving.
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
		e, err := s.ledger.Entry(i)
		if err != nil {
			return fmt.Errorf("service: reading ledger entry %d: %w", i, err)
		}
		switch e.Type {
		case tlog.TypeIssue, tlog.TypeReissue:
			if _, err := s.store.Get(e.LicenseID); err != nil {
				// Only the server issues, in one transaction with the
				// record: the state file is not this ledger's.
				return fmt.Errorf("service: ledger entry %d issues %s, which the store does not hold: %w", i, e.LicenseID, err)
			}
		case tlog.TypeSealMake:
			if err := s.store.PutSeal(store.SealRecord{ESID: e.LicenseID, Agency: e.Agency, HolderCode: string(e.Extra), MadeAt: e.Time, LedgerIndex: i}); err != nil {
				return err
			}
		case tlog.TypeSealRevoke:
			if err := s.store.RevokeSeal(e.LicenseID, e.Time, e.Reason); err != nil {
				return err
			}
		case tlog.TypeSuspend, tlog.TypeReinstate, tlog.TypeRevoke:
			st := map[tlog.Status]store.Status{tlog.StatusValid: store.StatusValid, tlog.StatusSuspended: store.StatusSuspended, tlog.StatusRevoked: store.StatusRevoked}[e.StatusTo]
			c := store.Change{ID: e.LicenseID, Status: st, Reason: e.Reason, At: e.Time, LedgerIndex: i}
			switch {
			case e.Type == tlog.TypeRevoke && string(e.Extra) == unbindMark:
				c.Unbind = true
			case e.Type == tlog.TypeRevoke && len(e.Extra) > 0:
				c.Status, c.SupersededBy = store.StatusSuperseded, string(e.Extra)
			}
			if err := s.store.Apply(c); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
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
	return s.store.ForEach(func(r *store.Record) error {
		return s.status.Set(r.StatusList, r.StatusIndex, r.Status)
	})
}

// restoreStatus restores the status lists from the snapshot taken at the
// last clean shutdown and applies what the ledger gained since: the
// licences its events name (with their device copies) are set to their
// state in the store. It reports false when there is no usable snapshot.
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
		e, err := s.ledger.Entry(i)
		if err != nil {
			s.log.Warn("reading the ledger after the status snapshot; rebuilding from the records", "index", i, "err", err)
			return false
		}
		switch e.Type {
		case tlog.TypeIssue, tlog.TypeReissue, tlog.TypeSuspend, tlog.TypeReinstate, tlog.TypeRevoke:
		default:
			continue
		}
		r, err := s.store.Get(e.LicenseID)
		if err != nil {
			s.log.Warn("a licence the ledger names since the status snapshot is unreadable; rebuilding from the records", "id", e.LicenseID, "err", err)
			return false
		}
		for _, id := range append([]string{r.ID}, r.Copies...) {
			cur := r
			if id != r.ID {
				if cur, err = s.store.Get(id); err != nil {
					return false
				}
			}
			if err := s.status.Set(cur.StatusList, cur.StatusIndex, cur.Status); err != nil {
				s.log.Warn("status snapshot replay failed; rebuilding from the records", "id", id, "err", err)
				return false
			}
		}
	}
	s.log.Info("status lists restored from the snapshot", "snapshot_at", at, "replayed", size-at)
	return true
}
