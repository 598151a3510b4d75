package ofd

import (
	"archive/zip"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits bound what [Open] reads. A zero field takes its default.
type Limits struct {
	MaxEntries   int   // zip entries, directories included; default 4096
	MaxEntrySize int64 // uncompressed bytes of one entry; default 64 MiB
	MaxTotalSize int64 // uncompressed bytes of all entries; default 256 MiB
	// MaxRatio bounds uncompressed/compressed size for entries larger
	// than ratioFloor; default 200.
	MaxRatio   int64
	MaxAttrLen int // bytes of one XML attribute value or text; default 64 KiB
	MaxDepth   int // XML element nesting; default 64
	// MaxSignatures bounds the signatures of one Signatures.xml; default
	// 64 (each costs several SM2 verifications).
	MaxSignatures int
}

// ratioFloor is the size below which an entry's compression ratio is not
// checked: a small file cannot be a bomb, however well it compresses.
const ratioFloor = 1 << 20

// DefaultLimits are the limits Open uses when given nil.
var DefaultLimits = Limits{
	MaxEntries:    4096,
	MaxEntrySize:  64 << 20,
	MaxTotalSize:  256 << 20,
	MaxRatio:      200,
	MaxAttrLen:    64 << 10,
	MaxDepth:      64,
	MaxSignatures: 64,
}

func (l *Limits) withDefaults() Limits {
	out := DefaultLimits
	if l == nil {
		return out
	}
	if l.MaxEntries > 0 {
		out.MaxEntries = l.MaxEntries
	}
	if l.MaxEntrySize > 0 {
		out.MaxEntrySize = l.MaxEntrySize
	}
	if l.MaxTotalSize > 0 {
		out.MaxTotalSize = l.MaxTotalSize
	}
	if l.MaxRatio > 0 {
		out.MaxRatio = l.MaxRatio
	}
	if l.MaxAttrLen > 0 {
		out.MaxAttrLen = l.MaxAttrLen
	}
	if l.MaxDepth > 0 {
		out.MaxDepth = l.MaxDepth
	}
	if l.MaxSignatures > 0 {
		out.MaxSignatures = l.MaxSignatures
	}
	return out
}

// Package is an opened OFD package: every file's bytes, in memory, under
// its normalised name (no leading "/"), and the parsed OFD.xml.
type Package struct {
	Root  *Root
	Notes []string // tolerated variants met while reading

	files  map[string][]byte
	names  []string
	lim    Limits
	parsed map[string]parsedPart // by root element and path
}

// Open reads an OFD package from its bytes: the zip container under lim
// (nil: [DefaultLimits]), then OFD.xml. Documents and signatures are
// parsed on request ([Package.Document], [Package.Signatures],
// [Package.Signature]) so that one bad part can be reported on its own.
func Open(data []byte, lim *Limits) (*Package, error) {
	p := &Package{lim: lim.withDefaults(), files: map[string][]byte{}}
	if err := p.readZip(data); err != nil {
		return nil, err
	}
	root, err := p.parseRoot()
	if err != nil {
		return nil, err
	}
	p.Root = root
	return p, nil
}

func (p *Package) readZip(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are checked below
		return errorf(ErrZip, "", "%v", err)
	}
	if len(zr.File) > p.lim.MaxEntries {
		return errorf(ErrLimit, "", "%d entries, at most %d", len(zr.File), p.lim.MaxEntries)
	}
	if err := checkLayout(data, zr.File); err != nil {
		return err
	}
	seen := map[string]string{} // case-folded name → name as written
	var total int64
	for _, f := range zr.File {
		name, dir, err := checkEntryName(f.Name)
		if err != nil {
			return err
		}
		fold := foldName(name)
		if prev, dup := seen[fold]; dup {
			if prev == name {
				return errorf(ErrPath, name, "entry appears twice")
			}
			return errorf(ErrPath, name, "entry differs only in case from %q", prev)
		}
		seen[fold] = name
		if f.Flags&0x1 != 0 {
			return errorf(ErrZip, name, "entry is encrypted")
		}
		if dir {
			if f.UncompressedSize64 != 0 {
				return errorf(ErrZip, name, "directory entry has content")
			}
			continue
		}
		if f.UncompressedSize64 > uint64(p.lim.MaxEntrySize) {
			return errorf(ErrLimit, name, "declares %d bytes uncompressed, at most %d", f.UncompressedSize64, p.lim.MaxEntrySize)
		}
		b, err := p.readEntry(f, name)
		if err != nil {
			return err
		}
		if total += int64(len(b)); total > p.lim.MaxTotalSize {
			return errorf(ErrLimit, name, "the package exceeds %d bytes uncompressed", p.lim.MaxTotalSize)
		}
		p.files[name] = b
		p.names = append(p.names, name)
	}
	sort.Strings(p.names)
	return nil
}

