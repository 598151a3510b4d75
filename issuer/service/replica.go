package service

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"elicense/issuer/pki"
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

// maxRetries bounds the new attempts of an issuance that another
// replica got in the way of (retryable).
const maxRetries = 3

// keyRetryWait is the first wait before an issuance refused for a
// retired key tries again (doubling each time, maxKeyRetries times):
// together the tries span a rotation's fence, its PKI commit and the
// reload, with room for a loaded machine.
const (
	keyRetryWait  = 250 * time.Millisecond
	maxKeyRetries = 5
)

// replica is the service's shared-backend state; nil shared means one
// process owns the backend.
type replica struct {
	shared state.Shared

	mu         sync.Mutex
	next, left uint32 // the reserved serial block

	from uint64 // followStatus: the next StatusSince
	// lists is held by followStatus from its read to its last Set, and
	// by a change from its read of the record after its commit to its
	// Set: a follow's older read never overwrites a newer change.
	lists sync.Mutex

	reloadedAt time.Time // reloadKeys, under Service.keyMu

	manifest fileStamp // watchPKI: the PKI manifest as last seen

	// retired holds the agency key IDs key events retired, as last read
	// (watchRetired): this process signs nothing with them.
	retired atomic.Pointer[map[string]bool]
}

// watchRetired reads the keys other replicas' rotations retired and, if
// this process still signs with one, reloads the keys (reloadKeys).
// Until it has the new key it refuses to sign with the old (keyUsable):
// without this a replica that issues no licence (which the state would
// refuse) would go on making seals with a retired key.
func (s *Service) watchRetired() {
	r := &s.replica
	if r.shared == nil {
		return
	}
	kids, err := r.shared.RetiredKeys()
	if err != nil {
		s.log.Warn("reading the retired agency keys", "err", err)
		return
	}
	m := make(map[string]bool, len(kids))
	for _, k := range kids {
		m[k] = true
	}
	r.retired.Store(&m)
	for _, ag := range s.pki().Agencies {
		if m[ag.KeyID] {
			s.reloadKeys(true)
			return
		}
	}
}

// staleFence is how old a key fence must be before a starting process
// lifts it as left by a rotation that crashed: far longer than any
// rotation holds one.
const staleFence = 10 * time.Minute

// unfence lifts the fence on agency key kid (state.Shared.FenceKey) if
// it is at least minAge old.
func (s *Service) unfence(kid string, minAge time.Duration) {
	lifted, err := s.replica.shared.UnfenceKey(kid, minAge)
	switch {
	case err != nil:
		s.log.Error("lifting the fence on an agency key whose rotation did not happen: its licences are refused until a start lifts it", "kid", kid, "err", err)
	case lifted:
		s.log.Warn("lifted the fence on an agency key whose rotation did not happen", "kid", kid)
	}
}

// liftStaleFences lifts the fences that crashed rotations left on the
// keys this process signs with (at start).
func (s *Service) liftStaleFences() {
	if s.replica.shared == nil {
		return
	}
	for _, ag := range s.pki().Agencies {
		s.unfence(ag.KeyID, staleFence)
	}
}

// keyUsable refuses to sign with an agency key another replica's
// rotation retired (watchRetired), which this process has no successor
// for yet.
func (s *Service) keyUsable(ag *pki.Agency) error {
	if m := s.replica.retired.Load(); m != nil && (*m)[ag.KeyID] {
		return &Error{Kind: ErrUnavailable, Msg: "agency " + ag.Code + "'s signing key was retired by another issuer process's rotation and this one does not have the new key yet (its data directory must hold it: docs/deployment.md)", Err: state.ErrKeyRetired}
	}
	return nil
}

// fileStamp tells a file's change: its size and modification time.
type fileStamp struct {
	size int64
	mod  time.Time
}

func stampOf(path string) (fileStamp, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, false
	}
	return fileStamp{fi.Size(), fi.ModTime()}, true
}

// watchPKI reloads the keys when the PKI directory's manifest changed:
// replicas sharing one directory take in another's key rotation within
// FollowEvery, before the state refuses them anything (reloadKeys).
func (s *Service) watchPKI() {
	r := &s.replica
	if r.shared == nil {
		return
	}
	st, ok := stampOf(filepath.Join(s.pki().Dir, pki.ManifestFile))
	if !ok || st == r.manifest {
		return
	}
	if r.manifest == (fileStamp{}) || s.reloadKeys(false) {
		r.manifest = st // else tried again at the next look
	}
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
	r.lists.Lock()
	defer r.lists.Unlock()
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

// retryable reports whether an issuance failed only because of another
// replica: it took the status position (or serial) first, or it
// rotated the agency's key (the keys are reloaded by then, see
// reloadKeys).
func (s *Service) retryable(err error) bool {
	return s.replica.shared != nil && (errors.Is(err, state.ErrExists) || errors.Is(err, state.ErrKeyRetired))
}

// reloadKeys loads the PKI again from its directory when the state
// refused a licence signed by a key another replica retired (refused:
// its rotation's ledger event ran state.Tx.RetireKey), or when the
// directory's manifest changed (watchPKI). The new key is there
// when the replicas share the directory, or once it was copied; until
// then the agency's licences are refused with the reason, never issued
// with the old key. At most once a second, and not during a rotation
// here.
//
// It reports whether it read the directory.
func (s *Service) reloadKeys(refused bool) bool {
	if s.replica.shared == nil || s.passphrase == nil || !s.keyMu.TryLock() {
		return false
	}
	defer s.keyMu.Unlock()
	// A refusal comes once per refused licence; a manifest change once.
	if refused && time.Since(s.replica.reloadedAt) < time.Second {
		return false
	}
	s.replica.reloadedAt = time.Now()
	cur := s.keys.Load()
	np, err := pki.Load(cur.pki.Dir, s.passphrase)
	if err != nil {
		s.log.Error("reloading the PKI after another replica's key rotation", "dir", cur.pki.Dir, "err", err)
		return false
	}
	seals := make(map[string]*agencySeal, len(np.Agencies))
	changed := 0
	for _, ag := range np.Agencies {
		if old, ok := cur.pki.Agency(ag.Code); ok && old.KeyID == ag.KeyID && cur.seals[ag.Code] != nil {
			seals[ag.Code] = cur.seals[ag.Code]
			continue
		}
		sl, err := s.agencySealOf(ag)
		if err != nil {
			s.log.Error("no licence-face seal for a reloaded key", "agency", ag.Code, "err", err)
			continue
		}
		seals[ag.Code], changed = sl, changed+1
	}
	if changed == 0 {
		if !refused {
			return true // this process's own rotation, or a change of no key
		}
		s.log.Error("the PKI directory holds no agency key this process lacks: if another replica rotated one, give this one the data directory holding the new key (docs/deployment.md)", "dir", cur.pki.Dir)
		return true
	}
	s.keys.Store(&keyring{pki: np, seals: seals})
	s.log.Warn("agency keys reloaded after another replica's rotation", "changed", changed)
	return true
}
