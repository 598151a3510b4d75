package tlog

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"elicense/internal/gm"
)

// SigTypeSM2 is the C2SP signed-note signature type byte of elicense
// signatures. 0xff is the type the spec reserves for algorithms without an
// assigned byte, and it RECOMMENDS following it with a longer identifier;
// that identifier is SM2AlgorithmID.
const SigTypeSM2 = 0xff

// SM2AlgorithmID follows SigTypeSM2 in key IDs and verifier keys: SM2
// signatures (GB/T 32918.2) over SM3(Z_A ‖ note text) with the default user
// ID 1234567812345678, in the fixed 64-byte r‖s form.
const SM2AlgorithmID = "elicense/sm2-sm3"

// sm2KeyPrefix is what precedes the 65-byte public point in the key-ID
// hash and in the verifier key.
const sm2KeyPrefix = "\xff" + SM2AlgorithmID

// Limits on notes this package accepts.
const (
	MaxNoteSize       = 1 << 20
	MaxNoteSignatures = 64
)

// KeyID returns the C2SP key ID of an SM2 key under a key name:
//
//	key ID = SHA-256(key name ‖ 0x0A ‖ 0xff ‖ "elicense/sm2-sm3" ‖ 0x04‖X‖Y)[:4]
//
// read as a big-endian uint32, where 0x04‖X‖Y is the 65-byte uncompressed
// SM2 point. SHA-256 here is the spec's key-ID hash, not a signature hash.
func KeyID(name string, pub *ecdsa.PublicKey) (uint32, error) {
	if err := checkKeyName(name); err != nil {
		return 0, err
	}
	point, err := gm.MarshalPublicKey(pub)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return keyID(name, point), nil
}

func keyID(name string, point []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n'})
	h.Write([]byte(sm2KeyPrefix))
	h.Write(point)
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint32(h.Sum(sum[:0]))
}

// checkKeyName enforces the signed-note rule: non-empty, no Unicode spaces,
// no '+', and (as for all note text) valid UTF-8 without control codes.
func checkKeyName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty key name", ErrBadKey)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: key name is not valid UTF-8", ErrBadKey)
	}
	for _, r := range name {
		if unicode.IsSpace(r) || r == '+' || r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: key name %q contains %q", ErrBadKey, name, r)
		}
	}
	return nil
}

// NoteSigner signs notes with an SM2 crypto.Signer (a file key, an HSM or
// a KMS; see gm.SignerOpts for the contract).
type NoteSigner struct {
	name string
	id   uint32
	key  crypto.Signer
	v    *NoteVerifier
}

// NewNoteSigner returns a signer for key under the key name.
func NewNoteSigner(name string, key crypto.Signer) (*NoteSigner, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: no signer", ErrBadKey)
	}
	pub, ok := key.Public().(*ecdsa.PublicKey)
	if !ok || !gm.IsSM2PublicKey(pub) {
		return nil, fmt.Errorf("%w: signer is not an SM2 key", ErrBadKey)
	}
	v, err := NewNoteVerifier(name, pub)
	if err != nil {
		return nil, err
	}
	return &NoteSigner{name: name, id: v.id, key: key, v: v}, nil
}

// Name is the key name.
func (s *NoteSigner) Name() string { return s.name }

// KeyID is the key ID.
func (s *NoteSigner) KeyID() uint32 { return s.id }

// Verifier returns the matching verifier.
func (s *NoteSigner) Verifier() *NoteVerifier { return s.v }

// Sign returns the 64-byte r‖s SM2 signature of msg.
func (s *NoteSigner) Sign(msg []byte) ([]byte, error) {
	sig, err := gm.SignRS(s.key, msg)
	if err != nil {
		return nil, fmt.Errorf("tlog: signing note: %w", err)
	}
	return sig, nil
}

// NoteVerifier verifies notes signed by one SM2 key.
type NoteVerifier struct {
	name  string
	id    uint32
	pub   *ecdsa.PublicKey
	point []byte
}

// NewNoteVerifier returns the verifier for pub under the key name.
func NewNoteVerifier(name string, pub *ecdsa.PublicKey) (*NoteVerifier, error) {
	if err := checkKeyName(name); err != nil {
		return nil, err
	}
	point, err := gm.MarshalPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return &NoteVerifier{name: name, id: keyID(name, point), pub: pub, point: point}, nil
}

