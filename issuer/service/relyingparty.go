package service

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"elicense/certs/consent"
	"elicense/certs/ident"
	"elicense/certs/ledgerevent"
	"elicense/internal/gm"
	"elicense/issuer/state"
)

// Limits of a registration (docs/consent.md §2).
const (
	maxRPID       = ledgerevent.MaxRPLen
	maxRPText     = 256 // bytes of a name, org name or purpose
	maxMatters    = 64
	maxMatterCode = ledgerevent.MaxMatterLen
	maxCallback   = 2048
)

// RPRegistration is an admin's registration of a relying party: the
// body of POST and PUT /v1/relying-parties.
type RPRegistration struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	OrgCode  string         `json:"org_code"`
	OrgName  string         `json:"org_name"`
	Key      string         `json:"key"` // base64 DER SubjectPublicKeyInfo, or a PEM/DER certificate
	Callback string         `json:"callback,omitempty"`
	Matters  []state.Matter `json:"matters"`
}

// RPView is a relying party as the API shows it: public information.
type RPView struct {
	ID          string           `json:"id"`
	Name        string           `json:"name"`
	OrgCode     string           `json:"org_code"`
	OrgName     string           `json:"org_name"`
	Key         string           `json:"key"` // base64 DER SubjectPublicKeyInfo
	Callback    string           `json:"callback,omitempty"`
	Matters     []state.Matter   `json:"matters"`
	State       state.PartyState `json:"state"`
	VoidBefore  string           `json:"void_before,omitempty"`
	LedgerIndex uint64           `json:"ledger_index"`
}

func rpView(rp *state.RelyingParty) *RPView {
	v := &RPView{ID: rp.ID, Name: rp.Name, OrgCode: rp.OrgCode, OrgName: rp.OrgName, Key: base64.StdEncoding.EncodeToString(rp.Key),
		Callback: rp.Callback, Matters: rp.Matters, State: rp.State, LedgerIndex: rp.LedgerIndex}
	if !rp.VoidBefore.IsZero() {
		v.VoidBefore = rp.VoidBefore.UTC().Format("2006-01-02T15:04:05.999999999Z07:00")
	}
	return v
}

func validRPID(id string) bool {
	if id == "" || len(id) > maxRPID {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func checkText(field, v string, required bool) error {
	switch {
	case v == "" && required:
		return invalid(field, "%s is required", field)
	case len(v) > maxRPText:
		return invalid(field, "%s is longer than %d bytes", field, maxRPText)
	case v != "" && !consent.ValidText(v, maxRPText):
		return invalid(field, "%s must be UTF-8 text without control characters (tabs and line breaks included)", field)
	}
	return nil
}

// parsePartyKey reads a party's key: base64 (standard or URL alphabet,
// padded or not) of a DER SubjectPublicKeyInfo or certificate, or a PEM
// certificate or public key. It returns the key and its SPKI DER.
func parsePartyKey(s string) (*ecdsa.PublicKey, []byte, error) {
	der := []byte(nil)
	if b, _ := pem.Decode([]byte(s)); b != nil {
		der = b.Bytes
	} else {
		t := strings.TrimRight(s, "=")
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(t); err == nil {
				der = b
				break
			}
		}
	}
	if len(der) == 0 {
		return nil, nil, invalid("key", "the key is neither base64 DER nor PEM")
	}
	pub, err := gm.ParsePKIXPublicKey(der)
	if err != nil {
		c, cerr := gm.ParseCertificate(der)
		if cerr != nil {
			return nil, nil, &Error{Kind: ErrInvalid, Field: "key", Msg: "not an SM2 SubjectPublicKeyInfo or certificate", Err: err}
		}
		p, ok := c.PublicKey.(*ecdsa.PublicKey)
		if !ok {
			return nil, nil, invalid("key", "the certificate does not hold an SM2 key")
		}
		pub = p
	}
	spki, err := gm.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, &Error{Kind: ErrInvalid, Field: "key", Msg: "not an SM2 key", Err: err}
	}
	return pub, spki, nil
}

