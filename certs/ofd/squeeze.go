package ofd

import "bytes"

// squeezeMin is the shortest run of plain text squeeze cuts: shorter
// ones cost the XML decoder less than the copy would.
const squeezeMin = 64

// squeezeMaxDepth is the nesting past which squeeze stops cutting, so
// that what it keeps of the open elements stays small.
const squeezeMaxDepth = 256

// plain marks the bytes of a run squeeze may cut: ASCII letters, digits,
// space, '.', ',', '-', '+'. A run of them is character data wherever it
// stands (no markup, entity, character the XML Char production refuses,
// or "]]>"), and holds no line break, so that the decoder's line numbers,
// which its errors give, stay those of the part.
var plain = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range " .,-+" {
		t[c] = true
	}
	return t
}()

// squeeze returns data with each run of plain text (at least squeezeMin
// bytes, outside markup) that lies inside an element nested deeper than
// o.keep cut to its first byte, and not inside a TextCode when o.texts
// (whose text is collected). What the XML decoder spends most of its time
// on in a page is such text, the data of paths (AbbreviatedData, 16 KB for
// the licence file's QR), which parseXML neither keeps nor collects: cut,
// it is still character data between the same markup, so the decoder
// meets the same elements, attributes, entities and errors (at the same
// lines), and what parseXML keeps or collects is the same. FuzzSqueeze
// checks that against the uncut part.
//
// It reads markup just enough to know where it ends and how deep each
// run lies: a start or end tag (quotes followed), a comment, a CDATA
// section, a processing instruction. Anything else ("<!DOCTYPE", a '<'
// inside a tag, an end tag closing nothing, nesting deeper than
// squeezeMaxDepth) stops the cutting there: the
// rest goes to the decoder as it is, which refuses it. It returns data
// itself when it cuts nothing.
func squeeze(data []byte, o parseOpts) []byte {
	if o.keep == keepAll {
		return data
	}
	var out []byte // nil until the first cut
	last := 0      // data[last:i] is not yet in out
	var inCode []bool
	for i := 0; i < len(data); {
		switch c := data[i]; {
		case c == '<':
			end, t := scanMarkup(data, i)
			switch t.kind {
			case markupStart:
				if len(inCode) == squeezeMaxDepth {
					end = len(data) // far deeper than any limit lets parseXML read
				}
				inCode = append(inCode, t.textCode || len(inCode) > 0 && inCode[len(inCode)-1])
			case markupEnd:
				if len(inCode) == 0 {
					end = len(data)
				} else {
					inCode = inCode[:len(inCode)-1]
				}
			case markupBad:
				end = len(data)
			}
			i = end
		case c == '&':
			i = entityEnd(data, i+1)
		case plain[c]:
			j := i + 1
			for j < len(data) && plain[data[j]] {
				j++
			}
			deep := len(inCode) > o.keep && !(o.texts && inCode[len(inCode)-1])
			if deep && j-i >= squeezeMin {
				if out == nil {
					out = make([]byte, 0, len(data)/2)
				}
				out = append(out, data[last:i+1]...)
				last = j
			}
			i = j
		default:
			i++
		}
	}
	if out == nil {
		return data
	}
	return append(out, data[last:]...)
}

// Kinds of markup scanMarkup tells apart.
const (
	markupOther = iota // a comment, CDATA section, processing instruction, empty-element tag
	markupStart
	markupEnd
	markupBad // not read here: the cutting stops
)

type markup struct {
	kind     int
	textCode bool // a start tag whose name has "TextCode" in it
}

// scanMarkup reads the markup starting at data[i] == '<' and returns the
// index just past it.
func scanMarkup(data []byte, i int) (int, markup) {
	rest := data[i:]
	switch {
	case bytes.HasPrefix(rest, []byte("<!--")):
		return past(data, i+4, "-->"), markup{kind: markupOther}
	case bytes.HasPrefix(rest, []byte("<![CDATA[")):
		return past(data, i+9, "]]>"), markup{kind: markupOther}
	case bytes.HasPrefix(rest, []byte("<?")):
		return past(data, i+2, "?>"), markup{kind: markupOther}
	case bytes.HasPrefix(rest, []byte("<!")):
		return len(data), markup{kind: markupBad}
	case bytes.HasPrefix(rest, []byte("</")):
		end := bytes.IndexAny(rest[2:], "<>")
		if end < 0 || rest[2+end] == '<' {
			return len(data), markup{kind: markupBad}
		}
		return i + 2 + end + 1, markup{kind: markupEnd}
	}
	return scanTag(data, i)
}

// scanTag reads a start or empty-element tag: up to the first '>' outside
// a quoted attribute value.
func scanTag(data []byte, i int) (int, markup) {
	var quote byte
	for j := i + 1; j < len(data); j++ {
		c := data[j]
		switch {
		case c == '<':
			return len(data), markup{kind: markupBad}
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			if data[j-1] == '/' {
				return j + 1, markup{kind: markupOther}
			}
			name := data[i+1 : j]
			if k := bytes.IndexAny(name, " \t\r\n/"); k >= 0 {
				name = name[:k]
			}
			return j + 1, markup{kind: markupStart, textCode: bytes.Contains(name, []byte("TextCode"))}
		}
	}
	return len(data), markup{kind: markupBad}
}

// past is the index just past the first sep in data from i, or len(data).
func past(data []byte, i int, sep string) int {
	if k := bytes.Index(data[i:], []byte(sep)); k >= 0 {
		return i + k + len(sep)
	}
	return len(data)
}

// entityEnd skips the name or number of an entity reference starting at
// data[i] (just past '&'): its bytes are the decoder's to judge, and its
// error names them.
func entityEnd(data []byte, i int) int {
	for i < len(data) {
		c := data[i]
		if c < 0x80 && !isNameByte(c) && c != '#' {
			break
		}
		i++
	}
	return i
}

// isNameByte is encoding/xml's: the ASCII bytes of a name.
func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}