func (p *Package) readEntry(f *zip.File, name string) ([]byte, error) {
	if f.Method != zip.Store && f.Method != zip.Deflate {
		return nil, errorf(ErrZip, name, "compression method %d (only stored and deflated are read)", f.Method)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, errorf(ErrZip, name, "%v", err)
	}
	defer rc.Close()
	// The declared size may lie; the reader is bounded by the limit.
	b, err := io.ReadAll(io.LimitReader(rc, p.lim.MaxEntrySize+1))
	if err != nil {
		return nil, errorf(ErrZip, name, "%v", err)
	}
	n := int64(len(b))
	if n > p.lim.MaxEntrySize {
		return nil, errorf(ErrLimit, name, "more than %d bytes uncompressed", p.lim.MaxEntrySize)
	}
	if n > ratioFloor && n/max(int64(f.CompressedSize64), 1) > p.lim.MaxRatio {
		return nil, errorf(ErrLimit, name, "compression ratio %d:1 exceeds %d:1", n/max(int64(f.CompressedSize64), 1), p.lim.MaxRatio)
	}
	return b, nil
}

// checkLayout requires the entries' local headers to tile the file from
// its first byte to the central directory, in order, each naming the
// entry the central directory names there, with the same sizes when it
// gives them: no bytes before, between or hidden from the central
// directory that a streaming reader (which reads local headers) would
// take for other content. It also makes the compressed sizes, which the
// compression ratio is judged against, the bytes really there.
func checkLayout(data []byte, files []*zip.File) error {
	entries := slices.Clone(files)
	offsets := make(map[*zip.File]int64, len(entries))
	for _, f := range entries {
		off, err := f.DataOffset()
		if err != nil {
			return errorf(ErrZip, quoteName(f.Name), "%v", err)
		}
		offsets[f] = off
	}
	slices.SortFunc(entries, func(a, b *zip.File) int { return cmp.Compare(offsets[a], offsets[b]) })
	var pos int64
	for _, f := range entries {
		bad := func(format string, args ...any) error {
			return errorf(ErrZip, quoteName(f.Name), "local header at %d: "+format, append([]any{pos}, args...)...)
		}
		if pos+30 > int64(len(data)) || string(data[pos:pos+4]) != "PK\x03\x04" {
			return bad("not where the previous entry ends (data before, between or outside the entries)")
		}
		h := data[pos : pos+30]
		flags := binary.LittleEndian.Uint16(h[6:])
		csize, usize := binary.LittleEndian.Uint32(h[18:]), binary.LittleEndian.Uint32(h[22:])
		nameLen, extraLen := int64(binary.LittleEndian.Uint16(h[26:])), int64(binary.LittleEndian.Uint16(h[28:]))
		start := pos + 30 + nameLen + extraLen
		switch {
		case start > int64(len(data)):
			return bad("truncated")
		case string(data[pos+30:pos+30+nameLen]) != f.Name:
			return bad("names %q, the central directory %q", quoteName(string(data[pos+30:pos+30+nameLen])), quoteName(f.Name))
		case start != offsets[f]:
			return bad("data at %d, the central directory says %d", start, offsets[f])
		case f.CompressedSize64 >= 0xffffffff || f.UncompressedSize64 >= 0xffffffff:
			return bad("a zip64 entry (not read)")
		case flags&0x8 == 0 && (uint64(csize) != f.CompressedSize64 || uint64(usize) != f.UncompressedSize64):
			return bad("sizes %d/%d, the central directory %d/%d", csize, usize, f.CompressedSize64, f.UncompressedSize64)
		}
		pos = start + int64(f.CompressedSize64)
		if flags&0x8 != 0 { // a data descriptor: optional signature, CRC and sizes
			if pos+4 <= int64(len(data)) && string(data[pos:pos+4]) == "PK\x07\x08" {
				pos += 4
			}
			pos += 12
		}
	}
	if pos+4 > int64(len(data)) || string(data[pos:pos+4]) != "PK\x01\x02" && !(len(entries) == 0 && string(data[pos:pos+4]) == "PK\x05\x06") {
		return errorf(ErrZip, "", "bytes at %d, after the last entry, are not the central directory", pos)
	}
	return nil
}

