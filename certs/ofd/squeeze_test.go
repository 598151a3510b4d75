package ofd

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// dump writes out everything parseXML keeps of a part, for comparing two
// parses.
func dump(doc *xmlDoc, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	var walk func(n *node, depth int)
	walk = func(n *node, depth int) {
		fmt.Fprintf(&b, "%*s<%s %q long=%v text=%q>\n", depth, "", n.name, n.attrs, n.long, n.text.String())
		for _, k := range n.kids {
			walk(k, depth+1)
		}
	}
	walk(doc.root, 0)
	fmt.Fprintf(&b, "variant=%v texts=%q\n", doc.variant, doc.texts)
	return b.String()
}

// sameAsUncut fails unless parsing data squeezed and not gives the same
// tree, texts and error; it returns the squeezed bytes.
func sameAsUncut(t *testing.T, data []byte, o parseOpts) []byte {
	t.Helper()
	cut := squeeze(data, o)
	got := dump(decodeXML("p", cut, DefaultLimits, o))
	want := dump(decodeXML("p", data, DefaultLimits, o))
	if got != want {
		t.Fatalf("keep %d texts %v: squeezed (%d of %d bytes) parses as\n%s\nnot as\n%s", o.keep, o.texts, len(cut), len(data), got, want)
	}
	return cut
}

