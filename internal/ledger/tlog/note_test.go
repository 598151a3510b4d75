package tlog

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"elicense/internal/gm"
)

func testSigner(t testing.TB, name string) *NoteSigner {
	t.Helper()
	k, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewNoteSigner(name, k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestKeyID(t *testing.T) {
	d := bytes.Repeat([]byte{7}, 32)
	k, err := gm.NewPrivateKey(d)
	if err != nil {
		t.Fatal(err)
	}
	point, _ := gm.MarshalPublicKey(k.PublicKey())
	id, err := KeyID("ledger.example/test", k.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	// Recompute by the spec's formula, independently.
	msg := append([]byte("ledger.example/test\n\xff"), "elicense/sm2-sm3"...)
	msg = append(msg, point...)
	want := binary.BigEndian.Uint32(sha256Sum(msg))
	if id != want {
		t.Fatalf("KeyID = %08x, want %08x", id, want)
	}
	s, _ := NewNoteSigner("ledger.example/test", k)
	vk := s.Verifier().String()
	v, err := ParseNoteVerifier(vk)
	if err != nil || v.KeyID() != id || !v.PublicKey().Equal(k.PublicKey()) {
		t.Fatalf("ParseNoteVerifier(%q) = %v, %v", vk, v, err)
	}
	for _, bad := range []string{
		"", "name", "name+1234", "na me+" + vk[strings.Index(vk, "+")+1:],
		strings.Replace(vk, "+", "+0", 1)[:len(vk)],
		vk[:strings.LastIndex(vk, "+")+1] + base64.StdEncoding.EncodeToString(append([]byte{1}, point...)),
		vk[:strings.Index(vk, "+")] + "+00000000" + vk[strings.LastIndex(vk, "+"):],
	} {
		if _, err := ParseNoteVerifier(bad); !errors.Is(err, ErrBadKey) {
			t.Errorf("ParseNoteVerifier(%q): %v", bad, err)
		}
	}
	for _, name := range []string{"", "a b", "a+b", "a\tb", "a\u3000b"} {
		if _, err := NewNoteSigner(name, k); !errors.Is(err, ErrBadKey) {
			t.Errorf("key name %q accepted: %v", name, err)
		}
	}
}

func TestNotes(t *testing.T) {
	s1, s2 := testSigner(t, "ledger.example/a"), testSigner(t, "ledger.example/b")
	text := "hello\n\nworld\n"
	msg, err := SignNote(text, s1, s2)
	if err != nil {
		t.Fatal(err)
	}
	n, ok, err := OpenNote(msg, s2.Verifier())
	if err != nil || n.Text != text || len(ok) != 1 || len(n.Sigs) != 2 {
		t.Fatalf("OpenNote: %+v %v %v", n, ok, err)
	}
	if _, _, err := OpenNote(msg, testSigner(t, "ledger.example/a").Verifier()); !errors.Is(err, ErrNoKnownSignature) {
		t.Fatalf("same name, other key: %v", err)
	}
	// Tamper with the text: the known key's signature fails.
	bad := bytes.Replace(msg, []byte("world"), []byte("World"), 1)
	if _, _, err := OpenNote(bad, s1.Verifier()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("tampered text: %v", err)
	}
	malformed := map[string]string{
		"no blank line":   "hello\n— a AAAAAAA=\n",
		"no sig":          "hello\n\n",
		"no final nl":     strings.TrimSuffix(string(msg), "\n"),
		"no dash":         "hello\n\n- a AAAAAAAA\n",
		"no space":        "hello\n\n— aAAAAAAAA\n",
		"bad base64":      "hello\n\n— a !!!!\n",
		"short sig":       "hello\n\n— a AAAA\n",
		"control":         "hel\x01lo\n\n" + string(msg[len(text)+1:]),
		"cr":              "hello\r\n\n" + string(msg[len(text)+1:]),
		"bad utf8":        "hel\xfflo\n\n" + string(msg[len(text)+1:]),
		"plus in name":    "hello\n\n— a+b AAAAAAAA\n",
		"noncanon base64": "hello\n\n— a AAAAAAB=\n",
	}
	for name, m := range malformed {
		if _, err := ParseNote([]byte(m)); !errors.Is(err, ErrMalformedNote) {
			t.Errorf("%s: got %v, want ErrMalformedNote", name, err)
		}
	}
}

func TestCheckpoint(t *testing.T) {
	s := testSigner(t, "ledger.example/log")
	c := Checkpoint{Origin: "ledger.example/log", Size: 12345, Root: SM3.HashLeaf([]byte("x"))}
	note, err := SignCheckpoint(c, s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifyCheckpoint(note, "ledger.example/log", s.Verifier())
	if err != nil || got.Size != c.Size || got.Root != c.Root {
		t.Fatalf("VerifyCheckpoint = %+v, %v", got, err)
	}
	if !strings.HasPrefix(string(note), "ledger.example/log\n12345\n"+base64.StdEncoding.EncodeToString(c.Root[:])+"\n\n— ledger.example/log ") {
		t.Fatalf("note layout:\n%s", note)
	}
	if _, err := VerifyCheckpoint(note, "other.example/log", s.Verifier()); !errors.Is(err, ErrBadCheckpoint) {
		t.Fatalf("other origin: %v", err)
	}
	// A forged checkpoint: same text with another size, old signature.
	forged := bytes.Replace(note, []byte("\n12345\n"), []byte("\n12346\n"), 1)
	if _, err := VerifyCheckpoint(forged, "ledger.example/log", s.Verifier()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("forged: %v", err)
	}
	root := base64.StdEncoding.EncodeToString(c.Root[:])
	bad := []string{
		"o\n1\n",
		"\n1\n" + root + "\n",
		"o\n01\n" + root + "\n",
		"o\n+1\n" + root + "\n",
		"o\n-1\n" + root + "\n",
		"o\n18446744073709551616\n" + root + "\n",
		"o\n1\n" + root[:40] + "\n",
		"o\n1\n" + root + "\n\n",
		"o\n1\n" + root,
		"o\n1\n" + base64.StdEncoding.EncodeToString(make([]byte, 31)) + "\n",
	}
	for _, b := range bad {
		if _, err := ParseCheckpoint(b); !errors.Is(err, ErrBadCheckpoint) {
			t.Errorf("ParseCheckpoint(%q): %v", b, err)
		}
	}
	ok := "o\n0\n" + root + "\next one\n"
	if c, err := ParseCheckpoint(ok); err != nil || c.String() != ok || len(c.Extensions) != 1 {
		t.Errorf("ParseCheckpoint(%q) = %+v, %v", ok, c, err)
	}
}
