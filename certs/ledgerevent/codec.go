package ledgerevent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

var (
	// ErrMalformed means bytes are not the canonical format-2 encoding of
	// an event, or an event cannot be encoded (a field out of range, a
	// commitment not made).
	ErrMalformed = errors.New("ledgerevent: malformed event")
	// ErrFormat1 means an entry of format 1, the licence-shaped entry of
	// earlier releases that published personal data. A ledger holding
	// one must be migrated (docs/events.md).
	ErrFormat1 = errors.New("ledgerevent: format-1 entry (published personal data; the ledger needs migrating, see docs/events.md)")
)

// FieldError names the field of a malformed event. It wraps
// ErrMalformed.
type FieldError struct {
	Kind  Kind
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("ledgerevent: %s: %s", e.Kind, e.Msg)
	}
	return fmt.Sprintf("ledgerevent: %s: %s: %s", e.Kind, e.Field, e.Msg)
}

func (e *FieldError) Unwrap() error { return ErrMalformed }

// MaxLen is the longest encoding of any event (a grant with the longest
// texts).
const MaxLen = max(maxReissueLen, maxGrantLen)

const (
	maxReissueLen = 2 + 8 + 2 + MaxAgencyLen + 2*(2+MaxIDLen) + 2*DigestSize + 1 + 2 + MaxReasonLen + DigestSize
	maxGrantLen   = 2 + 8 + 2 + MaxAgencyLen + 2 + MaxIDLen + 2 + MaxRPLen + 2 + MaxMatterLen + DigestSize + 2 + MaxFieldsLen + 8 + 1 + DigestSize
)

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// Encode returns the canonical encoding of e:
//
//	format (1 byte, 2) ‖ kind (1 byte) ‖ the kind's fields in order
//
// Fields: a time is int64 Unix nanoseconds, big-endian (UTC; the years
// 1678 to 2262); a text is a big-endian uint16 length and that many bytes
// of UTF-8; a digest or commitment is 32 bytes; a status is one byte. No
// padding, nothing after the last field. Every commitment must have been
// made (a zero commitment is refused).
func Encode(e Event) ([]byte, error) { return AppendEncode(make([]byte, 0, encodeHint), e) }

// encodeHint is room for most events, so encoding one allocates once.
const encodeHint = 192

// AppendEncode appends the canonical encoding of e to b.
func AppendEncode(b []byte, e Event) ([]byte, error) {
	if e == nil || !e.Kind().Valid() {
		return nil, fmt.Errorf("%w: no event", ErrMalformed)
	}
	c := codec{buf: append(b, Format, byte(e.Kind())), kind: e.Kind()}
	e.fields(&c)
	if c.err != nil {
		return nil, c.err
	}
	if err := e.check(); err != nil {
		return nil, &FieldError{Kind: e.Kind(), Msg: err.Error()}
	}
	return c.buf, nil
}

// Decode decodes one canonical entry. Anything else (another format, an
// unknown kind or status, a text too long, empty where it must not be or
// not UTF-8, a zero commitment, a truncated field, trailing bytes, an
// impossible status change) gives an error wrapping ErrMalformed (a
// *FieldError naming the field), or ErrFormat1.
func Decode(b []byte) (Event, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	switch {
	case b[0] == 1:
		return nil, ErrFormat1
	case b[0] != Format:
		return nil, fmt.Errorf("%w: format %d, this code reads format %d", ErrMalformed, b[0], Format)
	}
	e := newEvent(Kind(b[1]))
	if e == nil {
		return nil, fmt.Errorf("%w: unknown kind %d", ErrMalformed, b[1])
	}
	c := codec{in: b[2:], decoding: true, kind: e.Kind()}
	e.fields(&c)
	if c.err != nil {
		return nil, c.err
	}
	if len(c.in) != 0 {
		return nil, &FieldError{Kind: e.Kind(), Msg: fmt.Sprintf("%d trailing bytes", len(c.in))}
	}
	if err := e.check(); err != nil {
		return nil, &FieldError{Kind: e.Kind(), Msg: err.Error()}
	}
	return e, nil
}

func newEvent(k Kind) Event {
	switch k {
	case KindIssue:
		return new(Issue)
	case KindReissue:
		return new(Reissue)
	case KindStatus:
		return new(StatusChange)
	case KindUnbind:
		return new(Unbind)
	case KindClaim:
		return new(Claim)
	case KindSealMade:
		return new(SealMade)
	case KindSealRevoked:
		return new(SealRevoked)
	case KindKeyRotated:
		return new(KeyRotated)
	case KindKeyCompromised:
		return new(KeyCompromised)
	case KindRPRegistered:
		return new(RPRegistered)
	case KindRPStatus:
		return new(RPStatus)
	case KindGrant:
		return new(Grant)
	case KindGrantUse:
		return new(GrantUse)
	case KindGrantRevoked:
		return new(GrantRevoked)
	case KindCounterVerified:
		return new(CounterVerified)
	case KindArchiveExported:
		return new(ArchiveExported)
	}
	return nil
}

