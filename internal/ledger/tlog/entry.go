package tlog

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// EntryVersion is the version of the entry encoding this package writes.
const EntryVersion = 1

// EntryType says what happened.
type EntryType uint8

// Entry types of version 1. A new type needs a new entry version: a
// version-1 decoder rejects any other value, so fsck flags it.
const (
	TypeIssue         EntryType = 1  // a licence was issued
	TypeReissue       EntryType = 2  // a licence was re-issued (new identifier version)
	TypeSuspend       EntryType = 3  // a licence was suspended
	TypeReinstate     EntryType = 4  // a suspended licence was reinstated
	TypeRevoke        EntryType = 5  // a licence was revoked (注销 / 吊销 / 撤销 …)
	TypeSealMake      EntryType = 6  // an electronic seal was made
	TypeSealRevoke    EntryType = 7  // an electronic seal was revoked
	TypeKeyAdd        EntryType = 8  // a signing key or certificate was added
	TypeKeyRotate     EntryType = 9  // a signing key was replaced by another
	TypeKeyRetire     EntryType = 10 // a signing key was retired (no longer signs)
	TypeKeyCompromise EntryType = 11 // a signing key was declared compromised
)

var typeNames = [...]string{
	TypeIssue:         "issue",
	TypeReissue:       "reissue",
	TypeSuspend:       "suspend",
	TypeReinstate:     "reinstate",
	TypeRevoke:        "revoke",
	TypeSealMake:      "seal-make",
	TypeSealRevoke:    "seal-revoke",
	TypeKeyAdd:        "key-add",
	TypeKeyRotate:     "key-rotate",
	TypeKeyRetire:     "key-retire",
	TypeKeyCompromise: "key-compromise",
}

// Valid reports whether t is a type of the current entry version.
func (t EntryType) Valid() bool { return t > 0 && int(t) < len(typeNames) }

