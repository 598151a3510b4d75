package api

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"
)

// qr renders a licence's static QR as PNG (default) or SVG, at a whole
// number of pixels per module so large codes stay scannable.
func (a *API) qr(c echo.Context) error {
	rec, err := a.o.Service.Get(operator(c), idParam(c))
	if err != nil {
		return err
	}
	text, err := staticQR(rec)
	if err != nil {
		return fail(http.StatusConflict, "conflict", "", "licence has no QR core: %v", err)
	}
	code, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return err
	}
	switch c.QueryParam("format") {
	case "", "png":
		scale := 4
		if s := c.QueryParam("scale"); s != "" {
			if scale, err = strconv.Atoi(s); err != nil || scale < 1 || scale > 20 {
				return fail(http.StatusBadRequest, "bad_request", "scale", "scale must be 1..20 pixels per module")
			}
		}
		png, err := code.PNG(-scale) // negative: pixels per module
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, "image/png", png)
	case "svg":
		return c.Blob(http.StatusOK, "image/svg+xml", svg(code.Bitmap()))
	default:
		return fail(http.StatusBadRequest, "bad_request", "format", "format must be png or svg")
	}
}

// svg draws a QR bitmap as one path of unit squares.
func svg(bits [][]bool) []byte {
	var b bytes.Buffer
	n := len(bits)
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + strconv.Itoa(n) + " " + strconv.Itoa(n) + `" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="`)
	for y, row := range bits {
		for x, on := range row {
			if on {
				b.WriteString("M" + strconv.Itoa(x) + " " + strconv.Itoa(y) + "h1v1h-1z")
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes()
}
