package ofd

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
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

// maxElements bounds the elements of one XML part.
const maxElements = 1 << 20

// node is one element of a strictly parsed XML part: its local name
// (the namespace was checked), unqualified attributes, children and text.
type node struct {
	name  string
	attrs map[string]string
	kids  []*node
	text  strings.Builder
	long  bool // text longer than the limit, not kept (page data, never a value read here)
}

func (n *node) attr(name string) string { return n.attrs[name] }

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

// parseXML parses one part strictly: UTF-8 only (a BOM is skipped), no
// DTD or other declaration, processing instructions only as the XML
// declaration, every element in the OFD namespace, attributes unique and
// unqualified (or xml:…), attributes within lim.MaxAttrLen (longer text is
// dropped, not kept),
// nesting within lim.MaxDepth. It returns the root element and whether the
// namespace variant was used.
func parseXML(part string, data []byte, lim Limits) (root *node, variant bool, err error) {
	bad := func(kind error, format string, args ...any) (*node, bool, error) {
		return nil, false, errorf(kind, part, format, args...)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return bad(ErrXML, "not UTF-8")
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var stack []*node
	elements := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return bad(ErrXML, "%v", err)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target != "xml" || root != nil || len(stack) > 0 || elements > 0 {
				return bad(ErrXML, "processing instruction <?%s?> not allowed", t.Target)
			}
			if enc := procInstEncoding(string(t.Inst)); enc != "" && !strings.EqualFold(enc, "UTF-8") {
				return bad(ErrXML, "encoding %q, only UTF-8 is read", enc)
			}
		case xml.Directive:
			return bad(ErrXML, "DTD or declaration <!%s> not allowed", truncate(string(t), 20))
		case xml.Comment:
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return bad(ErrXML, "text outside the root element")
				}
				continue
			}
			top := stack[len(stack)-1]
			if top.long || top.text.Len()+len(t) > lim.MaxAttrLen {
				top.long = true
				top.text.Reset()
				continue
			}
			top.text.Write(t)
		case xml.StartElement:
			if len(stack) == 0 && root != nil {
				return bad(ErrXML, "a second root element <%s>", t.Name.Local)
			}
			if len(stack) >= lim.MaxDepth {
				return bad(ErrLimit, "elements nested deeper than %d", lim.MaxDepth)
			}
			if elements++; elements > maxElements {
				return bad(ErrLimit, "more than %d elements", maxElements)
			}
			n, v, err := newNode(part, t, lim)
			if err != nil {
				return nil, false, err
			}
			variant = variant || v
			if len(stack) == 0 {
				root = n
			} else {
				top := stack[len(stack)-1]
				top.kids = append(top.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1] // Token checked the match
		}
	}
	if root == nil {
		return bad(ErrXML, "no root element")
	}
	if len(stack) != 0 {
		return bad(ErrXML, "unexpected end of data inside <%s>", stack[len(stack)-1].name)
	}
	return root, variant, nil
}

// newNode checks a start element's namespace and attributes (see
// parseXML) and returns its node, and whether it is in the namespace
// variant.
func newNode(part string, t xml.StartElement, lim Limits) (*node, bool, error) {
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
	n := &node{name: t.Name.Local, attrs: map[string]string{}}
	for _, a := range t.Attr {
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
		if _, dup := n.attrs[key]; dup {
			return nil, false, errorf(ErrXML, part, "<%s> has attribute %s twice", n.name, key)
		}
		n.attrs[key] = a.Value
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
