package ofdfile_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"testing"

	format "elicense/certs/archive"
	"elicense/certs/catalog"
	"elicense/certs/ofd"
	"elicense/issuer/ofdfile"
	verifyofd "elicense/verifier/ofd"
)

// The page's inner border (issuer/ofdfile/layout.go draws it 12 mm in
// from each edge of A4) and the value column's left edge.
const (
	innerMin, innerMaxX, innerMaxY = 12.0, 198.0, 285.0
	valueColumnX                   = 72.0
)

// TestLayoutAtMaxLen fills every field of every class to its max_len and
// checks that every text object, the QR and the seal lie inside the
// page's border without overlapping one another, that every line of every
// printed value is shown once and in order, and that the file verifies.
// "wide" fills each field with full-width characters (the most lines a
// line-wrapped value can take); "lines" makes each multi-line field one
// character a line (the most lines it can hold).
func TestLayoutAtMaxLen(t *testing.T) {
	f := load(t)
	smp := samples(t)
	for _, cl := range catalog.Default().Classes() {
		for _, variant := range []string{"wide", "lines"} {
			t.Run(cl.Key+"/"+variant, func(t *testing.T) {
				fields := map[string]string{}
				for k, v := range smp[cl.Key] {
					fields[k] = v
				}
				for _, fd := range cl.Fields {
					if fd.MaxLen == 0 {
						continue
					}
					v := strings.Repeat("国", fd.MaxLen)
					if variant == "lines" && fd.Type == catalog.TypeLongText {
						v = strings.Repeat("国\n", fd.MaxLen/2) + "国"
						v = string([]rune(v)[:fd.MaxLen])
					}
					fields[fd.Key] = v
				}
				l := licence(t, f, cl, fields)
				data, err := ofdfile.Build(l, f.sealer, ofdfile.Options{At: f.at})
				if err != nil {
					t.Fatal(err)
				}
				p, err := ofd.Open(data, nil)
				if err != nil {
					t.Fatal(err)
				}
				pages := readPages(t, p)
				checkInside(t, p, pages)
				checkValuesShown(t, l, pages)
				checkFace(t, l, pages)
				if r := verify(t, f, data); r.Verdict != verifyofd.Valid {
					t.Fatalf("verdict %s: %s", r.Verdict, r.Detail)
				}
			})
		}
	}
}

// TestLayoutSplitsLongRow checks how a row taller than a page is split:
// the label on its first part, "（续）" after it on each further part,
// page numbers on every page, the seal on the last.
func TestLayoutSplitsLongRow(t *testing.T) {
	f := load(t)
	cl, _ := catalog.Default().Lookup("business-license")
	fields := map[string]string{}
	for k, v := range samples(t)[cl.Key] {
		fields[k] = v
	}
	fields["business_scope"] = strings.Repeat("国", 4000)
	l := licence(t, f, cl, fields)
	data, err := ofdfile.Build(l, f.sealer, ofdfile.Options{At: f.at})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ofd.Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	pages := readPages(t, p)
	checkInside(t, p, pages)
	checkFace(t, l, pages)
	if len(pages) < 3 {
		t.Fatalf("%d pages, want 3 or more", len(pages))
	}
	t.Logf("%d pages", len(pages))
	labels := make([]int, len(pages)) // per page: 0 none, 1 the label, 2 its continuation
	for i, pg := range pages {
		for _, o := range pg.texts {
			switch o.text {
			case "经营范围":
				labels[i] = 1
			case "经营范围（续）":
				labels[i] = 2
			}
		}
		want := fmt.Sprintf("第 %d 页 共 %d 页", i+1, len(pages))
		if !pg.has(want) {
			t.Errorf("page %d: no %q", i+1, want)
		}
	}
	if labels[0] != 1 {
		t.Errorf("the label is not on the first page: %v", labels)
	}
	for i := 1; i < len(pages)-1; i++ {
		if labels[i] != 2 {
			t.Errorf("page %d has no continued label: %v", i+1, labels)
		}
	}
}

// A laid-out page as read back: its text objects, its images and filled
// paths (the QR), and the QR's path.
type readPage struct {
	id     string
	texts  []placed
	images []placed
	qr     []qrObject
}

type placed struct {
	x, y, w, h float64
	text       string
}

func (pg *readPage) has(s string) bool {
	for _, o := range pg.texts {
		if o.text == s {
			return true
		}
	}
	return false
}

