package ofdfile_test

import (
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxingqr "github.com/makiuchi-d/gozxing/qrcode"
	qrcode "github.com/skip2/go-qrcode"

	"elicense/certs/catalog"
	"elicense/certs/ofd"
	"elicense/issuer/ofdfile"
)

// TestQRPath reads the QR back from the page as a reader would draw it:
// the path object is parsed, its rectangles painted at 4 px a module and
// the image decoded (gozxing, the decoder verifier/scan uses) to the
// static token. The painted modules must be the QR library's, quiet zone
// included, in the square the PNG used to fill.
func TestQRPath(t *testing.T) {
	f := load(t)
	cl, _ := catalog.Default().Lookup("business-license")
	l := licence(t, f, cl, samples(t)[cl.Key])
	data, err := ofdfile.Build(l, f.sealer, ofdfile.Options{At: f.at})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ofd.Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range p.Names() {
		if strings.HasPrefix(name, "Doc_0/Res/") || name == "Doc_0/DocumentRes.xml" {
			t.Errorf("the package still has %s", name)
		}
	}
	pages := readPages(t, p)
	last := pages[len(pages)-1]
	if len(last.qr) != 1 {
		t.Fatalf("%d filled paths on the last page, want 1 (the QR)", len(last.qr))
	}
	q := last.qr[0]
	if q.boundary != (placed{x: 22, y: 222, w: 40, h: 40, text: "(QR)"}) {
		t.Errorf("QR boundary %+v, want 22 222 40 40", q.boundary)
	}
	code, err := qrcode.New(l.QR, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	want := code.Bitmap()
	n := len(want)
	if got := q.scale * float64(n); math.Abs(got-40) > 1e-3 {
		t.Errorf("the CTM scales %d modules to %v mm, want 40", n, got)
	}
	m, err := paint(q.data, n)
	if err != nil {
		t.Fatal(err)
	}
	for y := range n {
		for x := range n {
			if m[y][x] != want[y][x] {
				t.Fatalf("module (%d, %d) is %v, the QR library's %v", x, y, m[y][x], want[y][x])
			}
		}
	}
	text, err := decode(raster(m, 4))
	if err != nil {
		t.Fatal(err)
	}
	if text != l.QR {
		t.Errorf("the QR reads %q, want %q", text, l.QR)
	}
}

// TestModulePath checks the path of matrices whose runs merge (or not)
// in every way: it must paint exactly the dark modules.
func TestModulePath(t *testing.T) {
	tests := []struct {
		name  string
		rows  []string
		rects int // how many rectangles the path draws
	}{
		{"empty", nil, 0},
		{"all light", []string{"..", ".."}, 0},
		{"all dark", []string{"###", "###", "###"}, 1},
		{"one module", []string{"...", ".#.", "..."}, 1},
		{"checkerboard", []string{"#.#", ".#.", "#.#"}, 5},
		{"column", []string{".#.", ".#.", ".#."}, 1},
		{"runs that differ", []string{"##.", "###", ".##"}, 3},
		{"a run ends, the same columns start again", []string{"#", ".", "#"}, 2},
		{"row ends dark", []string{"..##", "..##"}, 1},
		{"ragged rows", []string{"#", "##", "#"}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := make([][]bool, len(tc.rows))
			width := 0
			for y, r := range tc.rows {
				for _, c := range r {
					m[y] = append(m[y], c == '#')
				}
				width = max(width, len(r))
			}
			d := ofdfile.ModulePath(m)
			if got := strings.Count(d, "M "); got != tc.rects {
				t.Errorf("%d rectangles, want %d: %s", got, tc.rects, d)
			}
			got, err := paint(d, max(width, len(m)))
			if err != nil {
				t.Fatal(err)
			}
			for y, row := range got {
				for x, dark := range row {
					want := y < len(m) && x < len(m[y]) && m[y][x]
					if dark != want {
						t.Errorf("module (%d, %d) is %v, want %v; path %s", x, y, dark, want, d)
					}
				}
			}
		})
	}
}

// qrObject is a filled path object as read back from a page.
type qrObject struct {
	boundary placed
	scale    float64 // the CTM's, which must be uniform
	data     string
}

