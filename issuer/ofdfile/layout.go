package ofdfile

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	format "elicense/certs/archive"
	"elicense/certs/ses"
)

// The page, in millimetres (OFD's unit): A4 portrait, a double border,
// the title, the fields in two columns, and on the last page a footer with
// the QR, the agency, the issue date, the identifier and the seal.
const (
	pageW, pageH = 210.0, 297.0

	titleY, titleSize = 20.0, 9.0
	bodyTop           = 40.0
	bodyBottom        = 276.0 // pages without the footer
	footerTop         = 212.0 // the last page's fields end above it

	labelX, labelW = 22.0, 46.0
	valueX, valueW = 72.0, 116.0
	fieldSize      = 3.5
	lineGap        = 1.9 // between lines of one field
	rowGap         = 2.2 // between fields

	qrX, qrY, qrSize = 22.0, 222.0, 40.0
	metaX, metaW     = 70.0, 118.0
	idSize           = 2.6
	sealRight        = 186.0
	sealTop          = 214.0
	sealGap          = 2.0 // between the footer's text and the seal
)

// box is an OFD ST_Box: x y w h.
type box struct{ x, y, w, h float64 }

func (b box) String() string { return num(b.x) + " " + num(b.y) + " " + num(b.w) + " " + num(b.h) }

// num writes a length with at most two decimals and no trailing zeros.
func num(v float64) string { return strconv.FormatFloat(float64(int64(v*100+0.5))/100, 'f', -1, 64) }

type fontIDs struct{ text, title int }

// page is one page being laid out.
type page struct {
	id      int
	layerID int
	objs    []string
	seal    box // where the StampAnnot goes (last page only)
	ids     *idAlloc
}

// text adds one line of text at (x, baseline y) in font f of size size,
// every glyph given its advance: full width for CJK, half for the rest.
func (p *page) text(x, baseline float64, f int, size float64, s string, spacing float64) {
	if s == "" {
		return
	}
	// DeltaX gives the advance from each glyph to the next.
	rs := []rune(s)
	deltas := make([]string, 0, len(rs))
	w := 0.0
	for i, r := range rs {
		adv := advance(r, size) + spacing
		if i < len(rs)-1 {
			deltas = append(deltas, num(adv))
		}
		w += adv
	}
	h := size * 1.3
	b := box{x, baseline - size, w, h}
	obj := fmt.Sprintf(`<ofd:TextObject ID="%d" Boundary="%s" Font="%d" Size="%s"><ofd:TextCode X="0" Y="%s"`,
		p.ids.next(), b, f, num(size), num(size))
	if len(deltas) > 0 {
		obj += ` DeltaX="` + strings.Join(deltas, " ") + `"`
	}
	obj += ">" + text(s) + "</ofd:TextCode></ofd:TextObject>"
	p.objs = append(p.objs, obj)
}

func advance(r rune, size float64) float64 {
	if r >= 0x1100 {
		return size
	}
	return size / 2
}

func width(s string, size float64) float64 {
	w := 0.0
	for _, r := range s {
		w += advance(r, size)
	}
	return w
}

// wrap breaks s into lines no wider than w at size: at newlines
// (format.FaceLines), and between any two glyphs (Chinese text has no
// spaces to break at; an identifier or a number is broken where it must
// be). Joined, the lines are format.FaceText(s), which is what the
// archive verifier reads the page against.
func wrap(s string, w, size float64) []string {
	var out []string
	for _, para := range format.FaceLines(s) {
		line, lw := strings.Builder{}, 0.0
		for _, r := range para {
			a := advance(r, size)
			if lw+a > w && line.Len() > 0 {
				out = append(out, line.String())
				line.Reset()
				lw = 0
			}
			line.WriteRune(r)
			lw += a
		}
		out = append(out, line.String())
	}
	return out
}

func (p *page) border() {
	for _, m := range []float64{10, 12} {
		d := fmt.Sprintf("M %s %s L %s %s L %s %s L %s %s C", num(m), num(m), num(pageW-m), num(m), num(pageW-m), num(pageH-m), num(m), num(pageH-m))
		lw := "0.35"
		if m == 10 {
			lw = "0.8"
		}
		p.objs = append(p.objs, fmt.Sprintf(`<ofd:PathObject ID="%d" Boundary="0 0 %s %s" LineWidth="%s"><ofd:StrokeColor Value="184 134 11"/><ofd:AbbreviatedData>%s</ofd:AbbreviatedData></ofd:PathObject>`,
			p.ids.next(), num(pageW), num(pageH), lw, d))
	}
}

func (p *page) content() []byte {
	x := newXML("Page", "")
	x.open("Content", "")
	x.raw(fmt.Sprintf(`<ofd:Layer ID="%d">`, p.layerID))
	for _, o := range p.objs {
		x.raw(o)
	}
	x.raw("</ofd:Layer>")
	x.close("Content")
	return x.done()
}

// row is one field as laid out: its label and value lines, and the
// label as written, for the parts of a row split across pages.
type row struct {
	name         string
	label, value []string
}

func (r row) lines() int { return max(len(r.label), len(r.value)) }

func (r row) height() float64 { return linesHeight(r.lines()) }

func linesHeight(n int) float64 { return float64(n)*fieldSize + float64(n-1)*lineGap }

// linesIn is how many lines of a field fit in a height h.
func linesIn(h float64) int {
	// The small margin keeps a rounding error from costing a line.
	return max(0, int((h+lineGap+1e-9)/(fieldSize+lineGap)))
}

