package seal

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
)

// sealRed is the vermilion of a seal impression (印泥红).
var sealRed = color.NRGBA{R: 0xd7, G: 0x1a, B: 0x1a, A: 0xff}

// DrawRoundSeal draws a simple round red seal as a PNG of size×size pixels
// on a transparent background: a thick outer ring, a thin inner ring, a
// band of short radial marks where a seal carries its text, and a
// five-pointed star in the centre. It has no text: the seal's name and
// holder are in the signed seal data, not in its picture. size must be
// between 64 and 2048.
func DrawRoundSeal(size int) ([]byte, error) {
	if size < 64 || size > 2048 {
		return nil, fmt.Errorf("seal picture size %d px, want 64–2048", size)
	}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	s := float64(size)
	c := s / 2
	outerR := s/2 - s/100   // a small margin
	outerW := s / 28        // thick border
	innerR := outerR - s/14 // thin inner ring
	innerW := s / 160
	markIn, markOut := s*0.25, s*0.36 // radial marks band
	starR := s * 0.19

	// Star vertices: 10 points, alternating outer and inner radius,
	// the first pointing up.
	var star [10][2]float64
	for i := range star {
		r := starR
		if i%2 == 1 {
			r = starR * 0.382
		}
		a := -math.Pi/2 + float64(i)*math.Pi/5
		star[i] = [2]float64{c + r*math.Cos(a), c + r*math.Sin(a)}
	}

	inside := func(x, y float64) bool {
		dx, dy := x-c, y-c
		d := math.Hypot(dx, dy)
		switch {
		case d <= outerR && d >= outerR-outerW:
			return true
		case math.Abs(d-innerR) <= innerW/2:
			return true
		case d >= markIn && d <= markOut:
			// 36 marks, each 3° wide, skipping the top and bottom
			// quarter where a seal's horizontal text would sit.
			ang := math.Atan2(dy, dx)*180/math.Pi + 360
			ang = math.Mod(ang, 360)
			if (ang > 60 && ang < 120) || (ang > 240 && ang < 300) {
				return false
			}
			return math.Mod(ang, 10) < 3
		}
		return inPolygon(star[:], x, y)
	}

	// 4×4 supersampling for smooth edges. Where the four corners of a
	// pixel agree the pixel is taken as uniform (every feature is wider
	// than a pixel from 256 px up), which skips most of the work.
	const ss = 4
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			if size >= 256 {
				x, y := float64(px), float64(py)
				c0 := inside(x, y)
				if c0 == inside(x+1, y) && c0 == inside(x, y+1) && c0 == inside(x+1, y+1) {
					if c0 {
						img.SetNRGBA(px, py, sealRed)
					}
					continue
				}
			}
			n := 0
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					if inside(float64(px)+(float64(sx)+0.5)/ss, float64(py)+(float64(sy)+0.5)/ss) {
						n++
					}
				}
			}
			if n > 0 {
				col := sealRed
				col.A = uint8(n * 255 / (ss * ss))
				img.SetNRGBA(px, py, col)
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// inPolygon is the even-odd rule.
func inPolygon(p [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(p)-1; i < len(p); j, i = i, i+1 {
		xi, yi, xj, yj := p[i][0], p[i][1], p[j][0], p[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// checkPNG requires data to be a PNG image and returns its pixel size.
func checkPNG(data []byte) (w, h int, err error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, 0, fmt.Errorf("seal picture is not a PNG image: %w", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > 4096 || cfg.Height > 4096 {
		return 0, 0, fmt.Errorf("seal picture is %d×%d px, want 1–4096", cfg.Width, cfg.Height)
	}
	return cfg.Width, cfg.Height, nil
}