func readQR(t *testing.T, d *xml.Decoder, se *xml.StartElement) (qrObject, bool) {
	t.Helper()
	var po struct {
		Boundary string `xml:"Boundary,attr"`
		CTM      string `xml:"CTM,attr"`
		Fill     string `xml:"Fill,attr"`
		Data     string `xml:"AbbreviatedData"`
	}
	if err := d.DecodeElement(&po, se); err != nil {
		t.Fatal(err)
	}
	if po.Fill != "true" {
		return qrObject{}, false
	}
	q := qrObject{boundary: parseBox(t, po.Boundary, "(QR)"), scale: 1, data: po.Data}
	if po.CTM != "" {
		var a, b, c, dd, e, f float64
		if _, err := fmt.Sscan(po.CTM, &a, &b, &c, &dd, &e, &f); err != nil || a != dd || b != 0 || c != 0 || e != 0 || f != 0 {
			t.Fatalf("CTM %q is not a uniform scale (%v)", po.CTM, err)
		}
		q.scale = a
	}
	return q, true
}

// paint fills the rectangles of OFD path data d (closed subpaths of
// M and L, each an axis-aligned rectangle on whole units) into an n×n
// matrix, refusing anything else or a module painted twice.
func paint(d string, n int) ([][]bool, error) {
	m := make([][]bool, n)
	for i := range m {
		m[i] = make([]bool, n)
	}
	var pts [][2]float64
	tok := strings.Fields(d)
	for i := 0; i < len(tok); {
		switch tok[i] {
		case "M", "L":
			if i+2 >= len(tok) || tok[i] == "M" && len(pts) > 0 || tok[i] == "L" && len(pts) == 0 {
				return nil, fmt.Errorf("path: misplaced %s at token %d", tok[i], i)
			}
			x, err1 := strconv.ParseFloat(tok[i+1], 64)
			y, err2 := strconv.ParseFloat(tok[i+2], 64)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("path: bad point at token %d", i)
			}
			pts = append(pts, [2]float64{x, y})
			i += 3
		case "C":
			if err := fillRect(m, pts); err != nil {
				return nil, err
			}
			pts = pts[:0]
			i++
		default:
			return nil, fmt.Errorf("path: unexpected %q", tok[i])
		}
	}
	if len(pts) > 0 {
		return nil, fmt.Errorf("path: an unclosed subpath")
	}
	return m, nil
}

func fillRect(m [][]bool, pts [][2]float64) error {
	if len(pts) != 4 {
		return fmt.Errorf("path: a subpath of %d points, want a rectangle", len(pts))
	}
	x0, y0, x1, y1 := pts[0][0], pts[0][1], pts[0][0], pts[0][1]
	for i, p := range pts {
		q := pts[(i+1)%4]
		if p[0] != q[0] && p[1] != q[1] {
			return fmt.Errorf("path: edge %v → %v is not axis-aligned", p, q)
		}
		x0, y0, x1, y1 = min(x0, p[0]), min(y0, p[1]), max(x1, p[0]), max(y1, p[1])
	}
	if x0 != math.Trunc(x0) || y0 != math.Trunc(y0) || x1 != math.Trunc(x1) || y1 != math.Trunc(y1) || x0 < 0 || y0 < 0 || int(x1) > len(m) || int(y1) > len(m) {
		return fmt.Errorf("path: rectangle %v %v %v %v is off the grid", x0, y0, x1, y1)
	}
	for y := int(y0); y < int(y1); y++ {
		for x := int(x0); x < int(x1); x++ {
			if m[y][x] {
				return fmt.Errorf("path: module (%d, %d) painted twice", x, y)
			}
			m[y][x] = true
		}
	}
	return nil
}

// raster paints m at px pixels a module, dark on white.
func raster(m [][]bool, px int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, len(m)*px, len(m)*px))
	for y := range img.Rect.Dy() {
		for x := range img.Rect.Dx() {
			c := color.Gray{Y: 255}
			if m[y/px][x/px] {
				c.Y = 0
			}
			img.SetGray(x, y, c)
		}
	}
	return img
}

func decode(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := zxingqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}
