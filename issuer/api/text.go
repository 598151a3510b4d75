package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/labstack/echo/v4"
)

// Text reaches the service exactly as it was sent, or not at all. Go's
// encoding/json, like most JSON decoders, replaces invalid UTF-8 and
// unpaired surrogate escapes (\ud800) with U+FFFD and keeps the last of
// duplicate member names: the licence signed would then say something
// other than what the operator sent, with nothing to tell them. So a
// body is first read with jsontext, which refuses all three, and the
// parameters of the path and query are checked for valid UTF-8.

// checkJSONText refuses a body whose text would not decode to exactly
// what it says: invalid UTF-8 or surrogate escapes (400 invalid_utf8) and
// duplicate member names (400 bad_json), naming the field. Syntax errors
// are left to the decoder, which reports them as before.
func checkJSONText(data []byte) error {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	for {
		_, err := dec.ReadToken()
		if err == io.EOF {
			return nil
		}
		if err == nil {
			continue
		}
		var se *jsontext.SyntacticError
		if !errors.As(err, &se) {
			return nil
		}
		ptr := string(se.JSONPointer)
		field := lastToken(se.JSONPointer)
		switch {
		case errors.Is(se.Err, jsontext.ErrDuplicateName):
			return fail(http.StatusBadRequest, "bad_json", field, "member %q appears more than once (at %s)", field, ptr)
		case !utf8.Valid(data) || strings.Contains(se.Err.Error(), "surrogate"):
			if ptr == "" {
				ptr = "/"
			}
			return fail(http.StatusBadRequest, "invalid_utf8", field, "invalid UTF-8 or an unpaired surrogate escape in %s (at byte %d): text is signed as sent, so it must be valid", ptr, se.ByteOffset)
		default:
			return nil // a syntax error: the decoder says which
		}
	}
}

// lastToken is the last reference token of a JSON pointer ("" for the
// whole document).
func lastToken(p jsontext.Pointer) string {
	last := ""
	for tok := range p.Tokens() {
		last = tok
	}
	return last
}

// checkParamText refuses a request whose path or query parameters, as
// the handlers will read them, are not valid UTF-8 (400 invalid_utf8,
// naming the parameter).
func checkParamText(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for i, name := range c.ParamNames() {
			if i >= len(c.ParamValues()) {
				break
			}
			v := c.ParamValues()[i]
			u, err := url.PathUnescape(v)
			if !utf8.ValidString(v) || err == nil && !utf8.ValidString(u) {
				return fail(http.StatusBadRequest, "invalid_utf8", name, "path parameter %q is not valid UTF-8", name)
			}
		}
		if c.Request().URL.RawQuery != "" {
			for k, vs := range c.QueryParams() {
				bad := !utf8.ValidString(k)
				for _, v := range vs {
					bad = bad || !utf8.ValidString(v)
				}
				if bad {
					if !utf8.ValidString(k) {
						k = strings.ToValidUTF8(k, "\uFFFD")
					}
					return fail(http.StatusBadRequest, "invalid_utf8", k, "query parameter %q is not valid UTF-8", k)
				}
			}
		}
		return next(c)
	}
}