// split cuts r after its first n lines; the rest (nil when r fits
// whole) goes on under the label marked （续）, continued. A first part
// that would not hold the whole label is refused (ok false) unless whole
// is set, on a fresh page: a label is neither cut nor left without the
// first line of its value while the next page could take them.
func (r row) split(n int, whole bool) (part row, rest *row, ok bool) {
	if n < 1 || n < len(r.label) && !whole {
		return row{}, nil, false
	}
	if n >= r.lines() {
		return r, nil, true
	}
	part = row{name: r.name, label: r.label[:min(n, len(r.label))], value: r.value[:min(n, len(r.value))]}
	if n >= len(r.value) { // a label taller than a page: only its end is lost
		return part, nil, true
	}
	return part, &row{name: r.name, label: wrap(r.name+format.FaceContinued, labelW, fieldSize), value: r.value[n:]}, true
}

// layout lays l's face (format.LicenceFace: what it shows, which the
// archive verifier checks the pages against) out on as many pages as its
// fields need; the footer (QR, agency, date, identifier, seal) goes on
// the last.
func layout(l *Licence, seal *ses.Seal, f fontIDs, qr [][]bool, ids *idAlloc) []*page {
	face := format.LicenceFace(l.Class, l.Fields, l.IssuerName, l.IssuedOn, l.ID)
	var rows []row
	for _, fd := range face.Fields {
		rows = append(rows, row{name: fd.Label, label: wrap(fd.Label, labelW, fieldSize), value: wrap(fd.Value, valueW, fieldSize)})
	}
	newPage := func() *page {
		p := &page{id: ids.next(), layerID: ids.next(), ids: ids}
		p.border()
		t := face.Title
		spacing := titleSize * 0.4
		if utf8.RuneCountInString(t) > 8 {
			spacing = titleSize * 0.1
		}
		w := width(t, titleSize) + spacing*float64(utf8.RuneCountInString(t)-1)
		p.text((pageW-w)/2, titleY+titleSize, f.title, titleSize, t, spacing)
		return p
	}
	pages := []*page{newPage()}
	y := bodyTop
	for _, r := range rows {
		// A row that fits on a page is kept whole, on the next page if
		// not on this one; a taller one starts here and is split line by
		// line across as many pages as it needs.
		if y+r.height() > bodyBottom && y > bodyTop && r.height() <= bodyBottom-bodyTop {
			pages = append(pages, newPage())
			y = bodyTop
		}
		for next := &r; next != nil; {
			part, rest, ok := next.split(linesIn(bodyBottom-y), y == bodyTop)
			if ok {
				drawRow(pages[len(pages)-1], part, y, f)
				y += part.height() + rowGap
				next = rest
			}
			if next != nil {
				pages = append(pages, newPage())
				y = bodyTop
			}
		}
	}
	if y > footerTop {
		pages = append(pages, newPage())
	}
	last := pages[len(pages)-1]
	footer(last, face.Footer, seal, f, qr)
	if n := len(pages); n > 1 {
		for i, p := range pages {
			s := format.FacePageNumber(i+1, n)
			p.text(sealRight-width(s, idSize), bodyBottom+6, f.text, idSize, s, 0)
		}
	}
	return pages
}

// drawRow draws r's label and value lines from y down.
func drawRow(p *page, r row, y float64, f fontIDs) {
	for i, s := range r.label {
		p.text(labelX, y+fieldSize+float64(i)*(fieldSize+lineGap), f.text, fieldSize, s, 0)
	}
	for i, s := range r.value {
		p.text(valueX, y+fieldSize+float64(i)*(fieldSize+lineGap), f.text, fieldSize, s, 0)
	}
}

// footer draws the QR and the footer's lines (format.Face) on the last
// page p, and places the seal.
func footer(p *page, lines []format.Item, seal *ses.Seal, f fontIDs, qr [][]bool) {
	if len(qr) > 0 {
		// The path is in modules; the CTM scales the symbol, quiet zone
		// included, to the QR's square. The scale keeps six decimals
		// (num's two would shrink a 57-module symbol by 0.1 mm).
		s := strconv.FormatFloat(qrSize/float64(len(qr)), 'f', 6, 64)
		p.objs = append(p.objs, fmt.Sprintf(`<ofd:PathObject ID="%d" Boundary="%s" CTM="%s 0 0 %s 0 0" Stroke="false" Fill="true"><ofd:FillColor Value="0 0 0"/><ofd:AbbreviatedData>%s</ofd:AbbreviatedData></ofd:PathObject>`,
			p.ids.next(), box{qrX, qrY, qrSize, qrSize}, s, s, modulePath(qr)))
	}
	w, h := float64(seal.Info.Picture.Width), float64(seal.Info.Picture.Height)
	if w <= 0 || h <= 0 || w > 60 || h > 60 {
		w, h = 40, 40
	}
	p.seal = box{sealRight - w, sealTop, w, h}
	// The text stops short of the seal: a reader draws the seal picture
	// over whatever lies under it, and the identifier must stay legible.
	textW := min(metaW, p.seal.x-sealGap-metaX)
	y := qrY + 6
	for _, it := range lines {
		// The identifier is small; the date stands apart from it.
		size, gap, after := fieldSize, 4.0, 0.0
		switch it.Name {
		case format.ItemIssuedOn:
			after = 4
		case format.ItemID:
			size, gap = idSize, 1.4
		}
		for _, s := range wrap(it.Name+format.FaceSep+it.Value, textW, size) {
			p.text(metaX, y, f.text, size, s, 0)
			y += size + gap
		}
		y += after
	}
}

func sortedNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