// checkRegistration validates a registration against the catalogue
// and returns the party it registers (active, no ledger index).
func (s *Service) checkRegistration(reg RPRegistration) (*state.RelyingParty, error) {
	if !validRPID(reg.ID) {
		return nil, invalid("id", "a relying-party id is 1–%d of [a-z0-9-]", maxRPID)
	}
	for _, f := range []struct{ name, v string }{{"name", reg.Name}, {"org_name", reg.OrgName}} {
		if err := checkText(f.name, f.v, true); err != nil {
			return nil, err
		}
	}
	if err := ident.ValidateUSCC(reg.OrgCode); err != nil {
		return nil, &Error{Kind: ErrInvalid, Field: "org_code", Msg: "org_code must be a 统一社会信用代码", Err: err}
	}
	if len(reg.Callback) > maxCallback {
		return nil, invalid("callback", "the callback URL is longer than %d bytes", maxCallback)
	}
	if err := checkCallback(reg.Callback); err != nil {
		return nil, err
	}
	_, spki, err := parsePartyKey(reg.Key)
	if err != nil {
		return nil, err
	}
	if len(reg.Matters) == 0 || len(reg.Matters) > maxMatters {
		return nil, invalid("matters", "a party registers 1–%d matters", maxMatters)
	}
	matters := make([]state.Matter, len(reg.Matters))
	codes := map[string]bool{}
	for i, m := range reg.Matters {
		if !consent.ValidText(m.Code, maxMatterCode) || strings.ContainsAny(m.Code, ", ") {
			return nil, invalid("matters", "matter %d: a code is 1–%d bytes of text without spaces or commas", i, maxMatterCode)
		}
		if codes[m.Code] {
			return nil, invalid("matters", "matter %s twice", m.Code)
		}
		codes[m.Code] = true
		if err := checkText("matters", m.Name, true); err != nil {
			return nil, invalid("matters", "matter %s: a name of 1–%d bytes of one line", m.Code, maxRPText)
		}
		if len(m.Classes) == 0 {
			return nil, invalid("matters", "matter %s asks for no class", m.Code)
		}
		out := state.Matter{Code: m.Code, Name: m.Name, Classes: make([]state.MatterClass, len(m.Classes))}
		seen := map[string]bool{}
		for j, mc := range m.Classes {
			cl, ok := s.cat.Lookup(mc.Class)
			if !ok {
				return nil, invalid("matters", "matter %s: unknown licence class %q", m.Code, mc.Class)
			}
			if seen[cl.Key] {
				return nil, invalid("matters", "matter %s: class %s twice", m.Code, cl.Key)
			}
			seen[cl.Key] = true
			if len(mc.Fields) == 0 {
				return nil, invalid("matters", "matter %s, class %s: no field", m.Code, cl.Key)
			}
			keys := map[string]bool{}
			for _, f := range mc.Fields {
				if _, ok := cl.Field(f.Key); !ok {
					return nil, invalid("matters", "matter %s: %q is not a field of class %s", m.Code, f.Key, cl.Key)
				}
				if keys[f.Key] {
					return nil, invalid("matters", "matter %s, class %s: field %s twice", m.Code, cl.Key, f.Key)
				}
				keys[f.Key] = true
				if err := checkText("matters", f.Purpose, true); err != nil {
					return nil, invalid("matters", "matter %s, field %s: a purpose of 1–%d bytes of one line is required", m.Code, f.Key, maxRPText)
				}
			}
			out.Classes[j] = state.MatterClass{Class: cl.Key, Fields: mc.Fields}
		}
		matters[i] = out
	}
	return &state.RelyingParty{ID: reg.ID, Name: reg.Name, OrgCode: reg.OrgCode, OrgName: reg.OrgName, Key: spki,
		Callback: reg.Callback, Matters: matters, State: state.PartyActive}, nil
}

