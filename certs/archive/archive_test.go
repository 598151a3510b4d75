package archive

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"elicense/certs/catalog"
)

func goodManifest() *Manifest {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &Manifest{Format: Format, Agency: "11310000PDY100010H", From: t0, To: t0.AddDate(0, 1, 0), Count: 1,
		Origin: "elicense.local/ledger/x", Signer: "0011223344556677",
		Files: []File{{Path: RootPath, Size: 3, SM3: Digest{1}}, {Path: "licences/1.2/licence.ofd", Size: 9}}}
}

func TestParseManifest(t *testing.T) {
	b, err := Marshal(goodManifest())
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(b)
	if err != nil || len(m.Files) != 2 || m.Files[0].SM3 != (Digest{1}) {
		t.Fatalf("%+v %v", m, err)
	}
	again, _ := Marshal(m)
	if string(again) != string(b) {
		t.Fatalf("not stable:\n%s\n%s", b, again)
	}
	for _, tc := range []struct {
		name string
		mod  func(m *Manifest)
		want string
	}{
		{"format", func(m *Manifest) { m.Format = "x" }, "format"},
		{"period", func(m *Manifest) { m.To = m.From }, "not before"},
		{"climb", func(m *Manifest) { m.Files[1].Path = "../etc/passwd" }, "not a clean"},
		{"absolute", func(m *Manifest) { m.Files[1].Path = "/etc/passwd" }, "not a clean"},
		{"dot", func(m *Manifest) { m.Files[1].Path = "licences/./a" }, "not a clean"},
		{"twice", func(m *Manifest) { m.Files[1].Path = RootPath }, "twice"},
		{"self", func(m *Manifest) { m.Files[1].Path = ManifestPath }, "not in the package layout"},
		{"unknown file", func(m *Manifest) { m.Files[1].Path = "licences/1.2/extra.exe" }, "not in the package layout"},
		{"nested", func(m *Manifest) { m.Files[1].Path = "licences/1.2/a/licence.ofd" }, "not in the package layout"},
		{"size", func(m *Manifest) { m.Files[1].Size = -1 }, "size"},
		{"signer", func(m *Manifest) { m.Signer = "../x" }, "signer"},
		{"no origin", func(m *Manifest) { m.Origin = "" }, "origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := goodManifest()
			tc.mod(m)
			b, _ := Marshal(m)
			_, err := ParseManifest(b)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	for _, bad := range []string{`{"format":"elicense-archive/1","extra":1}`, `{`, `[]`, `{"files":[{"path":"a","size":1,"sm3":"AB"}]}`} {
		if _, err := ParseManifest([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestParseKeysAndEvents(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{`{"agency":"A","name":"n","keys":[{"key_id":"k","state":"active"}]}`, ""},
		{`{"agency":"A","name":"n","keys":[{"key_id":"k","state":"retired"}]}`, "no time"},
		{`{"agency":"A","name":"n","keys":[{"key_id":"../k","state":"active"}]}`, "key ID"},
		{`{"agency":"A","name":"n","keys":[{"key_id":"k","state":"lost"}]}`, "state"},
		{`{"agency":"A","name":"n","keys":[{"key_id":"k","state":"active"},{"key_id":"j","state":"active"}]}`, "2 active"},
	} {
		_, err := ParseKeys([]byte(tc.in))
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.in, err, tc.want)
		}
	}
	for _, tc := range []struct {
		in, want string
	}{
		{`{"checkpoint_size":5,"events":[{"index":1,"kind":"issue","raw":"AQ==","proof":[]},{"index":4,"kind":"status","raw":"AQ==","proof":[]}]}`, ""},
		{`{"checkpoint_size":5,"events":[]}`, "no events"},
		{`{"checkpoint_size":5,"events":[{"index":5,"kind":"issue","raw":"AQ==","proof":[]}]}`, "not below"},
		{`{"checkpoint_size":5,"events":[{"index":2,"kind":"issue","raw":"AQ==","proof":[]},{"index":2,"kind":"issue","raw":"AQ==","proof":[]}]}`, "not after"},
	} {
		_, err := ParseEvents([]byte(tc.in))
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.in, err, tc.want)
		}
	}
	if id, f, ok := LicenceOf("licences/1.2.3/licence.ofd"); !ok || id != "1.2.3" || f != OFDFile {
		t.Error("LicenceOf")
	}
	if _, _, ok := LicenceOf("licences/a/b/c"); ok {
		t.Error("LicenceOf accepted a nested path")
	}
}

// A metadata status is one of the four; the status of each event is what
// StatusAfter says.
func TestMetadataStatus(t *testing.T) {
	const id = "1.2.156.3005.2.11310000PDY00001XQ001.11310000PDY100010H.20261125ABCD1234.001.Z"
	for _, tc := range []struct {
		status string
		ok     bool
	}{{StatusValid, true}, {StatusSuspended, true}, {StatusRevoked, true}, {StatusSuperseded, true}, {"", false}, {"VALID", false}, {"expired", false}} {
		b := []byte(`{"id":"` + id + `","class":"business-license","items":[{"name":"证照标识","value":"` + id + `"}],"issued_at":"2026-01-01T00:00:00Z","status":"` + tc.status + `","credential_sm3":"` + Digest{}.String() + `","ofd_signed_at":"2026-01-01T00:00:00Z"}`)
		if _, err := ParseMetadata(b); (err == nil) != tc.ok {
			t.Errorf("status %q: %v", tc.status, err)
		}
	}
}

// ItemMismatch compares the items it knows: a missing, changed, doubled
// or unexpected known item is the first difference; an item of another
// name (证照二维码, added later) is not the credential's and is ignored.
func TestItemMismatch(t *testing.T) {
	want := []Item{{ItemID, "X"}, {ItemHolder, "甲"}}
	for _, tc := range []struct {
		name         string
		got          []Item
		diff, gv, wv string
	}{
		{"same", []Item{{ItemID, "X"}, {ItemHolder, "甲"}}, "", "", ""},
		{"another name ignored", []Item{{ItemID, "X"}, {"证照二维码", "q"}, {ItemHolder, "甲"}, {ItemSeal, "1"}}, "", "", ""},
		{"changed", []Item{{ItemID, "X"}, {ItemHolder, "乙"}}, ItemHolder, "乙", "甲"},
		{"missing", []Item{{ItemID, "X"}}, ItemHolder, "", "甲"},
		{"twice", []Item{{ItemID, "X"}, {ItemHolder, "甲"}, {ItemHolder, "乙"}}, ItemHolder, "乙", "甲"},
		{"unexpected", []Item{{ItemID, "X"}, {ItemHolder, "甲"}, {ItemNumber, "7"}}, ItemNumber, "7", ""},
	} {
		name, g, w, ok := ItemMismatch(tc.got, want)
		if ok != (tc.diff == "") || name != tc.diff || g != tc.gv || w != tc.wv {
			t.Errorf("%s: %q %q %q %v", tc.name, name, g, w, ok)
		}
	}
}

// catalogue.json is parsed by the catalogue's own strict parser, within
// its size limit, and every fault is ErrMalformed naming the file.
func TestParseCatalogue(t *testing.T) {
	good := catalog.DefaultJSON()
	c, err := ParseCatalogue(good)
	if err != nil || len(c.Classes()) != len(catalog.Default().Classes()) {
		t.Fatalf("the built-in catalogue: %v", err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"not JSON", []byte("{"), "catalogue.json: catalog:"},
		{"an unknown member", bytes.Replace(good, []byte(`"classes"`), []byte(`"extra": 1, "classes"`), 1), "catalogue.json: catalog:"},
		{"no classes", []byte(`{"classes":[]}`), "catalogue.json: catalog: no classes"},
		{"over its limit", append(bytes.Clone(good), bytes.Repeat([]byte(" "), MaxCatalogueSize)...), "bytes, at most 4194304"},
	} {
		if _, err := ParseCatalogue(tc.b); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	if MaxSize(CataloguePath) != MaxCatalogueSize || !InLayout(CataloguePath) {
		t.Errorf("catalogue.json: limit %d, in the layout %v", MaxSize(CataloguePath), InLayout(CataloguePath))
	}
}
