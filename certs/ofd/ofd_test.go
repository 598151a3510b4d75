package ofd

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSamples(t *testing.T) {
	for _, tc := range []struct {
		file     string
		docRoot  string
		sigs     []SignatureEntry
		refs     []int
		method   string
		shown    int
		variants int
	}{
		{"tax-seal.ofd", "Doc_0/Document.xml", []SignatureEntry{{"2", TypeSeal, "Doc_0/Signs/Sign_0/Signature.xml"}}, []int{13}, OIDSM3, 9, 0},
		{"ofdrw-seal.ofd", "Doc_0/Document.xml", []SignatureEntry{{"001", TypeSeal, "Doc_0/Signs/Sign_0/Signature.xml"}}, []int{6}, "SM3", 4, 0},
		{"gmt0010-sign.ofd", "Doc_0/Document_0.xml", []SignatureEntry{
			{"1", TypeSign, "Doc_0/Signs/Sign_0/Signature.xml"}, {"2", TypeSign, "Doc_0/Signs/Sign_1/Signature.xml"},
		}, []int{16, 21}, OIDSM3, 14, 1},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p, err := Open(readSample(t, tc.file), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Root.Bodies) != 1 || p.Root.Bodies[0].DocRoot != tc.docRoot || p.Root.Bodies[0].Signatures != "Doc_0/Signs/Signatures.xml" {
				t.Fatalf("bodies %+v", p.Root.Bodies)
			}
			if len(p.Notes) != tc.variants {
				t.Errorf("notes %q", p.Notes)
			}
			d, err := p.Document(tc.docRoot)
			if err != nil {
				t.Fatal(err)
			}
			shown, err := p.Shown(d)
			if err != nil || len(shown) != tc.shown || !slices.Contains(shown, RootPath) || !slices.Contains(shown, tc.docRoot) {
				t.Fatalf("shown %q %v", shown, err)
			}
			ss, err := p.Signatures(p.Root.Bodies[0].Signatures)
			if err != nil || !slices.Equal(ss.List, tc.sigs) {
				t.Fatalf("signatures %+v %v", ss, err)
			}
			for i, e := range ss.List {
				s, err := p.Signature(e.BaseLoc)
				if err != nil {
					t.Fatal(err)
				}
				if len(s.References) != tc.refs[i] || s.CheckMethod != tc.method || !IsSM3(s.CheckMethod) || !p.Has(s.SignedValue) {
					t.Fatalf("signature %s: %d refs, method %q, value %s", e.BaseLoc, len(s.References), s.CheckMethod, s.SignedValue)
				}
				for _, r := range s.References {
					if !p.Has(r.FileRef) || len(r.CheckValue) != 32 {
						t.Errorf("reference %s", r.FileRef)
					}
				}
				raw, _ := p.File(e.BaseLoc)
				if !bytes.Equal(s.Raw, raw) {
					t.Error("Raw is not the file")
				}
			}
		})
	}
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct{ from, loc, want string }{
		{"OFD.xml", "Doc_0/Document.xml", "Doc_0/Document.xml"},
		{"OFD.xml", "/Doc_0/Document.xml", "Doc_0/Document.xml"},
		{"Doc_0/Document.xml", "Pages/Page_0/Content.xml", "Doc_0/Pages/Page_0/Content.xml"},
		{"Doc_0/Document.xml", "./Pages/../Res/a.png", "Doc_0/Res/a.png"},
		{"Doc_0/Signs/Sign_0/Signature.xml", "SignedValue.dat", "Doc_0/Signs/Sign_0/SignedValue.dat"},
		{"Doc_0/Document.xml", " Res/x ", "Doc_0/Res/x"},
		{"Doc_0/Document.xml", "../OFD.xml", "OFD.xml"},
	} {
		if got, err := Resolve(tc.from, tc.loc); err != nil || got != tc.want {
			t.Errorf("Resolve(%q, %q) = %q, %v; want %q", tc.from, tc.loc, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ from, loc string }{
		{"OFD.xml", ""}, {"OFD.xml", "../x"}, {"Doc_0/D.xml", "../../x"}, {"OFD.xml", "/../x"},
		{"OFD.xml", `Doc_0\x`}, {"OFD.xml", "C:/x"}, {"OFD.xml", "http://x/y"}, {"OFD.xml", "a\x00b"},
		{"OFD.xml", "/"}, {"OFD.xml", "."},
	} {
		if got, err := Resolve(tc.from, tc.loc); !errors.Is(err, ErrPath) {
			t.Errorf("Resolve(%q, %q) = %q, %v; want ErrPath", tc.from, tc.loc, got, err)
		}
	}
}

// A minimal valid package, to be broken part by part.
const (
	minOFD = `<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" DocType="OFD" Version="1.1"><ofd:DocBody><ofd:DocInfo><ofd:DocID>x</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot><ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>`
	minDoc = `<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:CommonData><ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData><ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>`
	minRes = `<ofd:Res xmlns:ofd="http://www.ofdspec.org/2016" BaseLoc="Res"><ofd:Fonts><ofd:Font ID="2"><ofd:FontFile>f.ttf</ofd:FontFile></ofd:Font></ofd:Fonts></ofd:Res>`
	minPg  = `<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content/></ofd:Page>`
	minSgs = `<ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Signature ID="1" BaseLoc="Sign_0/Signature.xml"/></ofd:Signatures>`
	minSig = `<ofd:Signature xmlns:ofd="http://www.ofdspec.org/2016"><ofd:SignedInfo><ofd:References CheckMethod="SM3"><ofd:Reference FileRef="/Doc_0/Document.xml"><ofd:CheckValue>AAAA</ofd:CheckValue></ofd:Reference></ofd:References></ofd:SignedInfo><ofd:SignedValue>SignedValue.dat</ofd:SignedValue></ofd:Signature>`
)

type entry struct {
	name string
	data string
}

func minEntries() []entry {
	return []entry{
		{"OFD.xml", minOFD}, {"Doc_0/Document.xml", minDoc}, {"Doc_0/PublicRes.xml", minRes},
		{"Doc_0/Res/f.ttf", "font"}, {"Doc_0/Pages/Page_0/Content.xml", minPg},
		{"Doc_0/Signs/Signatures.xml", minSgs}, {"Doc_0/Signs/Sign_0/Signature.xml", minSig},
		{"Doc_0/Signs/Sign_0/SignedValue.dat", "\x30\x00"},
	}
}

func makeZip(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func with(name, data string) []entry {
	es := minEntries()
	for i := range es {
		if es[i].name == name {
			es[i].data = data
			return es
		}
	}
	return append(es, entry{name, data})
}

func without(name string) []entry {
	return slices.DeleteFunc(minEntries(), func(e entry) bool { return e.name == name })
}

// openAll opens the package and parses every part, returning the first
// error.
func openAll(data []byte, lim *Limits) error {
	p, err := Open(data, lim)
	if err != nil {
		return err
	}
	for _, b := range p.Root.Bodies {
		d, err := p.Document(b.DocRoot)
		if err != nil {
			return err
		}
		if _, err := p.Shown(d); err != nil {
			return err
		}
		for _, pg := range d.Pages {
			if _, err := p.PageTexts(pg.Loc); err != nil && p.Has(pg.Loc) {
				return err
			}
		}
		if b.Signatures == "" {
			continue
		}
		ss, err := p.Signatures(b.Signatures)
		if err != nil {
			return err
		}
		for _, e := range ss.List {
			if _, err := p.Signature(e.BaseLoc); err != nil {
				return err
			}
		}
	}
	return nil
}

func TestMinimal(t *testing.T) {
	if err := openAll(makeZip(t, minEntries()), nil); err != nil {
		t.Fatal(err)
	}
}

func TestBadPackages(t *testing.T) {
	bomb := strings.Repeat("\x00", 3<<20)
	big := strings.Repeat("a", 200)
	for _, tc := range []struct {
		name    string
		entries []entry
		raw     []byte
		lim     *Limits
		kind    error
		msg     string
	}{
		{name: "not a zip", raw: []byte("%PDF-1.7"), kind: ErrZip},
		{name: "empty", raw: []byte{}, kind: ErrZip},
		{name: "climbing entry", entries: with("../evil.xml", "x"), kind: ErrPath, msg: "climbs"},
		{name: "climbing inside", entries: with("Doc_0/../../evil", "x"), kind: ErrPath, msg: "climbs"},
		{name: "absolute entry", entries: with("/etc/passwd", "x"), kind: ErrPath, msg: "absolute"},
		{name: "backslash", entries: with(`Doc_0\evil.xml`, "x"), kind: ErrPath, msg: "backslash"},
		{name: "drive letter", entries: with("C:/evil", "x"), kind: ErrPath, msg: "drive"},
		{name: "unclean", entries: with("Doc_0/./x", "x"), kind: ErrPath, msg: "clean"},
		{name: "double slash", entries: with("Doc_0//x", "x"), kind: ErrPath, msg: "clean"},
		{name: "control char", entries: with("Doc_0/\x01x", "x"), kind: ErrPath, msg: "control"},
		{name: "not utf-8", entries: with("Doc_0/\xffx", "x"), kind: ErrPath, msg: "UTF-8"},
		{name: "duplicate", entries: append(minEntries(), entry{"OFD.xml", minOFD}), kind: ErrPath, msg: "twice"},
		{name: "case duplicate", entries: append(minEntries(), entry{"ofd.XML", minOFD}), kind: ErrPath, msg: "case"},
		{name: "zip bomb ratio", entries: with("Doc_0/bomb.bin", bomb), kind: ErrLimit, msg: "ratio"},
		{name: "entry too large", entries: with("Doc_0/big.bin", big), lim: &Limits{MaxEntrySize: 100}, kind: ErrLimit},
		{name: "total too large", entries: with("Doc_0/big.bin", big), lim: &Limits{MaxTotalSize: 1000}, kind: ErrLimit},
		{name: "too many entries", entries: minEntries(), lim: &Limits{MaxEntries: 3}, kind: ErrLimit},
		{name: "no OFD.xml", entries: without("OFD.xml"), kind: ErrMissing},
		{name: "no Document.xml", entries: without("Doc_0/Document.xml"), kind: ErrMissing},
		{name: "no Signature.xml", entries: without("Doc_0/Signs/Sign_0/Signature.xml"), kind: ErrMissing},
		{name: "DTD", entries: with("OFD.xml", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>`+minOFD[38:]), kind: ErrXML, msg: "DTD"},
		{name: "entity", entries: with("OFD.xml", strings.Replace(minOFD, ">x<", ">&a;<", 1)), kind: ErrXML},
		{name: "other namespace", entries: with("OFD.xml", strings.ReplaceAll(minOFD, "http://www.ofdspec.org/2016", "urn:evil")), kind: ErrXML, msg: "namespace"},
		{name: "no namespace", entries: with("Doc_0/Pages/Page_0/Content.xml", `<Page><Content/></Page>`), kind: ErrXML, msg: "no namespace"},
		{name: "foreign child", entries: with("Doc_0/Document.xml", strings.Replace(minDoc, "<ofd:Pages>", `<x:E xmlns:x="urn:x"/><ofd:Pages>`, 1)), kind: ErrXML, msg: "namespace"},
		{name: "huge attribute", entries: with("Doc_0/Document.xml", strings.Replace(minDoc, `ID="1"`, `ID="`+strings.Repeat("9", 70000)+`"`, 1)), kind: ErrLimit, msg: "attribute"},
		{name: "duplicate attribute", entries: with("Doc_0/Document.xml", strings.Replace(minDoc, `ID="1"`, `ID="1" ID="2"`, 1)), kind: ErrXML, msg: "twice"},
		{name: "deep", entries: with("Doc_0/Pages/Page_0/Content.xml", `<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016">`+strings.Repeat("<ofd:a>", 100)+strings.Repeat("</ofd:a>", 100)+`</ofd:Page>`), kind: ErrLimit, msg: "deeper"},
		{name: "mismatched tags", entries: with("OFD.xml", strings.Replace(minOFD, "</ofd:DocID>", "</ofd:DocId>", 1)), kind: ErrXML},
		{name: "second root", entries: with("OFD.xml", minOFD+"<ofd:OFD xmlns:ofd=\"http://www.ofdspec.org/2016\"/>"), kind: ErrXML, msg: "second root"},
		{name: "GBK", entries: with("OFD.xml", strings.Replace(minOFD, "UTF-8", "GBK", 1)), kind: ErrXML, msg: "encoding"},
		{name: "bad utf-8", entries: with("OFD.xml", strings.Replace(minOFD, ">x<", ">\xff<", 1)), kind: ErrXML, msg: "UTF-8"},
		{name: "wrong root", entries: with("OFD.xml", minDoc), kind: ErrStructure, msg: "root element"},
		{name: "wrong DocType", entries: with("OFD.xml", strings.Replace(minOFD, `DocType="OFD"`, `DocType="PDF"`, 1)), kind: ErrStructure},
		{name: "no pages", entries: with("Doc_0/Document.xml", `<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:CommonData/></ofd:Document>`), kind: ErrStructure, msg: "Pages"},
		{name: "DocRoot climbs", entries: with("OFD.xml", strings.Replace(minOFD, ">Doc_0/Document.xml<", ">../Document.xml<", 1)), kind: ErrPath},
		{name: "page climbs", entries: with("Doc_0/Document.xml", strings.Replace(minDoc, "Pages/Page_0", "../../Page_0", 1)), kind: ErrPath},
		{name: "font climbs", entries: with("Doc_0/PublicRes.xml", strings.Replace(minRes, "f.ttf", "../../../f.ttf", 1)), kind: ErrPath},
		{name: "bad Type", entries: with("Doc_0/Signs/Signatures.xml", strings.Replace(minSgs, `ID="1"`, `ID="1" Type="Stamp"`, 1)), kind: ErrStructure, msg: "Type"},
		{name: "bad CheckValue", entries: with("Doc_0/Signs/Sign_0/Signature.xml", strings.Replace(minSig, "AAAA", "A!A=", 1)), kind: ErrStructure, msg: "base64"},
		{name: "duplicate reference", entries: with("Doc_0/Signs/Sign_0/Signature.xml", strings.Replace(minSig, "</ofd:References>", `<ofd:Reference FileRef="/Doc_0/Document.xml"><ofd:CheckValue>AAAA</ofd:CheckValue></ofd:Reference></ofd:References>`, 1)), kind: ErrStructure, msg: "twice"},
		// One file named many times would be parsed and shown many times.
		{name: "page named twice", entries: with("Doc_0/Document.xml", strings.Replace(minDoc, "</ofd:Pages>", `<ofd:Page ID="2" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>`, 1)), kind: ErrStructure, msg: "page Doc_0/Pages/Page_0/Content.xml is named twice"},
		{name: "template is a page", entries: with("Doc_0/Document.xml", strings.Replace(minDoc, "<ofd:PublicRes>", `<ofd:TemplatePage ID="3" BaseLoc="Pages/Page_0/Content.xml"/><ofd:PublicRes>`, 1)), kind: ErrStructure, msg: "named twice"},
		{name: "signature named twice", entries: with("Doc_0/Signs/Signatures.xml", strings.Replace(minSgs, "</ofd:Signatures>", `<ofd:Signature ID="2" BaseLoc="/Doc_0/Signs/Sign_0/Signature.xml"/></ofd:Signatures>`, 1)), kind: ErrStructure, msg: "two signatures name"},
		{name: "too many signatures", entries: with("Doc_0/Signs/Signatures.xml", strings.Replace(minSgs, "</ofd:Signatures>", `<ofd:Signature ID="2" BaseLoc="Sign_1/Signature.xml"/></ofd:Signatures>`, 1)), lim: &Limits{MaxSignatures: 1}, kind: ErrLimit, msg: "2 signatures, at most 1"},
		{name: "two bodies, one document", entries: with("OFD.xml", strings.Replace(minOFD, "</ofd:OFD>", `<ofd:DocBody><ofd:DocRoot>/Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>`, 1)), kind: ErrStructure, msg: "DocBody 1"},
		{name: "too many elements", entries: with("Doc_0/Pages/Page_0/Content.xml", `<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content>`+strings.Repeat("<ofd:a/>", maxElements)+`</ofd:Content></ofd:Page>`), lim: &Limits{MaxRatio: 1 << 20}, kind: ErrLimit, msg: "elements"},
		{name: "foreign element deep in a page", entries: with("Doc_0/Pages/Page_0/Content.xml", `<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer><x:E xmlns:x="urn:x"/></ofd:Layer></ofd:Content></ofd:Page>`), kind: ErrXML, msg: "namespace"},
		{name: "duplicate attribute deep in a page", entries: with("Doc_0/Pages/Page_0/Content.xml", `<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer ID="1" ID="2"/></ofd:Content></ofd:Page>`), kind: ErrXML, msg: "twice"},
		{name: "no SignedValue", entries: with("Doc_0/Signs/Sign_0/Signature.xml", strings.Replace(minSig, "<ofd:SignedValue>SignedValue.dat</ofd:SignedValue>", "", 1)), kind: ErrStructure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.raw
			if data == nil {
				data = makeZip(t, tc.entries)
			}
			err := openAll(data, tc.lim)
			var e *Error
			if !errors.Is(err, tc.kind) || !errors.As(err, &e) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v containing %q", err, tc.kind, tc.msg)
			}
		})
	}
}

// A declared size that lies: the entry is read up to the limit only.
func TestLyingSize(t *testing.T) {
	data := makeZip(t, with("Doc_0/big.bin", strings.Repeat("z", 5000)))
	if err := openAll(data, &Limits{MaxEntrySize: 4096}); !errors.Is(err, ErrLimit) {
		t.Fatalf("got %v", err)
	}
}

func TestEncryptedEntry(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "OFD.xml", Method: zip.Store, Flags: 0x1})
	w.Write([]byte(minOFD))
	zw.Close()
	if _, err := Open(buf.Bytes(), nil); !errors.Is(err, ErrZip) || !strings.Contains(err.Error(), "encrypted") {
		t.Fatalf("got %v", err)
	}
}