const pageHead = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer ID="3">`
const pageTail = `</ofd:Layer></ofd:Content></ofd:Page>`

// TestPageTexts reads the text objects of page contents: one string an
// object, its TextCodes joined, entities decoded, nothing else; a page
// the strict reader refuses has none.
func TestPageTexts(t *testing.T) {
	path := strings.Repeat("M 0 0 L 1 1 ", 100) + "C"
	tests := []struct {
		name    string
		content string
		want    []string
		err     bool
	}{
		{"none", pageHead + pageTail, nil, false},
		{"two objects", pageHead + `<ofd:TextObject ID="4"><ofd:TextCode X="0" Y="3">营业执照</ofd:TextCode></ofd:TextObject><ofd:PathObject ID="5"><ofd:AbbreviatedData>` + path + `</ofd:AbbreviatedData></ofd:PathObject><ofd:TextObject ID="6"><ofd:TextCode X="0" Y="3">A&amp;B</ofd:TextCode></ofd:TextObject>` + pageTail, []string{"营业执照", "A&B"}, false},
		{"codes joined", pageHead + `<ofd:TextObject ID="4"><ofd:TextCode X="0" Y="3">经营</ofd:TextCode><ofd:TextCode X="7" Y="3">范围</ofd:TextCode></ofd:TextObject>` + pageTail, []string{"经营范围"}, false},
		{"an empty object", pageHead + `<ofd:TextObject ID="4"><ofd:TextCode X="0" Y="3"></ofd:TextCode></ofd:TextObject>` + pageTail, []string{""}, false},
		{"text outside a TextCode", pageHead + `<ofd:TextObject ID="4">x<ofd:TextCode X="0" Y="3">y</ofd:TextCode></ofd:TextObject>` + pageTail, []string{"y"}, false},
		{"a long plain TextCode", pageHead + `<ofd:TextObject ID="4"><ofd:TextCode X="0" Y="3">` + path + `</ofd:TextCode></ofd:TextObject>` + pageTail, []string{path}, false},
		{"a nested object is part of its object", pageHead + `<ofd:TextObject ID="4"><ofd:TextCode>a<ofd:X>` + path + `</ofd:X></ofd:TextCode><ofd:TextObject><ofd:TextCode>b</ofd:TextCode></ofd:TextObject></ofd:TextObject>` + pageTail, []string{"a" + path + "b"}, false},
		{"not XML", pageHead + `<ofd:TextObject>`, nil, true},
		{"another namespace", pageHead + `<TextObject><TextCode>x</TextCode></TextObject>` + pageTail, nil, true},
		{"a DTD", `<!DOCTYPE p>` + pageHead + pageTail, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Package{lim: DefaultLimits, files: map[string][]byte{"c.xml": []byte(tc.content)}}
			got, err := p.PageTexts("c.xml")
			if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
				t.Errorf("%q, %v; want %q (error %v)", got, err, tc.want, tc.err)
			}
			sameAsUncut(t, []byte(tc.content), parseOpts{keep: keepDepth["Page"], texts: true})
		})
	}
	p := &Package{lim: DefaultLimits, files: map[string][]byte{}}
	if _, err := p.PageTexts("absent.xml"); err == nil {
		t.Error("an absent page has texts")
	}
}

// TestLicencePage reads a page of our licence file (issuer/ofdfile's
// golden, its QR a 16 KB path): its texts are the golden's, and the
// squeezed page the decoder reads is a third of it, parsed the same.
func TestLicencePage(t *testing.T) {
	page := readSample(t, "licence-page.xml")
	o := parseOpts{keep: keepDepth["Page"], texts: true}
	cut := sameAsUncut(t, page, o)
	if len(cut)*3 > len(page) {
		t.Errorf("squeezed to %d of %d bytes", len(cut), len(page))
	}
	doc, err := parseXML("p", page, DefaultLimits, o)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(doc.texts, "", "  ")
	const golden = "testdata/licence-page.texts.json"
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(got)+"\n" {
		t.Errorf("texts %s, want %s", got, want)
	}
}

// TestSqueeze: what is cut and what is not, and every case parses as it
// does uncut (errors included, at the same line).
func TestSqueeze(t *testing.T) {
	run := strings.Repeat("M 1 2 L 3.5 -4 ", 10)
	tests := []struct {
		name string
		data string
		keep int
		cut  [2]bool // without and with the texts collected
	}{
		{"a deep path", pageHead + `<ofd:PathObject><ofd:AbbreviatedData>` + run + `</ofd:AbbreviatedData></ofd:PathObject>` + pageTail, 2, [2]bool{true, true}},
		{"kept text", `<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:PageRes>` + run + `</ofd:PageRes></ofd:Page>`, 2, [2]bool{false, false}},
		{"kept at keep 5", pageHead + `<ofd:PathObject><ofd:AbbreviatedData>` + run + `</ofd:AbbreviatedData></ofd:PathObject>` + pageTail, 5, [2]bool{false, false}},
		{"keepAll", pageHead + `<ofd:PathObject><ofd:AbbreviatedData>` + run + `</ofd:AbbreviatedData></ofd:PathObject>` + pageTail, keepAll, [2]bool{false, false}},
		{"inside a TextCode", pageHead + `<ofd:TextObject><ofd:TextCode X="1">` + run + `</ofd:TextCode></ofd:TextObject>` + pageTail, 2, [2]bool{true, false}},
		{"below a TextCode", pageHead + `<ofd:TextObject><ofd:TextCode><ofd:X>` + run + `</ofd:X></ofd:TextCode></ofd:TextObject>` + pageTail, 2, [2]bool{true, false}},
		{"after a TextCode", pageHead + `<ofd:TextObject><ofd:TextCode>x</ofd:TextCode>` + run + `</ofd:TextObject>` + pageTail, 2, [2]bool{true, true}},
		{"an attribute", pageHead + `<ofd:PathObject Boundary="` + run + `"/>` + pageTail, 2, [2]bool{false, false}},
		{"a quoted >", pageHead + `<ofd:PathObject Boundary='a>` + run + `'/>` + pageTail, 2, [2]bool{false, false}},
		{"a comment", pageHead + `<ofd:PathObject><!--` + run + `--></ofd:PathObject>` + pageTail, 2, [2]bool{false, false}},
		{"a CDATA section", pageHead + `<ofd:PathObject><![CDATA[` + run + `]]></ofd:PathObject>` + pageTail, 2, [2]bool{false, false}},
		{"an entity's name", pageHead + `<ofd:PathObject>&` + strings.ReplaceAll(run, " ", "") + `;</ofd:PathObject>` + pageTail, 2, [2]bool{false, false}},
		{"after an entity", pageHead + `<ofd:PathObject>&amp;` + run + `</ofd:PathObject>` + pageTail, 2, [2]bool{true, true}},
		{"after a bad entity", pageHead + `<ofd:PathObject>&amp ` + run + `</ofd:PathObject>` + pageTail, 2, [2]bool{true, true}},
		{"lines kept", pageHead + "<ofd:PathObject>" + run + "\n" + run + "\n</ofd:Wrong>" + pageTail, 2, [2]bool{true, true}},
		{"]] and >", pageHead + `<ofd:PathObject>]]` + run + `></ofd:PathObject>` + pageTail, 2, [2]bool{true, true}},
		{"after a DTD", `<!DOCTYPE x>` + pageHead + `<ofd:PathObject>` + run + `</ofd:PathObject>` + pageTail, 2, [2]bool{false, false}},
		{"an end tag too many", `<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"></ofd:Page></ofd:Page><ofd:Page><ofd:A><ofd:B>` + run, 2, [2]bool{false, false}},
		{"a < in a tag", pageHead + `<ofd:PathObject a="<"><ofd:A>` + run + `</ofd:A></ofd:PathObject>` + pageTail, 2, [2]bool{false, false}},
		{"unclosed", pageHead + `<ofd:PathObject><ofd:A>` + run, 2, [2]bool{true, true}},
		{"another namespace", pageHead + `<PathObject><A>` + run + `</A></PathObject>` + pageTail, 2, [2]bool{true, true}},
		{"deeper than squeeze reads", pageHead + strings.Repeat("<ofd:A>", squeezeMaxDepth) + run + strings.Repeat("</ofd:A>", squeezeMaxDepth) + pageTail, 2, [2]bool{false, false}},
		{"too deep", pageHead + strings.Repeat("<ofd:A>", 70) + run + strings.Repeat("</ofd:A>", 70) + pageTail, 2, [2]bool{true, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i, texts := range []bool{false, true} {
				cut := sameAsUncut(t, []byte(tc.data), parseOpts{keep: tc.keep, texts: texts})
				if got := len(cut) < len(tc.data); got != tc.cut[i] {
					t.Errorf("texts %v: cut %v (%d of %d bytes), want %v", texts, got, len(cut), len(tc.data), tc.cut[i])
				}
			}
		})
	}
}

