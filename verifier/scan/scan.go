package scan

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // camera photos
	_ "image/png"
	"io"
	"iter"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// ErrNoQR: the image holds no readable QR code.
var ErrNoQR = errors.New("scan: no QR code found in the image")

// MaxLine bounds a scanner line (a QR holds at most 4,296 characters).
const MaxLine = 8 << 10

// Lines yields the non-empty lines read from r (a keyboard-wedge scanner
// types the code and Enter), trimmed of surrounding space and CR.
func Lines(r io.Reader) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 4096), MaxLine)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" && !yield(line, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield("", fmt.Errorf("scan: %w", err))
		}
	}
}

// DecodeImage reads an image (PNG or JPEG) and returns the text of the QR
// code in it.
func DecodeImage(r io.Reader) (string, error) {
	img, _, err := image.Decode(r)
	if err != nil {
		return "", fmt.Errorf("scan: not a PNG or JPEG image: %w", err)
	}
	return Decode(img)
}

// Decode returns the text of the QR code in img. It tries the image as is
// with the hybrid binarizer, then the global-histogram one, and harder
// hints; the detector itself handles rotation and scale. A clean
// axis-aligned image the detector misses is then read as a pure barcode.
func Decode(img image.Image) (text string, err error) {
	defer func() {
		if r := recover(); r != nil { // gozxing on hostile images
			text, err = "", fmt.Errorf("%w (decoder failure: %v)", ErrNoQR, r)
		}
	}()
	src := gozxing.NewLuminanceSourceFromImage(img)
	reader := qrcode.NewQRCodeReader()
	// The finder-pattern detector misses about 1 in 100 clean, axis-aligned
	// renderings (a screenshot, a saved PNG); reading such an image as a
	// pure barcode gets those, so it is the last resort.
	for _, hints := range []map[gozxing.DecodeHintType]any{
		{gozxing.DecodeHintType_TRY_HARDER: true},
		{gozxing.DecodeHintType_PURE_BARCODE: true},
	} {
		for _, bin := range []func(gozxing.LuminanceSource) gozxing.Binarizer{gozxing.NewHybridBinarizer, gozxing.NewGlobalHistgramBinarizer} {
			bmp, err := gozxing.NewBinaryBitmap(bin(src))
			if err != nil {
				continue
			}
			if res, err := reader.Decode(bmp, hints); err == nil {
				return res.GetText(), nil
			}
		}
	}
	return "", ErrNoQR
}
