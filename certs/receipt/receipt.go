package receipt

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"elicense/certs/ident"
	"elicense/internal/gm"
)

// Sizes and limits of the format.
const (
	// IDSize is the number of random bytes of a receipt id.
	IDSize = 16
	// MaxBatch is the most receipts one upload may carry.
	MaxBatch = 1000
	// DeviceKeySize is the compressed SM2 point of a bound copy.
	DeviceKeySize = 33
	// maxLicenceID bounds a licence identifier inside the plaintext.
	maxLicenceID = 128
	// maxCiphertext bounds the sealed licence, base64url, well above the
	// largest plaintext's ciphertext.
	maxCiphertext = 1024
	// maxVerdict bounds a verdict code.
	maxVerdict = 32
	// MaxBatchBytes bounds an upload body.
	MaxBatchBytes = MaxBatch * 2048
)

// plaintextPrefix starts every sealed plaintext (the format's version).
const plaintextPrefix = "elicense/receipt/v1"

// ErrMalformed is matched by every parsing error (an *Error).
var ErrMalformed = errors.New("receipt: malformed")

// ErrOpen means a sealed licence does not decrypt under the receipt key.
var ErrOpen = errors.New("receipt: licence does not decrypt under the receipt key")

// Error is a malformed receipt, batch or plaintext: Field names the JSON
// member (e.g. "receipts[3].id"), Reason what is wrong with it.
type Error struct {
	Field  string
	Reason string
}

func (e *Error) Error() string { return "receipt: " + e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrMalformed) hold.
func (e *Error) Is(target error) bool { return target == ErrMalformed }

