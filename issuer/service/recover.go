package service

import (
	"context"
	"errors"
	"fmt"

	"elicense/certs/ledgerevent"
	"elicense/issuer/state"
)

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
	if err := s.finishKeyJournal(ctx); err != nil {
		return err
	}
	if err := s.ensureAgencySeals(); err != nil {
		return err
	}
	// Other replicas' changes from here on are followed (replica.go);
	// taking one twice is harmless.
	s.replica.from = size
	if !s.restoreStatus(ctx, size) {
		// Rebuild the status lists from the records.
		err := s.store.ForEach(func(r *state.Record) error {
			return s.status.Set(r.StatusList, r.StatusIndex, r.Status)
		})
		if err != nil {
			return err
		}
	}
	s.followStatus()
	s.watchPKI()
	s.liftStaleFences()
	s.watchRetired() // before the first request, not half a second after
	return nil
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
	if s.replica.shared != nil {
		// The records changed since, by any replica, come in one stream
		// (followStatus), not one read per event.
		s.replica.from = at
		s.log.Info("status lists restored from the snapshot; following the changes since", "snapshot_at", at)
		return true
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