// FuzzSqueeze: any part parses squeezed exactly as it does uncut, at
// every depth kept, with the texts collected or not.
func FuzzSqueeze(f *testing.F) {
	f.Add(readSample(f, "licence-page.xml"), uint8(2))
	for _, s := range []string{minOFD, minDoc, minSig, minPg} {
		f.Add([]byte(s), uint8(2))
	}
	long := strings.Repeat("0 1 ", 20)
	f.Add([]byte(pageHead+`<ofd:TextObject><ofd:TextCode>`+long+`</ofd:TextCode>`+long+`</ofd:TextObject>&#x41 `+long+pageTail), uint8(2))
	f.Add([]byte(pageHead+`<ofd:A b='>'>]]`+long+`><![CDATA[`+long+`]]><!--`+long+`--><?pi `+long+`?></ofd:A>`+pageTail), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, keep uint8) {
		if !utf8.Valid(data) || bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
			return // parseXML's own checks, before squeeze
		}
		for _, texts := range []bool{false, true} {
			sameAsUncut(t, data, parseOpts{keep: int(keep % 8), texts: texts})
		}
	})
}

// BenchmarkLicencePage: the parse of our licence file's page (what
// Package.Shown and PageTexts cost), as parseXML makes it and as the
// decoder alone would, uncut.
func BenchmarkLicencePage(b *testing.B) {
	page := readSample(b, "licence-page.xml")
	o := parseOpts{keep: keepDepth["Page"], texts: true}
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if _, err := parseXML("p", page, DefaultLimits, o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncut", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if _, err := decodeXML("p", page, DefaultLimits, o); err != nil {
				b.Fatal(err)
			}
		}
	})
}