func bad(field, format string, args ...any) error {
	return &Error{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Receipt is one counter verification, as uploaded.
type Receipt struct {
	// ID is IDSize random bytes, unpadded base64url; the server takes
	// each id once (uploads are idempotent).
	ID string `json:"id"`
	// At is when the counter verified, Unix seconds.
	At int64 `json:"at"`
	// Verdict is the counter's verdict code (VALID, VALID_STATIC,
	// REVOKED, …).
	Verdict string `json:"verdict"`
	// Licence is the sealed licence (Seal), unpadded base64url.
	Licence string `json:"licence"`
}

// New makes a receipt of a verification at at with verdict, sealing the
// licence identifier and device key (33-byte compressed point, nil for a
// static QR) to the receipt key pub.
func New(pub *ecdsa.PublicKey, at time.Time, verdict, licenceID string, deviceKey []byte) (Receipt, error) {
	var id [IDSize]byte
	if _, err := io.ReadFull(rand.Reader, id[:]); err != nil {
		return Receipt{}, err
	}
	ct, err := Seal(pub, licenceID, deviceKey)
	if err != nil {
		return Receipt{}, err
	}
	r := Receipt{ID: base64.RawURLEncoding.EncodeToString(id[:]), At: at.Unix(), Verdict: verdict,
		Licence: base64.RawURLEncoding.EncodeToString(ct)}
	if err := r.Validate(); err != nil {
		return Receipt{}, err
	}
	return r, nil
}

// The times a receipt may carry: from 2000 to 2200, within what the
// ledger's events encode (years 1678–2262).
const (
	MinAt = 946684800  // 2000-01-01T00:00:00Z
	MaxAt = 7258118400 // 2200-01-01T00:00:00Z
)

// Validate checks every member of r: an id of IDSize bytes in canonical
// unpadded base64url, a time from MinAt to MaxAt, a verdict of 1 to 32 of A–Z and _,
// and a licence of canonical unpadded base64url of plausible size. It
// cannot check the licence's content (only the receipt key can).
func (r Receipt) Validate() error { return r.validate("") }

func (r Receipt) validate(prefix string) error {
	id, err := decodeB64(r.ID)
	switch {
	case err != nil:
		return bad(prefix+"id", "not unpadded base64url: %v", err)
	case len(id) != IDSize:
		return bad(prefix+"id", "%d bytes, want %d", len(id), IDSize)
	case r.At < MinAt || r.At > MaxAt:
		return bad(prefix+"at", "%d is not a Unix time in seconds from 2000 to 2200", r.At)
	case !validVerdict(r.Verdict):
		return bad(prefix+"verdict", "%q is not 1 to %d of A-Z and _", r.Verdict, maxVerdict)
	case len(r.Licence) > maxCiphertext:
		return bad(prefix+"licence", "%d characters, at most %d", len(r.Licence), maxCiphertext)
	}
	ct, err := decodeB64(r.Licence)
	if err != nil {
		return bad(prefix+"licence", "not unpadded base64url: %v", err)
	}
	if len(ct) < 2+2*33+2+gm.SM3Size+2 {
		return bad(prefix+"licence", "%d bytes, too short for an SM2 ciphertext", len(ct))
	}
	return nil
}

// Time returns At as a time.
func (r Receipt) Time() time.Time { return time.Unix(r.At, 0) }

// decodeB64 decodes canonical unpadded base64url (no padding, no stray
// bits, no line breaks).
func decodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

func validVerdict(s string) bool {
	if len(s) == 0 || len(s) > maxVerdict {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'A' || c > 'Z') && c != '_' {
			return false
		}
	}
	return true
}

// Licence is what a sealed licence holds.
type Licence struct {
	// ID is the licence identifier (GB/T 36904).
	ID string
	// DeviceKey is the copy's device key, a 33-byte compressed SM2 point;
	// nil for a static QR.
	DeviceKey []byte
}

// Seal encrypts the licence identifier and device key (nil for a static
// QR) to the receipt key pub: SM2 (GB/T 32918.4, ASN.1 C1C3C2) over
// "elicense/receipt/v1" 0x00 ‖ licence id ‖ 0x00 ‖ device key.
func Seal(pub *ecdsa.PublicKey, licenceID string, deviceKey []byte) ([]byte, error) {
	pt, err := Licence{ID: licenceID, DeviceKey: deviceKey}.marshal()
	if err != nil {
		return nil, err
	}
	return gm.EncryptSM2(pub, pt)
}

// Open decrypts a sealed licence with the receipt key and parses it. A
// ciphertext that does not decrypt gives ErrOpen; a plaintext that does
// not parse, an *Error (ErrMalformed).
func Open(priv *gm.PrivateKey, ct []byte) (Licence, error) {
	pt, err := gm.DecryptSM2(priv, ct)
	if err != nil {
		return Licence{}, ErrOpen
	}
	return parsePlaintext(pt)
}

// OpenString is Open of a receipt's licence member (base64url).
func OpenString(priv *gm.PrivateKey, licence string) (Licence, error) {
	ct, err := decodeB64(licence)
	if err != nil {
		return Licence{}, bad("licence", "not unpadded base64url: %v", err)
	}
	return Open(priv, ct)
}

func (l Licence) marshal() ([]byte, error) {
	if err := checkLicenceID(l.ID); err != nil {
		return nil, err
	}
	if l.DeviceKey != nil {
		if _, err := gm.ParsePublicKey(l.DeviceKey); err != nil || len(l.DeviceKey) != DeviceKeySize {
			return nil, bad("device_key", "not a 33-byte compressed SM2 point")
		}
	}
	out := make([]byte, 0, len(plaintextPrefix)+2+len(l.ID)+len(l.DeviceKey))
	out = append(out, plaintextPrefix...)
	out = append(out, 0)
	out = append(out, l.ID...)
	out = append(out, 0)
	return append(out, l.DeviceKey...), nil
}

// parsePlaintext reads "elicense/receipt/v1" 0x00 ‖ id ‖ 0x00 ‖ [key].
func parsePlaintext(pt []byte) (Licence, error) {
	rest, ok := bytes.CutPrefix(pt, []byte(plaintextPrefix+"\x00"))
	if !ok {
		return Licence{}, bad("licence", "plaintext does not start with %q and a zero byte", plaintextPrefix)
	}
	id, key, ok := bytes.Cut(rest, []byte{0})
	if !ok {
		return Licence{}, bad("licence", "no zero byte after the licence identifier")
	}
	if err := checkLicenceID(string(id)); err != nil {
		return Licence{}, err
	}
	l := Licence{ID: string(id)}
	switch len(key) {
	case 0:
	case DeviceKeySize:
		if _, err := gm.ParsePublicKey(key); err != nil {
			return Licence{}, bad("device_key", "not a compressed SM2 point on the curve")
		}
		l.DeviceKey = bytes.Clone(key)
	default:
		return Licence{}, bad("device_key", "%d bytes, want %d or none", len(key), DeviceKeySize)
	}
	return l, nil
}

func checkLicenceID(id string) error {
	if len(id) == 0 || len(id) > maxLicenceID || !utf8.ValidString(id) {
		return bad("licence_id", "%d bytes, want 1 to %d of UTF-8", len(id), maxLicenceID)
	}
	if err := ident.ValidateLicenseID(id); err != nil {
		return bad("licence_id", "%v", err)
	}
	return nil
}

// Batch is the body of POST /v1/receipts.
type Batch struct {
	Receipts []Receipt `json:"receipts"`
}

// Answer is the server's answer to a batch: receipts recorded, receipt ids
// already taken (a repeated upload), and receipts whose licence the
// platform does not hold (counted and dropped).
type Answer struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Unknown    int `json:"unknown"`
}

