package ses

import (
	"encoding/asn1"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DER reading helpers. Each reads one element from s, or returns a
// *MalformedError naming path. cryptobyte enforces DER lengths (definite,
// minimal) and minimal INTEGER and OBJECT IDENTIFIER encodings, which is
// what makes a parsed value re-encode byte for byte.

// Tags used below that cryptobyte/asn1 does not name.
const (
	tagIA5String       = cbasn1.Tag(22)
	tagUTF8String      = cbasn1.UTF8String
	tagPrintableString = cbasn1.PrintableString
	tagContext0        = cbasn1.Tag(0xa0) // [0] constructed
	tagContext0Prim    = cbasn1.Tag(0x80) // [0] primitive
)

var tagNamesTable = map[byte]string{
	0x01: "BOOLEAN", 0x02: "INTEGER", 0x03: "BIT STRING", 0x04: "OCTET STRING",
	0x05: "NULL", 0x06: "OBJECT IDENTIFIER", 0x0c: "UTF8String", 0x13: "PrintableString",
	0x16: "IA5String", 0x17: "UTCTime", 0x18: "GeneralizedTime", 0x1e: "BMPString",
	0x30: "SEQUENCE", 0x31: "SET", 0xa0: "[0] constructed", 0x80: "[0] primitive",
	0xa1: "[1] constructed", 0x81: "[1] primitive",
}

func describeTag(t byte) string {
	if n, ok := tagNamesTable[t]; ok {
		return fmt.Sprintf("%s (tag 0x%02x)", n, t)
	}
	return fmt.Sprintf("tag 0x%02x", t)
}

func tagName(t byte) string {
	if n, ok := tagNamesTable[t]; ok {
		return n
	}
	return fmt.Sprintf("tag 0x%02x", t)
}

func tagNames(tags []byte) string {
	names := make([]string, len(tags))
	for i, t := range tags {
		names[i] = tagName(t)
	}
	return strings.Join(names, " or ")
}

// printable renders untrusted bytes for an error message: at most 40
// characters, invalid UTF-8 and control characters escaped by %q.
func printable(b []byte) string {
	s := string(b)
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// readElement reads one element with the given tag and returns its
// content and its whole encoding.
func readElement(s *cryptobyte.String, tag cbasn1.Tag, path string) (content cryptobyte.String, raw []byte, err error) {
	if s.Empty() {
		return nil, nil, malformed(path, "missing (want %s)", tagName(byte(tag)))
	}
	if (*s)[0] != byte(tag) {
		return nil, nil, malformed(path, "want %s, found %s", tagName(byte(tag)), describeTag((*s)[0]))
	}
	var el cryptobyte.String
	if !s.ReadASN1Element(&el, tag) {
		return nil, nil, malformed(path, "truncated or not DER (bad length)")
	}
	c := el
	if !c.ReadASN1(&content, tag) {
		return nil, nil, malformed(path, "truncated or not DER (bad length)")
	}
	return content, el, nil
}

func readSequence(s *cryptobyte.String, path string) (cryptobyte.String, []byte, error) {
	return readElement(s, cbasn1.SEQUENCE, path)
}

func readInt(s *cryptobyte.String, path string) (int64, error) {
	content, raw, err := readElement(s, cbasn1.INTEGER, path)
	if err != nil {
		return 0, err
	}
	var v int64
	r := cryptobyte.String(raw)
	if !r.ReadASN1Int64WithTag(&v, cbasn1.INTEGER) {
		if len(content) == 0 || (len(content) > 1 && (content[0] == 0 && content[1]&0x80 == 0 || content[0] == 0xff && content[1]&0x80 != 0)) {
			return 0, malformed(path, "INTEGER not minimally encoded")
		}
		return 0, malformed(path, "INTEGER out of range")
	}
	return v, nil
}

func readString(s *cryptobyte.String, tag cbasn1.Tag, path string) (string, error) {
	content, _, err := readElement(s, tag, path)
	if err != nil {
		return "", err
	}
	if err := checkString(content, byte(tag)); err != nil {
		return "", malformed(path, "%v", err)
	}
	return string(content), nil
}

// readStringOf reads a string whose tag may be any of tags, returning the
// tag found.
func readStringOf(s *cryptobyte.String, path string, tags ...byte) (string, byte, error) {
	if s.Empty() {
		return "", 0, malformed(path, "missing (want %s)", tagNames(tags))
	}
	for _, t := range tags {
		if (*s)[0] == t {
			v, err := readString(s, cbasn1.Tag(t), path)
			return v, t, err
		}
	}
	return "", 0, malformed(path, "want %s, found %s", tagNames(tags), describeTag((*s)[0]))
}

func checkString(b []byte, tag byte) error {
	switch cbasn1.Tag(tag) {
	case tagIA5String:
		for i, c := range b {
			if c >= 0x80 {
				return fmt.Errorf("IA5String has non-ASCII byte 0x%02x at %d", c, i)
			}
		}
	case tagUTF8String:
		if !utf8.Valid(b) {
			return fmt.Errorf("UTF8String is not valid UTF-8")
		}
	case tagPrintableString:
		for i, c := range b {
			if !isPrintable(c) {
				return fmt.Errorf("PrintableString has byte 0x%02x at %d", c, i)
			}
		}
	}
	return nil
}

func isPrintable(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte(" '()+,-./:=?", c) >= 0
}

func readOctets(s *cryptobyte.String, path string) ([]byte, error) {
	content, _, err := readElement(s, cbasn1.OCTET_STRING, path)
	return []byte(content), err
}

// readBits reads a BIT STRING that must hold whole bytes (signatures,
// digests, tokens).
func readBits(s *cryptobyte.String, path string) ([]byte, error) {
	content, _, err := readElement(s, cbasn1.BIT_STRING, path)
	if err != nil {
		return nil, err
	}
	return bitsContent(content, path)
}

func bitsContent(content []byte, path string) ([]byte, error) {
	if len(content) == 0 {
		return nil, malformed(path, "BIT STRING without its unused-bits octet")
	}
	if content[0] != 0 {
		return nil, malformed(path, "BIT STRING with %d unused bits, want whole bytes", content[0])
	}
	return content[1:], nil
}

func readOID(s *cryptobyte.String, path string) (asn1.ObjectIdentifier, error) {
	_, raw, err := readElement(s, cbasn1.OBJECT_IDENTIFIER, path)
	if err != nil {
		return nil, err
	}
	var oid asn1.ObjectIdentifier
	r := cryptobyte.String(raw)
	if !r.ReadASN1ObjectIdentifier(&oid) {
		return nil, malformed(path, "bad OBJECT IDENTIFIER encoding")
	}
	return oid, nil
}

// peekTag returns the next tag, or 0 when s is empty.
func peekTag(s cryptobyte.String) byte {
	if len(s) == 0 {
		return 0
	}
	return s[0]
}

func addOID(b *cryptobyte.Builder, oid asn1.ObjectIdentifier) {
	if len(oid) == 0 {
		oid = OIDSM3WithSM2
	}
	b.AddASN1ObjectIdentifier(oid)
}

func addBits(b *cryptobyte.Builder, v []byte) {
	b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) {
		b.AddUint8(0)
		b.AddBytes(v)
	})
}

func addString(b *cryptobyte.Builder, tag cbasn1.Tag, v string) {
	b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes([]byte(v)) })
}

func addOctets(b *cryptobyte.Builder, v []byte) {
	b.AddASN1OctetString(v)
}
