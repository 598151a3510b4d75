package tlog

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Checkpoint is the C2SP tlog-checkpoint note text: the log's origin, its
// tree size and root hash, and optional extension lines.
type Checkpoint struct {
	Origin     string
	Size       uint64
	Root       Hash
	Extensions []string
}

// String returns the note text:
//
//	<origin>\n<decimal size>\n<base64 root>\n[<extension>\n…]
func (c Checkpoint) String() string {
	var b strings.Builder
	b.WriteString(c.Origin)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatUint(c.Size, 10))
	b.WriteByte('\n')
	b.WriteString(base64.StdEncoding.EncodeToString(c.Root[:]))
	b.WriteByte('\n')
	for _, e := range c.Extensions {
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return b.String()
}

// ParseCheckpoint parses checkpoint note text (not the signed note; see
// VerifyCheckpoint). It is strict: the text must be what String would
// produce for the result.
func ParseCheckpoint(text string) (Checkpoint, error) {
	var c Checkpoint
	if err := checkNoteText(text); err != nil {
		return c, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	lines := strings.Split(text[:len(text)-1], "\n")
	if len(lines) < 3 {
		return c, fmt.Errorf("%w: %d lines, want origin, size and root hash", ErrBadCheckpoint, len(lines))
	}
	c.Origin = lines[0]
	if c.Origin == "" {
		return c, fmt.Errorf("%w: empty origin", ErrBadCheckpoint)
	}
	sz := lines[1]
	n, err := strconv.ParseUint(sz, 10, 64)
	if err != nil || sz != strconv.FormatUint(n, 10) {
		return c, fmt.Errorf("%w: tree size %q is not a decimal number without sign or leading zeros", ErrBadCheckpoint, sz)
	}
	c.Size = n
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != HashSize || base64.StdEncoding.EncodeToString(root) != lines[2] {
		return c, fmt.Errorf("%w: root hash %q is not the base64 of %d bytes", ErrBadCheckpoint, lines[2], HashSize)
	}
	copy(c.Root[:], root)
	for i, e := range lines[3:] {
		if e == "" {
			return c, fmt.Errorf("%w: extension line %d is empty", ErrBadCheckpoint, i+1)
		}
		c.Extensions = append(c.Extensions, e)
	}
	return c, nil
}

// SignCheckpoint returns c as a signed note.
func SignCheckpoint(c Checkpoint, signers ...*NoteSigner) ([]byte, error) {
	text := c.String()
	if _, err := ParseCheckpoint(text); err != nil {
		return nil, err
	}
	return SignNote(text, signers...)
}

// VerifyCheckpoint opens a signed checkpoint note with v (see OpenNote for
// the signature rules), parses it and checks that its origin is origin. A
// verifier or wallet needs nothing else to trust a tree head.
func VerifyCheckpoint(note []byte, origin string, v *NoteVerifier) (Checkpoint, error) {
	n, _, err := OpenNote(note, v)
	if err != nil {
		return Checkpoint{}, err
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != origin {
		return Checkpoint{}, fmt.Errorf("%w: origin %q, want %q", ErrBadCheckpoint, c.Origin, origin)
	}
	return c, nil
}
