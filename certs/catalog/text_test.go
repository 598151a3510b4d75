package catalog

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// slowTextOK is what check and checkText require of a text value, short of
// the pattern, written the long way: the oracle for textOK.
func slowTextOK(v string, max int, multiline bool) bool {
	if !utf8.ValidString(v) {
		return false
	}
	if max > 0 && runeCountUpTo(v, max+1) > max {
		return false
	}
	if r, _ := utf8.DecodeRuneInString(v); unicode.IsSpace(r) {
		return false
	}
	if r, _ := utf8.DecodeLastRuneInString(v); unicode.IsSpace(r) {
		return false
	}
	_, err := checkText(v, multiline)
	return err == nil
}

func checkTextOK(t *testing.T, v string) {
	t.Helper()
	for _, multiline := range []bool{false, true} {
		for _, max := range []int{0, 1, 2, 3, 5, 8} {
			if got, want := textOK(v, max, multiline), slowTextOK(v, max, multiline); got != want {
				t.Fatalf("textOK(%q, %d, %v) = %v, want %v", v, max, multiline, got, want)
			}
		}
	}
}

func TestTextOKMatchesChecks(t *testing.T) {
	// Every rune of the BMP (and the surrogates), a sample of the rest,
	// alone and inside text.
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r > 0xffff && r%61 != 0 && r != unicode.MaxRune {
			continue
		}
		s := string(r)
		if r >= 0xd800 && r <= 0xdfff {
			s = string([]byte{0xed, byte(0x80 | (r>>6)&0x3f), byte(0x80 | r&0x3f)})
		}
		checkTextOK(t, s)
		checkTextOK(t, "a"+s+"b")
	}
	// Every byte alone and inside text, and truncated sequences.
	for b := range 256 {
		checkTextOK(t, string([]byte{byte(b)}))
		checkTextOK(t, "营"+string([]byte{byte(b)})+"业")
	}
	pieces := []string{"a", " ", "\n", "\r", "\t", "\x00", "\x7f", "\u0085", "\u00a0", "\u0080", "\u009f", "\u00a1",
		"\u2028", "\u2029", "\u2027", "\u3000", "营业", "\U0001F600", "\xe2\x80", "\xc2", "\xff", "\ufffd"}
	r := rand.New(rand.NewPCG(3, 5))
	var b strings.Builder
	for range 100000 {
		b.Reset()
		for range 1 + r.IntN(6) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		checkTextOK(t, b.String())
	}
}