// codec walks an event's fields: it appends them to buf (encoding),
// reads them from in (decoding), or, with find set, looks for one
// commitment by name.
type codec struct {
	kind     Kind
	decoding bool
	buf      []byte
	in       []byte
	err      error

	find  string      // the commitment field looked for
	found *Commitment // set when find is visited
}

func (c *codec) fail(field, format string, args ...any) {
	if c.err == nil {
		c.err = &FieldError{Kind: c.kind, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
}

func (c *codec) take(field string, n int) []byte {
	if c.err != nil {
		return nil
	}
	if len(c.in) < n {
		c.fail(field, "truncated: %d bytes needed, %d remain", n, len(c.in))
		return nil
	}
	v := c.in[:n:n]
	c.in = c.in[n:]
	return v
}

func (c *codec) time(field string, t *time.Time) {
	switch {
	case c.find != "":
	case c.decoding:
		if v := c.take(field, 8); v != nil {
			*t = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
		}
	case t.Before(minTime) || t.After(maxTime):
		c.fail(field, "%v is outside the years 1678..2262", *t)
	default:
		c.buf = binary.BigEndian.AppendUint64(c.buf, uint64(t.UnixNano()))
	}
}

func (c *codec) text(field string, s *string, lo, hi int) {
	switch {
	case c.find != "":
		return
	case c.decoding:
		v := c.take(field, 2)
		if v == nil {
			return
		}
		n := int(binary.BigEndian.Uint16(v))
		if n > hi {
			c.fail(field, "%d bytes, at most %d allowed", n, hi)
			return
		}
		if v = c.take(field, n); v == nil {
			return
		}
		*s = string(v)
	default:
		if len(*s) > hi {
			c.fail(field, "%d bytes, at most %d allowed", len(*s), hi)
			return
		}
		c.buf = binary.BigEndian.AppendUint16(c.buf, uint16(len(*s)))
		c.buf = append(c.buf, *s...)
	}
	if c.err != nil {
		return
	}
	switch {
	case len(*s) < lo:
		c.fail(field, "empty")
	case !utf8.ValidString(*s):
		c.fail(field, "not valid UTF-8")
	}
}

func (c *codec) digest(field string, d *[DigestSize]byte) {
	switch {
	case c.find != "":
	case c.decoding:
		if v := c.take(field, DigestSize); v != nil {
			copy(d[:], v)
		}
	default:
		c.buf = append(c.buf, d[:]...)
	}
}

func (c *codec) commitment(field string, d *Commitment) {
	if c.find != "" {
		if c.find == field {
			c.found = d
		}
		return
	}
	c.digest(field, (*[DigestSize]byte)(d))
	if c.err == nil && *d == (Commitment{}) {
		c.fail(field, "commitment not made (all zero)")
	}
}

func (c *codec) status(field string, s *Status) {
	switch {
	case c.find != "":
		return
	case c.decoding:
		if v := c.take(field, 1); v != nil {
			*s = Status(v[0])
		}
	default:
		c.buf = append(c.buf, byte(*s))
	}
	if c.err == nil && !s.Valid() {
		c.fail(field, "unknown status %d", uint8(*s))
	}
}

// enum is a one-byte code in lo..hi.
func (c *codec) enum(field string, v *uint8, lo, hi uint8) {
	switch {
	case c.find != "":
		return
	case c.decoding:
		if b := c.take(field, 1); b != nil {
			*v = b[0]
		}
	default:
		c.buf = append(c.buf, *v)
	}
	if c.err == nil && (*v < lo || *v > hi) {
		c.fail(field, "unknown code %d, want %d..%d", *v, lo, hi)
	}
}

// commitmentField returns e's commitment named field, or nil if e's kind
// has none of that name.
func commitmentField(e Event, field string) *Commitment {
	c := codec{find: field}
	e.fields(&c)
	return c.found
}

// CommittedFields lists the names of e's commitments, in encoding order.
func CommittedFields(e Event) []string {
	var out []string
	for _, f := range []string{FieldHolderCode, FieldHolderName, FieldDevice, FieldLicence, FieldOperator} {
		if commitmentField(e, f) != nil {
			out = append(out, f)
		}
	}
	return out
}
