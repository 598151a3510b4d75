package base45

import (
	"bytes"
	"errors"
	"testing"
)

// Vectors from RFC 9285 §4.3 and §4.4.
func TestRFC9285(t *testing.T) {
	tests := []struct{ plain, enc string }{
		{"AB", "BB8"},
		{"Hello!!", "%69 VD92EX0"},
		{"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Encode([]byte(tc.plain)); got != tc.enc {
			t.Errorf("Encode(%q) = %q, want %q", tc.plain, got, tc.enc)
		}
		got, err := Decode(tc.enc)
		if err != nil || string(got) != tc.plain {
			t.Errorf("Decode(%q) = %q, %v; want %q", tc.enc, got, err, tc.plain)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, s := range []string{"GGW", "A", "BB8A", "bb8", "BB\x00", "ZZ", ":::"} {
		if _, err := Decode(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Decode(%q) = %v, want ErrInvalid", s, err)
		}
	}
	// The largest valid values decode.
	for _, s := range []string{"FGW", "U5"} {
		if _, err := Decode(s); err != nil {
			t.Errorf("Decode(%q) = %v", s, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"BB8", "%69 VD92EX0", "GGW", "A", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := Decode(s)
		if err != nil {
			return
		}
		if len(b) > 0 || s == "" {
			back, err := Decode(Encode(b))
			if err != nil || !bytes.Equal(back, b) {
				t.Fatalf("round trip of %x failed: %x, %v", b, back, err)
			}
		}
	})
}

func FuzzEncode(f *testing.F) {
	f.Add([]byte("Hello!!"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(Encode(b))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip of %x: %x, %v", b, got, err)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	s := Encode(bytes.Repeat([]byte{0xa5}, 400))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(s); err != nil {
			b.Fatal(err)
		}
	}
}
