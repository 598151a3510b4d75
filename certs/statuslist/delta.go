package statuslist

import (
	"crypto"
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"elicense/internal/gm"
)

// Change is one entry of a delta: entry Index takes Status.
type Change struct {
	Index  int
	Status Status
}

// A Delta turns version BaseVersion of a list into version Version. It
// names the base by digest as well as by version, and the result by digest,
// so that it never applies to the wrong list and applying it gives exactly
// the list the issuer signed as Version.
type Delta struct {
	// Meta describes the resulting list, as its full token would: URI,
	// Version (> BaseVersion), IssuedAt, ExpiresAt, TTL.
	Meta
	BaseVersion uint64
	BaseDigest  [DigestSize]byte // List.Digest of the base
	Digest      [DigestSize]byte // List.Digest of the result
	Entries     int              // length of both lists
	Changes     []Change         // strictly increasing indices
	KeyID       string           // set by ParseDelta
}

// Delta wire format constants (docs/status-and-trust.md).
const (
	deltaMagic   = "ELSD"
	deltaFormat  = 1
	deltaContext = "elicense/statuslist/delta/v1"
	maxURILen    = 2048
	maxKIDLen    = 255
	maxRice      = 40
)

// NewDelta describes the changes from base, at version baseVersion, to
// next, described by meta. The lists must have the same length and
// meta.Version must be greater than baseVersion.
func NewDelta(base *List, baseVersion uint64, next *List, meta Meta) (*Delta, error) {
	meta, err := checkMeta(meta)
	if err != nil {
		return nil, err
	}
	if base.Len() != next.Len() {
		return nil, fmt.Errorf("%w: base has %d entries, next %d", ErrMalformed, base.Len(), next.Len())
	}
	if meta.Version <= baseVersion {
		return nil, fmt.Errorf("%w: version %d is not after base version %d", ErrRollback, meta.Version, baseVersion)
	}
	d := &Delta{
		Meta:        meta,
		BaseVersion: baseVersion,
		BaseDigest:  base.Digest(),
		Digest:      next.Digest(),
		Entries:     next.Len(),
	}
	a, b := base.b, next.b
	for i := 0; i < len(a); {
		// Skip equal stretches eight bytes at a time.
		if i+8 <= len(a) && binary.LittleEndian.Uint64(a[i:]) == binary.LittleEndian.Uint64(b[i:]) {
			i += 8
			continue
		}
		if x := a[i] ^ b[i]; x != 0 {
			for k := 0; k < perByte; k++ {
				if x>>(k*Bits)&3 != 0 {
					d.Changes = append(d.Changes, Change{Index: i*perByte + k, Status: Status(b[i]>>(k*Bits)) & 3})
				}
			}
		}
		i++
	}
	return d, nil
}

