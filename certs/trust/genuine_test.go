package trust

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"time"

	"elicense/internal/gm"
)

const genuineKID = "0123456789abcdef"

var genuineSince = time.Date(2026, 2, 28, 20, 0, 0, 0, time.UTC)

func sampleEntries() []GenuineEntry {
	core := func(s string) [GenuineTagSize]byte { return GenuineTag([]byte(s)) }
	return []GenuineEntry{
		{List: "amr-2", Index: 5, Tag: core("e")},
		{List: "amr-1", Index: 70000, Tag: core("b")},
		{List: "amr-1", Index: 3, Tag: core("a")},
		{List: "amr-1", Index: 70000, Tag: core("c")}, // two cores at one position
		{List: "amr-1", Index: 3, Tag: core("a")},     // repeated: written once
	}
}

func TestGenuineSetRoundTrip(t *testing.T) {
	doc, err := MarshalGenuineSet(genuineKID, genuineSince, sampleEntries())
	if err != nil {
		t.Fatal(err)
	}
	g, err := ParseGenuineSet(doc)
	if err != nil {
		t.Fatal(err)
	}
	sum := gm.SM3(doc)
	if g.KID() != genuineKID || !g.Since().Equal(genuineSince) || g.Len() != 4 || g.SM3() != hex.EncodeToString(sum[:]) {
		t.Fatalf("kid %s since %v len %d sm3 %s", g.KID(), g.Since(), g.Len(), g.SM3())
	}
	cases := []struct {
		list  string
		index uint64
		core  string
		want  bool
	}{
		{"amr-1", 3, "a", true},
		{"amr-1", 70000, "b", true},
		{"amr-1", 70000, "c", true},
		{"amr-2", 5, "e", true},
		{"amr-1", 3, "b", false},       // another core at a listed position
		{"amr-1", 4, "a", false},       // a listed core's bytes at another position
		{"amr-2", 3, "a", false},       // another list
		{"zz", 3, "a", false},          // a list the set does not know
		{"amr-1", 1 << 33, "a", false}, // past any index
	}
	for _, c := range cases {
		if got := g.HasQRCore(c.list, c.index, []byte(c.core)); got != c.want {
			t.Errorf("(%s, %d, %q): %v, want %v", c.list, c.index, c.core, got, c.want)
		}
	}
	again, err := MarshalGenuineSet(genuineKID, genuineSince, sampleEntries()[:4])
	if err != nil || !bytes.Equal(again, doc) {
		t.Fatalf("encoding is not canonical: %v", err)
	}
}