// Total is the number of receipts the answer accounts for.
func (a Answer) Total() int { return a.Accepted + a.Duplicates + a.Unknown }

// ParseBatch reads an upload body strictly: one JSON object with exactly
// the member "receipts", an array of 1 to MaxBatch receipts each with
// exactly the four members and valid (Receipt.Validate), no id twice, no
// duplicate or unknown member anywhere, nothing after the object.
func ParseBatch(data []byte) (*Batch, error) {
	if len(data) > MaxBatchBytes {
		return nil, bad("receipts", "body of %d bytes, at most %d", len(data), MaxBatchBytes)
	}
	if !utf8.Valid(data) {
		return nil, bad("receipts", "body is not UTF-8")
	}
	raw, err := object(data, "", "receipts")
	if err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw["receipts"], &items); err != nil || items == nil {
		return nil, bad("receipts", "not an array")
	}
	if len(items) == 0 || len(items) > MaxBatch {
		return nil, bad("receipts", "%d receipts, want 1 to %d", len(items), MaxBatch)
	}
	b := &Batch{Receipts: make([]Receipt, len(items))}
	seen := make(map[string]bool, len(items))
	for i, it := range items {
		where := fmt.Sprintf("receipts[%d].", i)
		r, err := parseReceipt(it, where)
		if err != nil {
			return nil, err
		}
		if seen[r.ID] {
			return nil, bad(where+"id", "id %s twice in the batch", r.ID)
		}
		seen[r.ID] = true
		b.Receipts[i] = r
	}
	return b, nil
}

// ParseReceipt reads one receipt object strictly (as in a batch).
func ParseReceipt(data []byte) (Receipt, error) { return parseReceipt(data, "") }

func parseReceipt(data []byte, where string) (Receipt, error) {
	raw, err := object(data, where, "id", "at", "verdict", "licence")
	if err != nil {
		return Receipt{}, err
	}
	var r Receipt
	for _, m := range []struct {
		name string
		dst  any
	}{{"id", &r.ID}, {"at", &r.At}, {"verdict", &r.Verdict}, {"licence", &r.Licence}} {
		if err := json.Unmarshal(raw[m.name], m.dst); err != nil || bytes.Equal(raw[m.name], []byte("null")) {
			return Receipt{}, bad(where+m.name, "wrong type (%s)", truncate(raw[m.name]))
		}
	}
	if err := r.validate(where); err != nil {
		return Receipt{}, err
	}
	return r, nil
}

// object decodes a JSON object with exactly the members want, each once.
func object(data []byte, where string, want ...string) (map[string]json.RawMessage, error) {
	name := where
	if name == "" {
		name = "(body)"
	} else {
		name = name[:len(name)-1]
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, bad(name, "not a JSON object")
	}
	out := make(map[string]json.RawMessage, len(want))
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, bad(name, "not a JSON object: %v", err)
		}
		key, _ := k.(string)
		known := false
		for _, w := range want {
			known = known || w == key
		}
		if !known {
			return nil, bad(where+key, "unknown member")
		}
		if _, dup := out[key]; dup {
			return nil, bad(where+key, "member twice")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, bad(where+key, "not JSON: %v", err)
		}
		out[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad(name, "not a JSON object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad(name, "data after the object")
	}
	for _, w := range want {
		if _, ok := out[w]; !ok {
			return nil, bad(where+w, "missing")
		}
	}
	return out, nil
}

func truncate(b []byte) string {
	if len(b) > 20 {
		return string(b[:20]) + "…"
	}
	return string(b)
}
