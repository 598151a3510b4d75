package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/internal/gm"
	"elicense/issuer/pki"
	"elicense/issuer/state"
)

// keyring is what the service signs with: the PKI, and the agencies'
// licence-face seals, made with the agencies' current keys. A key change
// replaces it as a whole (Service.keys), so a reader sees one or the
// other, never half of each.
type keyring struct {
	pki   *pki.PKI
	seals map[string]*agencySeal // agency code → its licence-face seal (set by Recover)
}

func (s *Service) pki() *pki.PKI { return s.keys.Load().pki }

// PKI returns the PKI as it is now: after RotateKey or CompromiseKey, the
// changed one. The trust bundle is built from it (issuer/publish).
func (s *Service) PKI() *pki.PKI { return s.pki() }

// RotateRequest asks for an agency's signing key to be replaced.
type RotateRequest struct {
	// CompromisedSince, when set, rotates the key out as compromised since
	// then (a key known to be stolen) instead of retired.
	CompromisedSince time.Time
}

// KeyInfo is one agency key as a key change left it.
type KeyInfo struct {
	KID   string `json:"kid"`
	State string `json:"state"` // active, retired or compromised
	// Since is when a retired or compromised key entered its state.
	Since time.Time `json:"since,omitzero"`
	// Genuine describes a compromised key's genuine set: the QR cores it
	// signed before Since, which counters keep accepting.
	Genuine *GenuineInfo `json:"genuine,omitempty"`
}

// GenuineInfo is a genuine set's size and SM3 (lower-case hex), as the
// trust bundle names it.
type GenuineInfo struct {
	Count uint64 `json:"count"`
	SM3   string `json:"sm3"`
}

// KeyChange is what RotateKey or CompromiseKey did.
type KeyChange struct {
	Agency string `json:"agency"`
	// New is the agency's active key after a rotation; nil when a
	// previous key was compromised.
	New *KeyInfo `json:"new_key,omitempty"`
	// Old is the key rotated out, or the previous key compromised.
	Old         KeyInfo `json:"old_key"`
	LedgerIndex uint64  `json:"ledger_index"`
}

// Key states in KeyInfo, as the trust bundle names them.
const (
	KeyActive      = "active"
	KeyRetired     = pki.KeyRetired
	KeyCompromised = pki.KeyCompromised
)

// canManageKeys: agency keys are the deployment's, so only admins change
// them.
func (op Operator) canManageKeys() error {
	if op.Role == RoleAdmin {
		return nil
	}
	return &Error{Kind: ErrForbidden, Msg: fmt.Sprintf("%s may not change agency keys (admins only)", op.Subject)}
}

// RotateKey gives an agency a new signing key certified by the root (with
// the agency's policy) and takes effect at once: the call waits for the
// changes in flight, which finish with the old key, and every change
// after it signs with the new one; the old key is retired from the next
// whole second after (signing times are whole seconds, so everything it
// signed stays valid) or, with CompromisedSince, compromised since then
// with its genuine set built from the records; the next trust bundle
// lists both keys. The PKI directory is changed in place (the old private
// key destroyed), then the ledger records a key-rotate or key-compromise
// event.
//
// Only admins may rotate (ErrForbidden); the agency must exist
// (ErrNotFound); CompromisedSince, taken to the whole second, must be at
// or before now and not before the old key's certificate starts
// (ErrInvalid). The service needs Options.Passphrase (ErrUnavailable).
func (s *Service) RotateKey(ctx context.Context, op Operator, agency string, req RotateRequest) (*KeyChange, error) {
	if err := op.canManageKeys(); err != nil {
		return nil, err
	}
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	ag, ok := s.pki().Agency(agency)
	if !ok {
		return nil, &Error{Kind: ErrNotFound, Field: "agency", Msg: "no agency " + agency}
	}
	return s.rotate(ctx, op, ag, req.CompromisedSince, "compromised_since")
}

