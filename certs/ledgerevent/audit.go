package ledgerevent

import (
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"elicense/internal/gm"
)

// SaltSize is the length of a commitment's salt.
const SaltSize = 16

// AuditKeySize is the length of an audit key.
const AuditKeySize = 32

// saltLabel starts every salt derivation, so the audit key's HMACs
// cannot be mistaken for any other use of it.
const saltLabel = "elicense/ledger-salt/2\x00"

var (
	// ErrOpening means an opening does not match the event's commitment.
	ErrOpening = errors.New("ledgerevent: opening does not match the commitment")
	// ErrNoField means the event's kind has no commitment of that name.
	ErrNoField = errors.New("ledgerevent: no such committed field")
)

// AuditKey is the issuer's secret from which every commitment's salt is
// derived. It never leaves the issuer: an auditor is given one field's
// salt and value, and checks them with VerifyOpening.
type AuditKey struct {
	mac *gm.HMACSM3 // the key's pads hashed once: a salt per personal field of every event
}

// NewAuditKey returns an audit key from 32 secret random bytes.
func NewAuditKey(secret []byte) (*AuditKey, error) {
	if len(secret) != AuditKeySize {
		return nil, fmt.Errorf("ledgerevent: audit key is %d bytes, want %d", len(secret), AuditKeySize)
	}
	return &AuditKey{mac: gm.NewHMACSM3(secret)}, nil
}

// copyTagLabel separates copy tags from salts under the same key.
const copyTagLabel = "elicense/copy-tag/v2\x00"

// CopyTag is the tag of the device copy of licence id for a device key
// (compressed), the part of the copy's identifier after '#':
//
//	HMAC-SM3(key, "elicense/copy-tag/v2" ‖ 0x00 ‖ id ‖ 0x00 ‖ device)[:8]
//
// Keyed, so that nobody who sees a phone's public key (every counter
// that checks a presentation does) can compute the identifiers of the
// phone's other copies and find them in the public ledger.
func (a *AuditKey) CopyTag(id string, device []byte) [8]byte {
	var sum [DigestSize]byte
	return [8]byte(a.mac.Sum(sum[:0], []byte(copyTagLabel), []byte(id), []byte{0}, device))
}

// Salt is the salt of one field of one event:
//
//	HMAC-SM3(key, "elicense/ledger-salt/2" ‖ 0x00 ‖ kind (1 byte) ‖
//	         uint16 len(subject) ‖ subject ‖ int64 Unix ns of time ‖ field)[:16]
//
// with lengths and integers big-endian. The subject is the identifier
// the event is about (Head().Subject). Distinct events or fields get
// unrelated salts, so the same value (one clerk, one phone) committed
// twice gives unrelated commitments, and nothing needs to be stored.
func (a *AuditKey) Salt(kind Kind, subject string, t time.Time, field string) [SaltSize]byte {
	var b [64]byte
	head := append(b[:0], saltLabel...)
	head = append(head, byte(kind))
	head = binary.BigEndian.AppendUint16(head, uint16(len(subject)))
	var tb [8]byte
	binary.BigEndian.PutUint64(tb[:], uint64(t.UnixNano()))
	var sum [DigestSize]byte
	return [SaltSize]byte(a.mac.Sum(sum[:0], head, []byte(subject), tb[:], []byte(field)))
}

// Commit returns SM3(salt ‖ value).
func Commit(salt [SaltSize]byte, value []byte) Commitment {
	h := gm.NewSM3()
	h.Write(salt[:])
	h.Write(value)
	var c Commitment
	h.Sum(c[:0])
	return c
}

// commit sets *dst, e's commitment named field, to the commitment to
// value. e's head (kind, subject, time) must be final.
func (a *AuditKey) commit(e Event, dst *Commitment, field string, value []byte) {
	h := e.Head()
	*dst = Commit(a.Salt(e.Kind(), h.Subject, h.Time, field), value)
}

// Opening reveals one committed field of one event to an auditor.
type Opening struct {
	Field string
	Salt  [SaltSize]byte
	Value []byte
}

