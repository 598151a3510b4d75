package trust

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"elicense/internal/gm"
)

// A compromised key's genuine set is the list of QR cores the issuer signed
// with the key before its compromise, built from the issuer's records when
// the key is marked compromised. A thief holding the key can write any
// signing time into a core, so the time cannot tell genuine from forged;
// the set can. The bundle carries only a reference to it (GenuineRef:
// count, SM3, URL), since for a busy key the set runs to megabytes; a
// counter fetches the document once, checks it against the signed SM3 and
// caches it. The format is in docs/status-and-trust.md.
//
// Each entry is a status position (list ID, index), which is unique per
// issued core (a holder's device copy has a position of its own), and a
// tag: the first GenuineTagSize bytes of the SM3 of the exact core bytes.
// To pass a forged core off as genuine a thief must find, for one given
// position, a core naming that position whose tag is that position's: a
// second preimage on 128 bits, with no gain from the number of entries
// because the position is part of what is hashed. A probabilistic filter
// would not do: with the key, a thief can sign candidates until one is a
// false positive.

// GenuineTagSize is how much of a core's SM3 an entry keeps.
const GenuineTagSize = 16

// genuineMagic starts every genuine-set document.
const genuineMagic = "elicense-genuine/1\n"

// genuineTagContext separates a tag from every other SM3 of a core.
const genuineTagContext = "elicense/qr/genuine/v1\x00"

// maxGenuineEntries bounds what a document may claim, against hostile
// input (a counter's download limit allows fewer still).
const maxGenuineEntries = 1 << 28

// ErrGenuineSet: a genuine-set document is malformed or is not the one
// the bundle names.
var ErrGenuineSet = errors.New("trust: bad genuine set")

// GenuineRef is a trust bundle's reference to a compromised key's genuine
// set (AgencyKey.Genuine).
type GenuineRef struct {
	Count uint64 `json:"count"` // entries in the set
	SM3   string `json:"sm3"`   // hex SM3 of the document
	URL   string `json:"url"`   // where it is published
}

// GenuineEntry is one core of a genuine set.
type GenuineEntry struct {
	List  string
	Index uint64
	Tag   [GenuineTagSize]byte
}

// GenuineTag is the tag of a QR core: its exact bytes, as the issuer
// signed them (the core key of a token's body).
func GenuineTag(core []byte) [GenuineTagSize]byte {
	h := gm.SM3(append([]byte(genuineTagContext), core...))
	return [GenuineTagSize]byte(h[:GenuineTagSize])
}

// GenuineSet is a parsed genuine-set document. It implements
// credential.GenuineSet and is safe for concurrent use.
type GenuineSet struct {
	kid    string
	since  time.Time
	count  uint64
	digest [gm.SM3Size]byte
	lists  map[string]*genuineList
}

// genuineList is the entries of one status list, sorted by index and tag.
type genuineList struct {
	index []uint32
	tags  []byte // GenuineTagSize per entry
}

// KID is the key the set is for.
func (g *GenuineSet) KID() string { return g.kid }

// Since is the compromise time the set was built for: it holds what the
// key signed before it.
func (g *GenuineSet) Since() time.Time { return g.since }

// Len is the number of entries.
func (g *GenuineSet) Len() uint64 { return g.count }

// SM3 is the hex SM3 of the document, as a GenuineRef names it.
func (g *GenuineSet) SM3() string { return hex.EncodeToString(g.digest[:]) }

// HasQRCore implements credential.GenuineSet: core must be at position
// (list, index) with that position's tag.
func (g *GenuineSet) HasQRCore(list string, index uint64, core []byte) bool {
	l := g.lists[list]
	if l == nil || index > math.MaxUint32 {
		return false
	}
	tag := GenuineTag(core)
	i := sort.Search(len(l.index), func(i int) bool { return l.index[i] >= uint32(index) })
	for ; i < len(l.index) && l.index[i] == uint32(index); i++ {
		if bytes.Equal(l.tags[i*GenuineTagSize:(i+1)*GenuineTagSize], tag[:]) {
			return true
		}
	}
	return false
}

