package qr

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/ident"
	"elicense/internal/chinatime"
)

// TestRootMatchesTree holds Build's frontier root to the tree that proofs
// are cut from, for every size of tree a class could need and more.
func TestRootMatchesTree(t *testing.T) {
	h := &Holding{Credential: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
	for n := 0; n <= 70; n++ {
		if n > 0 {
			h.Optional = append(h.Optional, OptionalField{
				Key: fmt.Sprint("f", n), Field: uint16(n * 7), Value: fmt.Sprint("值", n),
				Salt: bytes.Repeat([]byte{byte(n)}, SaltSize),
			})
		}
		tree := h.tree()
		if got, want := h.root(), tree.Root(); got != want {
			t.Fatalf("%d optional fields: root %x, tree root %x", n, got, want)
		}
		if tree.Size() != uint64(1+n) {
			t.Fatalf("%d optional fields: tree of %d leaves", n, tree.Size())
		}
	}
}

// TestBuildCommitsToTree checks a built core against the tree of its holding.
func TestBuildCommitsToTree(t *testing.T) {
	fx := newFixture(t, "business-license")
	for _, bind := range []bool{false, true} {
		h := fx.holding(t, businessClass(t), businessFields(), bind)
		var c core
		if err := decodeCanonical("core", h.Core, &c); err != nil {
			t.Fatal(err)
		}
		tree := h.tree()
		root := tree.Root()
		if !bytes.Equal(c.Root, root[:RootSize]) || uint64(c.Leaves) != tree.Size() {
			t.Fatalf("core commits to %x over %d leaves; tree is %x over %d", c.Root, c.Leaves, root[:RootSize], tree.Size())
		}
		if len(h.Optional) == 0 {
			t.Fatal("no optional fields committed")
		}
		for i, o := range h.Optional {
			if len(o.Salt) != SaltSize || cap(o.Salt) != SaltSize {
				t.Fatalf("optional field %d: salt of len %d cap %d", i, len(o.Salt), cap(o.Salt))
			}
		}
	}
}

// TestBuildSaltOrder: salts are taken from Rand in field order, 16 bytes
// each, as when each field read its own.
func TestBuildSaltOrder(t *testing.T) {
	fx := newFixture(t, "business-license")
	h := fx.holding(t, businessClass(t), businessFields(), false)
	seq := make([]byte, 64*SaltSize)
	for i := range seq {
		seq[i] = byte(i)
	}
	l := fx.license(t, businessClass(t), businessFields())
	l.Status = &credential.StatusRef{URI: "https://elicense.example/v1/status/amr-1", Index: 7}
	h2, err := Build(l, "jws", BuildOptions{Signer: fx.issuer, KeyID: testKID, StatusList: "amr-1", Rand: bytes.NewReader(seq)})
	if err != nil {
		t.Fatal(err)
	}
	if len(h2.Optional) != len(h.Optional) {
		t.Fatalf("%d optional fields, want %d", len(h2.Optional), len(h.Optional))
	}
	for i, o := range h2.Optional {
		if !bytes.Equal(o.Salt, seq[i*SaltSize:(i+1)*SaltSize]) {
			t.Fatalf("field %s: salt %x, want bytes %d..%d of Rand", o.Key, o.Salt, i*SaltSize, (i+1)*SaltSize)
		}
	}
	if _, err := Build(l, "jws", BuildOptions{Signer: fx.issuer, KeyID: testKID, Rand: bytes.NewReader(seq[:3*SaltSize])}); err == nil {
		t.Fatal("Build with too few random bytes succeeded")
	}
}

// license is a valid licence of class cl, as holding signs it.
func (f *fixture) license(t testing.TB, cl *catalog.Class, fields map[string]string) *credential.License {
	t.Helper()
	id := ident.LicenseID{TypeCode: cl.TypeCode, IssuerCode: testIssuer, Serial: "2024000001", Version: 1}
	l, err := credential.NewLicense(cl, fields, credential.Issuance{
		ID: id.String(), IssuerName: "上海市市场监督管理局", IssuerCode: testIssuer,
		IssuedOn: time.Date(2024, 5, 20, 0, 0, 0, 0, chinatime.Zone),
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestAppendLeafMatchesCBOR holds the hand-written leaf encoding to the
// CBOR encoder's, across every length boundary of the heads.
func TestAppendLeafMatchesCBOR(t *testing.T) {
	fields := []uint16{0, 1, 23, 24, 255, 256, 65535}
	lengths := []int{0, 1, 16, 23, 24, 255, 256, 65535, 65536, 70000}
	for _, fn := range fields {
		for _, sl := range []int{-1, 0, 16, 24, 300} {
			var salt []byte
			if sl >= 0 {
				salt = bytes.Repeat([]byte{0xa5}, sl)
			}
			for _, vl := range lengths {
				value := string(bytes.Repeat([]byte("值"), vl/3+1))[:vl] // may cut a rune: CBOR does not care
				want := mustMarshal(leafData{Field: fn, Salt: salt, Value: value})
				if got := appendLeaf(nil, fn, salt, value); !bytes.Equal(got, want) {
					t.Fatalf("field %d, salt %d, value %d bytes: %x…, want %x…", fn, sl, vl, got[:min(len(got), 16)], want[:min(len(want), 16)])
				}
			}
		}
	}
}

// TestValidityText pins the rebuilt validity text for each kind of field.
func TestValidityText(t *testing.T) {
	from := time.Date(2016, 3, 8, 0, 0, 0, 0, chinatime.Zone)
	until := time.Date(2046, 3, 7, 0, 0, 0, 0, chinatime.Zone)
	want := map[catalog.FieldType][2]string{ // [until set, 长期]
		catalog.TypeTerm: {"2016-03-08至2046-03-07", "2016-03-08至长期"},
		catalog.TypeDate: {"2046-03-07", ""},
	}
	seen := map[catalog.FieldType]bool{}
	for _, cl := range catalog.Default().Classes() {
		f, ok := cl.Field(cl.Validity.Field)
		for i, u := range []time.Time{until, {}} {
			got, gotOK := validityText(cl, from, u)
			var w [2]string
			known := false
			if ok {
				w, known = want[f.Type]
			}
			if !known {
				if gotOK {
					t.Fatalf("%s: validity text %q for a field that cannot be rebuilt", cl.Key, got)
				}
				continue
			}
			seen[f.Type] = true
			if gotOK != (w[i] != "") || gotOK && got != w[i] {
				t.Fatalf("%s (%s), until %v: %q, %v; want %q", cl.Key, f.Type, u, got, gotOK, w[i])
			}
		}
	}
	if len(seen) != 2 {
		t.Fatalf("catalogue exercised only %v", seen)
	}
}