func TestGenuineSetMalformed(t *testing.T) {
	good, err := MarshalGenuineSet(genuineKID, genuineSince, sampleEntries())
	if err != nil {
		t.Fatal(err)
	}
	head := len(genuineMagic) + 8 + 8
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := map[string][]byte{
		"empty":          nil,
		"other magic":    mod(func(b []byte) []byte { b[0] = 'E'; return b }),
		"truncated":      good[:len(good)-1],
		"trailing byte":  append(bytes.Clone(good), 0),
		"count too high": mod(func(b []byte) []byte { b[head]++; return b }),
		"count too low":  mod(func(b []byte) []byte { b[head]--; return b }),
		"zero since":     mod(func(b []byte) []byte { copy(b[len(genuineMagic)+8:], make([]byte, 8)); return b }),
		"overlong count": mod(func(b []byte) []byte {
			return append(append(b[:head:head], b[head]|0x80, 0x00), b[head+1:]...)
		}),
		"huge count": mod(func(b []byte) []byte {
			return append(binary.AppendUvarint(b[:head:head], 1<<40), b[head+1:]...)
		}),
	}
	// Entries out of order: the same document with the first list's two
	// indexes swapped.
	unsorted, _ := MarshalGenuineSet(genuineKID, genuineSince, []GenuineEntry{{List: "a", Index: 1, Tag: GenuineTag([]byte("x"))}, {List: "a", Index: 1, Tag: GenuineTag([]byte("y"))}})
	i := bytes.Index(unsorted, []byte{1, 'a', 2}) + 3 // list "a", 2 entries
	t1, t2 := GenuineTag([]byte("x")), GenuineTag([]byte("y"))
	if bytes.Compare(t1[:], t2[:]) > 0 {
		t1, t2 = t2, t1
	}
	cases["entries out of order"] = append(append(append(append(unsorted[:i:i], 1), t2[:]...), 0), t1[:]...)
	cases["lists out of order"] = mod(func(b []byte) []byte {
		return bytes.Replace(bytes.Replace(b, []byte("amr-1"), []byte("amr-9"), 1), []byte("amr-2"), []byte("amr-1"), 1)
	})
	for name, doc := range cases {
		if _, err := ParseGenuineSet(doc); !errors.Is(err, ErrGenuineSet) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, bad := range []struct {
		kid   string
		since time.Time
		e     GenuineEntry
	}{
		{"xyz", genuineSince, GenuineEntry{List: "a"}},
		{genuineKID, time.Time{}, GenuineEntry{List: "a"}},
		{genuineKID, genuineSince, GenuineEntry{List: ""}},
		{genuineKID, genuineSince, GenuineEntry{List: "a", Index: 1 << 32}},
	} {
		if _, err := MarshalGenuineSet(bad.kid, bad.since, []GenuineEntry{bad.e}); !errors.Is(err, ErrGenuineSet) {
			t.Errorf("Marshal(%q, %v, %+v): %v", bad.kid, bad.since, bad.e, err)
		}
	}
}

// TestGenuineSetInBundle: the bundle names a compromised key's set by
// count, SM3 and URL; VerifyGenuineSet takes only that document, and
// ResolverWith attaches only that set, so the key's genuine cores verify
// and nothing else does.
func TestGenuineSetInBundle(t *testing.T) {
	f := newFixture(t)
	badKID := gm.KeyIDString(f.badDER)
	since := t0.Add(-10 * time.Minute)
	doc, err := MarshalGenuineSet(badKID, since, []GenuineEntry{{List: "sh-amr-1", Index: 9, Tag: GenuineTag([]byte("core"))}})
	if err != nil {
		t.Fatal(err)
	}
	sum := gm.SM3(doc)
	ref := &GenuineRef{Count: 1, SM3: hex.EncodeToString(sum[:]), URL: "https://elicense.example.gov.cn/v1/trust/genuine/" + badKID}
	b := f.bundle(1)
	b.Agencies[0].Keys[2].Genuine = ref
	vb, err := Verify(f.sign(t, b), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	g, err := vb.VerifyGenuineSet(badKID, doc)
	if err != nil {
		t.Fatal(err)
	}
	keys := vb.ResolverWith(map[string]*GenuineSet{badKID: g}).IssuerKeys(badKID)
	if len(keys) != 1 || keys[0].Genuine == nil || !keys[0].Genuine.HasQRCore("sh-amr-1", 9, []byte("core")) || keys[0].Genuine.HasQRCore("sh-amr-1", 9, []byte("forged")) {
		t.Fatalf("resolver with the set: %+v", keys)
	}
	if k := vb.Resolver().IssuerKeys(badKID); k[0].Genuine != nil {
		t.Fatal("plain resolver carries a set")
	}
	// Another document (one entry more) is neither verified nor attached.
	other, _ := MarshalGenuineSet(badKID, since, []GenuineEntry{{List: "sh-amr-1", Index: 9, Tag: GenuineTag([]byte("core"))}, {List: "sh-amr-1", Index: 10, Tag: GenuineTag([]byte("forged"))}})
	if _, err := vb.VerifyGenuineSet(badKID, other); !errors.Is(err, ErrGenuineSet) {
		t.Fatalf("another document: %v", err)
	}
	og, _ := ParseGenuineSet(other)
	if k := vb.ResolverWith(map[string]*GenuineSet{badKID: og}).IssuerKeys(badKID); k[0].Genuine != nil {
		t.Fatal("a set the bundle does not name was attached")
	}
	// A set built for another compromise time is not the bundle's.
	moved, _ := MarshalGenuineSet(badKID, since.Add(-time.Hour), []GenuineEntry{{List: "sh-amr-1", Index: 9, Tag: GenuineTag([]byte("core"))}})
	b2 := f.bundle(2)
	ms := gm.SM3(moved)
	b2.Agencies[0].Keys[2].Genuine = &GenuineRef{Count: 1, SM3: hex.EncodeToString(ms[:]), URL: ref.URL}
	vb2, err := Verify(f.sign(t, b2), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vb2.VerifyGenuineSet(badKID, moved); !errors.Is(err, ErrGenuineSet) {
		t.Fatalf("set for another compromise time: %v", err)
	}
	// A reference on a key that is not compromised, or a bad one, is
	// malformed.
	for name, edit := range map[string]func(b *Bundle){
		"on an active key":  func(b *Bundle) { b.Agencies[0].Keys[0].Genuine = ref },
		"on a retired key":  func(b *Bundle) { b.Agencies[0].Keys[1].Genuine = ref },
		"upper-case digest": func(b *Bundle) { r := *ref; r.SM3 = fmt.Sprintf("%X", sum[:]); b.Agencies[0].Keys[2].Genuine = &r },
		"short digest":      func(b *Bundle) { r := *ref; r.SM3 = ref.SM3[:10]; b.Agencies[0].Keys[2].Genuine = &r },
		"not a URL":         func(b *Bundle) { r := *ref; r.URL = "genuine.bin"; b.Agencies[0].Keys[2].Genuine = &r },
	} {
		b := f.bundle(1)
		edit(b)
		if _, err := Sign(b, f.ledgerKey, f.chain()); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// genuineEntries makes n entries, each at a random position of 64 lists
// of 2^20 entries, as a busy agency key's would be.
func genuineEntries(n int) []GenuineEntry {
	rng := mrand.New(mrand.NewPCG(1, 2))
	es := make([]GenuineEntry, n)
	for i := range es {
		es[i].List = fmt.Sprintf("11310000PDY1-%02d", rng.IntN(64))
		es[i].Index = uint64(rng.IntN(1 << 20))
		rand.Read(es[i].Tag[:])
	}
	return es
}

// TestGenuineSetSize: an entry costs its tag and a short index delta.
func TestGenuineSetSize(t *testing.T) {
	const n = 100_000
	doc, err := MarshalGenuineSet(genuineKID, genuineSince, genuineEntries(n))
	if err != nil {
		t.Fatal(err)
	}
	if per := float64(len(doc)) / n; per > GenuineTagSize+3 {
		t.Errorf("%.2f bytes an entry, want at most %d", per, GenuineTagSize+3)
	}
}

// BenchmarkGenuineSetMillion builds and parses the set of a key that
// signed 1,000,000 licences and reports its size (docs/status-and-trust.md
// quotes it): go test ./certs/trust -run '^$' -bench GenuineSetMillion -benchtime 1x
func BenchmarkGenuineSetMillion(b *testing.B) {
	es := genuineEntries(1_000_000)
	var doc []byte
	for b.Loop() {
		var err error
		if doc, err = MarshalGenuineSet(genuineKID, genuineSince, es); err != nil {
			b.Fatal(err)
		}
		if _, err := ParseGenuineSet(doc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(doc)), "doc-bytes")
	b.ReportMetric(float64(len(doc))/1e6, "bytes/licence")
}

func BenchmarkGenuineLookup(b *testing.B) {
	es := make([]GenuineEntry, 100_000)
	for i := range es {
		es[i] = GenuineEntry{List: "amr-1", Index: uint64(i * 7), Tag: GenuineTag(fmt.Appendf(nil, "core %d", i))}
	}
	doc, _ := MarshalGenuineSet(genuineKID, genuineSince, es)
	g, _ := ParseGenuineSet(doc)
	core := []byte("core 5000")
	b.ReportAllocs()
	for b.Loop() {
		if !g.HasQRCore("amr-1", 35000, core) {
			b.Fatal("not found")
		}
	}
}

// FuzzParseGenuineSet: no panic; a document that parses encodes back to
// the same bytes from its entries (one encoding per set), and a lookup of
// any position answers.
func FuzzParseGenuineSet(f *testing.F) {
	good, _ := MarshalGenuineSet(genuineKID, genuineSince, sampleEntries())
	empty, _ := MarshalGenuineSet(genuineKID, genuineSince, nil)
	f.Add(good)
	f.Add(empty)
	f.Add(good[:len(good)/2])
	f.Add([]byte(genuineMagic))
	f.Fuzz(func(t *testing.T, doc []byte) {
		g, err := ParseGenuineSet(doc)
		if err != nil {
			if !errors.Is(err, ErrGenuineSet) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		var es []GenuineEntry
		for id, l := range g.lists {
			for i, idx := range l.index {
				es = append(es, GenuineEntry{List: id, Index: uint64(idx), Tag: [GenuineTagSize]byte(l.tags[i*GenuineTagSize:])})
			}
		}
		again, err := MarshalGenuineSet(g.KID(), g.Since(), es)
		if err != nil || !bytes.Equal(again, doc) {
			t.Fatalf("parsed document does not encode back: %v", err)
		}
		_ = g.HasQRCore("amr-1", 3, doc)
	})
}
