package service

import "time"

// DefaultHolderMergeAt is how many new licences wait in the store's holder log
// before they are merged into the holder index (state.MergeHolderLog).
// Larger merges rewrite each index page for more licences at once, but
// make a holder search, which reads the whole log, slower, and hold the
// ledger's writer back longer; this size won over smaller ones once the
// index outgrew what a small merge could share pages for (the figures are
// in docs/performance.md and docs/storage.md).
const DefaultHolderMergeAt = 32768

// startHousekeeping deletes expired claim codes now and every
// ClaimPruneInterval until Close, merges the holder log when issuances
// ask for it, and, over a shared backend, follows the other replicas'
// status changes every FollowEvery.
func (s *Service) startHousekeeping() {
	s.hk.once.Do(func() {
		s.hk.stop, s.hk.done = make(chan struct{}), make(chan struct{})
		go func() {
			defer close(s.hk.done)
			t := time.NewTicker(ClaimPruneInterval)
			defer t.Stop()
			var follow <-chan time.Time // other replicas' status changes
			if s.replica.shared != nil {
				ft := time.NewTicker(FollowEvery)
				defer ft.Stop()
				follow = ft.C
			}
			s.pruneClaims()
			// A log left over the threshold by a restart (or a lower
			// threshold) does not wait for the next issuance.
			s.mergeHolderLog()
			for {
				select {
				case <-s.hk.stop:
					return
				case <-t.C:
					s.pruneClaims()
				case <-follow:
					s.followStatus()
					s.watchPKI()
					s.watchRetired()
				case <-s.hk.merge:
					s.mergeHolderLog()
				}
			}
		}()
	})
}

// mergeHolderLog merges the holder log into the holder index,
// Options.HolderMergeAt entries at a time, while that many wait.
func (s *Service) mergeHolderLog() {
	if s.store.HolderLogLen() < s.hk.mergeAt {
		return
	}
	start := time.Now()
	// Whole merges only: what arrives meanwhile waits for the next
	// (merging a small remainder would spend a page rewrite on a few
	// entries).
	total := s.inRounds("merging the holder index", func() (int, bool, error) {
		n, err := s.store.MergeHolderLog(s.hk.mergeAt)
		return n, n > 0 && s.store.HolderLogLen() >= s.hk.mergeAt, err
	})
	if total > 0 {
		s.log.Info("holder index merged", "count", total, "took_ms", time.Since(start).Milliseconds())
	}
}

// inRounds runs step, a bounded piece of housekeeping, until it reports
// nothing more to do, fails (logged as what), or the service closes, and
// returns the total of what step reports having done.
func (s *Service) inRounds(what string, step func() (n int, more bool, err error)) int {
	total := 0
	for {
		n, more, err := step()
		total += n
		if err != nil {
			s.log.Warn(what, "err", err)
			return total
		}
		if !more {
			return total
		}
		select {
		case <-s.hk.stop:
			return total
		default:
		}
	}
}

// stopHousekeeping stops the housekeeping goroutine; calling it again
// does nothing.
func (s *Service) stopHousekeeping() {
	if s.hk.stop != nil {
		close(s.hk.stop)
		<-s.hk.done
		s.hk.stop = nil
	}
}

// pruneClaims deletes the expired claim codes, a bounded number per
// transaction so that issuance never waits long behind it.
func (s *Service) pruneClaims() {
	const perTx = 5000
	total := s.inRounds("deleting expired claim codes", func() (int, bool, error) {
		n, err := s.store.PruneClaims(s.now(), perTx)
		return n, n == perTx, err
	})
	if total > 0 {
		s.log.Info("expired claim codes deleted", "count", total)
	}
	// Requests (docs/consent.md §4) live minutes; an expired one is
	// kept a day, so a late wallet hears "expired", not "unknown".
	total = s.inRounds("deleting expired consent requests", func() (int, bool, error) {
		n, err := s.store.PruneRequests(s.now().Add(-requestKeep), perTx)
		return n, n == perTx, err
	})
	if total > 0 {
		s.log.Info("expired consent requests deleted", "count", total)
	}
}

// requestKeep is how long an expired request is kept.
const requestKeep = 24 * time.Hour