// SignDelta returns the signed binary form of d, signed by signer under
// key ID kid.
func SignDelta(d *Delta, signer crypto.Signer, kid string) ([]byte, error) {
	meta, err := checkMeta(d.Meta)
	if err != nil {
		return nil, err
	}
	switch {
	case kid == "" || len(kid) > maxKIDLen:
		return nil, fmt.Errorf("%w: key ID of %d bytes", ErrMalformed, len(kid))
	case len(meta.URI) > maxURILen || !utf8.ValidString(meta.URI):
		return nil, fmt.Errorf("%w: URI is not UTF-8 of at most %d bytes", ErrMalformed, maxURILen)
	case meta.Version <= d.BaseVersion:
		return nil, fmt.Errorf("%w: version %d is not after base version %d", ErrRollback, meta.Version, d.BaseVersion)
	case d.Entries < 0 || d.Entries%perByte != 0:
		return nil, fmt.Errorf("%w: %d entries", ErrMalformed, d.Entries)
	case meta.IssuedAt.Unix() < 0:
		return nil, fmt.Errorf("%w: iat before 1970", ErrMalformed)
	case meta.TTL > maxTTL:
		return nil, fmt.Errorf("%w: ttl %v is too large", ErrMalformed, meta.TTL)
	}
	prev := -1
	for _, c := range d.Changes {
		if c.Index <= prev || c.Index >= d.Entries {
			return nil, fmt.Errorf("%w: change index %d out of order or range", ErrMalformed, c.Index)
		}
		if !c.Status.valid() {
			return nil, fmt.Errorf("%w: %d", ErrInvalidStatus, c.Status)
		}
		prev = c.Index
	}
	b := make([]byte, 0, 256+len(d.Changes)*3)
	b = append(b, deltaMagic...)
	b = append(b, deltaFormat, Bits, byte(len(kid)))
	b = append(b, kid...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(meta.URI)))
	b = append(b, meta.URI...)
	b = binary.BigEndian.AppendUint64(b, d.BaseVersion)
	b = binary.BigEndian.AppendUint64(b, meta.Version)
	b = append(b, d.BaseDigest[:]...)
	b = append(b, d.Digest[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(d.Entries))
	b = binary.BigEndian.AppendUint64(b, uint64(meta.IssuedAt.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(meta.ExpiresAt.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(meta.TTL/time.Second))
	b = binary.BigEndian.AppendUint32(b, uint32(len(d.Changes)))
	b = appendChanges(b, d.Changes)
	sig, err := gm.SignRS(signer, deltaSigInput(b))
	if err != nil {
		return nil, fmt.Errorf("statuslist: signing delta: %w", err)
	}
	return append(b, sig...), nil
}

// deltaSigInput is what a delta's signature covers: a context string, a
// zero byte, and the delta up to the signature.
func deltaSigInput(body []byte) []byte {
	m := make([]byte, 0, len(deltaContext)+1+len(body))
	m = append(m, deltaContext...)
	m = append(m, 0)
	return append(m, body...)
}

// appendChanges appends the Rice parameter k and the bit stream of
// changes: for each, the gap to the previous index (the first index for the
// first change) Rice-coded with parameter k, then the status in two bits.
func appendChanges(b []byte, changes []Change) []byte {
	gaps := make([]uint64, len(changes))
	prev := -1
	for i, c := range changes {
		gaps[i] = uint64(c.Index - prev - 1)
		prev = c.Index
	}
	k, best := 0, uint64(math.MaxUint64)
	for kk := 0; kk <= maxRice; kk++ {
		n := uint64(0)
		for _, g := range gaps {
			n += g>>kk + 1 + uint64(kk) + Bits
		}
		if n < best {
			k, best = kk, n
		}
	}
	b = append(b, byte(k))
	w := bitWriter{out: b}
	for i, g := range gaps {
		for q := g >> k; q > 0; {
			n := min(q, 32)
			w.bits(1<<n-1, uint(n))
			q -= n
		}
		w.bits(0, 1)
		if k > 0 {
			w.bits(g&(1<<k-1), uint(k))
		}
		w.bits(uint64(changes[i].Status), Bits)
	}
	w.flush()
	return w.out
}

// ParseDelta verifies a signed delta and decodes it. Checks, in order:
// structure (ErrMalformed), key lookup (ErrUnknownKey), signature
// (ErrBadSignature), URI against opts.URI (ErrWrongList), the list length
// against opts.MaxEntries (ErrTooLarge), the changes (ErrMalformed), the
// version against opts.MinVersion (ErrRollback), and last exp (ErrExpired,
// returned with the delta, as Parse does).
func ParseDelta(data []byte, opts VerifyOptions) (*Delta, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if len(data) < gm.SignatureSize {
		return nil, fmt.Errorf("%w: delta of %d bytes", ErrMalformed, len(data))
	}
	body, sig := data[:len(data)-gm.SignatureSize], data[len(data)-gm.SignatureSize:]
	h, err := decodeDeltaHeader(body, opts.MaxEntries)
	if err != nil {
		return nil, err
	}
	// Only an authentic delta gets its change list decoded.
	if err := verifySig(opts.Keys, h.d.KeyID, deltaSigInput(body), sig); err != nil {
		return nil, err
	}
	d, err := h.decodeChanges()
	if err != nil {
		return nil, err
	}
	if d.URI != opts.URI {
		return nil, fmt.Errorf("%w: delta for %q, want %q", ErrWrongList, d.URI, opts.URI)
	}
	if d.Version < opts.MinVersion {
		return nil, fmt.Errorf("%w: version %d, already holding %d", ErrRollback, d.Version, opts.MinVersion)
	}
	if now := opts.now(); !now.Before(d.ExpiresAt.Add(opts.ClockSkew)) {
		return d, fmt.Errorf("%w: exp %s, now %s", ErrExpired, d.ExpiresAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return d, nil
}

// decodeDelta decodes an unsigned delta body (everything before the
// signature) and checks its internal consistency.
func decodeDelta(b []byte, maxEntries int) (*Delta, error) {
	h, err := decodeDeltaHeader(b, maxEntries)
	if err != nil {
		return nil, err
	}
	return h.decodeChanges()
}

// deltaHeader is a decoded delta up to its change stream.
type deltaHeader struct {
	d     *Delta
	rest  []byte // the change stream
	k     int    // its Rice parameter
	count uint32 // its number of changes
}

// decodeDeltaHeader decodes and checks the fixed part of a delta body.
func decodeDeltaHeader(b []byte, maxEntries int) (*deltaHeader, error) {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	r := reader{b: b}
	if string(r.bytes(len(deltaMagic))) != deltaMagic {
		return nil, fmt.Errorf("%w: not a status list delta", ErrMalformed)
	}
	if f := r.u8(); f != deltaFormat && r.ok() {
		return nil, fmt.Errorf("%w: delta format %d, want %d", ErrMalformed, f, deltaFormat)
	}
	if bb := r.u8(); bb != Bits && r.ok() {
		return nil, fmt.Errorf("%w: delta bits %d, want %d", ErrMalformed, bb, Bits)
	}
	d := &Delta{}
	d.KeyID = string(r.bytes(int(r.u8())))
	d.URI = string(r.bytes(int(r.u16())))
	d.BaseVersion = r.u64()
	d.Version = r.u64()
	copy(d.BaseDigest[:], r.bytes(DigestSize))
	copy(d.Digest[:], r.bytes(DigestSize))
	entries := r.u64()
	iat, exp := r.u64(), r.u64()
	ttl := r.u32()
	count := r.u32()
	k := int(r.u8())
	if !r.ok() {
		return nil, fmt.Errorf("%w: delta header truncated", ErrMalformed)
	}
	switch {
	case d.KeyID == "":
		return nil, fmt.Errorf("%w: delta without key ID", ErrMalformed)
	case d.URI == "" || !utf8.ValidString(d.URI):
		return nil, fmt.Errorf("%w: delta URI empty or not UTF-8", ErrMalformed)
	case d.Version <= d.BaseVersion:
		return nil, fmt.Errorf("%w: delta version %d is not after base version %d", ErrMalformed, d.Version, d.BaseVersion)
	case entries > uint64(maxEntries):
		return nil, fmt.Errorf("%w: delta for a list of %d entries, limit %d", ErrTooLarge, entries, maxEntries)
	case entries%perByte != 0:
		return nil, fmt.Errorf("%w: delta for a list of %d entries, not a multiple of %d", ErrMalformed, entries, perByte)
	case iat > math.MaxInt64 || exp > math.MaxInt64 || exp <= iat:
		return nil, fmt.Errorf("%w: delta iat %d, exp %d", ErrMalformed, iat, exp)
	case uint64(ttl) > uint64(maxTTL/time.Second):
		return nil, fmt.Errorf("%w: delta ttl %d is too large", ErrMalformed, ttl)
	case uint64(count) > entries:
		return nil, fmt.Errorf("%w: %d changes to a list of %d entries", ErrMalformed, count, entries)
	case k > maxRice:
		return nil, fmt.Errorf("%w: Rice parameter %d", ErrMalformed, k)
	}
	d.Entries = int(entries)
	d.IssuedAt = time.Unix(int64(iat), 0).UTC()
	d.ExpiresAt = time.Unix(int64(exp), 0).UTC()
	d.TTL = time.Duration(ttl) * time.Second
	rest := r.b[r.off:]
	// Each change takes at least k+1+Bits bits.
	if uint64(count)*uint64(k+1+Bits) > uint64(len(rest))*8 {
		return nil, fmt.Errorf("%w: %d changes do not fit in %d bytes", ErrMalformed, count, len(rest))
	}
	return &deltaHeader{d: d, rest: rest, k: k, count: count}, nil
}

// decodeChanges decodes the change stream into h.d.Changes.
func (h *deltaHeader) decodeChanges() (*Delta, error) {
	d, rest, k, entries := h.d, h.rest, h.k, uint64(h.d.Entries)
	br := bitReader{b: rest}
	d.Changes = make([]Change, 0, min(h.count, 1<<16))
	prev := int64(-1)
	for range h.count {
		var q uint64
		for br.bit() == 1 {
			q++
			if q<<k >= entries {
				return nil, fmt.Errorf("%w: change index beyond the list", ErrMalformed)
			}
		}
		g := q<<k | br.read(k)
		idx := uint64(prev+1) + g
		s := Status(br.read(Bits))
		if br.err || idx >= entries {
			return nil, fmt.Errorf("%w: change index beyond the list or stream truncated", ErrMalformed)
		}
		d.Changes = append(d.Changes, Change{Index: int(idx), Status: s})
		prev = int64(idx)
	}
	// The stream ends in the byte holding its last bit, padded with zeros.
	if (br.pos+7)/8 != uint64(len(rest)) || br.pos%8 != 0 && rest[len(rest)-1]>>(br.pos%8) != 0 {
		return nil, fmt.Errorf("%w: trailing data after the changes", ErrMalformed)
	}
	return d, nil
}

// Apply returns the list that d makes of base, as a new Signed described by
// d. base is unchanged. It fails with ErrWrongBase unless d starts from
// base's URI, version, length and content, and unless the result has the
// digest d promises.
func Apply(base *Signed, d *Delta) (*Signed, error) {
	switch {
	case base.URI != d.URI:
		return nil, fmt.Errorf("%w: delta for %q, list is %q", ErrWrongBase, d.URI, base.URI)
	case base.Version != d.BaseVersion:
		return nil, fmt.Errorf("%w: delta from version %d, list is version %d", ErrWrongBase, d.BaseVersion, base.Version)
	case base.List.Len() != d.Entries:
		return nil, fmt.Errorf("%w: delta for %d entries, list has %d", ErrWrongBase, d.Entries, base.List.Len())
	case base.List.Digest() != d.BaseDigest:
		return nil, fmt.Errorf("%w: the list's content is not the delta's base", ErrWrongBase)
	}
	next := base.List.Clone()
	for _, c := range d.Changes {
		if err := next.Set(c.Index, c.Status); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	if next.Digest() != d.Digest {
		return nil, fmt.Errorf("%w: the result does not have the promised digest", ErrWrongBase)
	}
	return &Signed{Meta: d.Meta, List: next, KeyID: d.KeyID}, nil
}

// reader reads big-endian fields; after a short read every read returns
// zeros and ok reports false.
type reader struct {
	b   []byte
	off int
	bad bool
}

func (r *reader) ok() bool { return !r.bad }

func (r *reader) bytes(n int) []byte {
	if r.bad || n > len(r.b)-r.off {
		r.bad = true
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *reader) u8() byte {
	if p := r.bytes(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if p := r.bytes(2); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if p := r.bytes(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if p := r.bytes(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

// bitReader reads bits least significant first; reading past the end sets
// err and yields zeros.
type bitReader struct {
	b   []byte
	pos uint64
	err bool
}

func (r *bitReader) bit() uint64 {
	if r.pos >= uint64(len(r.b))*8 {
		r.err = true
		return 0
	}
	v := uint64(r.b[r.pos/8]>>(r.pos%8)) & 1
	r.pos++
	return v
}

func (r *bitReader) read(n int) uint64 {
	var v uint64
	for i := 0; i < n; i++ {
		v |= r.bit() << i
	}
	return v
}
