package statuslist

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// inflate decodes z with the standard library.
func inflate(t testing.TB, z []byte) []byte {
	t.Helper()
	r, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestZlibRLERoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 200_000)
	for i := range random {
		random[i] = byte(r.IntN(256))
	}
	sparse := make([]byte, 300_000)
	for range 2000 {
		sparse[r.IntN(len(sparse))] = byte(1 << (2 * r.IntN(4)))
	}
	// Geometric byte frequencies force Huffman codes past 15 bits, so the
	// length limiting is exercised.
	var skewed []byte
	for v := range 20 {
		skewed = append(skewed, bytes.Repeat([]byte{byte(v*12 + 1)}, 1<<v)...)
	}
	r.Shuffle(len(skewed), func(i, j int) { skewed[i], skewed[j] = skewed[j], skewed[i] })
	runs := []byte{}
	for n := 1; n < 600; n++ {
		runs = append(runs, bytes.Repeat([]byte{byte(n)}, n)...)
	}
	blocks := make([]byte, 400_000) // about 160,000 tokens: three blocks
	for i := 0; i < len(blocks); i += 5 {
		blocks[i] = byte(1 + r.IntN(255))
	}
	cases := map[string][]byte{
		"empty":      nil,
		"one zero":   {0},
		"one byte":   {0x40},
		"two bytes":  {0x40, 0x40},
		"three":      {7, 7, 7},
		"four zeros": {0, 0, 0, 0},
		"259 zeros":  make([]byte, 259),
		"260 zeros":  make([]byte, 260),
		"261 zeros":  make([]byte, 261),
		"all 0xff":   bytes.Repeat([]byte{0xff}, 100_000),
		"random":     random,
		"sparse":     sparse,
		"skewed":     skewed,
		"runs":       runs,
		"blocks":     blocks,
	}
	for name, data := range cases {
		z := zlibRLE(data)
		if got := inflate(t, z); !bytes.Equal(got, data) {
			t.Errorf("%s: round trip differs (%d bytes in, %d out)", name, len(data), len(got))
		}
		if !bytes.Equal(z, zlibRLE(data)) {
			t.Errorf("%s: output is not deterministic", name)
		}
	}
}

func TestHuffmanLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		n := 2 + r.IntN(300)
		freq := make([]int, n)
		for i := range freq {
			switch trial % 3 {
			case 0:
				freq[i] = r.IntN(1000)
			case 1:
				freq[i] = 1 << r.IntN(30) // very skewed
			default:
				if r.IntN(4) == 0 {
					freq[i] = 1 + r.IntN(3)
				}
			}
		}
		for _, maxBits := range []int{7, 15} {
			if n > 1<<maxBits {
				continue
			}
			lens := huffmanLengths(freq, maxBits)
			used, kraft := 0, 0.0
			for s, l := range lens {
				if int(l) > maxBits {
					t.Fatalf("length %d > %d", l, maxBits)
				}
				if freq[s] > 0 && l == 0 {
					t.Fatalf("used symbol %d has no code", s)
				}
				if l > 0 {
					used++
					kraft += 1 / float64(uint(1)<<l)
				}
			}
			if used > 0 && kraft != 1 {
				t.Fatalf("trial %d: code is not complete (Kraft sum %v, %d codes)", trial, kraft, used)
			}
		}
	}
}

func TestDecodeListErrors(t *testing.T) {
	good := EncodeList(New(1000))
	if _, err := DecodeList(good, 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeList(good, 996); !errors.Is(err, ErrTooLarge) {
		t.Errorf("limit 996: %v, want ErrTooLarge", err)
	}
	bomb := EncodeList(New(DefaultMaxEntries + 4))
	if len(bomb) > 100_000 {
		t.Fatalf("a 16 MiB zero list compresses to %d bytes", len(bomb))
	}
	if _, err := DecodeList(bomb, 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("16 MiB + 1 byte: %v, want ErrTooLarge", err)
	}
	bad := map[string][]byte{
		"empty":      nil,
		"not zlib":   []byte("hello"),
		"truncated":  good[:len(good)-3],
		"checksum":   append(bytes.Clone(good[:len(good)-1]), good[len(good)-1]^1),
		"trailing":   append(bytes.Clone(good), 0),
		"dictionary": {0x78, 0xbb, 0, 0, 0, 2, 3, 0, 0, 0, 0, 1},
	}
	for name, z := range bad {
		if _, err := DecodeList(z, 0); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}
