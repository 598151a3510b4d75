package archive

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"elicense/certs/catalog"
)

// How the licence face writes what it shows: a footer line is its name,
// FaceSep, its value; a field split across pages goes on under its label
// followed by FaceContinued.
const (
	FaceSep       = "："
	FaceContinued = "（续）"
)

// Face is what the face of a licence shows (the pages of its GB/T 36905
// file, as the paper): issuer/ofdfile lays it out, and verifier/archive
// checks a file's pages against the Face of the credential it is
// archived with. Both derive it here, so that what the verifier expects
// is what the layout drew, not a second opinion of it.
type Face struct {
	// Title heads every page: the class name.
	Title string
	// Fields are the class's printed fields that have a value, in
	// catalogue order. They fill the page in two columns.
	Fields []FaceField
	// Footer are the lines beside the QR on the last page, each shown as
	// Name + FaceSep + Value: 颁发机构, 颁证日期 (as the paper writes a
	// date, 2026年1月5日) and 证照标识.
	Footer []Item
}

// FaceField is a field as the face shows it: its catalogue label, and
// its value as held (line breaks and all).
type FaceField struct {
	Key, Label, Value string
}

// LicenceFace is the face of a licence of class cl with these field
// values, issued by issuerName on issuedOn (YYYY-MM-DD) as id.
func LicenceFace(cl *catalog.Class, fields map[string]string, issuerName, issuedOn, id string) Face {
	f := Face{Title: cl.NameZH}
	for _, fd := range cl.Fields {
		if v := fields[fd.Key]; v != "" && fd.Printed {
			f.Fields = append(f.Fields, FaceField{fd.Key, fd.Label, v})
		}
	}
	f.Footer = []Item{{ItemIssuer, issuerName}, {ItemIssuedOn, ChineseDate(issuedOn)}, {ItemID, id}}
	return f
}

// FacePageNumber is what page i of n says of its place, when n > 1.
func FacePageNumber(i, n int) string { return fmt.Sprintf("第 %d 页 共 %d 页", i, n) }

// FaceLines splits s into the lines the face starts for it: at each line
// break (\n, \r\n or \r), each line trimmed of the white space around it.
// The layout may break a line further, anywhere; joined, the pieces are
// the line again.
func FaceLines(s string) []string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return lines
}

// FaceText is s as the face shows it, read with its line breaks taken
// out: FaceLines joined.
func FaceText(s string) string { return strings.Join(FaceLines(s), "") }

// ChineseDate writes a YYYY-MM-DD date as the paper does, 2026年1月5日;
// anything else is returned as it is.
func ChineseDate(d string) string {
	var y, m, dd int
	if _, err := fmt.Sscanf(d, "%4d-%2d-%2d", &y, &m, &dd); err != nil {
		return d
	}
	return fmt.Sprintf("%d年%d月%d日", y, m, dd)
}

// FaceDiff is where the text of a licence file's pages first departs
// from a Face.
type FaceDiff struct {
	// Item names what the pages do not show as the face has it: a
	// field's label (Key its catalogue key), ItemName for the title,
	// ItemIssuer, ItemIssuedOn or ItemID for the footer's lines; "" for
	// text after the last item.
	Item, Key string
	// Want is the text the face has there (FaceText of a label, a value
	// or a footer line); Found what the pages show there instead, as
	// many characters (or the text after the last item).
	Want, Found string
}

// Diff compares the text of a licence file's pages with f: pages holds,
// page by page, the text of each text object in drawing order. Read as
// the layout draws it, every page starts with the title, may end with
// its page number (FacePageNumber), and between them shows f's items in
// order: each field's label then its value, then the footer's lines,
// with line breaks taken out (FaceText) and, where a value goes on to the
// next page, the label again with FaceContinued. Nothing else may be
// shown. It returns the first difference; ok is true when there is none.
func (f Face) Diff(pages [][]string) (d FaceDiff, ok bool) {
	if len(pages) == 0 {
		return FaceDiff{Item: ItemName, Want: f.Title}, false
	}
	body := make([]string, len(pages))
	for i, objs := range pages {
		if len(objs) == 0 || objs[0] != f.Title {
			found := ""
			if len(objs) > 0 {
				found = objs[0]
			}
			return FaceDiff{Item: ItemName, Want: f.Title, Found: found}, false
		}
		objs = objs[1:]
		if n := len(objs); len(pages) > 1 && n > 0 && objs[n-1] == FacePageNumber(i+1, len(pages)) {
			objs = objs[:n-1]
		}
		body[i] = strings.Join(objs, "")
	}
	r := faceReader{body: body}
	for _, fd := range f.Fields {
		// A field is split only between lines of its value, so its label
		// is never cut; the label's continuation is skipped, not
		// required: the value's last lines may be empty.
		if !r.take(fd.Label) {
			return r.diff(fd.Label, fd.Key, fd.Label), false
		}
		r.cont = fd.Label + FaceContinued
		if v := FaceText(fd.Value); !r.take(v) {
			return r.diff(fd.Label, fd.Key, v), false
		}
	}
	for _, it := range f.Footer {
		if v := FaceText(it.Name + FaceSep + it.Value); !r.take(v) {
			return r.diff(it.Name, "", v), false
		}
	}
	if rest := r.rest(); rest != "" {
		return FaceDiff{Found: rest}, false
	}
	return FaceDiff{}, true
}

// faceReader reads the pages' text, item by item.
type faceReader struct {
	body   []string
	p, o   int    // the page, and the byte offset in it
	cont   string // the label continued, which a further page may start with
	p0, o0 int    // where the item being read started
}

// take reads s, going on to the next page (after the continued label,
// when it starts with it) at the end of one.
func (r *faceReader) take(s string) bool {
	r.p0, r.o0 = r.p, r.o
	for s != "" {
		if !r.turn() {
			return false
		}
		rest := r.body[r.p][r.o:]
		k := min(len(s), len(rest))
		if s[:k] != rest[:k] {
			return false
		}
		s, r.o = s[k:], r.o+k
	}
	return true
}

// turn goes on to the next page with text when the current one is read
// to its end; false when there is none.
func (r *faceReader) turn() bool {
	for r.o == len(r.body[r.p]) {
		if r.p+1 == len(r.body) {
			return false
		}
		r.p, r.o = r.p+1, 0
		if r.cont != "" && strings.HasPrefix(r.body[r.p], r.cont) {
			r.o = len(r.cont)
		}
	}
	return true
}

// rest is the text after the last item ("" when there is none).
func (r *faceReader) rest() string {
	if !r.turn() {
		return ""
	}
	return r.body[r.p][r.o:]
}

// diff describes the item that was not read: what the pages show from
// where it started, read as take reads them, as many characters as want.
func (r *faceReader) diff(item, key, want string) FaceDiff {
	var found []rune
	n := utf8.RuneCountInString(want)
	r.p, r.o = r.p0, r.o0
	for len(found) < n && r.turn() {
		c, size := utf8.DecodeRuneInString(r.body[r.p][r.o:])
		found = append(found, c)
		r.o += size
	}
	return FaceDiff{Item: item, Key: key, Want: want, Found: string(found)}
}