// MarshalGenuineSet encodes the genuine set of key kid compromised since
// since. It sorts entries; a repeated entry is written once.
func MarshalGenuineSet(kid string, since time.Time, entries []GenuineEntry) ([]byte, error) {
	k, err := hex.DecodeString(kid)
	if err != nil || len(k) != gm.KeyIDSize {
		return nil, fmt.Errorf("%w: key ID %q is not %d bytes of hex", ErrGenuineSet, kid, gm.KeyIDSize)
	}
	if since.Unix() <= 0 || since.Unix() > 1<<40 {
		return nil, fmt.Errorf("%w: compromise time %v", ErrGenuineSet, since)
	}
	es := slices.Clone(entries)
	for _, e := range es {
		if !validListID(e.List) || e.Index > math.MaxUint32 {
			return nil, fmt.Errorf("%w: position (%q, %d)", ErrGenuineSet, e.List, e.Index)
		}
	}
	slices.SortFunc(es, func(a, b GenuineEntry) int {
		return cmp.Or(cmp.Compare(a.List, b.List), cmp.Compare(a.Index, b.Index), bytes.Compare(a.Tag[:], b.Tag[:]))
	})
	es = slices.Compact(es)
	out := make([]byte, 0, len(genuineMagic)+32+len(es)*(GenuineTagSize+3))
	out = append(out, genuineMagic...)
	out = append(out, k...)
	out = binary.BigEndian.AppendUint64(out, uint64(since.Unix()))
	out = binary.AppendUvarint(out, uint64(len(es)))
	nlists := 0
	for i := range es {
		if i == 0 || es[i].List != es[i-1].List {
			nlists++
		}
	}
	out = binary.AppendUvarint(out, uint64(nlists))
	for i := 0; i < len(es); {
		j := i
		for j < len(es) && es[j].List == es[i].List {
			j++
		}
		out = append(out, byte(len(es[i].List)))
		out = append(out, es[i].List...)
		out = binary.AppendUvarint(out, uint64(j-i))
		prev := uint64(0)
		for _, e := range es[i:j] {
			out = binary.AppendUvarint(out, e.Index-prev)
			out = append(out, e.Tag[:]...)
			prev = e.Index
		}
		i = j
	}
	return out, nil
}

// ParseGenuineSet parses a genuine-set document. It checks structure only:
// that the set is the one a bundle names is Bundle.VerifyGenuineSet's
// business (and ResolverWith attaches no other).
func ParseGenuineSet(doc []byte) (*GenuineSet, error) {
	d := genuineReader{b: doc}
	if !bytes.HasPrefix(doc, []byte(genuineMagic)) {
		return nil, fmt.Errorf("%w: not a genuine-set document", ErrGenuineSet)
	}
	d.b = d.b[len(genuineMagic):]
	g := &GenuineSet{digest: gm.SM3(doc), lists: map[string]*genuineList{}}
	g.kid = hex.EncodeToString(d.take(gm.KeyIDSize))
	sinceRaw := d.take(8)
	if d.err == nil {
		s := int64(binary.BigEndian.Uint64(sinceRaw))
		if s <= 0 || s > 1<<40 {
			d.fail("compromise time %d", s)
		}
		g.since = time.Unix(s, 0).UTC()
	}
	g.count = d.uvarint()
	nlists := d.uvarint()
	if g.count > maxGenuineEntries || nlists > g.count {
		d.fail("%d entries in %d lists", g.count, nlists)
	}
	total := uint64(0)
	prevID := ""
	for range nlists {
		if d.err != nil {
			break
		}
		id := string(d.take(int(d.byte())))
		if d.err == nil && (!validListID(id) || id <= prevID) {
			d.fail("list ID %q (IDs must be valid, sorted and unique)", id)
		}
		prevID = id
		n := d.uvarint()
		if n == 0 || n > g.count-total || n*(GenuineTagSize+1) > uint64(len(d.b)) {
			d.fail("list %q: %d entries", id, n)
			break
		}
		l := &genuineList{index: make([]uint32, 0, n), tags: make([]byte, 0, n*GenuineTagSize)}
		idx := uint64(0)
		for k := range n {
			delta := d.uvarint()
			tag := d.take(GenuineTagSize)
			if d.err != nil {
				break
			}
			idx += delta
			if idx > math.MaxUint32 {
				d.fail("list %q: index past 2^32", id)
				break
			}
			if k > 0 && delta == 0 && bytes.Compare(tag, l.tags[len(l.tags)-GenuineTagSize:]) <= 0 {
				d.fail("list %q: entries not sorted or repeated at index %d", id, idx)
				break
			}
			l.index = append(l.index, uint32(idx))
			l.tags = append(l.tags, tag...)
		}
		total += n
		g.lists[id] = l
	}
	switch {
	case d.err != nil:
	case total != g.count:
		d.fail("header says %d entries, the lists hold %d", g.count, total)
	case len(d.b) != 0:
		d.fail("%d bytes after the last list", len(d.b))
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGenuineSet, d.err)
	}
	return g, nil
}