// registrationSM3 is the SM3 of a registration's canonical JSON: the
// members of RPRegistration in their order, the key as base64 of its
// SubjectPublicKeyInfo DER, class keys as the catalogue names them, no
// insignificant space, no HTML escaping (docs/consent.md §2).
func registrationSM3(rp *state.RelyingParty) ledgerevent.Digest {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(RPRegistration{ID: rp.ID, Name: rp.Name, OrgCode: rp.OrgCode, OrgName: rp.OrgName,
		Key: base64.StdEncoding.EncodeToString(rp.Key), Callback: rp.Callback, Matters: rp.Matters})
	return gm.SM3(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func mayAdminParties(op Operator) error {
	if op.Role != RoleAdmin {
		return &Error{Kind: ErrForbidden, Msg: "only an admin registers and changes relying parties"}
	}
	return nil
}

// RegisterParty registers a relying party (create) or replaces the
// registration of one (same id; its state stays), recording an
// rp-registered event.
func (s *Service) RegisterParty(ctx context.Context, op Operator, reg RPRegistration, create bool) (*RPView, error) {
	if err := mayAdminParties(op); err != nil {
		return nil, err
	}
	end, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer end()
	rp, err := s.checkRegistration(reg)
	if err != nil {
		return nil, err
	}
	unlock := s.lock("rp\x00" + rp.ID)
	defer unlock()
	if !create {
		cur, err := s.party(rp.ID)
		if err != nil {
			return nil, err
		}
		if cur.State == state.PartyRemoved {
			return nil, &Error{Kind: ErrConflict, Field: "id", Msg: "relying party " + rp.ID + " was removed"}
		}
		// Shown as read; the state keeps the stored state and VoidBefore
		// whatever this says (a suspension racing this on another
		// replica stays), and the answer is read back below.
		rp.State, rp.VoidBefore = cur.State, cur.VoidBefore
	}
	ev := s.audit.RPRegistered(ledgerevent.RPRegistered{Time: s.now(), Agency: rp.OrgCode, RP: rp.ID,
		Key: gm.SM3(rp.Key), Registration: registrationSM3(rp)}, op.Subject)
	idx, err := s.record(ctx, events{{ev, opAudit(op)}}, func(tx state.Tx, first uint64) error {
		return tx.PutRelyingParty(rp, create, first)
	})
	switch {
	case errors.Is(err, state.ErrExists):
		return nil, &Error{Kind: ErrConflict, Field: "id", Msg: "relying-party id " + rp.ID + " is taken (ids are never reused)"}
	case errors.Is(err, state.ErrNotFound):
		return nil, &Error{Kind: ErrNotFound, Field: "id", Msg: "no relying party " + rp.ID}
	case errors.Is(err, state.ErrRevoked):
		return nil, &Error{Kind: ErrConflict, Field: "id", Msg: "relying party " + rp.ID + " was removed"}
	case err != nil:
		return nil, err
	}
	s.keyCache.forget(rp.ID)
	rp.LedgerIndex = idx
	s.log.Info("relying party registered", "rp", rp.ID, "create", create, "ledger_index", idx, "operator", op.Subject)
	return s.partyView(rp), nil
}

// PartyAction is an admin's change of a relying party's state.
type PartyAction string

// Party actions.
const (
	PartySuspend PartyAction = "suspend"
	PartyResume  PartyAction = "resume"
	PartyRemove  PartyAction = "remove"
)

// ChangeParty suspends, resumes or removes a relying party, recording
// an rp-status event. Suspension and removal void every grant the party
// holds (VoidBefore), for ever.
func (s *Service) ChangeParty(ctx context.Context, op Operator, id string, action PartyAction, reason string) (*RPView, error) {
	if err := mayAdminParties(op); err != nil {
		return nil, err
	}
	if err := checkText("reason", reason, false); err != nil {
		return nil, err
	}
	end, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer end()
	unlock := s.lock("rp\x00" + id)
	defer unlock()
	rp, err := s.party(id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var to ledgerevent.RPState
	switch {
	case rp.State == state.PartyRemoved:
		return nil, &Error{Kind: ErrConflict, Field: "id", Msg: "relying party " + id + " was removed"}
	case action == PartySuspend && rp.State == state.PartyActive:
		rp.State, rp.VoidBefore, to = state.PartySuspended, later(rp.VoidBefore, now), ledgerevent.RPSuspended
	case action == PartyResume && rp.State == state.PartySuspended:
		rp.State, to = state.PartyActive, ledgerevent.RPActive
	case action == PartyRemove:
		rp.State, rp.VoidBefore, to = state.PartyRemoved, later(rp.VoidBefore, now), ledgerevent.RPRemoved
	case action == PartySuspend || action == PartyResume:
		return nil, &Error{Kind: ErrConflict, Field: "state", Msg: fmt.Sprintf("cannot %s a relying party that is %s", action, rp.State)}
	default:
		return nil, invalid("action", "unknown action %q", action)
	}
	ev := s.audit.RPStatus(ledgerevent.RPStatus{Time: now, Agency: rp.OrgCode, RP: rp.ID, State: to, Reason: reason}, op.Subject)
	idx, err := s.record(ctx, events{{ev, opAudit(op)}}, func(tx state.Tx, first uint64) error {
		return tx.SetPartyState(rp.ID, rp.State, now, first)
	})
	if errors.Is(err, state.ErrRevoked) {
		return nil, &Error{Kind: ErrConflict, Field: "id", Msg: "relying party " + id + " was removed"}
	}
	if err != nil {
		return nil, err
	}
	s.keyCache.forget(rp.ID)
	rp.LedgerIndex = idx
	s.log.Info("relying party changed", "rp", rp.ID, "state", rp.State, "ledger_index", idx, "operator", op.Subject)
	return s.partyView(rp), nil
}

// partyView shows party rp as stored once its change committed: the
// state keeps what another replica's change set meanwhile (a replace
// keeps the state, VoidBefore only moves forward). rp as written if the
// read fails or already shows a later change.
func (s *Service) partyView(rp *state.RelyingParty) *RPView {
	if cur, err := s.store.RelyingParty(rp.ID); err == nil && cur.LedgerIndex == rp.LedgerIndex {
		return rpView(cur)
	}
	return rpView(rp)
}

// later is the later of a and b (VoidBefore only moves forward).
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Party returns a relying party's registration (admins and auditors).
func (s *Service) Party(op Operator, id string) (*RPView, error) {
	if op.Role != RoleAdmin && op.Role != RoleAuditor {
		return nil, &Error{Kind: ErrForbidden, Msg: "relying parties are read by admins and auditors"}
	}
	rp, err := s.party(id)
	if err != nil {
		return nil, err
	}
	return rpView(rp), nil
}

// Parties lists every relying party, removed ones included.
func (s *Service) Parties(op Operator) ([]*RPView, error) {
	if op.Role != RoleAdmin && op.Role != RoleAuditor {
		return nil, &Error{Kind: ErrForbidden, Msg: "relying parties are read by admins and auditors"}
	}
	rps, err := s.store.RelyingParties()
	if err != nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "reading the relying parties", Err: err}
	}
	out := make([]*RPView, len(rps))
	for i, rp := range rps {
		out[i] = rpView(rp)
	}
	return out, nil
}

func (s *Service) party(id string) (*state.RelyingParty, error) {
	if !validRPID(id) {
		return nil, &Error{Kind: ErrNotFound, Field: "id", Msg: "no relying party " + id}
	}
	rp, err := s.store.RelyingParty(id)
	if errors.Is(err, state.ErrNotFound) {
		return nil, &Error{Kind: ErrNotFound, Field: "id", Msg: "no relying party " + id}
	}
	if err != nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "reading the relying party", Err: err}
	}
	return rp, nil
}