// CompromiseKey declares agency key kid compromised since since: counters
// then accept only the QR cores of its genuine set, the ones the issuer
// signed with it before since, and refuse every other however it is
// dated. The key may be a previous one, or the active one, which is then
// rotated out first (RotateKey with CompromisedSince). The PKI directory
// and the running service change at once; the ledger records a
// key-compromise event.
//
// Only admins may do it (ErrForbidden); the agency and key must exist
// (ErrNotFound); since, taken to the whole second, must be at or before
// now and not before the key's certificate starts (ErrInvalid). A key
// already compromised may only be declared so again from an earlier time,
// which tightens its genuine set; the same or a later time would accept
// what was refused, and is a conflict (ErrConflict).
func (s *Service) CompromiseKey(ctx context.Context, op Operator, agency, kid string, since time.Time) (*KeyChange, error) {
	if err := op.canManageKeys(); err != nil {
		return nil, err
	}
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	p := s.pki()
	ag, ok := p.Agency(agency)
	if !ok {
		return nil, &Error{Kind: ErrNotFound, Field: "agency", Msg: "no agency " + agency}
	}
	if since.IsZero() {
		return nil, invalid("since", "the time the key is compromised since is required")
	}
	if kid == ag.KeyID {
		return s.rotate(ctx, op, ag, since, "since")
	}
	j := slices.IndexFunc(ag.Previous, func(pk *pki.Previous) bool { return pk.KeyID == kid })
	if j < 0 {
		return nil, &Error{Kind: ErrNotFound, Field: "kid", Msg: fmt.Sprintf("agency %s has no key %s", agency, kid)}
	}
	prev := ag.Previous[j]
	since, err := s.compromiseTime(prev.Cert, since, "since")
	if err != nil {
		return nil, err
	}
	if prev.State == pki.KeyCompromised && !since.Before(prev.Since) {
		return nil, &Error{Kind: ErrConflict, Field: "since", Msg: fmt.Sprintf("key %s is compromised since %s already; only an earlier time may be declared (a later one would accept what counters refuse)",
			kid, prev.Since.UTC().Format(time.RFC3339))}
	}
	end, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer end()
	// A previous key signs nothing any more, so the records already hold
	// everything it signed: its genuine set is complete without stopping
	// the changes in flight.
	ref, sum, err := s.writeGenuine(p, ag.Code, kid, since)
	if err != nil {
		return nil, err
	}
	es := events{{s.audit.KeyCompromised(ledgerevent.KeyCompromised{
		Time: s.now(), Agency: ag.Code, KeyID: kid, Since: since, Genuine: sum}, op.Subject), opAudit(op)}}
	if err := s.writeKeyJournal(ag.Code, kid, false, es); err != nil {
		return nil, err
	}
	np, err := pki.CompromisePrevious(p, ag.Code, kid, since, ref)
	if err != nil {
		s.dropKeyJournal()
		return nil, keyError(err)
	}
	k := s.keys.Load()
	s.keys.Store(&keyring{pki: np, seals: k.seals})
	old := KeyInfo{KID: kid, State: KeyCompromised, Since: since, Genuine: &GenuineInfo{Count: ref.Count, SM3: ref.SM3}}
	idx, err := s.recordKeyChange(ctx, ag.Code, kid, es)
	if err != nil {
		return nil, err
	}
	s.log.Warn("agency key compromised", "agency", ag.Code, "kid", kid, "since", since, "genuine", ref.Count, "ledger_index", idx, "operator", op.Subject)
	return &KeyChange{Agency: ag.Code, Old: old, LedgerIndex: idx}, nil
}

// rotate replaces the active key of ag, compromised since since when it
// is not zero (field names since in errors). s.keyMu is held.
func (s *Service) rotate(ctx context.Context, op Operator, ag *pki.Agency, since time.Time, field string) (*KeyChange, error) {
	compromised := !since.IsZero()
	if compromised {
		var err error
		if since, err = s.compromiseTime(ag.Cert, since, field); err != nil {
			return nil, err
		}
	}
	if s.passphrase == nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "this service was started without the PKI passphrase and cannot rotate keys"}
	}
	p := s.pki()
	// The slow part (root key, new key) while the old key still signs.
	r, err := pki.PrepareRotation(p, pki.RotateOptions{Passphrase: s.passphrase, Agency: ag.Code, Compromised: compromised, Since: since, Now: s.now})
	if err != nil {
		return nil, keyError(err)
	}
	// From here no change is in flight: the old key has signed its last,
	// the records hold everything it signed (its genuine set is
	// complete), and the key event goes into the ledger before any change
	// signed with the new key.
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if s.closed {
		return nil, &Error{Kind: ErrUnavailable, Msg: "the service is shutting down"}
	}
	committed := false
	// Other replicas may still sign with the old key: the shared state
	// refuses their licences from here on, before the retirement's time
	// is taken (at Commit), so none it acknowledges carries a later
	// signing time. A rotation that stops before Commit lifts the fence.
	if sh := s.replica.shared; sh != nil {
		if err := sh.FenceKey(ag.KeyID); err != nil {
			return nil, &Error{Kind: ErrUnavailable, Msg: "could not stop the other issuer processes signing with the old key", Err: err}
		}
		defer func() {
			if !committed {
				s.unfence(ag.KeyID, 0)
			}
		}()
	}
	var ref *pki.GenuineRef
	var sum [32]byte
	if compromised {
		if ref, sum, err = s.writeGenuine(p, ag.Code, ag.KeyID, since); err != nil {
			return nil, err
		}
	}
	now := s.now()
	es := events{{s.audit.KeyRotated(ledgerevent.KeyRotated{Time: now, Agency: ag.Code, KeyID: r.NewKID, Previous: r.OldKID}, op.Subject), opAudit(op)}}
	if compromised {
		es = append(es, event{s.audit.KeyCompromised(ledgerevent.KeyCompromised{
			Time: now, Agency: ag.Code, KeyID: r.OldKID, Since: since, Genuine: sum}, op.Subject), opAudit(op)})
	}
	if err := s.writeKeyJournal(ag.Code, r.NewKID, true, es); err != nil {
		return nil, err
	}
	np, err := r.Commit(p, ref)
	if err != nil {
		s.dropKeyJournal()
		return nil, keyError(err)
	}
	committed = true
	nag, _ := np.Agency(ag.Code)
	k := s.keys.Load()
	seals := make(map[string]*agencySeal, len(k.seals))
	for code, sl := range k.seals {
		if code != ag.Code {
			seals[code] = sl
		}
	}
	// The face seal is made with the new key; without one, faces go
	// unsealed until the next start makes it.
	if sl, err := s.agencySealOf(nag); err != nil {
		s.log.Error("no licence-face seal for the new key", "agency", ag.Code, "err", err)
	} else {
		seals[ag.Code] = sl
	}
	s.keys.Store(&keyring{pki: np, seals: seals})

	pk := nag.Previous[len(nag.Previous)-1]
	c := &KeyChange{Agency: ag.Code, New: &KeyInfo{KID: nag.KeyID, State: KeyActive}, Old: KeyInfo{KID: pk.KeyID, State: pk.State, Since: pk.Since}}
	if compromised {
		c.Old.Genuine = &GenuineInfo{Count: ref.Count, SM3: ref.SM3}
	}
	if c.LedgerIndex, err = s.recordKeyChange(ctx, ag.Code, nag.KeyID, es); err != nil {
		return nil, err
	}
	s.log.Warn("agency key rotated", "agency", ag.Code, "new_kid", c.New.KID, "old_kid", c.Old.KID, "old_state", c.Old.State, "since", c.Old.Since, "ledger_index", c.LedgerIndex, "operator", op.Subject)
	return c, nil
}