func readPages(t *testing.T, p *ofd.Package) []*readPage {
	t.Helper()
	doc, err := p.Document(p.Root.Bodies[0].DocRoot)
	if err != nil {
		t.Fatal(err)
	}
	var out []*readPage
	for _, ref := range doc.Pages {
		b, err := p.File(ref.Loc)
		if err != nil {
			t.Fatal(err)
		}
		pg := &readPage{id: ref.ID}
		d := xml.NewDecoder(bytes.NewReader(b))
		for {
			tok, err := d.Token()
			if err != nil {
				break
			}
			se, ok := tok.(xml.StartElement)
			if !ok {
				continue
			}
			switch se.Name.Local {
			case "TextObject":
				var to struct {
					Boundary string `xml:"Boundary,attr"`
					Code     string `xml:"TextCode"`
				}
				if err := d.DecodeElement(&to, &se); err != nil {
					t.Fatal(err)
				}
				pg.texts = append(pg.texts, parseBox(t, to.Boundary, to.Code))
			case "PathObject":
				if q, ok := readQR(t, d, &se); ok {
					pg.qr = append(pg.qr, q)
					pg.images = append(pg.images, q.boundary)
				}
			case "ImageObject":
				for _, a := range se.Attr {
					if a.Name.Local == "Boundary" {
						pg.images = append(pg.images, parseBox(t, a.Value, ""))
					}
				}
			}
		}
		out = append(out, pg)
	}
	return out
}

func parseBox(t *testing.T, s, text string) placed {
	t.Helper()
	var v [4]float64
	parts := strings.Fields(s)
	if len(parts) != 4 {
		t.Fatalf("boundary %q", s)
	}
	for i, f := range parts {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil {
			t.Fatalf("boundary %q: %v", s, err)
		}
		v[i] = x
	}
	return placed{v[0], v[1], v[2], v[3], text}
}

// checkInside checks that every text object and image of every page, and
// the seal's StampAnnot, lies inside the inner border, and that none
// overlaps another on its page (a reader draws the seal picture over
// whatever is under it).
func checkInside(t *testing.T, p *ofd.Package, pages []*readPage) {
	t.Helper()
	sig, err := p.Signature("Doc_0/Signs/Sign_0/Signature.xml")
	if err != nil {
		t.Fatal(err)
	}
	if len(sig.StampAnnots) != 1 || sig.StampAnnots[0].PageRef != pages[len(pages)-1].id {
		t.Fatalf("stamp %+v, want one on the last page (%s)", sig.StampAnnots, pages[len(pages)-1].id)
	}
	seal := parseBox(t, sig.StampAnnots[0].Boundary, "(seal)")
	bad := 0
	for i, pg := range pages {
		objs := append(append([]placed(nil), pg.texts...), pg.images...)
		if i == len(pages)-1 {
			objs = append(objs, seal)
		}
		for j, o := range objs {
			if o.x < innerMin || o.y < innerMin || o.x+o.w > innerMaxX || o.y+o.h > innerMaxY {
				if bad++; bad <= 5 {
					t.Errorf("page %d: %q at %v %v %v %v is outside the border", i+1, o.text, o.x, o.y, o.w, o.h)
				}
			}
			for _, q := range objs[j+1:] {
				if o.x < q.x+q.w && q.x < o.x+o.w && o.y < q.y+q.h && q.y < o.y+o.h {
					if bad++; bad <= 5 {
						t.Errorf("page %d: %q and %q overlap", i+1, o.text, q.text)
					}
				}
			}
		}
	}
	if bad > 5 {
		t.Errorf("%d faults in all", bad)
	}
}

// checkValuesShown checks that the value column, read page after page,
// is every printed value's lines in catalogue order: nothing lost,
// nothing repeated.
func checkValuesShown(t *testing.T, l *ofdfile.Licence, pages []*readPage) {
	t.Helper()
	var want, got strings.Builder
	for _, fd := range l.Class.Fields {
		if v := l.Fields[fd.Key]; v != "" && fd.Printed {
			for _, para := range strings.Split(v, "\n") {
				want.WriteString(strings.TrimSpace(para))
			}
		}
	}
	for _, pg := range pages {
		for _, o := range pg.texts {
			if o.x == valueColumnX {
				got.WriteString(o.text)
			}
		}
	}
	if got.String() != want.String() {
		t.Errorf("the value column shows %d characters, want %d", len([]rune(got.String())), len([]rune(want.String())))
	}
}

// checkFace checks that the pages' text is the licence's face as the
// archive verifier reads it (format.Face.Diff), and that a character
// changed in any text object but a page number is a difference.
func checkFace(t *testing.T, l *ofdfile.Licence, pages []*readPage) {
	t.Helper()
	face := format.LicenceFace(l.Class, l.Fields, l.IssuerName, l.IssuedOn, l.ID)
	texts := make([][]string, len(pages))
	for i, pg := range pages {
		for _, o := range pg.texts {
			texts[i] = append(texts[i], o.text)
		}
	}
	if d, ok := face.Diff(texts); !ok {
		t.Fatalf("the pages are not the face: %+v", d)
	}
	for i := range texts {
		for j, s := range texts[i] {
			if s == format.FacePageNumber(i+1, len(texts)) {
				continue
			}
			texts[i][j] = "乙" + s
			if d, ok := face.Diff(texts); ok {
				t.Errorf("page %d: %q changed to %q is not a difference", i+1, s, texts[i][j])
			} else if d.Item == "" && j != len(texts[i])-1 {
				t.Errorf("page %d: %q changed names no item: %+v", i+1, s, d)
			}
			texts[i][j] = s
		}
	}
}
