package jws

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"elicense/internal/gm"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Errors, tested with errors.Is. Every error Parse returns is an *Error
// wrapping one of them.
var (
	// ErrMalformed: not a compact JWS, bad base64url, a header that is not
	// a JSON object, a duplicate member or a missing kid.
	ErrMalformed = errors.New("jws: malformed")
	// ErrAlgorithm: the header's alg is not the expected one.
	ErrAlgorithm = errors.New("jws: unexpected algorithm")
	// ErrType: the header's typ is not the expected one.
	ErrType = errors.New("jws: unexpected type")
	// ErrCritical: the header has a "crit" member.
	ErrCritical = errors.New("jws: critical header extensions are not supported")
	// ErrSignatureSize: the signature decodes, but not to the size the
	// algorithm gives. It is kept apart from ErrMalformed because every
	// format reports it as a bad signature, as a failed verification of
	// that signature would.
	ErrSignatureSize = errors.New("jws: signature of the wrong size")
)

// Error says which part of the token is wrong and why.
type Error struct {
	Part   string // "token", "header", "alg", "typ", "kid", "crit", "x5c", "payload" or "signature"
	Reason error  // one of the Err values above
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("%v (%s)", e.Reason, e.Part)
	}
	return fmt.Sprintf("%v: %s: %s", e.Reason, e.Part, e.Detail)
}

// Unwrap makes errors.Is(err, ErrMalformed) and the others work.
func (e *Error) Unwrap() error { return e.Reason }

func errf(reason error, part, format string, args ...any) error {
	return &Error{Part: part, Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// MaxLen bounds the token text Parse looks at, before any decoding. The
// largest elicense token is a status list of 64 Mi entries.
const MaxLen = 96 << 20

// Expect says what the caller accepts.
type Expect struct {
	Typ        string // required value of typ (exact match)
	Alg        string // required value of alg; "" means gm.AlgSM2SM3
	RequireKid bool   // a non-empty kid must be present
	AllowX5c   bool   // an x5c member is allowed (and returned); otherwise it is refused
}

// Header is the part of a protected header elicense reads.
type Header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid,omitempty"`
	// X5c is the certificate chain of the x5c member, DER, signer first;
	// nil when there is none. Parse checks only that each is standard
	// base64 (RFC 7515 §4.1.6); the caller parses and verifies them.
	X5c [][]byte `json:"x5c,omitempty"`
}

// Token is a compact JWS taken apart; nothing in it is verified yet. A
// caller may keep its slices but must not modify them: Payload and
// Signature share one buffer.
type Token struct {
	Header Header
	// SigningInput is "header.payload" exactly as it appeared: the bytes
	// the signature covers. It is a []byte because that is what signature
	// verification takes.
	SigningInput []byte
	Payload      []byte
	Signature    []byte
}

// wireHeader decodes the members Parse looks at. Crit is kept raw so that
// any value, even null or an empty array, is seen and refused. A missing
// kid and an empty one are alike to Parse, so Kid needs no pointer.
type wireHeader struct {
	Alg  string         `json:"alg"`
	Typ  string         `json:"typ"`
	Kid  string         `json:"kid"`
	X5c  []string       `json:"x5c"`
	Crit jsontext.Value `json:"crit"`
	_    struct{}       `json:"-"`
}

// The strict encodings, made once: Strict returns a new Encoding each
// call.
var (
	rawURL = base64.RawURLEncoding.Strict()
	std    = base64.StdEncoding.Strict()
)

// signatureSize is the size of a signature for each algorithm this
// package knows.
func signatureSize(alg string) int {
	if alg == gm.AlgSM2SM3 {
		return gm.SignatureSize
	}
	return -1
}

// Parse takes token apart and checks its form against want.
//
// Credential verification at a counter runs through here, so Parse copies
// the signing input once (signature verification needs it as a []byte) and
// decodes the three parts into one buffer rather than allocating for each.
func Parse(token string, want Expect) (*Token, error) {
	alg := want.Alg
	if alg == "" {
		alg = gm.AlgSM2SM3
	}
	if len(token) > MaxLen {
		return nil, errf(ErrMalformed, "token", "%d bytes, more than %d", len(token), MaxLen)
	}
	h64, rest, ok := strings.Cut(token, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(s64, ".") {
		return nil, errf(ErrMalformed, "token", "not a compact JWS (want three base64url parts)")
	}
	dh, dp := rawURL.DecodedLen(len(h64)), rawURL.DecodedLen(len(p64))
	buf := make([]byte, dh+dp+rawURL.DecodedLen(len(s64)))
	hb, err := decode(buf[:dh:dh], []byte(h64))
	if err != nil {
		return nil, errf(ErrMalformed, "header", "base64url: %v", err)
	}
	t := new(Token)
	if err := readHeader(&t.Header, hb, alg, want); err != nil {
		return nil, err
	}
	t.SigningInput = []byte(token[:len(h64)+1+len(p64)])
	if t.Payload, err = decode(buf[dh:dh+dp:dh+dp], t.SigningInput[len(h64)+1:]); err != nil {
		return nil, errf(ErrMalformed, "payload", "base64url: %v", err)
	}
	if t.Signature, err = decode(buf[dh+dp:], []byte(s64)); err != nil {
		return nil, errf(ErrMalformed, "signature", "base64url: %v", err)
	}
	if n := signatureSize(alg); n >= 0 && len(t.Signature) != n {
		return nil, errf(ErrSignatureSize, "signature", "%d bytes, want %d", len(t.Signature), n)
	}
	return t, nil
}

// decode decodes the base64url src into dst, which has room for it.
// Go's strict decoders still skip CR and LF; a token's parts hold
// neither, or one token would have many spellings.
func decode(dst, src []byte) ([]byte, error) {
	if i := bytes.IndexAny(src, "\r\n"); i >= 0 {
		return dst[:0], fmt.Errorf("illegal line break at input byte %d", i)
	}
	n, err := rawURL.Decode(dst, src)
	return dst[:n], err
}

// readHeader decodes the JSON header hb into h and checks it against alg
// and want.
func readHeader(h *Header, hb []byte, alg string, want Expect) error {
	var wh wireHeader
	if err := jsonv2.Unmarshal(hb, &wh); err != nil {
		return errf(ErrMalformed, "header", "%v", err)
	}
	switch {
	case wh.Crit != nil:
		return &Error{Part: "crit", Reason: ErrCritical}
	case wh.Alg != alg:
		return errf(ErrAlgorithm, "alg", "%q, want %q", wh.Alg, alg)
	case wh.Typ != want.Typ:
		return errf(ErrType, "typ", "%q, want %q", wh.Typ, want.Typ)
	case want.RequireKid && wh.Kid == "":
		return errf(ErrMalformed, "kid", "missing")
	case wh.X5c != nil && !want.AllowX5c:
		return errf(ErrMalformed, "x5c", "not allowed in this token")
	}
	*h = Header{Alg: wh.Alg, Typ: wh.Typ, Kid: wh.Kid}
	if wh.X5c != nil {
		h.X5c = make([][]byte, len(wh.X5c))
		for i, c := range wh.X5c {
			if strings.ContainsAny(c, "\r\n") {
				return errf(ErrMalformed, "x5c", "certificate %d: a line break in its base64", i)
			}
			der, err := std.DecodeString(c)
			if err != nil {
				return errf(ErrMalformed, "x5c", "certificate %d: %v", i, err)
			}
			h.X5c[i] = der
		}
	}
	return nil
}