// genuineReader reads a document's fields, remembering the first fault.
type genuineReader struct {
	b   []byte
	err error
}

func (d *genuineReader) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
	d.b = nil
}

// uvarint reads a minimally encoded uvarint.
func (d *genuineReader) uvarint() uint64 {
	v, k := binary.Uvarint(d.b)
	if k <= 0 || (k > 1 && d.b[k-1] == 0) {
		d.fail("bad or overlong number at %d bytes from the end", len(d.b))
		return 0
	}
	d.b = d.b[k:]
	return v
}

func (d *genuineReader) take(n int) []byte {
	if n > len(d.b) {
		d.fail("truncated")
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *genuineReader) byte() byte {
	p := d.take(1)
	if p == nil {
		return 0
	}
	return p[0]
}

// GenuineRef returns the reference the bundle carries for key kid's
// genuine set, if it has one.
func (b *Bundle) GenuineRef(kid string) (GenuineRef, bool) {
	if k := b.genuineKey(kid); k != nil {
		return *k.Genuine, true
	}
	return GenuineRef{}, false
}

// genuineKey is the compromised key kid that has a genuine set, or nil.
func (b *Bundle) genuineKey(kid string) *AgencyKey {
	for i := range b.Agencies {
		for j := range b.Agencies[i].Keys {
			if k := &b.Agencies[i].Keys[j]; k.KID == kid && k.State == KeyCompromised && k.Genuine != nil {
				return k
			}
		}
	}
	return nil
}

// VerifyGenuineSet parses doc as the genuine set the bundle names for key
// kid, and checks it is that one: its SM3, key and count as the reference
// says.
func (b *Bundle) VerifyGenuineSet(kid string, doc []byte) (*GenuineSet, error) {
	k := b.genuineKey(kid)
	if k == nil {
		return nil, fmt.Errorf("%w: the bundle names no genuine set for key %s", ErrGenuineSet, kid)
	}
	ref := *k.Genuine
	if sum := gm.SM3(doc); hex.EncodeToString(sum[:]) != ref.SM3 {
		return nil, fmt.Errorf("%w: key %s: the document's SM3 is not the bundle's %s", ErrGenuineSet, kid, ref.SM3)
	}
	g, err := ParseGenuineSet(doc)
	if err != nil {
		return nil, err
	}
	if g.kid != kid || g.count != ref.Count || !g.since.Equal(k.Since) {
		return nil, fmt.Errorf("%w: document for key %s compromised since %s with %d entries, the bundle names key %s since %s with %d",
			ErrGenuineSet, g.kid, g.since.Format(time.RFC3339), g.count, kid, k.Since.UTC().Format(time.RFC3339), ref.Count)
	}
	return g, nil
}
