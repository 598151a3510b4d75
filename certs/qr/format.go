package qr

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"elicense/internal/base45"

	"github.com/fxamacker/cbor/v2"
)

// Prefix starts every token this package makes: format version 2, whose
// core carries its signing time (key 12) and always a status reference. A
// new version gets a new prefix; a verifier refuses prefixes it does not
// know.
const Prefix = "EL2:"

// PrefixV1 starts a token of format version 1, made before cores carried
// a signing time. Decode still reads it; Verify accepts it only under an
// active key within its certificate's validity, or under a compromised key
// whose genuine set lists it (docs/formats.md, migration).
const PrefixV1 = "EL1:"

// Size limits. MaxTokenLen bounds the text a verifier will look at (a
// version-40 QR holds 4,296 alphanumeric characters); MaxPayload bounds
// decompression so a small token cannot expand into a large allocation.
const (
	MaxTokenLen = 4296
	MaxPayload  = 4096
)

// Domain-separation strings prefixed to what each signature covers.
const (
	coreContext         = "elicense/qr/core/v1\x00"
	presentationContext = "elicense/qr/presentation/v1\x00"
)

// core is the issuer-signed part. Integer keys keep it small; the
// numbering is fixed by docs/formats.md and only ever extended.
type core struct {
	ID          licenceRef        `cbor:"1,keyasint"`
	HolderName  string            `cbor:"2,keyasint"`
	HolderCode  string            `cbor:"3,keyasint"`
	ValidFrom   uint32            `cbor:"4,keyasint"`           // days since 1970-01-01, China time
	ValidUntil  uint32            `cbor:"5,keyasint,omitempty"` // absent: 长期
	StatusList  string            `cbor:"6,keyasint,omitempty"`
	StatusIndex uint64            `cbor:"7,keyasint,omitempty"`
	Device      []byte            `cbor:"8,keyasint,omitempty"`  // compressed SM2 point
	Fields      map[uint16]string `cbor:"9,keyasint,omitempty"`  // field number → value
	Root        []byte            `cbor:"10,keyasint"`           // commitment root, first RootSize bytes
	Leaves      uint16            `cbor:"11,keyasint"`           // leaves under Root (≥ 1)
	SignedAt    uint64            `cbor:"12,keyasint,omitempty"` // Unix seconds; required from version 2, absent in 1
}

// licenceRef is the GB/T 36904 identifier without its constant root, its
// issuer code (that of the signing key's agency) and its check character,
// all of which a verifier restores.
type licenceRef struct {
	_        struct{} `cbor:",toarray"`
	TypeCode string
	Serial   string
	Version  uint16
}

// body is what the device signs; for a static token it is all there is.
type body struct {
	_           struct{}     `cbor:",toarray"`
	Core        []byte       // CBOR of core, exactly as the issuer signed it
	KeyID       []byte       // 8-byte issuer key ID
	IssuerSig   []byte       // 64-byte r‖s
	Disclosures []disclosure // committed values shown
	PresentedAt uint64       // Unix seconds; 0 for a static token
}

// disclosure reveals one committed value: leaf data CBOR([field, salt,
// value]) at position Leaf, with its inclusion proof.
type disclosure struct {
	_     struct{} `cbor:",toarray"`
	Field uint16
	Salt  []byte
	Value string
	Leaf  uint16
	Proof [][]byte
}

// leafData is the schema of a leaf; appendLeaf writes it.
type leafData struct {
	_     struct{} `cbor:",toarray"`
	Field uint16
	Salt  []byte
	Value string
}

// appendLeaf appends the CBOR of leafData{field, salt, value}, the bytes
// mustMarshal writes (deterministic encoding, a nil salt as an empty byte
// string), without reflection: Build encodes a leaf per committed field.
func appendLeaf(b []byte, field uint16, salt []byte, value string) []byte {
	b = append(b, 0x83) // array of 3
	b = appendHead(b, 0x00, uint64(field))
	b = appendHead(b, 0x40, uint64(len(salt)))
	b = append(b, salt...)
	b = appendHead(b, 0x60, uint64(len(value)))
	return append(b, value...)
}

