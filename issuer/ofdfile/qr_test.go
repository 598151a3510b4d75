package ofdfile_test

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
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

// TestModulePath checks the outlines of matrices whose modules join in
// every way (sides, corners, holes): filled, they must be exactly the
// dark modules.
func TestModulePath(t *testing.T) {
	tests := []struct {
		name     string
		rows     []string
		outlines int // closed subpaths
	}{
		{"empty", nil, 0},
		{"all light", []string{"..", ".."}, 0},
		{"all dark", []string{"###", "###", "###"}, 1},
		{"one module", []string{"...", ".#.", "..."}, 1},
		{"checkerboard", []string{"#.#", ".#.", "#.#"}, 5},
		{"column", []string{".#.", ".#.", ".#."}, 1},
		{"runs that differ", []string{"##.", "###", ".##"}, 1},
		{"a ring, its hole light", []string{"###", "#.#", "###"}, 2},
		{"corners touching", []string{"#.", ".#"}, 2},
		{"a ring of corners", []string{".#.", "#.#", ".#."}, 4},
		{"a run ends, the same columns start again", []string{"#", ".", "#"}, 2},
		{"row ends dark", []string{"..##", "..##"}, 1},
		{"ragged rows", []string{"#", "##", "#"}, 1},
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
			if got := strings.Count(d, "M "); got != tc.outlines {
				t.Errorf("%d outlines, want %d: %s", got, tc.outlines, d)
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

// TestModulePathRandom fills the outlines of random matrices, dense and
// sparse, and compares them with the matrix.
func TestModulePathRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		n := 1 + r.IntN(12)
		m := make([][]bool, n)
		for y := range m {
			m[y] = make([]bool, n)
			for x := range m[y] {
				m[y][x] = r.IntN(4) < 1+i%3
			}
		}
		d := ofdfile.ModulePath(m)
		got, err := paint(d, n)
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		for y := range n {
			for x := range n {
				if got[y][x] != m[y][x] {
					t.Fatalf("matrix %v: module (%d, %d) is %v; path %s", m, x, y, got[y][x], d)
				}
			}
		}
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

// paint fills OFD path data d (closed subpaths of M and L on whole
// units, every edge horizontal or vertical) into an n×n matrix of
// modules by the non-zero winding rule, as a reader fills it. It refuses
// anything else, and a module covered twice or by outlines of opposite
// senses (either rule would then fill it differently).
func paint(d string, n int) ([][]bool, error) {
	edges, err := verticalEdges(d, n)
	if err != nil {
		return nil, err
	}
	m := make([][]bool, n)
	sense := 0
	for y := range n {
		m[y] = make([]bool, n)
		for x := range n {
			// The winding number at the module's centre: the edges
			// crossing the ray to its right, down +1, up -1.
			w := 0
			for _, e := range edges {
				if e.x > x && min(e.y0, e.y1) <= y && y < max(e.y0, e.y1) {
					w += cmp.Compare(e.y1, e.y0)
				}
			}
			switch {
			case w == 0:
			case w*w != 1 || sense != 0 && w != sense:
				return nil, fmt.Errorf("path: module (%d, %d) has winding number %d", x, y, w)
			default:
				sense = w
				m[y][x] = true
			}
		}
	}
	return m, nil
}

// edge is a vertical edge of a path, from (x, y0) to (x, y1).
type edge struct{ x, y0, y1 int }

// verticalEdges parses d into its subpaths and returns their vertical
// edges, refusing any edge neither vertical nor horizontal and any point
// off the n×n grid.
func verticalEdges(d string, n int) ([]edge, error) {
	var edges []edge
	var pts [][2]int
	tok := strings.Fields(d)
	for i := 0; i < len(tok); {
		switch tok[i] {
		case "M", "L":
			if i+2 >= len(tok) || (tok[i] == "M") != (len(pts) == 0) {
				return nil, fmt.Errorf("path: misplaced %s at token %d", tok[i], i)
			}
			x, err1 := strconv.Atoi(tok[i+1])
			y, err2 := strconv.Atoi(tok[i+2])
			if err1 != nil || err2 != nil || x < 0 || y < 0 || x > n || y > n {
				return nil, fmt.Errorf("path: point %s %s is off the grid", tok[i+1], tok[i+2])
			}
			pts = append(pts, [2]int{x, y})
			i += 3
		case "C":
			if len(pts) < 4 {
				return nil, fmt.Errorf("path: a subpath of %d points", len(pts))
			}
			for k, p := range pts {
				q := pts[(k+1)%len(pts)]
				switch {
				case p[0] == q[0] && p[1] != q[1]:
					edges = append(edges, edge{p[0], p[1], q[1]})
				case p[1] == q[1] && p[0] != q[0]:
				default:
					return nil, fmt.Errorf("path: edge %v → %v is not horizontal or vertical", p, q)
				}
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
	return edges, nil
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
