package service

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/internal/gm"
	"elicense/issuer/state"
)

// Claim codes (领证码) are 20 characters of Crockford base-32, shown as
// five groups: seven for the number of the ticket the store files it
// under (tickets are numbered in issuance order, so a new one is appended
// rather than written at a random place) and thirteen secret ones (65
// bits). A guess tests one ticket (2^-65), where a code looked up by its
// hash is tested against every live one at once: the 80-bit codes this
// replaced gave 2^-80 × the number live, the same at 32,768. Only a
// salted SM3 of the secret is stored. They survive being read aloud or
// typed from paper.
const (
	claimAlphabet  = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	claimTicketLen = 7  // base-32 digits of the ticket number (state.MaxClaimTicket)
	claimSecretLen = 13 // 65 bits
	claimLen       = claimTicketLen + claimSecretLen
	// ClaimCodeTTL is how long a claim code stays valid.
	ClaimCodeTTL = 30 * 24 * time.Hour
	// ClaimPruneInterval is how often expired claim codes are deleted.
	ClaimPruneInterval = 10 * time.Minute
	// ChallengeTTL is how long a claim challenge may be answered.
	ChallengeTTL = 5 * time.Minute
	// claimContext prefixes what a device signs to prove possession.
	claimContext = "elicense/claim/v1\x00"
)

// newClaimTicket makes the secret half of a claim code and the ticket
// that stores its salted hash for licence id.
func newClaimTicket(id string, expires time.Time) (secret string, c *state.Claim) {
	b := make([]byte, claimSecretLen+16)
	rand.Read(b)
	for i := range claimSecretLen {
		b[i] = claimAlphabet[int(b[i])%len(claimAlphabet)] // 256 is a multiple of 32: uniform
	}
	secret, salt := string(b[:claimSecretLen]), b[claimSecretLen:]
	v := claimVerifier(salt, secret)
	return secret, &state.Claim{LicenceID: id, Expires: expires, Salt: salt, Verifier: v[:]}
}

func claimVerifier(salt []byte, secret string) [32]byte {
	return gm.SM3(append(append([]byte("elicense/claim-code/v2\x00"), salt...), secret...))
}

// claimCode writes ticket n and the secret as a person reads them:
// groups of four.
func claimCode(n uint64, secret string) string {
	var c [claimLen]byte
	for i := claimTicketLen - 1; i >= 0; i-- {
		c[i] = claimAlphabet[n%32]
		n /= 32
	}
	copy(c[claimTicketLen:], secret)
	var sb strings.Builder
	for i := 0; i < claimLen; i += 4 {
		if i > 0 {
			sb.WriteByte('-')
		}
		sb.Write(c[i : i+4])
	}
	return sb.String()
}

// parseClaimCode accepts what a person types: lower case, spaces or
// dashes anywhere, and the look-alikes I, L (1) and O (0). It returns
// the ticket number and the secret.
func parseClaimCode(code string) (uint64, string, bool) {
	r := strings.NewReplacer("-", "", " ", "", "I", "1", "L", "1", "O", "0")
	c := r.Replace(strings.ToUpper(code))
	if len(c) != claimLen || strings.Trim(c, claimAlphabet) != "" {
		return 0, "", false
	}
	var n uint64
	for i := range claimTicketLen {
		n = n*32 + uint64(strings.IndexByte(claimAlphabet, c[i]))
	}
	return n, c[claimTicketLen:], true
}

// NewClaimCode makes a one-time claim code for a licence; the holder
// claims a device-bound copy with it. Issuance makes one; agencies make
// more when a holder adds a device or lost the first code.
func (s *Service) NewClaimCode(op Operator, id string) (string, time.Time, error) {
	r, err := s.Get(op, id)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := s.mayChange(op, r); err != nil {
		return "", time.Time{}, err
	}
	if r.CopyOf != "" || r.Status != state.StatusValid {
		return "", time.Time{}, &Error{Kind: ErrConflict, Field: "id", Msg: "claim codes are made for valid licences, not copies"}
	}
	exp := s.now().Add(ClaimCodeTTL)
	secret, ticket := newClaimTicket(r.ID, exp)
	n, err := s.store.PutClaim(*ticket)
	if err != nil {
		return "", time.Time{}, &Error{Kind: ErrUnavailable, Msg: "storing the claim code", Err: err}
	}
	return claimCode(n, secret), exp, nil
}

// challenges mints and checks claim challenges without keeping any: a
// challenge is its expiry and 16 random bytes, with an HMAC-SM3 of both
// under a key made when the service starts (a restart voids the
// outstanding ones, as it did when they were kept in memory).
//
// Why no store: a store of issued challenges grows with every request,
// and bounding it means evicting, so a flood of challenge requests from
// many addresses would push out the challenges of holders who are
// claiming. The protocol does not need one. The challenge shows that the
// device signed within ChallengeTTL (freshness, which the MAC'd expiry
// gives); replay of a whole claim is stopped by the claim code, which is
// spent by its first use, and a guess at a code still costs a rate-limited
// request. So a challenge may be answered more than once before it
// expires, by the same device for several codes, which is harmless.
type challenges struct {
	once sync.Once
	key  []byte
}

