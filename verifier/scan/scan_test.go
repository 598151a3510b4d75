package scan

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

// sample is a realistic token length (a default presentation is 450–600
// characters of the QR alphanumeric set).
var sample = "EL1:" + strings.Repeat("6BFOXN*TS0BI$ZD", 36)

// render draws text as a QR code at px pixels per module, with a quiet zone.
func render(t testing.TB, text string, px int) *image.Gray {
	t.Helper()
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	bm := q.Bitmap() // includes the quiet zone
	n := len(bm)
	img := image.NewGray(image.Rect(0, 0, n*px, n*px))
	for y := range n * px {
		for x := range n * px {
			c := uint8(255)
			if bm[y/px][x/px] {
				c = 0
			}
			img.Pix[y*img.Stride+x] = c
		}
	}
	return img
}

// transform scales by s and rotates by deg about the centre, onto a
// canvas of w×h grey, bilinear sampling.
func transform(src *image.Gray, s, deg float64, w, h int) *image.Gray {
	dst := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), &image.Uniform{color.Gray{200}}, image.Point{}, draw.Src)
	sin, cos := math.Sincos(deg * math.Pi / 180)
	cx, cy := float64(src.Bounds().Dx())/2, float64(src.Bounds().Dy())/2
	for y := range h {
		for x := range w {
			dx, dy := (float64(x)-float64(w)/2)/s, (float64(y)-float64(h)/2)/s
			sx, sy := cos*dx+sin*dy+cx, -sin*dx+cos*dy+cy
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			if x0 < 0 || y0 < 0 || x0+1 >= src.Bounds().Dx() || y0+1 >= src.Bounds().Dy() {
				continue
			}
			fx, fy := sx-float64(x0), sy-float64(y0)
			p := func(x, y int) float64 { return float64(src.Pix[y*src.Stride+x]) }
			v := p(x0, y0)*(1-fx)*(1-fy) + p(x0+1, y0)*fx*(1-fy) + p(x0, y0+1)*(1-fx)*fy + p(x0+1, y0+1)*fx*fy
			dst.Pix[y*dst.Stride+x] = uint8(v)
		}
	}
	return dst
}

func noise(img *image.Gray, sigma float64, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 1))
	for i, p := range img.Pix {
		img.Pix[i] = uint8(max(0, min(255, float64(p)+r.NormFloat64()*sigma)))
	}
}

func TestDecodeTransformed(t *testing.T) {
	base := render(t, sample, 4)
	for _, tc := range []struct {
		name       string
		scale, deg float64
		sigma      float64
	}{
		{"as rendered", 1, 0, 0},
		{"scaled down 0.8", 0.8, 0, 0},
		{"scaled up 1.7", 1.7, 0, 0},
		{"rotated 90", 1, 90, 0},
		{"rotated 17", 1.2, 17, 0},
		{"rotated -33", 1.2, -33, 0},
		{"noise", 1.1, 0, 25},
		{"rotated, scaled and noisy", 1.3, 12, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			side := int(float64(base.Bounds().Dx())*tc.scale*1.5) + 40
			img := transform(base, tc.scale, tc.deg, side, side)
			if tc.sigma > 0 {
				noise(img, tc.sigma, 7)
			}
			var buf bytes.Buffer
			if err := png.Encode(&buf, img); err != nil {
				t.Fatal(err)
			}
			got, err := DecodeImage(&buf)
			if err != nil || got != sample {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

func TestDecodeJPEG(t *testing.T) {
	img := transform(render(t, sample, 4), 1.25, 5, 1280, 720)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70}); err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeImage(&buf); err != nil || got != sample {
		t.Fatalf("got %q, %v", got, err)
	}
}

// TestDecodeCleanRenderings reads 300 clean, axis-aligned QR images of
// random licence-sized payloads, as a counter gets from a screenshot or a
// saved PNG. gozxing's finder-pattern detector alone missed 4 of them.
func TestDecodeCleanRenderings(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'e', 'l', 'i', 'c'}))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range 300 {
		b := make([]byte, 270)
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		text := "EL1:" + string(b)
		if got, err := Decode(render(t, text, 4)); err != nil || got != text {
			t.Errorf("payload %d: got %q, %v", i, got, err)
		}
	}
}

func TestNoQR(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 640, 480))
	noise(img, 60, 3)
	var buf bytes.Buffer
	png.Encode(&buf, img)
	if _, err := DecodeImage(&buf); !errors.Is(err, ErrNoQR) {
		t.Fatalf("noise: %v", err)
	}
	if _, err := DecodeImage(strings.NewReader("not an image")); err == nil || errors.Is(err, ErrNoQR) {
		t.Fatalf("not an image: %v", err)
	}
}

func TestLines(t *testing.T) {
	var got []string
	for l, err := range Lines(strings.NewReader("EL1:A\r\n\n  EL1:B  \nEL1:C")) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, l)
	}
	if strings.Join(got, ",") != "EL1:A,EL1:B,EL1:C" {
		t.Fatal(got)
	}
}

// BenchmarkDecode720p decodes a QR in a 1280×720 camera-like frame.
func BenchmarkDecode720p(b *testing.B) {
	img := transform(render(b, sample, 4), 1.3, 8, 1280, 720)
	noise(img, 10, 5)
	b.ResetTimer()
	for b.Loop() {
		if got, err := Decode(img); err != nil || got != sample {
			b.Fatal(err)
		}
	}
}