// checkEntryName returns a zip entry name without the trailing "/" of a
// directory, refusing every name that is not a clean relative path.
func checkEntryName(raw string) (name string, dir bool, err error) {
	bad := func(format string, args ...any) (string, bool, error) {
		return "", false, errorf(ErrPath, quoteName(raw), format, args...)
	}
	switch {
	case raw == "" || raw == "/":
		return bad("empty entry name")
	case !utf8.ValidString(raw):
		return bad("entry name is not UTF-8")
	case strings.ContainsRune(raw, '\\'):
		return bad("entry name has a backslash")
	case strings.HasPrefix(raw, "/"):
		return bad("entry name is absolute")
	case len(raw) >= 2 && raw[1] == ':':
		return bad("entry name has a drive letter")
	}
	for _, r := range raw {
		if unicode.IsControl(r) {
			return bad("entry name has a control character")
		}
	}
	name, dir = strings.CutSuffix(raw, "/")
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return bad("entry name climbs out of the package")
		}
	}
	if path.Clean(name) != name {
		return bad("entry name is not a clean path")
	}
	return name, dir, nil
}

func quoteName(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	return strings.ToValidUTF8(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s), "?")
}

// foldName is the name compared for case-insensitive duplicates (a
// case-insensitive file system would merge them).
func foldName(s string) string { return strings.ToLower(s) }

// Names returns the package's file names (directories left out), sorted.
func (p *Package) Names() []string { return append([]string(nil), p.names...) }

// Has reports whether the package holds the file name (a package path,
// as [Resolve] returns it).
func (p *Package) Has(name string) bool {
	_, ok := p.files[name]
	return ok
}

// File returns the bytes of the file name; the error wraps ErrMissing
// when there is none. The slice must not be modified.
func (p *Package) File(name string) ([]byte, error) {
	b, ok := p.files[name]
	if !ok {
		return nil, errorf(ErrMissing, name, "not in the package")
	}
	return b, nil
}

// Resolve turns an ST_Loc written in the part from into a package path:
// "/a/b" is from the package root, "b" and "./b" from the directory of
// from. A location that is empty, has a backslash or a control character,
// or climbs above the root is refused (ErrPath).
func Resolve(from, loc string) (string, error) {
	l := strings.TrimSpace(loc)
	switch {
	case l == "":
		return "", errorf(ErrPath, from, "empty location")
	case strings.ContainsRune(l, '\\'):
		return "", errorf(ErrPath, from, "location %q has a backslash", l)
	case strings.ContainsFunc(l, unicode.IsControl) || !utf8.ValidString(l):
		return "", errorf(ErrPath, from, "location %q has a control character or bad UTF-8", quoteName(l))
	case strings.Contains(l, "://") || (len(l) >= 2 && l[1] == ':'):
		return "", errorf(ErrPath, from, "location %q is not a package path", l)
	}
	var full string
	if strings.HasPrefix(l, "/") {
		full = l
	} else {
		full = "/" + path.Join(path.Dir(from), l)
	}
	// Climbing is refused, not clamped: "/../x" names nothing.
	depth := 0
	for _, seg := range strings.Split(full, "/") {
		switch seg {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return "", errorf(ErrPath, from, "location %q climbs out of the package", l)
			}
		default:
			depth++
		}
	}
	out := strings.TrimPrefix(path.Clean(full), "/")
	if out == "" || out == "." {
		return "", errorf(ErrPath, from, "location %q names the package root", l)
	}
	return out, nil
}
