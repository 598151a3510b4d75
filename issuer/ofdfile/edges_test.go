package ofdfile_test

import (
	"errors"
	"strings"
	"testing"

	"elicense/certs/catalog"
	"elicense/certs/ofd"
	"elicense/issuer/ofdfile"
	verifyofd "elicense/verifier/ofd"
)

// Edge cases of what the file says: a holder code of no known kind has no
// code type (none is guessed); a long agency name is wrapped, not drawn
// past the page's edge.
func TestMetadataAndLayoutEdges(t *testing.T) {
	f := load(t)
	cl, _ := catalog.Default().Lookup("business-license")
	longName := strings.Repeat("上海市浦东新区", 6) + "市场监督管理局" // 49 characters
	for _, tc := range []struct {
		name     string
		edit     func(l *ofdfile.Licence)
		codeType string // "" means absent
		shown    []string
		notShown []string
	}{
		{name: "USCC", edit: func(*ofdfile.Licence) {}, codeType: "统一社会信用代码"},
		{name: "a code of no known kind", edit: func(l *ofdfile.Licence) { l.Fields[cl.HolderCodeField] = "E12345678" }},
		{name: "long agency name", edit: func(l *ofdfile.Licence) { l.IssuerName = longName }, codeType: "统一社会信用代码",
			shown: []string{"颁发机构：上海市", "市场监督管理局"}, notShown: []string{"颁发机构：" + longName}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields := map[string]string{}
			for k, v := range samples(t)[cl.Key] {
				fields[k] = v
			}
			l := licence(t, f, cl, fields)
			tc.edit(l)
			data, err := ofdfile.Build(l, f.sealer, ofdfile.Options{At: f.at})
			if err != nil {
				t.Fatal(err)
			}
			p, err := ofd.Open(data, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for _, cd := range p.Root.Bodies[0].CustomData {
				if cd.Name == "持证主体代码类型" {
					got = cd.Value
				}
			}
			if got != tc.codeType {
				t.Errorf("持证主体代码类型 %q, want %q", got, tc.codeType)
			}
			page, err := p.File("Doc_0/Pages/Page_0/Content.xml")
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.shown {
				if !strings.Contains(string(page), s) {
					t.Errorf("%q not on the page", s)
				}
			}
			for _, s := range tc.notShown {
				if strings.Contains(string(page), s) {
					t.Errorf("%q on one line", s)
				}
			}
			if r := verify(t, f, data); r.Verdict != verifyofd.Valid {
				t.Fatalf("verdict %s: %s", r.Verdict, r.Detail)
			}
		})
	}
}

// Build refuses bad text with the same error every time, whichever field
// map order Go picks.
func TestBuildRefusesDeterministically(t *testing.T) {
	f := load(t)
	cl, _ := catalog.Default().Lookup("business-license")
	l := licence(t, f, cl, map[string]string{"zz": "\x01", "mm": "\x02", "aa": "\x03"})
	for range 20 {
		_, err := ofdfile.Build(l, f.sealer, ofdfile.Options{At: f.at})
		if !errors.Is(err, ofdfile.ErrInvalid) || !strings.Contains(err.Error(), "field aa ") {
			t.Fatalf("%v", err)
		}
	}
}
