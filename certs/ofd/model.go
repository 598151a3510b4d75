package ofd

import (
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// RootPath is the entry file of every OFD package.
const RootPath = "OFD.xml"

// Root is OFD.xml: the package's documents.
type Root struct {
	Version string
	DocType string // "OFD"
	Bodies  []DocBody
}

// DocBody is one ofd:DocBody: a document and its signature list.
type DocBody struct {
	DocID      string
	CustomData []CustomData
	DocRoot    string // package path of Document.xml
	Signatures string // package path of Signatures.xml; "" when unsigned
	// Versions are the package paths of the body's DocVersion files
	// (GB/T 33190 document versions), which this package does not read:
	// a reader may show the current one instead of DocRoot.
	Versions []string
}

// CustomData is one ofd:CustomData of DocInfo (name and value).
type CustomData struct{ Name, Value string }

// PageRef is a page or template: its ID and the package path of its
// Content.xml.
type PageRef struct {
	ID  string
	Loc string
}

// Document is Document.xml: what its pages and resources are.
type Document struct {
	Path        string
	Pages       []PageRef
	Templates   []PageRef
	PublicRes   []string // package paths
	DocumentRes []string
	Annotations string // package path, or ""
	Attachments string
	CustomTags  string
	Extensions  string
}

// Signature types of Signatures.xml.
const (
	TypeSeal = "Seal" // an electronic seal (GB/T 38540 SES_Signature)
	TypeSign = "Sign" // a plain digital signature (GM/T 0010 SignedData)
)

// SignatureEntry is one ofd:Signature of Signatures.xml.
type SignatureEntry struct {
	ID      string
	Type    string // TypeSeal (also when the attribute is absent) or TypeSign
	BaseLoc string // package path of Signature.xml
}

// Signatures is Signatures.xml.
type Signatures struct {
	Path      string
	MaxSignID string
	List      []SignatureEntry
}

// Reference is one ofd:Reference: a protected file and its digest.
type Reference struct {
	FileRef    string // package path
	CheckValue []byte
}

// StampAnnot is where a seal's picture is shown.
type StampAnnot struct {
	ID, PageRef, Boundary, Clip string
}

// Signature is a Signature.xml. Raw is the file's bytes: what
// SignedValue.dat signs.
type Signature struct {
	Path              string
	Raw               []byte
	ProviderName      string
	Company           string
	ProviderVersion   string
	SignatureMethod   string
	SignatureDateTime string
	CheckMethod       string // as written: an OID or a name; "" when absent
	References        []Reference
	StampAnnots       []StampAnnot
	Seal              string // package path of the seal file, or ""
	SignedValue       string // package path of SignedValue.dat
}

// OIDSM3 is SM3 as GB/T 33190 CheckMethod may write it.
const OIDSM3 = "1.2.156.10197.1.401"

// IsSM3 reports whether a CheckMethod names SM3 (by OID or name).
func IsSM3(method string) bool {
	m := strings.TrimSpace(method)
	return m == OIDSM3 || strings.EqualFold(m, "SM3")
}

// keepDepth is how deep parse keeps the elements of each part, by its root
// element (the root is depth 1): what is read of it, and no deeper, so
// that a page's content costs no memory.
var keepDepth = map[string]int{
	"OFD":         5, // DocBody/DocInfo/CustomDatas/CustomData, DocBody/Versions/Version
	"Document":    3, // CommonData/TemplatePage, Pages/Page
	"Page":        2, // PageRes
	"Res":         4, // Fonts/Font/FontFile, MultiMedias/MultiMedia/MediaFile
	"Annotations": 3, // Page/FileLoc
	"Signatures":  2, // Signature
	"Signature":   5, // SignedInfo/References/Reference/CheckValue
}

// parse returns the part's root element, which must be want. Each part is
// parsed once (its result, or its error, is kept): a package naming one
// file many times costs one parse. A page's parse also collects the text
// of its TextObjects, for PageTexts.
func (p *Package) parse(part, want string) (*node, error) {
	r := p.parsePart(part, want)
	return r.n, r.err
}

func (p *Package) parsePart(part, want string) parsedPart {
	key := want + "\x00" + part
	if r, ok := p.parsed[key]; ok {
		return r
	}
	r := p.parseOnce(part, want)
	if p.parsed == nil {
		p.parsed = map[string]parsedPart{}
	}
	p.parsed[key] = r
	return r
}

type parsedPart struct {
	n     *node
	texts []string // a page's: each TextObject's text
	err   error
}

func (p *Package) parseOnce(part, want string) parsedPart {
	b, err := p.File(part)
	if err != nil {
		return parsedPart{err: err}
	}
	doc, err := parseXML(part, b, p.lim, parseOpts{keep: keepDepth[want], texts: want == "Page"})
	if err != nil {
		return parsedPart{err: err}
	}
	if doc.variant {
		p.note(fmt.Sprintf("%s uses the namespace %q instead of %q", part, namespaceVariant, Namespace))
	}
	if doc.root.name != want {
		return parsedPart{err: errorf(ErrStructure, part, "root element <%s>, want <%s>", doc.root.name, want)}
	}
	return parsedPart{n: doc.root, texts: doc.texts}
}

// PageTexts returns the text of each TextObject of the page (or
// template) whose Content.xml is at the package path part, in drawing
// order: one string an object, the text of its TextCodes joined,
// entities decoded, nothing else (a TextObject inside another is part of
// it). It comes from the strict parse [Package.Shown] makes of the page,
// made once: a checker of what the page says (verifier/archive, against
// the licence face) does not read the page again.
func (p *Package) PageTexts(part string) ([]string, error) {
	r := p.parsePart(part, "Page")
	return slices.Clone(r.texts), r.err
}

func (p *Package) note(s string) {
	for _, n := range p.Notes {
		if n == s {
			return
		}
	}
	p.Notes = append(p.Notes, s)
}

func (p *Package) parseRoot() (*Root, error) {
	n, err := p.parse(RootPath, "OFD")
	if err != nil {
		return nil, err
	}
	r := &Root{Version: n.attr("Version"), DocType: n.attr("DocType")}
	if r.DocType != "OFD" {
		return nil, errorf(ErrStructure, RootPath, "DocType %q, want \"OFD\"", r.DocType)
	}
	for _, b := range n.children("DocBody") {
		var body DocBody
		if info := b.child("DocInfo"); info != nil {
			body.DocID = info.value("DocID")
			if cds := info.child("CustomDatas"); cds != nil {
				for _, cd := range cds.children("CustomData") {
					body.CustomData = append(body.CustomData, CustomData{Name: cd.attr("Name"), Value: cd.textValue()})
				}
			}
		}
		loc := b.value("DocRoot")
		if loc == "" {
			return nil, errorf(ErrStructure, RootPath, "DocBody %d has no DocRoot", len(r.Bodies))
		}
		if body.DocRoot, err = Resolve(RootPath, loc); err != nil {
			return nil, err
		}
		if s := b.value("Signatures"); s != "" {
			if body.Signatures, err = Resolve(RootPath, s); err != nil {
				return nil, err
			}
		}
		if vs := b.child("Versions"); vs != nil {
			for _, v := range vs.children("Version") {
				l, err := Resolve(RootPath, v.attr("BaseLoc"))
				if err != nil {
					return nil, err
				}
				body.Versions = append(body.Versions, l)
			}
		}
		// Two bodies sharing a document or a signature list would have it
		// checked twice over.
		for _, prev := range r.Bodies {
			if prev.DocRoot == body.DocRoot || body.Signatures != "" && prev.Signatures == body.Signatures {
				return nil, errorf(ErrStructure, RootPath, "DocBody %d names the DocRoot or Signatures of an earlier one", len(r.Bodies))
			}
		}
		r.Bodies = append(r.Bodies, body)
	}
	if len(r.Bodies) == 0 {
		return nil, errorf(ErrStructure, RootPath, "no DocBody")
	}
	return r, nil
}

// Document parses the Document.xml at the package path part.
func (p *Package) Document(part string) (*Document, error) {
	n, err := p.parse(part, "Document")
	if err != nil {
		return nil, err
	}
	d := &Document{Path: part}
	cd := n.child("CommonData")
	if cd == nil {
		return nil, errorf(ErrStructure, part, "no CommonData")
	}
	loc := func(s string) (string, error) { return Resolve(part, s) }
	// A page or template file named twice would be read, and shown, twice:
	// no producer writes it, and it multiplies the work of a small upload.
	contents := map[string]bool{}
	content := func(what, s string) (string, error) {
		l, err := loc(s)
		if err != nil {
			return "", err
		}
		if contents[l] {
			return "", errorf(ErrStructure, part, "%s %s is named twice", what, l)
		}
		contents[l] = true
		return l, nil
	}
	for _, t := range cd.children("TemplatePage") {
		l, err := content("template", t.attr("BaseLoc"))
		if err != nil {
			return nil, err
		}
		d.Templates = append(d.Templates, PageRef{ID: t.attr("ID"), Loc: l})
	}
	for _, name := range []string{"PublicRes", "DocumentRes"} {
		for _, r := range cd.children(name) {
			l, err := loc(r.textValue())
			if err != nil {
				return nil, err
			}
			if name == "PublicRes" {
				d.PublicRes = append(d.PublicRes, l)
			} else {
				d.DocumentRes = append(d.DocumentRes, l)
			}
		}
	}
	pages := n.child("Pages")
	if pages == nil || len(pages.children("Page")) == 0 {
		return nil, errorf(ErrStructure, part, "no Pages/Page")
	}
	for _, pg := range pages.children("Page") {
		l, err := content("page", pg.attr("BaseLoc"))
		if err != nil {
			return nil, err
		}
		d.Pages = append(d.Pages, PageRef{ID: pg.attr("ID"), Loc: l})
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"Annotations", &d.Annotations}, {"Attachments", &d.Attachments}, {"CustomTags", &d.CustomTags}, {"Extensions", &d.Extensions}} {
		if v := n.value(f.name); v != "" {
			if *f.dst, err = loc(v); err != nil {
				return nil, err
			}
		}
	}
	return d, nil
}

