package statuslist

import (
	"bytes"
	"fmt"

	"elicense/internal/gm"
)

// Bits is the number of bits per entry in every elicense status list.
const Bits = 2

// perByte is the number of entries packed into one byte.
const perByte = 8 / Bits

// Status is the state of one licence in a status list. The values are the
// IETF Token Status List status types; 3 is application-specific there and
// means Superseded here.
type Status uint8

// The statuses. A list can hold nothing else: Bits is 2.
const (
	// Valid (IETF VALID, 0x00): the licence stands.
	Valid Status = 0
	// Revoked (IETF INVALID, 0x01): the licence was revoked, annulled or
	// cancelled (吊销, 撤销, 注销) and stays so; revocation is final.
	Revoked Status = 1
	// Suspended (IETF SUSPENDED, 0x02): temporarily not valid; the agency
	// may reinstate it (back to Valid).
	Suspended Status = 2
	// Superseded (IETF application-specific 0x03): a re-issued version of
	// the licence (a higher identifier version, after 变更 or 遗失补办)
	// replaces this one. It is no longer valid; the holder should present
	// the new version. Final, like Revoked.
	Superseded Status = 3
)

// String returns "valid", "revoked", "suspended" or "superseded".
func (s Status) String() string {
	switch s {
	case Valid:
		return "valid"
	case Revoked:
		return "revoked"
	case Suspended:
		return "suspended"
	case Superseded:
		return "superseded"
	default:
		return fmt.Sprintf("Status(%d)", uint8(s))
	}
}

// valid reports whether s is one of the four statuses.
func (s Status) valid() bool { return s <= Superseded }

// A List is a status list: Len entries of Bits bits each, packed into a
// byte array exactly as the IETF Token Status List lays it out (entry i
// sits in byte i/4 at bit offset 2·(i mod 4), least significant bits
// first). A 10 M-entry list takes 2.5 MB.
//
// Get may be called from any number of goroutines at once; Set must not run
// concurrently with any other method.
type List struct {
	b []byte
}

// New returns a list of size entries, all Valid. The size is rounded up to
// a whole byte (a multiple of 4 entries), so that Len is the same before
// and after an encoding round trip. New panics if size is negative.
func New(size int) *List {
	if size < 0 {
		panic("statuslist: negative size")
	}
	return &List{b: make([]byte, (size+perByte-1)/perByte)}
}

// FromBytes returns a list over a copy of the packed byte array b.
func FromBytes(b []byte) *List { return &List{b: bytes.Clone(b)} }

// Len returns the number of entries, always a multiple of 4.
func (l *List) Len() int { return len(l.b) * perByte }

// Get returns the status of entry idx. It returns ErrIndex, unwrapped, when
// idx is outside the list (a verifier must then reject the licence), and
// does not allocate.
func (l *List) Get(idx int) (Status, error) {
	if uint(idx) >= uint(len(l.b))*perByte {
		return 0, ErrIndex
	}
	return Status(l.b[idx/perByte]>>(uint(idx%perByte)*Bits)) & (1<<Bits - 1), nil
}

// Set sets entry idx to s. It fails with ErrIndex when idx is outside the
// list and ErrInvalidStatus when s is not one of the four statuses.
func (l *List) Set(idx int, s Status) error {
	if uint(idx) >= uint(len(l.b))*perByte {
		return fmt.Errorf("%w: %d, list has %d entries", ErrIndex, idx, l.Len())
	}
	if !s.valid() {
		return fmt.Errorf("%w: %d", ErrInvalidStatus, uint8(s))
	}
	shift := uint(idx%perByte) * Bits
	p := &l.b[idx/perByte]
	*p = *p&^((1<<Bits-1)<<shift) | byte(s)<<shift
	return nil
}

// Bytes returns a copy of the packed byte array.
func (l *List) Bytes() []byte { return bytes.Clone(l.b) }

// Clone returns an independent copy of l.
func (l *List) Clone() *List { return FromBytes(l.b) }

// Equal reports whether l and o have the same entries.
func (l *List) Equal(o *List) bool { return bytes.Equal(l.b, o.b) }

// Count returns how many entries have each status, indexed by Status.
func (l *List) Count() [4]int {
	var n [4]int
	zeros := 0
	for _, c := range l.b {
		if c == 0 {
			zeros++
			continue
		}
		for k := 0; k < perByte; k++ {
			n[c>>(k*Bits)&3]++
		}
	}
	n[Valid] += zeros * perByte
	return n
}

// DigestSize is the size of a list digest, an SM3 hash.
const DigestSize = 32 // SM3

// Digest returns SM3 over the packed byte array. Deltas name their base and
// their result by digest. It hashes the whole list (about 11 ms for 10 M
// entries), so callers that need it often keep it.
func (l *List) Digest() [DigestSize]byte { return gm.SM3(l.b) }