// ParseNoteVerifier parses a verifier key in the form used by
// golang.org/x/mod/sumdb/note and C2SP tooling:
//
//	<name>+<key ID, 8 hex digits>+<base64(0xff ‖ "elicense/sm2-sm3" ‖ 65-byte point)>
//
// and checks that the key ID matches the name and key.
func ParseNoteVerifier(vkey string) (*NoteVerifier, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	idHex, keyB64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: verifier key is not name+id+key", ErrBadKey)
	}
	if len(idHex) != 8 {
		return nil, fmt.Errorf("%w: verifier key ID %q is not 8 hex digits", ErrBadKey, idHex)
	}
	idb, err := hex.DecodeString(idHex)
	if err != nil {
		return nil, fmt.Errorf("%w: verifier key ID %q is not 8 hex digits", ErrBadKey, idHex)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(keyB64)
	if err != nil {
		return nil, fmt.Errorf("%w: verifier key data: %v", ErrBadKey, err)
	}
	point, ok := bytes.CutPrefix(raw, []byte(sm2KeyPrefix))
	if !ok {
		return nil, fmt.Errorf("%w: verifier key is not of type 0xff %q", ErrBadKey, SM2AlgorithmID)
	}
	pub, err := gm.ParsePublicKey(point)
	if err != nil || len(point) != 65 {
		return nil, fmt.Errorf("%w: verifier key point: want a valid 65-byte uncompressed SM2 point", ErrBadKey)
	}
	v, err := NewNoteVerifier(name, pub)
	if err != nil {
		return nil, err
	}
	if want := binary.BigEndian.Uint32(idb); v.id != want {
		return nil, fmt.Errorf("%w: verifier key ID %08x does not match the key (computed %08x)", ErrBadKey, want, v.id)
	}
	return v, nil
}

// String returns the verifier key text (see ParseNoteVerifier).
func (v *NoteVerifier) String() string {
	return fmt.Sprintf("%s+%08x+%s", v.name, v.id, base64.StdEncoding.EncodeToString(append([]byte(sm2KeyPrefix), v.point...)))
}

// Name is the key name.
func (v *NoteVerifier) Name() string { return v.name }

// KeyID is the key ID.
func (v *NoteVerifier) KeyID() uint32 { return v.id }

// PublicKey is the SM2 public key.
func (v *NoteVerifier) PublicKey() *ecdsa.PublicKey { return v.pub }

// Verify checks a 64-byte r‖s signature of msg.
func (v *NoteVerifier) Verify(msg, sig []byte) error {
	if err := gm.VerifyRS(v.pub, msg, sig); err != nil {
		return fmt.Errorf("%w: signature by %s+%08x: %v", ErrBadSignature, v.name, v.id, err)
	}
	return nil
}

// NoteSignature is one signature line of a note.
type NoteSignature struct {
	Name  string
	KeyID uint32
	Sig   []byte // the signature proper, after the 4-byte key ID
}

// Note is a parsed signed note. Text includes its final newline.
type Note struct {
	Text string
	Sigs []NoteSignature
}

// SignNote signs text (which must be valid note text ending in a newline)
// with each signer and returns the signed note.
func SignNote(text string, signers ...*NoteSigner) ([]byte, error) {
	if err := checkNoteText(text); err != nil {
		return nil, err
	}
	if len(signers) == 0 {
		return nil, fmt.Errorf("%w: no signers", ErrBadKey)
	}
	var b bytes.Buffer
	b.WriteString(text)
	b.WriteByte('\n')
	for _, s := range signers {
		sig, err := s.Sign([]byte(text))
		if err != nil {
			return nil, err
		}
		raw := binary.BigEndian.AppendUint32(nil, s.id)
		raw = append(raw, sig...)
		fmt.Fprintf(&b, "\u2014 %s %s\n", s.name, base64.StdEncoding.EncodeToString(raw))
	}
	return b.Bytes(), nil
}

func checkNoteText(text string) error {
	if text == "" || !strings.HasSuffix(text, "\n") {
		return fmt.Errorf("%w: text must be non-empty and end in a newline", ErrMalformedNote)
	}
	return checkNoteChars(text)
}