// Signatures parses the Signatures.xml at the package path part.
func (p *Package) Signatures(part string) (*Signatures, error) {
	n, err := p.parse(part, "Signatures")
	if err != nil {
		return nil, err
	}
	s := &Signatures{Path: part, MaxSignID: n.value("MaxSignId")}
	entries := n.children("Signature")
	if len(entries) > p.lim.MaxSignatures {
		return nil, errorf(ErrLimit, part, "%d signatures, at most %d", len(entries), p.lim.MaxSignatures)
	}
	ids, locs := map[string]bool{}, map[string]bool{}
	for _, e := range entries {
		ent := SignatureEntry{ID: e.attr("ID"), Type: e.attr("Type")}
		switch ent.Type {
		case "":
			ent.Type = TypeSeal
		case TypeSeal, TypeSign:
		default:
			return nil, errorf(ErrStructure, part, "signature %q has Type %q, want Seal or Sign", ent.ID, truncate(ent.Type, 20))
		}
		if ids[ent.ID] {
			return nil, errorf(ErrStructure, part, "signature ID %q appears twice", ent.ID)
		}
		ids[ent.ID] = true
		if ent.BaseLoc, err = Resolve(part, e.attr("BaseLoc")); err != nil {
			return nil, err
		}
		if locs[ent.BaseLoc] {
			return nil, errorf(ErrStructure, part, "two signatures name %s", ent.BaseLoc)
		}
		locs[ent.BaseLoc] = true
		s.List = append(s.List, ent)
	}
	return s, nil
}