// compromiseTime takes since to the whole second (signing times are whole
// seconds; rounding down refuses, never accepts, the second it falls in)
// and checks it is at or before now and not before cert starts.
func (s *Service) compromiseTime(cert *gm.Certificate, since time.Time, field string) (time.Time, error) {
	since = since.UTC().Truncate(time.Second)
	switch {
	case since.After(s.now()):
		return since, invalid(field, "compromised since %s, which is in the future", since.Format(time.RFC3339))
	case since.Before(cert.NotBefore):
		return since, invalid(field, "compromised since %s, before the key's certificate starts (%s)", since.Format(time.RFC3339), cert.NotBefore.UTC().Format(time.RFC3339))
	}
	return since, nil
}

// writeGenuine builds the genuine set of agency key kid compromised since
// since from the records and keeps it in the PKI directory.
func (s *Service) writeGenuine(p *pki.PKI, agency, kid string, since time.Time) (*pki.GenuineRef, [32]byte, error) {
	doc, n, err := GenuineSet(s.store, kid, since)
	if err != nil {
		return nil, [32]byte{}, &Error{Kind: ErrUnavailable, Msg: "building the genuine set", Err: err}
	}
	ref, err := pki.WriteGenuineSet(p.Dir, agency, kid, doc, n)
	if err != nil {
		return nil, [32]byte{}, &Error{Kind: ErrUnavailable, Msg: "writing the genuine set", Err: err}
	}
	return ref, gm.SM3(doc), nil
}

// recordKeyChange appends a key event. The PKI has changed by then, and
// the service signs with it: a failure here leaves the change without its
// event, which the error says.
func (s *Service) recordKeyChange(ctx context.Context, agency, kid string, es events) (uint64, error) {
	idx, err := s.record(ctx, es, retireKeys(es))
	if err == nil {
		s.dropKeyJournal()
	}
	if err != nil {
		s.log.Error("agency key changed but its ledger event failed (the journal keeps it; the next start records it)", "agency", agency, "kid", kid, "err", err)
		return 0, &Error{Kind: ErrUnavailable, Msg: "the key changed (the PKI directory and the running service use it) but its ledger event failed; its journal keeps it and the next start records it", Err: err}
	}
	return idx, nil
}

// retireKeys is the state's side of key events: the key a rotation
// replaced signs nothing after it (state.Tx.RetireKey), so that other
// issuer processes sharing the state stop issuing with it.
func retireKeys(es events) func(tx state.Tx, first uint64) error {
	return func(tx state.Tx, first uint64) error {
		for i, e := range es {
			if kr, ok := e.ev.(*ledgerevent.KeyRotated); ok {
				if err := tx.RetireKey(kr.Previous, first+uint64(i)); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// keyError maps a PKI failure: a refused request is invalid, anything
// else (a file that cannot be read or written) is unavailable.
func keyError(err error) error {
	if errors.Is(err, pki.ErrRotate) {
		return &Error{Kind: ErrInvalid, Msg: "cannot change the key", Err: err}
	}
	return &Error{Kind: ErrUnavailable, Msg: "changing the PKI directory", Err: err}
}