// Caller is who signed a proof (docs/consent.md §3): a relying party or
// the holder of a licence copy; exactly one is set.
type Caller struct {
	RP   string // relying-party id
	Copy string // licence copy identifier licence#tag
}

// ProofKey returns the key that signs proofs for sub: the registered key
// of relying party sub (suspended or not: the calls it may make say
// so), or the device key of licence copy sub (licence#tag) while it is
// bound. A removed party, an unbound copy and an unknown sub are
// ErrNotFound.
func (s *Service) ProofKey(sub string) (*ecdsa.PublicKey, error) {
	if !strings.Contains(sub, "#") {
		rp, err := s.party(sub)
		if err != nil {
			return nil, err
		}
		if rp.State == state.PartyRemoved {
			return nil, &Error{Kind: ErrNotFound, Field: "sub", Msg: "relying party " + sub + " was removed"}
		}
		return s.keyCache.get(rp.ID, rp.Key, gm.ParsePKIXPublicKey)
	}
	rec, err := s.store.Get(sub)
	switch {
	case errors.Is(err, state.ErrNotFound):
		return nil, &Error{Kind: ErrNotFound, Field: "sub", Msg: "no such licence copy"}
	case err != nil:
		return nil, &Error{Kind: ErrUnavailable, Msg: "reading the store", Err: err}
	case rec.CopyOf == "" || rec.Unbound || rec.Device == "":
		return nil, &Error{Kind: ErrNotFound, Field: "sub", Msg: "not a bound licence copy"}
	}
	raw, err := hex.DecodeString(rec.Device)
	if err != nil {
		return nil, &Error{Kind: ErrConflict, Msg: "stored device key does not parse", Err: err}
	}
	return s.keyCache.get(sub, raw, gm.ParsePublicKey)
}

// keyCache keeps parsed proof keys by subject and encoding, so a
// party's key is not parsed again on every call. It is bounded: when
// full it is emptied.
type keyCache struct {
	mu sync.Mutex
	m  map[string]cachedKey
}

type cachedKey struct {
	raw string
	pub *ecdsa.PublicKey
}

const maxCachedKeys = 4096

func (c *keyCache) get(sub string, raw []byte, parse func([]byte) (*ecdsa.PublicKey, error)) (*ecdsa.PublicKey, error) {
	c.mu.Lock()
	k, ok := c.m[sub]
	c.mu.Unlock()
	if ok && k.raw == string(raw) {
		return k.pub, nil
	}
	pub, err := parse(raw)
	if err != nil {
		return nil, &Error{Kind: ErrConflict, Msg: "stored key does not parse", Err: err}
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = make(map[string]cachedKey)
	}
	c.m[sub] = cachedKey{string(raw), pub}
	c.mu.Unlock()
	return pub, nil
}

func (c *keyCache) forget(sub string) {
	c.mu.Lock()
	delete(c.m, sub)
	c.mu.Unlock()
}