// Signature parses the Signature.xml at the package path part.
func (p *Package) Signature(part string) (*Signature, error) {
	n, err := p.parse(part, "Signature")
	if err != nil {
		return nil, err
	}
	s := &Signature{Path: part, Raw: p.files[part]}
	si := n.child("SignedInfo")
	if si == nil {
		return nil, errorf(ErrStructure, part, "no SignedInfo")
	}
	if pr := si.child("Provider"); pr != nil {
		s.ProviderName, s.Company, s.ProviderVersion = pr.attr("ProviderName"), pr.attr("Company"), pr.attr("Version")
	}
	s.SignatureMethod = si.value("SignatureMethod")
	s.SignatureDateTime = si.value("SignatureDateTime")
	refs := si.child("References")
	if refs == nil || len(refs.children("Reference")) == 0 {
		return nil, errorf(ErrStructure, part, "no References/Reference")
	}
	s.CheckMethod = refs.attr("CheckMethod")
	seen := map[string]bool{}
	for _, r := range refs.children("Reference") {
		ref, err := Resolve(part, r.attr("FileRef"))
		if err != nil {
			return nil, err
		}
		if seen[ref] {
			return nil, errorf(ErrStructure, part, "reference to %s appears twice", ref)
		}
		seen[ref] = true
		v, err := base64.StdEncoding.Strict().DecodeString(r.value("CheckValue"))
		if err != nil || len(v) == 0 {
			return nil, errorf(ErrStructure, part, "CheckValue of %s is not base64", ref)
		}
		s.References = append(s.References, Reference{FileRef: ref, CheckValue: v})
	}
	for _, a := range si.children("StampAnnot") {
		s.StampAnnots = append(s.StampAnnots, StampAnnot{ID: a.attr("ID"), PageRef: a.attr("PageRef"), Boundary: a.attr("Boundary"), Clip: a.attr("Clip")})
	}
	if seal := si.child("Seal"); seal != nil {
		if s.Seal, err = Resolve(part, seal.value("BaseLoc")); err != nil {
			return nil, err
		}
	}
	sv := n.value("SignedValue")
	if sv == "" {
		return nil, errorf(ErrStructure, part, "no SignedValue")
	}
	if s.SignedValue, err = Resolve(part, sv); err != nil {
		return nil, err
	}
	return s, nil
}