func TestWriterDeterministic(t *testing.T) {
	var w1, w2 Writer
	es := minEntries()
	for i := range es {
		if err := w1.Add(es[i].name, []byte(es[i].data)); err != nil {
			t.Fatal(err)
		}
		e := es[len(es)-1-i]
		if err := w2.Add(e.name, []byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	b1, err := w1.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := w2.Bytes()
	if !bytes.Equal(b1, b2) {
		t.Fatal("two writers, same files, different bytes")
	}
	if err := openAll(b1, nil); err != nil {
		t.Fatal(err)
	}
	zr, _ := zip.NewReader(bytes.NewReader(b1), int64(len(b1)))
	if zr.File[0].Name != RootPath {
		t.Errorf("first entry %s", zr.File[0].Name)
	}
	for _, bad := range []string{"../x", "/x", `a\b`, "OFD.XML", "d/"} {
		if err := w1.Add(bad, nil); !errors.Is(err, ErrPath) {
			t.Errorf("Add(%q): %v", bad, err)
		}
	}
}

// The local headers must tile the file up to the central directory, as
// the central directory names them: a streaming reader sees no other
// content than Open.
func TestLayout(t *testing.T) {
	good := makeZip(t, minEntries())
	local := func(name, data string) []byte { // a local header and data, no directory
		b := makeZip(t, []entry{{name, data}})
		return b[:bytes.Index(b, []byte("PK\x01\x02"))]
	}
	// The minimal package with x.xml hidden: in the zip, not in the
	// central directory (the second entry, or the last).
	hidden := func(at int) []byte {
		es := minEntries()
		es = slices.Insert(es, at, entry{"x.xml", "EVIL"})
		return dropFromDirectory(t, makeZip(t, es), "x.xml")
	}
	renamed := bytes.Clone(good)
	copy(renamed[30:], "ofd.xml") // the first local header's name, not the directory's
	for _, tc := range []struct {
		name string
		data []byte
		msg  string
	}{
		{"prepended entry", append(local("Doc_0/Pages/Page_0/Content.xml", "EVIL"), good...), "central directory"},
		{"prepended junk", append([]byte("MZ junk before the zip"), good...), "local header at 0"},
		{"entry hidden between entries", hidden(1), `names "x.xml"`},
		{"entry hidden before the directory", hidden(len(minEntries())), "not the central directory"},
		{"local name differs", renamed, "names"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.data, nil)
			if !errors.Is(err, ErrZip) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want ErrZip containing %q", err, tc.msg)
			}
		})
	}
	for _, name := range []string{"tax-seal.ofd", "ofdrw-seal.ofd", "gmt0010-sign.ofd"} {
		if _, err := Open(readSample(t, name), nil); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A page's content is checked but not kept: what is kept of a page is its
// root's children.
func TestPageNotKept(t *testing.T) {
	page := `<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:PageRes>R.xml</ofd:PageRes><ofd:Content>` +
		strings.Repeat(`<ofd:Layer><ofd:PathObject ID="1"/></ofd:Layer>`, 1000) + `</ofd:Content></ofd:Page>`
	doc, err := parseXML("p", []byte(page), DefaultLimits, parseOpts{keep: keepDepth["Page"]})
	if err != nil {
		t.Fatal(err)
	}
	n := doc.root
	if len(n.kids) != 2 || n.value("PageRes") != "R.xml" || len(n.child("Content").kids) != 0 {
		t.Fatalf("kept %d children, content %d", len(n.kids), len(n.child("Content").kids))
	}
	doc, err = parseXML("p", []byte(page), DefaultLimits, parseOpts{keep: keepAll})
	if err != nil || len(doc.root.child("Content").kids) != 1000 {
		t.Fatalf("keepAll: %v", err)
	}
}

// dropFromDirectory removes name's record from the central directory of
// the zip b (no comment, no zip64), leaving its local header and data.
func dropFromDirectory(t *testing.T, b []byte, name string) []byte {
	t.Helper()
	eocd := len(b) - 22
	le := binary.LittleEndian
	if string(b[eocd:eocd+4]) != "PK\x05\x06" {
		t.Fatal("no end of central directory record")
	}
	start, size := int(le.Uint32(b[eocd+16:])), int(le.Uint32(b[eocd+12:]))
	for pos := start; pos < start+size; {
		n, m, k := int(le.Uint16(b[pos+28:])), int(le.Uint16(b[pos+30:])), int(le.Uint16(b[pos+32:]))
		end := pos + 46 + n + m + k
		if string(b[pos+46:pos+46+n]) == name {
			out := slices.Concat(b[:pos], b[end:])
			e := len(out) - 22
			le.PutUint16(out[e+8:], le.Uint16(out[e+8:])-1)
			le.PutUint16(out[e+10:], le.Uint16(out[e+10:])-1)
			le.PutUint32(out[e+12:], uint32(size-(end-pos)))
			return out
		}
		pos = end
	}
	t.Fatalf("%s not in the central directory", name)
	return nil
}