// leafBytes is appendLeaf into a buffer of its own.
func leafBytes(field uint16, salt []byte, value string) []byte {
	return appendLeaf(make([]byte, 0, 1+3+9+len(salt)+9+len(value)), field, salt, value)
}

// appendHead appends a CBOR head of major type major (already shifted)
// and argument n in its shortest form.
func appendHead(b []byte, major byte, n uint64) []byte {
	switch {
	case n < 24:
		return append(b, major|byte(n))
	case n <= 0xff:
		return append(b, major|24, byte(n))
	case n <= 0xffff:
		return append(b, major|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(b, major|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, major|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// RootSize is how much of the SM3 commitment root the core carries. 128
// bits keeps a forged disclosure (a second preimage) at 2^128 work while
// saving 16 bytes of a budget where every byte counts; inner nodes and
// proofs stay full SM3.
const RootSize = 16

// credentialField is the field number of leaf 0, which commits to the full
// credential: its value is the hex SM3 of the compact JWS, with no salt.
const credentialField = 0

// fieldNumber is a class field's number in the QR format: its position in
// the catalogue plus one (0 is the credential commitment). The catalogue
// only ever appends fields, so numbers are stable.
func fieldNumber(i int) uint16 { return uint16(i + 1) }

// envelope is what a payload carries: the body and the device signature
// (empty in a static token). Version 1 encodes it as the CBOR array
// [body, deviceSig]; version 2 as the body's CBOR followed by the raw
// 64-byte signature, which saves the array and two byte-string heads: the
// six bytes the core's signing time costs (docs/formats.md).
type envelope struct {
	_         struct{} `cbor:",toarray"`
	Body      []byte
	DeviceSig []byte
}

// payloadOf encodes env as format version v carries it.
func payloadOf(v int, env envelope) []byte {
	if v == 1 {
		return mustMarshal(env)
	}
	return append(append(make([]byte, 0, len(env.Body)+len(env.DeviceSig)), env.Body...), env.DeviceSig...)
}

// parsePayload reverses payloadOf. The body's own encoding is checked
// when it is decoded (Decode).
func parsePayload(v int, payload []byte) (envelope, error) {
	var env envelope
	if v == 1 {
		err := decodeCanonical("envelope", payload, &env)
		return env, err
	}
	var body cbor.RawMessage
	rest, err := decMode.UnmarshalFirst(payload, &body)
	if err != nil {
		return env, errf(ErrMalformed, "body", "%v", err)
	}
	if len(body) == 0 || body[0]>>5 != 4 {
		return env, errf(ErrMalformed, "body", "not a CBOR array")
	}
	env.Body, env.DeviceSig = body, rest
	return env, nil
}

// versionPrefix matches the prefix of any elicense token version.
var versionPrefix = regexp.MustCompile(`^EL[0-9]+[A-Z]*:`)

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	eo := cbor.CoreDetEncOptions()
	eo.NilContainers = cbor.NilContainerAsEmpty
	if encMode, err = eo.EncMode(); err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		MaxNestedLevels:   8,
		MaxArrayElements:  256,
		MaxMapPairs:       64,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// decodeCanonical decodes data into v and insists that data is the one
// deterministic encoding of v, so no two byte strings mean the same token.
func decodeCanonical(what string, data []byte, v any) error {
	if err := decMode.Unmarshal(data, v); err != nil {
		return errf(ErrMalformed, what, "%v", err)
	}
	again, err := encMode.Marshal(v)
	if err != nil || !bytes.Equal(again, data) {
		return errf(ErrMalformed, what, "not in deterministic CBOR encoding")
	}
	return nil
}

// encodeText compresses payload with zlib when that is shorter and wraps
// the result in Base45 behind prefix.
func encodeText(prefix string, payload []byte) string {
	if len(payload) < minCompress {
		return prefix + base45.Encode(payload)
	}
	var z bytes.Buffer
	w := zlibWriters.Get().(*zlib.Writer)
	w.Reset(&z)
	w.Write(payload)
	w.Close()
	zlibWriters.Put(w)
	if z.Len() < len(payload) {
		payload = z.Bytes()
	}
	return prefix + base45.Encode(payload)
}

// minCompress is the smallest payload worth offering to zlib: on the 17
// classes' sample records no default presentation or static token (mostly
// signatures, salts and hashes) came out smaller compressed, while trying
// costs a compressor reset each time; tokens with long texts disclosed do
// shrink.
const minCompress = 512

// zlibWriters reuses compressors: making one allocates about a megabyte,
// which cost more than the rest of encoding a token.
var zlibWriters = sync.Pool{New: func() any {
	w, _ := zlib.NewWriterLevel(nil, zlib.BestCompression)
	return w
}}

// version is the format version of prefix.
func version(prefix string) int {
	if prefix == PrefixV1 {
		return 1
	}
	return 2
}

// prefixOf is the prefix of format version v.
func prefixOf(v int) string {
	if v == 1 {
		return PrefixV1
	}
	return Prefix
}

// decodeText reverses encodeText and returns the format version. A zlib
// stream starts with 0x78; a plain payload with a CBOR array head (0x82
// for a version 1 envelope, 0x85 for a version 2 body).
func decodeText(text string) ([]byte, int, error) {
	if len(text) > MaxTokenLen {
		return nil, 0, errf(ErrMalformed, "", "token is %d characters, more than %d", len(text), MaxTokenLen)
	}
	version := 2
	rest, ok := strings.CutPrefix(text, Prefix)
	if !ok {
		version = 1
		rest, ok = strings.CutPrefix(text, PrefixV1)
	}
	if !ok {
		if m := versionPrefix.FindString(text); m != "" {
			return nil, 0, errf(ErrUnsupportedVersion, "", "prefix %q, this verifier reads %q and %q", m, Prefix, PrefixV1)
		}
		return nil, 0, errf(ErrMalformed, "", "not an elicense QR token (no %q prefix)", Prefix)
	}
	raw, err := decodePayload(rest)
	return raw, version, err
}

// decodePayload decodes the Base45 text after the prefix and inflates it
// when it is a zlib stream.
func decodePayload(rest string) ([]byte, error) {
	raw, err := base45.Decode(rest)
	if err != nil {
		return nil, &Error{Reason: ErrMalformed, Err: err}
	}
	if len(raw) == 0 {
		return nil, errf(ErrMalformed, "", "empty payload")
	}
	if raw[0] != 0x78 {
		return raw, nil
	}
	// A bytes.Reader is an io.ByteReader, so the inflater reads no byte
	// past the stream's checksum and br.Len tells what follows it.
	br := bytes.NewReader(raw)
	zr, err := zlib.NewReader(br)
	if err != nil {
		return nil, errf(ErrMalformed, "", "zlib: %v", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, MaxPayload+1))
	if err == nil {
		err = zr.Close()
	}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, errf(ErrMalformed, "", "zlib: truncated stream")
	case err != nil:
		return nil, errf(ErrMalformed, "", "zlib: %v", err)
	case len(out) > MaxPayload:
		return nil, errf(ErrMalformed, "", "payload inflates past %d bytes", MaxPayload)
	case br.Len() != 0:
		// Bytes the signature does not cover could carry anything.
		return nil, errf(ErrMalformed, "", "zlib: %d bytes after the stream", br.Len())
	}
	return out, nil
}

func mustMarshal(v any) []byte {
	b, err := encMode.Marshal(v)
	if err != nil {
		// Only plain structs of strings, bytes and integers reach here.
		panic(fmt.Sprintf("qr: encoding %T: %v", v, err))
	}
	return b
}
