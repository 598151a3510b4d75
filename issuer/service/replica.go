package service

import (
	"errors"
	"sync"
	"time"

	"elicense/issuer/state"
)

// Several issuer processes (replicas) may share one backend
// (state.Shared). What each keeps in memory is then brought in line with
// what the others commit, and what must be unique is taken from the
// backend:
//   - the status lists: each replica follows the state's status changes
//     (followStatus), which also marks the positions the others took as
//     used, so that its random picks rarely meet theirs; a position taken
//     anyway is refused at the commit and the issuance picks again;
//   - licence serials: the counter behind newSerial comes in blocks the
//     backend reserves for one process.

// FollowEvery is how often a replica takes in the status changes other
// replicas committed (status lists it serves lag by at most this).
const FollowEvery = 500 * time.Millisecond

// serialBlock is how many serial counter values a replica reserves at a
// time: one round trip per this many issuances.
const serialBlock = 4096

// maxPositionRetries bounds the new picks of an issuance whose status
// position another replica took first.
const maxPositionRetries = 3

// replica is the service's shared-backend state; nil shared means one
// process owns the backend.
type replica struct {
	shared state.Shared

	mu         sync.Mutex
	next, left uint32 // the reserved serial block

	from uint64 // followStatus: the next StatusSince
}

// nextSerial is the counter value for the next licence serial.
func (s *Service) nextSerial() (uint32, error) {
	r := &s.replica
	if r.shared == nil {
		return serialCounter.Add(1), nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.left == 0 {
		first, err := r.shared.ReserveSerials(serialBlock)
		if err != nil {
			return 0, &Error{Kind: ErrUnavailable, Msg: "reserving licence serials", Err: err}
		}
		r.next, r.left = first, serialBlock
	}
	v := r.next
	r.next++
	r.left--
	return v, nil
}

// followStatus takes in the status changes committed since the last
// call, by any replica, into the status lists.
func (s *Service) followStatus() {
	r := &s.replica
	if r.shared == nil {
		return
	}
	const page = 10000
	for {
		n := 0
		next, err := r.shared.StatusSince(r.from, page, func(rec *state.Record) error {
			n++
			return s.status.Set(rec.StatusList, rec.StatusIndex, rec.Status)
		})
		if err != nil {
			s.log.Warn("following other replicas' status changes", "err", err)
			return
		}
		r.from = next
		if n < page {
			return
		}
	}
}

// positionTaken reports whether an issuance failed because another
// replica took its status position (or serial) first.
func (s *Service) positionTaken(err error) bool {
	return s.replica.shared != nil && errors.Is(err, state.ErrExists)
}