// challengeSize is the decoded size: 8 bytes of expiry (unix seconds,
// big-endian), 16 random, 16 of MAC.
const challengeSize = 8 + 16 + 16

func (c *challenges) mac(b []byte) []byte {
	c.once.Do(func() {
		c.key = make([]byte, 32)
		rand.Read(c.key)
	})
	m := hmac.New(gm.NewSM3, c.key)
	m.Write([]byte("elicense/claim-challenge/v1\x00"))
	m.Write(b)
	return m.Sum(nil)[:16]
}

// Challenge returns a fresh nonce (base64url) that a claim must sign
// within ChallengeTTL. It keeps nothing: constant time and memory
// whatever the traffic.
func (s *Service) Challenge() (string, time.Time) {
	exp := s.now().Add(ChallengeTTL).Truncate(time.Second)
	b := make([]byte, 24, challengeSize)
	binary.BigEndian.PutUint64(b, uint64(exp.Unix()))
	rand.Read(b[8:])
	b = append(b, s.chal.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b), exp
}

// checkChallenge reports whether c is a challenge this service made that
// has not expired.
func (s *Service) checkChallenge(c string) bool {
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil || len(b) != challengeSize {
		return false
	}
	if !hmac.Equal(b[24:], s.chal.mac(b[:24])) {
		return false
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(b)), 0)
	return !s.now().After(exp)
}

// ClaimRequest is a holder's device claiming its copy of a licence.
type ClaimRequest struct {
	Code      string `json:"code"`       // the claim code (领证码)
	DeviceKey string `json:"device_key"` // base64url SM2 point, 33 or 65 bytes
	Challenge string `json:"challenge"`  // from Challenge
	Signature string `json:"signature"`  // base64url r‖s over claimContext ‖ challenge ‖ code ‖ device key
}

// ClaimSigningInput is what a device signs to claim a licence: the code
// exactly as it is sent.
func ClaimSigningInput(challenge, code string, deviceKey []byte) []byte {
	return append([]byte(claimContext+challenge+"\x00"+code+"\x00"), deviceKey...)
}

// Claim checks a claim and issues a copy of the licence bound to the
// device key: its own credential (cnf = the device key), QR core and
// status position, recorded in the ledger before it is returned. The
// code is spent even if the licence turns out not to be claimable.
func (s *Service) Claim(ctx context.Context, req ClaimRequest) (*state.Record, error) {
	end, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer end()
	n, secret, ok := parseClaimCode(req.Code)
	if !ok {
		return nil, invalid("code", "a claim code is 20 letters and digits, e.g. 0000-1A7K-3QM9-PX2R-TB8W")
	}
	raw, err := base64.RawURLEncoding.DecodeString(req.DeviceKey)
	if err != nil {
		return nil, invalid("device_key", "not base64url: %v", err)
	}
	dev, err := gm.ParsePublicKey(raw)
	if err != nil {
		return nil, &Error{Kind: ErrInvalid, Field: "device_key", Msg: "not an SM2 public key", Err: err}
	}
	sig, err := base64.RawURLEncoding.DecodeString(req.Signature)
	if err != nil {
		return nil, invalid("signature", "not base64url: %v", err)
	}
	if !s.checkChallenge(req.Challenge) {
		return nil, invalid("challenge", "unknown or expired challenge; fetch a new one")
	}
	if err := gm.VerifyRS(dev, ClaimSigningInput(req.Challenge, req.Code, raw), sig); err != nil {
		return nil, &Error{Kind: ErrInvalid, Field: "signature", Msg: "the device did not prove possession of its key", Err: err}
	}
	ticket, err := s.store.UseClaim(n, func(c state.Claim) bool {
		v := claimVerifier(c.Salt, secret)
		return subtle.ConstantTimeCompare(v[:], c.Verifier) == 1
	})
	switch {
	case errors.Is(err, state.ErrNotFound), errors.Is(err, state.ErrExists):
		return nil, &Error{Kind: ErrForbidden, Field: "code", Msg: "unknown or already used claim code"}
	case err != nil:
		return nil, &Error{Kind: ErrUnavailable, Msg: "reading the claim code", Err: err}
	case s.now().After(ticket.Expires):
		return nil, &Error{Kind: ErrForbidden, Field: "code", Msg: "the claim code expired; ask the agency for a new one"}
	}
	unlock := s.lock(ticket.LicenceID)
	defer unlock()
	parent, err := s.store.Get(ticket.LicenceID)
	if err != nil {
		return nil, &Error{Kind: ErrNotFound, Field: "code", Msg: "the licence of this code is gone", Err: err}
	}
	if parent.Status != state.StatusValid {
		return nil, &Error{Kind: ErrConflict, Field: "code", Msg: fmt.Sprintf("the licence is %s", parent.Status)}
	}
	comp, _ := gm.MarshalPublicKeyCompressed(dev)
	copyID := copyIDOf(s.audit, parent.ID, comp)
	if _, err := s.store.Get(copyID); err == nil {
		return nil, &Error{Kind: ErrConflict, Field: "device_key", Msg: "this device already holds the licence"}
	}
	rec, err := s.issueCopy(ctx, parent, dev, copyID)
	if err != nil {
		return nil, err
	}
	rec.Device = hex.EncodeToString(comp)
	return rec, nil
}