func (t EntryType) String() string {
	if t.Valid() {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// ParseEntryType parses the String form of a type.
func ParseEntryType(s string) (EntryType, error) {
	for i, n := range typeNames {
		if n != "" && n == s {
			return EntryType(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown entry type %q", ErrInvalidEntry, s)
}

// Status is a licence (or seal, or key) status as the ledger records it.
// These codes are the ledger's own; they are not the 2-bit values of the
// status list (where 0 is valid, 1 revoked, 2 suspended).
type Status uint8

// Statuses.
const (
	StatusNone      Status = 0 // no status: before issuance, or not applicable
	StatusValid     Status = 1
	StatusSuspended Status = 2
	StatusRevoked   Status = 3
)

var statusNames = [...]string{"none", "valid", "suspended", "revoked"}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return int(s) < len(statusNames) }

func (s Status) String() string {
	if s.Valid() {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Field limits of entry version 1, in bytes.
const (
	MaxAgencyLen    = 64
	MaxLicenseIDLen = 256
	MaxReasonLen    = 256
	MaxOperatorLen  = 256
	MaxExtraLen     = 4096
)

// entryFixedLen is the length of the fixed-size head of a version-1 entry.
const entryFixedLen = 1 + 1 + 8 + HashSize + 1 + 1

// MaxEntryLen is the longest version-1 encoding.
const MaxEntryLen = entryFixedLen + 5*2 + MaxAgencyLen + MaxLicenseIDLen + MaxReasonLen + MaxOperatorLen + MaxExtraLen

// Entry is one ledger event.
//
// Version 1 binary encoding (all integers big-endian, no padding, nothing
// after the last field):
//
//	offset  size  field
//	0       1     version          0x01
//	1       1     type             EntryType, 1..11
//	2       8     time             int64 Unix time in nanoseconds (UTC)
//	10      32    credential hash  SM3 of the signed credential (zero if none)
//	42      1     status from      Status, 0..3
//	43      1     status to        Status, 0..3
//	44      2+n   agency           uint16 length n (1..64), UTF-8
//	…       2+n   licence ID       uint16 length n (1..256), UTF-8
//	…       2+n   reason code      uint16 length n (0..256), UTF-8
//	…       2+n   operator         uint16 length n (1..256), UTF-8
//	…       2+n   extra            uint16 length n (0..4096), opaque bytes
//
// Every field has exactly one encoding, so the encoding is canonical:
// DecodeEntry accepts b only if encoding its result gives b again.
type Entry struct {
	// Version is the encoding version; 0 means EntryVersion.
	Version uint8
	Type    EntryType
	// Time of the event. It is encoded in UTC with nanosecond precision
	// and must lie between the years 1678 and 2262 (int64 nanoseconds).
	Time time.Time
	// Agency is the code of the agency that acted (or owns the key).
	Agency string
	// LicenseID names the subject: the GB/T 36904 licence identifier; for
	// seal events the seal's esID; for key events the key ID.
	LicenseID string
	// CredentialHash is SM3 of the signed credential (or seal, or
	// certificate) the event concerns; zero when there is none.
	CredentialHash [HashSize]byte
	// StatusFrom and StatusTo are the status before and after the event.
	StatusFrom, StatusTo Status
	// Reason is the reason code (注销, 吊销, 撤销, 变更, 遗失 … or a code).
	Reason string
	// Operator identifies who acted.
	Operator string
	// Extra is optional opaque data; nil and empty are the same.
	Extra []byte
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

type textField struct {
	name     string
	value    string
	min, max int
}

func (e *Entry) textFields() [4]textField {
	return [4]textField{
		{"agency", e.Agency, 1, MaxAgencyLen},
		{"licence ID", e.LicenseID, 1, MaxLicenseIDLen},
		{"reason", e.Reason, 0, MaxReasonLen},
		{"operator", e.Operator, 1, MaxOperatorLen},
	}
}

// MarshalBinary returns the canonical encoding of e.
func (e *Entry) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil) }

// AppendBinary appends the canonical encoding of e to b.
func (e *Entry) AppendBinary(b []byte) ([]byte, error) {
	v := e.Version
	if v == 0 {
		v = EntryVersion
	}
	if v != EntryVersion {
		return nil, fmt.Errorf("%w: version %d, this code writes version %d", ErrInvalidEntry, v, EntryVersion)
	}
	if !e.Type.Valid() {
		return nil, fmt.Errorf("%w: unknown type %d", ErrInvalidEntry, uint8(e.Type))
	}
	if e.Time.Before(minTime) || e.Time.After(maxTime) {
		return nil, fmt.Errorf("%w: time %v is outside the years 1678..2262", ErrInvalidEntry, e.Time)
	}
	if !e.StatusFrom.Valid() || !e.StatusTo.Valid() {
		return nil, fmt.Errorf("%w: unknown status %d -> %d", ErrInvalidEntry, uint8(e.StatusFrom), uint8(e.StatusTo))
	}
	for _, f := range e.textFields() {
		if err := checkText(f.name, f.value, f.min, f.max); err != nil {
			return nil, fmt.Errorf("%w: %s", ErrInvalidEntry, err)
		}
	}
	if len(e.Extra) > MaxExtraLen {
		return nil, fmt.Errorf("%w: extra is %d bytes, at most %d allowed", ErrInvalidEntry, len(e.Extra), MaxExtraLen)
	}
	b = append(b, v, byte(e.Type))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	b = append(b, e.CredentialHash[:]...)
	b = append(b, byte(e.StatusFrom), byte(e.StatusTo))
	for _, f := range e.textFields() {
		b = binary.BigEndian.AppendUint16(b, uint16(len(f.value)))
		b = append(b, f.value...)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.Extra)))
	b = append(b, e.Extra...)
	return b, nil
}

func checkText(name, s string, lo, hi int) error {
	switch {
	case len(s) < lo:
		return fmt.Errorf("%s is empty", name)
	case len(s) > hi:
		return fmt.Errorf("%s is %d bytes, at most %d allowed", name, len(s), hi)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", name)
	}
	return nil
}

// LeafHash is the SM3 leaf hash of e's encoding.
func (e *Entry) LeafHash() (Hash, error) {
	b, err := e.MarshalBinary()
	if err != nil {
		return Hash{}, err
	}
	return SM3.HashLeaf(b), nil
}

// UnmarshalBinary decodes a canonical encoding into e (see DecodeEntry).
func (e *Entry) UnmarshalBinary(b []byte) error {
	d, err := DecodeEntry(b)
	if err != nil {
		return err
	}
	*e = d
	return nil
}

// DecodeEntry decodes a canonical entry encoding. Any deviation (unknown
// version, type or status, a length beyond its limit, invalid UTF-8, a
// truncated field or trailing bytes) gives an error wrapping
// ErrCorruptEntry that names the field.
func DecodeEntry(b []byte) (Entry, error) {
	var e Entry
	if len(b) < 1 {
		return e, fmt.Errorf("%w: empty", ErrCorruptEntry)
	}
	if b[0] != EntryVersion {
		return e, fmt.Errorf("%w: version %d, this code reads version %d", ErrCorruptEntry, b[0], EntryVersion)
	}
	if len(b) < entryFixedLen {
		return e, fmt.Errorf("%w: %d bytes, shorter than the %d-byte fixed part", ErrCorruptEntry, len(b), entryFixedLen)
	}
	e.Version = b[0]
	e.Type = EntryType(b[1])
	if !e.Type.Valid() {
		return e, fmt.Errorf("%w: unknown type %d", ErrCorruptEntry, b[1])
	}
	e.Time = time.Unix(0, int64(binary.BigEndian.Uint64(b[2:10]))).UTC()
	copy(e.CredentialHash[:], b[10:42])
	e.StatusFrom, e.StatusTo = Status(b[42]), Status(b[43])
	if !e.StatusFrom.Valid() {
		return e, fmt.Errorf("%w: unknown status from %d", ErrCorruptEntry, b[42])
	}
	if !e.StatusTo.Valid() {
		return e, fmt.Errorf("%w: unknown status to %d", ErrCorruptEntry, b[43])
	}
	rest := b[entryFixedLen:]
	field := func(name string, lo, hi int, text bool) ([]byte, error) {
		if len(rest) < 2 {
			return nil, fmt.Errorf("%w: truncated before the length of %s", ErrCorruptEntry, name)
		}
		n := int(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
		switch {
		case n < lo:
			return nil, fmt.Errorf("%w: %s is empty", ErrCorruptEntry, name)
		case n > hi:
			return nil, fmt.Errorf("%w: %s is %d bytes, at most %d allowed", ErrCorruptEntry, name, n, hi)
		case n > len(rest):
			return nil, fmt.Errorf("%w: %s is %d bytes but only %d remain", ErrCorruptEntry, name, n, len(rest))
		}
		v := rest[:n:n]
		rest = rest[n:]
		if text && !utf8.Valid(v) {
			return nil, fmt.Errorf("%w: %s is not valid UTF-8", ErrCorruptEntry, name)
		}
		return v, nil
	}
	texts := [4]*string{&e.Agency, &e.LicenseID, &e.Reason, &e.Operator}
	for i, f := range e.textFields() {
		v, err := field(f.name, f.min, f.max, true)
		if err != nil {
			return Entry{}, err
		}
		*texts[i] = string(v)
	}
	extra, err := field("extra", 0, MaxExtraLen, false)
	if err != nil {
		return Entry{}, err
	}
	if len(extra) > 0 {
		e.Extra = append([]byte(nil), extra...)
	}
	if len(rest) != 0 {
		return Entry{}, fmt.Errorf("%w: %d trailing bytes", ErrCorruptEntry, len(rest))
	}
	return e, nil
}
