package conformance

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"fmt"
	"io"
	"strings"

	"elicense/certs/qr"
	"elicense/internal/base45"
	"elicense/internal/gm"

	"github.com/fxamacker/cbor/v2"
)

// Editing QR texts below the qr package's API: what a forger, a broken
// issuer or a transmission error makes. Every helper re-signs what it
// changes when told to, so that the vector fails for the reason it names.

var detEnc = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

func cborOf(v any) []byte {
	b, err := detEnc.Marshal(v)
	if err != nil {
		panic(err) // only plain values are marshalled
	}
	return b
}

// payloadOf returns the CBOR payload of a token text (inflated).
func payloadOf(text string) ([]byte, error) {
	_, rest, ok := strings.Cut(text, ":")
	if !ok {
		return nil, fmt.Errorf("no prefix")
	}
	raw, err := base45.Decode(rest)
	if err != nil {
		return nil, err
	}
	if len(raw) > 0 && raw[0] == 0x78 {
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	}
	return raw, nil
}

// parts is a version 2 token taken apart.
type parts struct {
	Body   []cbor.RawMessage       // [core bstr, kid, sig, disclosures, presented_at]
	Core   map[int]cbor.RawMessage // decoded core
	Device []byte                  // trailing device signature (may be empty)
}

func split(text string) (*parts, error) {
	p, err := payloadOf(text)
	if err != nil {
		return nil, err
	}
	var out parts
	rest, err := cbor.UnmarshalFirst(p, &out.Body)
	if err != nil {
		return nil, err
	}
	out.Device = rest
	var coreBytes []byte
	if err := cbor.Unmarshal(out.Body[0], &coreBytes); err != nil {
		return nil, err
	}
	if err := cbor.Unmarshal(coreBytes, &out.Core); err != nil {
		return nil, err
	}
	return &out, nil
}

// coreBytes re-encodes the core deterministically.
func (p *parts) coreBytes() []byte { return cborOf(p.Core) }

// signCore re-encodes the core into the body and signs it with key.
func (p *parts) signCore(key crypto.Signer) error {
	cb := p.coreBytes()
	p.Body[0] = cborOf(cb)
	sig, err := gm.SignRS(key, append([]byte("elicense/qr/core/v1\x00"), cb...))
	if err != nil {
		return err
	}
	p.Body[2] = cborOf(sig)
	return nil
}

// text assembles a version 2 text; device, when not nil, signs the body
// anew, else the old device signature (if any) is kept.
func (p *parts) text(device crypto.Signer) (string, error) {
	body := cborOf(p.Body)
	sig := p.Device
	if device != nil {
		var err error
		if sig, err = gm.SignRS(device, append([]byte("elicense/qr/presentation/v1\x00"), body...)); err != nil {
			return "", err
		}
	}
	return qr.Prefix + base45.Encode(append(body, sig...)), nil
}

// textV1 assembles a version 1 text (body and device signature in a
// two-element array) after removing the signing time and re-signing.
func (p *parts) textV1(key crypto.Signer) (string, error) {
	delete(p.Core, 12)
	if err := p.signCore(key); err != nil {
		return "", err
	}
	body := cborOf(p.Body)
	return qr.PrefixV1 + base45.Encode(cborOf([2][]byte{body, p.Device})), nil
}

// rewrite edits the core of text, re-signs it with key and returns a
// static version 2 text (or keeps the device signature when device is
// nil and the token was bound: a stale one).
func rewrite(text string, key crypto.Signer, device crypto.Signer, edit func(*parts)) (string, error) {
	p, err := split(text)
	if err != nil {
		return "", err
	}
	if edit != nil {
		edit(p)
	}
	if key != nil {
		if err := p.signCore(key); err != nil {
			return "", err
		}
	}
	return p.text(device)
}

// rawText wraps payload bytes as a version 2 text.
func rawText(payload []byte) string { return qr.Prefix + base45.Encode(payload) }