// String shows the opening as field, hex salt and the value (as text if
// it is printable UTF-8, else hex).
func (o Opening) String() string {
	return fmt.Sprintf("%s salt=%x value=%s", o.Field, o.Salt, displayValue(o.Field, o.Value))
}

func displayValue(field string, v []byte) string {
	if field == FieldDevice {
		return hex.EncodeToString(v)
	}
	return string(v)
}

// Open returns the opening of e's field for value, after checking that
// value is what e commits to (ErrOpening otherwise).
func (a *AuditKey) Open(e Event, field string, value []byte) (Opening, error) {
	if commitmentField(e, field) == nil {
		return Opening{}, fmt.Errorf("%w: %s has no %q", ErrNoField, e.Kind(), field)
	}
	h := e.Head()
	o := Opening{Field: field, Salt: a.Salt(e.Kind(), h.Subject, h.Time, field), Value: append([]byte(nil), value...)}
	return o, VerifyOpening(e, o)
}

// VerifyOpening checks that o opens e's commitment o.Field: SM3(salt ‖
// value) is the published commitment. Anyone can check it; finding a
// second opening of a commitment means finding an SM3 collision.
func VerifyOpening(e Event, o Opening) error {
	c := commitmentField(e, o.Field)
	if c == nil {
		return fmt.Errorf("%w: %s has no %q", ErrNoField, e.Kind(), o.Field)
	}
	got := Commit(o.Salt, o.Value)
	if subtle.ConstantTimeCompare(got[:], c[:]) != 1 {
		return fmt.Errorf("%w: %s of %s %s", ErrOpening, o.Field, e.Kind(), e.Head().Subject)
	}
	return nil
}

// The constructors below fill an event's commitments from the personal
// values; the caller fills every public field first (the salts depend on
// the time and the subject). Each returns the event ready to Encode.

// Issue commits to the operator's token subject.
func (a *AuditKey) Issue(e Issue, operator string) *Issue {
	a.commit(&e, &e.Operator, FieldOperator, []byte(operator))
	return &e
}

// Reissue commits to the operator's token subject.
func (a *AuditKey) Reissue(e Reissue, operator string) *Reissue {
	a.commit(&e, &e.Operator, FieldOperator, []byte(operator))
	return &e
}

// StatusChange commits to the operator's token subject.
func (a *AuditKey) StatusChange(e StatusChange, operator string) *StatusChange {
	a.commit(&e, &e.Operator, FieldOperator, []byte(operator))
	return &e
}

// Unbind commits to the operator's token subject.
func (a *AuditKey) Unbind(e Unbind, operator string) *Unbind {
	a.commit(&e, &e.Operator, FieldOperator, []byte(operator))
	return &e
}

// Claim commits to the device's public key, 33-byte compressed SEC 1.
func (a *AuditKey) Claim(e Claim, device []byte) *Claim {
	a.commit(&e, &e.Device, FieldDevice, device)
	return &e
}

// SealMade commits to the holder's code and name and the operator.
func (a *AuditKey) SealMade(e SealMade, holderCode, holderName, operator string) *SealMade {
	a.commit(&e, &e.HolderCode, FieldHolderCode, []byte(holderCode))
	a.commit(&e, &e.HolderName, FieldHolderName, []byte(holderName))
	a.commit(&e, &e.Operator, FieldOperator, []byte(operator))
	return &e
}

// SealRevoked commits to the operator's token subject.
func (a *AuditKey) SealRevoked(e SealRevoked, operator string) *SealRevoked {
	a.commit(&e, &e.Operator, FieldOperator, []byte(operator))
	return &e
}

// KeyRotated commits to the operator's identity.
func (a *AuditKey) KeyRotated(e KeyRotated, operator string) *KeyRotated {
	a.commit(&e, &e.Operator, FieldOperator, []byte(operator))
	return &e
}

// KeyCompromised commits to the operator's identity.
func (a *AuditKey) KeyCompromised(e KeyCompromised, operator string) *KeyCompromised {
	a.commit(&e, &e.Operator, FieldOperator, []byte(operator))
	return &e
}