// copyIDOf is the identifier of licence id's copy for a device key
// (compressed): licence#tag, the tag keyed under the audit key
// (ledgerevent.AuditKey.CopyTag), so the public ledger's copy identifiers
// link no two licences held on one phone, even for someone who knows the
// phone's public key.
func copyIDOf(audit *ledgerevent.AuditKey, id string, device []byte) string {
	tag := audit.CopyTag(id, device)
	return id + "#" + hex.EncodeToString(tag[:])
}

func (s *Service) issueCopy(ctx context.Context, parent *state.Record, dev *ecdsa.PublicKey, copyID string) (*state.Record, error) {
	cl, ok := s.cat.Lookup(parent.Class)
	if !ok {
		return nil, &Error{Kind: ErrConflict, Msg: "licence class " + parent.Class + " is no longer in the catalogue"}
	}
	ag, ok := s.pki().Agency(parent.Agency)
	if !ok {
		return nil, &Error{Kind: ErrConflict, Msg: "the issuing agency is no longer configured"}
	}
	pid, err := parseID(parent.ID)
	if err != nil {
		return nil, err
	}
	issuedOn, err := time.Parse("2006-01-02", parent.IssuedOn)
	if err != nil {
		return nil, &Error{Kind: ErrConflict, Msg: "stored issue date does not parse", Err: err}
	}
	list, idx, err := s.status.Allocate(ag.Code)
	if err != nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "no free status-list position", Err: err}
	}
	rec, err := s.build(cl, ag, parent.Fields, issuedOn, parent.Number, list, idx, pid.Version, pid.Serial, dev)
	if err != nil {
		s.status.Release(list, idx)
		return nil, err
	}
	comp, _ := gm.MarshalPublicKeyCompressed(dev)
	rec.ID, rec.CopyOf, rec.Device = copyID, parent.ID, hex.EncodeToString(comp)
	put, err := s.store.Prepare(rec, nil)
	if err != nil {
		s.status.Release(list, idx)
		return nil, &Error{Kind: ErrConflict, Msg: "could not record the copy", Err: err}
	}
	ev := s.audit.Claim(ledgerevent.Claim{Time: s.now(), Agency: ag.Code, ID: copyID, Credential: mustHash(rec.CredentialHash)}, comp)
	first, err := s.record(ctx, events{{ev, map[string]string{ledgerevent.FieldDevice: rec.Device}}}, func(tx state.Tx, first uint64) error {
		if err := tx.Insert(put, first); err != nil {
			return err
		}
		return tx.AddUse(copyID, first) // the first of the copy's uses (docs/consent.md §7)
	})
	if err != nil {
		s.status.Release(list, idx)
		return nil, err
	}
	s.log.Info("device copy issued", "id", copyID, "ledger_index", first)
	return rec, nil
}

// Unbind revokes one device's copy of a licence (the device was lost);
// the licence and its other copies stay as they are.
func (s *Service) Unbind(ctx context.Context, op Operator, copyID string) (*state.Record, error) {
	if !strings.Contains(copyID, "#") {
		return nil, invalid("id", "%q is not a device copy (licence#device)", copyID)
	}
	r, done, err := s.forChange(op, copyID)
	if err != nil {
		return nil, err
	}
	defer done()
	if r.Unbound || r.Status == state.StatusRevoked {
		return nil, &Error{Kind: ErrConflict, Field: "id", Msg: "the copy is already revoked"}
	}
	now := s.now()
	ev := s.audit.Unbind(ledgerevent.Unbind{Time: now, Agency: r.Agency, ID: r.ID, Credential: mustHash(r.CredentialHash), From: ledgerStatus[r.Status], Reason: "遗失"}, op.Subject)
	if _, err := s.change(ctx, events{{ev, opAudit(op)}}, r, state.Change{ID: r.ID, Status: state.StatusRevoked, Reason: "遗失", At: now, Unbind: true}); err != nil {
		return nil, err
	}
	r.Status, r.Reason, r.Unbound = state.StatusRevoked, "遗失", true
	return r, nil
}
