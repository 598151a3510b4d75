package ofd

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// The OFD namespace of GB/T 33190-2016, and the variant some producers
// write.
const (
	Namespace        = "http://www.ofdspec.org/2016"
	namespaceVariant = "http://www.ofdspec.org"
	xmlNamespace     = "http://www.w3.org/XML/1998/namespace"
)

// maxElements bounds the elements of one XML part, kept or not; a page
// of real content has thousands.
const maxElements = 1 << 18

// keepAll makes parseXML keep every element.
const keepAll = 0

// node is one element of a strictly parsed XML part: its local name
// (the namespace was checked), unqualified attributes, children and text.
type node struct {
	name  string
	attrs []attr // few per element: a slice is a fraction of a map's memory
	kids  []*node
	text  strings.Builder
	long  bool // text longer than the limit, not kept (page data, never a value read here)
}

type attr struct{ name, value string }

func (n *node) attr(name string) string {
	for _, a := range n.attrs {
		if a.name == name {
			return a.value
		}
	}
	return ""
}

// child returns the first child element called name, or nil.
func (n *node) child(name string) *node {
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

func (n *node) children(name string) []*node {
	var out []*node
	for _, k := range n.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

// value returns the trimmed text of the first child called name ("" when
// absent or too long to have been kept).
func (n *node) value(name string) string {
	if c := n.child(name); c != nil {
		return c.textValue()
	}
	return ""
}

func (n *node) textValue() string { return strings.TrimSpace(n.text.String()) }

// parseOpts says what parseXML keeps of a part: its elements down to
// depth keep (the root is at depth 1; keepAll keeps every one), and, with
// texts, the text of each TextObject (a page's, for PageTexts).
type parseOpts struct {
	keep  int
	texts bool
}

// xmlDoc is what parseXML read of a part.
type xmlDoc struct {
	root    *node
	texts   []string // with parseOpts.texts: each TextObject's text, in order
	variant bool     // the namespace variant was used
}

// parseXML parses one part strictly: UTF-8 only (a BOM is skipped), no
// DTD or other declaration, processing instructions only as the XML
// declaration, every element in the OFD namespace, attributes unique and
// unqualified (or xml:…), attributes within lim.MaxAttrLen (longer text is
// dropped, not kept), nesting within lim.MaxDepth, at most maxElements
// elements. Elements nested deeper than o.keep are checked the same way
// but not kept, so that a page's content costs no memory: what is kept of
// a page is its root's children. Their long runs of plain text (a path's
// data) are not even read by the XML decoder (squeeze), which changes
// nothing of what is kept, collected or refused, only the time it takes.
func parseXML(part string, data []byte, lim Limits, o parseOpts) (*xmlDoc, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, errorf(ErrXML, part, "not UTF-8")
	}
	return decodeXML(part, squeeze(data, o), lim, o)
}

// decodeXML is parseXML on UTF-8 data, squeezed or not.
func decodeXML(part string, data []byte, lim Limits, o parseOpts) (*xmlDoc, error) {
	x := &xmlParser{part: part, lim: lim, keep: o.keep}
	if o.texts {
		x.texts = &textCollector{}
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errorf(ErrXML, part, "%v", err)
		}
		if err := x.token(tok); err != nil {
			return nil, err
		}
	}
	if x.root == nil {
		return nil, errorf(ErrXML, part, "no root element")
	}
	if len(x.stack) != 0 {
		return nil, errorf(ErrXML, part, "unexpected end of data inside <%s>", x.stack[len(x.stack)-1].name)
	}
	doc := &xmlDoc{root: x.root, variant: x.variant}
	if x.texts != nil {
		doc.texts = x.texts.out
	}
	return doc, nil
}

// xmlParser is parseXML's state.
type xmlParser struct {
	part     string
	lim      Limits
	keep     int
	root     *node
	stack    []*node // kept elements; deeper ones are only counted
	skipped  int     // depth below the last kept element
	elements int
	variant  bool
	texts    *textCollector // nil unless parseOpts.texts
}

// textCollector gathers the text of each TextObject (GB/T 33190 §11) as
// the tokens go by, kept or not: the TextCodes' text of one object
// joined, in drawing order. A TextObject inside another is part of it.
type textCollector struct {
	obj, code int // depth in TextObject, TextCode
	cur       strings.Builder
	out       []string
}

func (c *textCollector) start(name string) {
	switch name {
	case "TextObject":
		c.obj++
	case "TextCode":
		c.code++
	}
}

func (c *textCollector) end(name string) {
	switch name {
	case "TextObject":
		if c.obj--; c.obj == 0 {
			c.out = append(c.out, c.cur.String())
			c.cur.Reset()
		}
	case "TextCode":
		c.code--
	}
}

func (c *textCollector) text(t []byte) {
	if c.obj > 0 && c.code > 0 {
		c.cur.Write(t)
	}
}

