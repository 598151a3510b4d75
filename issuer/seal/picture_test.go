package seal_test

import (
	"bytes"
	"image/png"
	"testing"

	"elicense/issuer/seal"
)

func TestDrawRoundSeal(t *testing.T) {
	data, err := seal.DrawRoundSeal(256)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 256 || b.Dy() != 256 {
		t.Fatalf("bounds %v", b)
	}
	red := func(x, y int) bool {
		r, g, b, a := img.At(x, y).RGBA()
		return a > 0xf000 && r > 0xb000 && g < 0x4000 && b < 0x4000
	}
	clear := func(x, y int) bool { _, _, _, a := img.At(x, y).RGBA(); return a == 0 }
	// Positions as fractions of the size.
	at := func(fx, fy float64) (int, int) { return int(fx * 256), int(fy * 256) }
	for name, ok := range map[string]bool{
		"centre (star)":         red(at(0.5, 0.5)),
		"star's top point":      red(at(0.5, 0.34)),
		"outer ring, top":       red(at(0.5, 0.02)),
		"outer ring, left":      red(at(0.02, 0.5)),
		"corner":                clear(at(0.01, 0.01)),
		"inside the ring":       clear(at(0.5, 0.1)),
		"between star and band": clear(at(0.5, 0.72)),
	} {
		if !ok {
			t.Errorf("%s", name)
		}
	}
	if _, err := seal.DrawRoundSeal(10); err == nil {
		t.Error("size 10 accepted")
	}
	// Deterministic: the same picture every time.
	a, _ := seal.DrawRoundSeal(64)
	if again, _ := seal.DrawRoundSeal(64); !bytes.Equal(a, again) {
		t.Error("not deterministic")
	}
}