// Shown returns the package paths of the files that can change what a
// reader displays for the document d, sorted: OFD.xml, Document.xml, every
// page and template Content.xml, every resource file (PublicRes,
// DocumentRes, PageRes) and the fonts, images and colour profiles they
// name, the annotation list and each page's annotation file. A file named
// but absent is listed too (the caller sees it is missing). Attachments,
// custom tags and extensions are not shown and not listed.
func (p *Package) Shown(d *Document) ([]string, error) {
	set := map[string]bool{RootPath: true, d.Path: true}
	var res []string
	res = append(res, d.PublicRes...)
	res = append(res, d.DocumentRes...)
	for _, pg := range append(append([]PageRef(nil), d.Pages...), d.Templates...) {
		set[pg.Loc] = true
		if !p.Has(pg.Loc) {
			continue
		}
		n, err := p.parse(pg.Loc, "Page")
		if err != nil {
			return nil, err
		}
		for _, pr := range n.children("PageRes") {
			l, err := Resolve(pg.Loc, pr.textValue())
			if err != nil {
				return nil, err
			}
			res = append(res, l)
		}
	}
	for _, r := range res {
		if set[r] {
			continue // a resource file named again (by another page)
		}
		set[r] = true
		files, err := p.resFiles(r)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			set[f] = true
		}
	}
	if d.Annotations != "" {
		set[d.Annotations] = true
		if p.Has(d.Annotations) {
			n, err := p.parse(d.Annotations, "Annotations")
			if err != nil {
				return nil, err
			}
			for _, pg := range n.children("Page") {
				l, err := Resolve(d.Annotations, pg.value("FileLoc"))
				if err != nil {
					return nil, err
				}
				set[l] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out, nil
}

// resFiles returns the files a resource file (ofd:Res) names: fonts,
// multimedia and colour-space profiles, resolved against its BaseLoc.
func (p *Package) resFiles(part string) ([]string, error) {
	if !p.Has(part) {
		return nil, nil
	}
	n, err := p.parse(part, "Res")
	if err != nil {
		return nil, err
	}
	// Files in the resource are relative to BaseLoc, itself relative to
	// the resource file; a dummy name makes Resolve take BaseLoc's dir.
	base := part
	if bl := n.attr("BaseLoc"); bl != "" {
		b, err := Resolve(part, bl)
		if err != nil {
			return nil, err
		}
		base = b + "/_"
	}
	var out []string
	add := func(loc string) error {
		if strings.TrimSpace(loc) == "" {
			return nil
		}
		l, err := Resolve(base, loc)
		if err != nil {
			return err
		}
		out = append(out, l)
		return nil
	}
	for _, g := range n.children("Fonts") {
		for _, f := range g.children("Font") {
			if err := add(f.value("FontFile")); err != nil {
				return nil, err
			}
		}
	}
	for _, g := range n.children("MultiMedias") {
		for _, m := range g.children("MultiMedia") {
			if err := add(m.value("MediaFile")); err != nil {
				return nil, err
			}
		}
	}
	for _, g := range n.children("ColorSpaces") {
		for _, c := range g.children("ColorSpace") {
			if err := add(c.attr("Profile")); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
