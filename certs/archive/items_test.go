package archive

import (
	"encoding/json"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/credential"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// samples is the catalogue's sample record of every class.
func samples(t *testing.T) map[string]map[string]string {
	t.Helper()
	data, err := os.ReadFile("../catalog/testdata/samples.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Samples map[string]map[string]string `json:"samples"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s.Samples
}

// TestFileItems: the items of each class's sample licence file are the
// golden's (the metadata issuer/ofdfile writes, docs/formats.md §5), and
// LicenceItems gives the same of a credential with the same facts, the
// seal's and the QR's aside.
func TestFileItems(t *testing.T) {
	all := samples(t)
	var got strings.Builder
	for _, cl := range catalog.Default().Classes() {
		fields := all[cl.Key]
		if fields == nil {
			t.Fatalf("no sample of %s", cl.Key)
		}
		issued := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		l := FileLicence{ID: "1.2.156.3005.2." + cl.TypeCode + ".11310000PDY100010H.T1.001.X", Number: cl.Number("", fields),
			IssuerName: "上海市市场监督管理局", IssuerCode: "11310000PDY100010H", IssuedOn: issued.Format(credential.DateLayout), Fields: fields}
		items := FileItems(cl, l, "ES-1", "EL2:X")
		for _, it := range items {
			got.WriteString(cl.Key + "\t" + it.Name + "\t" + it.Value + "\n")
		}
		n := len(items)
		if items[n-2] != (Item{ItemSeal, "ES-1"}) || items[n-1] != (Item{ItemQR, "EL2:X"}) {
			t.Errorf("%s: ends with %q", cl.Key, items[n-2:])
		}
		if noQR := FileItems(cl, l, "ES-1", ""); !slices.Equal(noQR, items[:n-1]) {
			t.Errorf("%s: without a QR %q", cl.Key, noQR)
		}
		cred := &credential.License{Class: cl.Key, ID: l.ID, IssuerName: l.IssuerName, IssuerCode: l.IssuerCode, IssuedOn: issued, Fields: fields}
		if li := LicenceItems(cred, cl); !slices.Equal(li, items[:n-2]) {
			t.Errorf("%s: LicenceItems %q, FileItems %q", cl.Key, li, items[:n-2])
		}
		if name, g, w, ok := ItemMismatch(items, LicenceItems(cred, cl)); !ok {
			t.Errorf("%s: the file's own items differ at %s: %q, %q", cl.Key, name, g, w)
		}
	}
	b := []byte(got.String())
	const golden = "testdata/file-items.txt"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(b) {
		t.Errorf("items changed from %s (go test -run TestFileItems -update rewrites it):\n%s", golden, b)
	}
}

// TestFileItemsRules: the items a licence's facts decide, one by one.
func TestFileItemsRules(t *testing.T) {
	cl, ok := catalog.Default().ByKey("business-license")
	if !ok {
		t.Fatal("no business-license class")
	}
	base := samples(t)["business-license"]
	with := func(k, v string) map[string]string {
		f := map[string]string{}
		for kk, vv := range base {
			f[kk] = vv
		}
		f[k] = v
		return f
	}
	value := func(items []Item, name string) (string, bool) {
		for _, it := range items {
			if it.Name == name {
				return it.Value, true
			}
		}
		return "", false
	}
	tests := []struct {
		name   string
		l      FileLicence
		item   string
		want   string
		absent bool
	}{
		{"no number", FileLicence{ID: "x", IssuedOn: "2026-12-01", Fields: base}, ItemNumber, "", true},
		{"a number", FileLicence{ID: "x", Number: "N1", IssuedOn: "2026-12-01", Fields: base}, ItemNumber, "N1", false},
		{"a USCC holder", FileLicence{ID: "x", IssuedOn: "2026-12-01", Fields: base}, ItemHolderCodeType, "统一社会信用代码", false},
		{"a code not shown to be one", FileLicence{ID: "x", IssuedOn: "2026-12-01", Fields: with(cl.HolderCodeField, "12345")}, ItemHolderCodeType, "", true},
		{"the issue date", FileLicence{ID: "x", IssuedOn: "2026-12-01", Fields: base}, ItemIssuedOn, "2026-12-01", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := value(FileItems(cl, tc.l, "ES", ""), tc.item)
			if ok == tc.absent || v != tc.want {
				t.Errorf("%s = %q (present %v), want %q (absent %v)", tc.item, v, ok, tc.want, tc.absent)
			}
		})
	}
}