func (x *xmlParser) token(tok xml.Token) error {
	switch t := tok.(type) {
	case xml.ProcInst:
		if t.Target != "xml" || x.root != nil || x.elements > 0 {
			return errorf(ErrXML, x.part, "processing instruction <?%s?> not allowed", t.Target)
		}
		if enc := procInstEncoding(string(t.Inst)); enc != "" && !strings.EqualFold(enc, "UTF-8") {
			return errorf(ErrXML, x.part, "encoding %q, only UTF-8 is read", enc)
		}
	case xml.Directive:
		return errorf(ErrXML, x.part, "DTD or declaration <!%s> not allowed", truncate(string(t), 20))
	case xml.CharData:
		if x.texts != nil {
			x.texts.text(t)
		}
		return x.text(t)
	case xml.StartElement:
		if err := x.start(t); err != nil {
			return err
		}
		if x.texts != nil {
			x.texts.start(t.Name.Local)
		}
	case xml.EndElement:
		if x.texts != nil {
			x.texts.end(t.Name.Local)
		}
		if x.skipped > 0 {
			x.skipped--
		} else {
			x.stack = x.stack[:len(x.stack)-1] // Token checked the match
		}
	}
	return nil // comments
}

func (x *xmlParser) text(t xml.CharData) error {
	switch {
	case len(x.stack) == 0:
		if len(bytes.TrimSpace(t)) != 0 {
			return errorf(ErrXML, x.part, "text outside the root element")
		}
		return nil
	case x.skipped > 0:
		return nil
	}
	top := x.stack[len(x.stack)-1]
	if top.long || top.text.Len()+len(t) > x.lim.MaxAttrLen {
		top.long = true
		top.text.Reset()
		return nil
	}
	top.text.Write(t)
	return nil
}

func (x *xmlParser) start(t xml.StartElement) error {
	depth := len(x.stack)
	switch {
	case depth == 0 && x.root != nil:
		return errorf(ErrXML, x.part, "a second root element <%s>", t.Name.Local)
	case depth+x.skipped >= x.lim.MaxDepth:
		return errorf(ErrLimit, x.part, "elements nested deeper than %d", x.lim.MaxDepth)
	}
	if x.elements++; x.elements > maxElements {
		return errorf(ErrLimit, x.part, "more than %d elements", maxElements)
	}
	drop := x.skipped > 0 || (x.keep != keepAll && depth >= x.keep)
	n, v, err := newNode(x.part, t, x.lim, !drop)
	if err != nil {
		return err
	}
	x.variant = x.variant || v
	switch {
	case drop:
		x.skipped++
		return nil
	case depth == 0:
		x.root = n
	default:
		top := x.stack[depth-1]
		top.kids = append(top.kids, n)
	}
	x.stack = append(x.stack, n)
	return nil
}

// newNode checks a start element's namespace and attributes (see
// parseXML) and returns its node (nil unless build), and whether it is in
// the namespace variant.
func newNode(part string, t xml.StartElement, lim Limits, build bool) (*node, bool, error) {
	variant := false
	switch t.Name.Space {
	case Namespace:
	case namespaceVariant:
		variant = true
	case "":
		return nil, false, errorf(ErrXML, part, "element <%s> has no namespace, want %s", t.Name.Local, Namespace)
	default:
		return nil, false, errorf(ErrXML, part, "element <%s> is in namespace %q, want %s", t.Name.Local, truncate(t.Name.Space, 80), Namespace)
	}
	n := &node{name: t.Name.Local}
	if build {
		n.attrs = make([]attr, 0, len(t.Attr))
	}
	var seen map[xml.Name]bool // for many attributes; few are compared pairwise
	if len(t.Attr) > 8 {
		seen = make(map[xml.Name]bool, len(t.Attr))
	}
	for i, a := range t.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue // declarations, resolved by the decoder
		}
		if a.Name.Space != "" && a.Name.Space != xmlNamespace {
			return nil, false, errorf(ErrXML, part, "<%s> has attribute %s:%s in another namespace", n.name, a.Name.Space, a.Name.Local)
		}
		if len(a.Value) > lim.MaxAttrLen {
			return nil, false, errorf(ErrLimit, part, "attribute %s of <%s> longer than %d bytes", a.Name.Local, n.name, lim.MaxAttrLen)
		}
		key := a.Name.Local
		if a.Name.Space != "" {
			key = "xml:" + key
		}
		dup := seen[a.Name]
		if seen != nil {
			seen[a.Name] = true
		} else {
			dup = slices.ContainsFunc(t.Attr[:i], func(b xml.Attr) bool { return b.Name == a.Name })
		}
		if dup {
			return nil, false, errorf(ErrXML, part, "<%s> has attribute %s twice", n.name, key)
		}
		if build {
			n.attrs = append(n.attrs, attr{key, a.Value})
		}
	}
	if !build {
		return nil, variant, nil
	}
	return n, variant, nil
}

// procInstEncoding returns the encoding pseudo-attribute of an XML
// declaration, or "".
func procInstEncoding(inst string) string {
	i := strings.Index(inst, "encoding")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(inst[i+len("encoding"):], " \t\r\n")
	rest, ok := strings.CutPrefix(rest, "=")
	if !ok {
		return ""
	}
	rest = strings.TrimLeft(rest, " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	q := rest[0]
	end := strings.IndexByte(rest[1:], q)
	if end < 0 {
		return ""
	}
	return rest[1 : 1+end]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
