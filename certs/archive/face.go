package archive

import (
	"fmt"
	"strings"

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
	// catalogue order: the catalogue label as Name, the value as held
	// (line breaks and all) as Value. They fill the page in two columns.
	Fields []Item
	// Footer are the lines beside the QR on the last page, each shown as
	// Name + FaceSep + Value: 颁发机构, 颁证日期 (as the paper writes a
	// date, 2026年1月5日) and 证照标识.
	Footer []Item
}

// LicenceFace is the face of a licence of class cl with these field
// values, issued by issuerName on issuedOn (YYYY-MM-DD) as id.
func LicenceFace(cl *catalog.Class, fields map[string]string, issuerName, issuedOn, id string) Face {
	f := Face{Title: cl.NameZH}
	for _, fd := range cl.Fields {
		if v := fields[fd.Key]; v != "" && fd.Printed {
			f.Fields = append(f.Fields, Item{fd.Label, v})
		}
	}
	f.Footer = []Item{{ItemIssuer, issuerName}, {ItemIssuedOn, ChineseDate(issuedOn)}, {ItemID, id}}
	return f
}

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
