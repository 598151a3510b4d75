package credential

import (
	"encoding/base64"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"elicense/internal/gm"
)

// The compact JWS is assembled by hand rather than by golang-jwt's
// SignedString: encoding/json's reflection, map sorting and the header map
// cost about a fifth of signing a credential. The bytes are exactly those
// golang-jwt with encoding/json writes (header keys sorted, claims in
// struct order, strings escaped as encoding/json does with HTML escaping);
// TestEncodeMatchesJWT holds the two together.

// appendSigningInput appends base64url(header) "." base64url(payload).
func appendSigningInput(dst []byte, c *claims, kid string) []byte {
	buf := make([]byte, 0, 4096) // on the stack; a larger credential spills to the heap
	buf = appendHeader(buf, kid)
	dst = appendBase64(dst, buf)
	dst = append(dst, '.')
	buf = appendPayload(buf[:0], c)
	return appendBase64(dst, buf)
}

func appendBase64(dst, src []byte) []byte {
	return base64.RawURLEncoding.AppendEncode(dst, src)
}

// appendHeader is json.Marshal of golang-jwt's header map, keys sorted.
func appendHeader(b []byte, kid string) []byte {
	b = append(b, `{"alg":`...)
	b = appendString(b, gm.AlgSM2SM3)
	b = append(b, `,"kid":`...)
	b = appendString(b, kid)
	b = append(b, `,"typ":`...)
	b = appendString(b, TokenType)
	return append(b, '}')
}

// appendPayload is json.Marshal(c): the registered claims as
// jwt.RegisteredClaims writes them (all omitempty, aud never set), then
// lic, cnf and status.
func appendPayload(b []byte, c *claims) []byte {
	b = append(b, '{')
	first := true
	key := func(k string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
	}
	r := &c.RegisteredClaims
	if r.Issuer != "" {
		key("iss")
		b = appendString(b, r.Issuer)
	}
	if r.Subject != "" {
		key("sub")
		b = appendString(b, r.Subject)
	}
	if r.ExpiresAt != nil {
		key("exp")
		b = appendNumericDate(b, r.ExpiresAt.Time)
	}
	if r.NotBefore != nil {
		key("nbf")
		b = appendNumericDate(b, r.NotBefore.Time)
	}
	if r.IssuedAt != nil {
		key("iat")
		b = appendNumericDate(b, r.IssuedAt.Time)
	}
	if r.ID != "" {
		key("jti")
		b = appendString(b, r.ID)
	}
	key("lic")
	b = appendLic(b, &c.Lic)
	if c.Cnf != nil {
		key("cnf")
		j := &c.Cnf.JWK
		b = append(b, `{"jwk":{"kty":`...)
		b = appendString(b, j.Kty)
		b = append(b, `,"crv":`...)
		b = appendString(b, j.Crv)
		b = append(b, `,"x":`...)
		b = appendString(b, j.X)
		b = append(b, `,"y":`...)
		b = appendString(b, j.Y)
		b = append(b, "}}"...)
	}
	if c.Status != nil {
		key("status")
		s := &c.Status.StatusList
		b = append(b, `{"status_list":{"uri":`...)
		b = appendString(b, s.URI)
		b = append(b, `,"idx":`...)
		b = strconv.AppendUint(b, s.Index, 10)
		b = append(b, "}}"...)
	}
	return append(b, '}')
}

func appendLic(b []byte, l *licClaim) []byte {
	b = append(b, `{"class":`...)
	b = appendString(b, l.Class)
	b = append(b, `,"type_code":`...)
	b = appendString(b, l.TypeCode)
	b = append(b, `,"name":`...)
	b = appendString(b, l.Name)
	if l.Number != "" {
		b = append(b, `,"number":`...)
		b = appendString(b, l.Number)
	}
	b = append(b, `,"issuer_name":`...)
	b = appendString(b, l.IssuerName)
	b = append(b, `,"issued_on":`...)
	b = appendString(b, l.IssuedOn)
	b = append(b, `,"holder_name":`...)
	b = appendString(b, l.HolderName)
	b = append(b, `,"holder_code_type":`...)
	b = appendString(b, string(l.HolderCodeType))
	b = append(b, `,"valid_from":`...)
	b = appendString(b, l.ValidFrom)
	b = append(b, `,"valid_until":`...)
	b = appendString(b, l.ValidUntil)
	b = append(b, `,"fields":`...)
	b = appendFields(b, l.Fields)
	if l.Seal != "" {
		b = append(b, `,"seal":`...)
		b = appendString(b, l.Seal)
	}
	return append(b, '}')
}

// AppendFieldsJSON appends the JSON a signed credential's payload
// carries for these licence fields (the value of "fields" in the "lic"
// claim), byte for byte: a store that keeps the fields anyway can leave
// them out of the stored payload and put them back exactly.
func AppendFieldsJSON(b []byte, fields map[string]string) []byte { return appendFields(b, fields) }

// appendFields writes the map with its keys in byte order, as
// encoding/json sorts string keys; a nil map is null.
func appendFields(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	var arr [32]string // a class has a few dozen fields at most; stays on the stack
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// appendNumericDate is jwt.NumericDate's encoding at its default
// whole-second precision (jwt.TimePrecision; elicense never changes it):
// Unix seconds as an integer.
func appendNumericDate(b []byte, t time.Time) []byte {
	return strconv.AppendInt(b, t.Truncate(time.Second).Unix(), 10)
}

// appendString quotes s as encoding/json does with HTML escaping on (its
// appendString): ", \ and control characters escaped, <, > and &
// as \u003c, \u003e, \u0026, U+2028 and U+2029 as \u2028 and \u2029, and
// each byte of invalid UTF-8 as \ufffd.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