// checkNoteChars enforces: valid UTF-8, no control characters but newline.
func checkNoteChars(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: not valid UTF-8", ErrMalformedNote)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\n') || c == 0x7f {
			return fmt.Errorf("%w: control character 0x%02x at byte %d", ErrMalformedNote, c, i)
		}
	}
	return nil
}

const sigPrefix = "\u2014 "

// ParseNote splits a signed note into text and signature lines without
// verifying anything. The text is everything up to the last blank line.
func ParseNote(msg []byte) (*Note, error) {
	if len(msg) > MaxNoteSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d allowed", ErrMalformedNote, len(msg), MaxNoteSize)
	}
	s := string(msg)
	if err := checkNoteChars(s); err != nil {
		return nil, err
	}
	split := strings.LastIndex(s, "\n\n")
	if split < 0 {
		return nil, fmt.Errorf("%w: no blank line before the signatures", ErrMalformedNote)
	}
	n := &Note{Text: s[:split+1]}
	sigs := s[split+2:]
	if sigs == "" {
		return nil, fmt.Errorf("%w: no signature lines", ErrMalformedNote)
	}
	if !strings.HasSuffix(sigs, "\n") {
		return nil, fmt.Errorf("%w: last signature line does not end in a newline", ErrMalformedNote)
	}
	for line := range strings.SplitSeq(sigs[:len(sigs)-1], "\n") {
		if len(n.Sigs) == MaxNoteSignatures {
			return nil, fmt.Errorf("%w: more than %d signatures", ErrMalformedNote, MaxNoteSignatures)
		}
		rest, ok := strings.CutPrefix(line, sigPrefix)
		if !ok {
			return nil, fmt.Errorf("%w: signature line %q does not start with an em dash and a space", ErrMalformedNote, line)
		}
		name, b64, ok := strings.Cut(rest, " ")
		if !ok {
			return nil, fmt.Errorf("%w: signature line %q has no space between name and signature", ErrMalformedNote, line)
		}
		if err := checkKeyName(name); err != nil {
			return nil, fmt.Errorf("%w: signature line: %v", ErrMalformedNote, err)
		}
		raw, err := base64.StdEncoding.Strict().DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("%w: signature by %s is not base64: %v", ErrMalformedNote, name, err)
		}
		if base64.StdEncoding.EncodeToString(raw) != b64 {
			return nil, fmt.Errorf("%w: signature by %s is not canonical base64", ErrMalformedNote, name)
		}
		if len(raw) < 5 {
			return nil, fmt.Errorf("%w: signature by %s is %d bytes, too short for a key ID and a signature", ErrMalformedNote, name, len(raw))
		}
		n.Sigs = append(n.Sigs, NoteSignature{Name: name, KeyID: binary.BigEndian.Uint32(raw), Sig: raw[4:]})
	}
	return n, nil
}

// OpenNote parses and verifies a signed note as the C2SP spec requires:
// signatures whose key name and key ID do not both match a verifier are
// ignored; a signature by a known key that fails makes the whole note
// fail (ErrBadSignature); a note with no verified signature by a known key
// fails (ErrNoKnownSignature). It returns the note and the verifiers whose
// signatures verified.
func OpenNote(msg []byte, verifiers ...*NoteVerifier) (*Note, []*NoteVerifier, error) {
	n, err := ParseNote(msg)
	if err != nil {
		return nil, nil, err
	}
	var ok []*NoteVerifier
	for _, s := range n.Sigs {
		for _, v := range verifiers {
			if v == nil || v.name != s.Name || v.id != s.KeyID {
				continue
			}
			if err := v.Verify([]byte(n.Text), s.Sig); err != nil {
				return nil, nil, err
			}
			ok = append(ok, v)
		}
	}
	if len(ok) == 0 {
		names := make([]string, len(n.Sigs))
		for i, s := range n.Sigs {
			names[i] = fmt.Sprintf("%s+%08x", s.Name, s.KeyID)
		}
		return nil, nil, fmt.Errorf("%w: signed by %s", ErrNoKnownSignature, strings.Join(names, ", "))
	}
	return n, ok, nil
}

// IsVerificationError reports whether err is a signature failure (as
// opposed to a malformed note).
func IsVerificationError(err error) bool {
	return errors.Is(err, ErrBadSignature) || errors.Is(err, ErrNoKnownSignature)
}
