package boltstate

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	json "github.com/go-json-experiment/json"
	bolt "go.etcd.io/bbolt"

	"elicense/certs/credential"
	"elicense/certs/qr"
	"elicense/issuer/state"
)

// A licence's signed credential and QR core never change after issuance
// and are most of its bytes. They are kept apart from the record (a
// status change rewrites only the small record) in the credentials
// bucket under the issuance's ledger index, in one of two layouts:
//
//   - 2, compact: the JWS's three parts base64-decoded, then the QR core,
//     its key ID and signature, and each optional field's key, number and
//     salt; the credential's digest and the optional fields' values are
//     the record's (CredentialHash, Fields), stored again only where they
//     differ, so that two credentials share a 4 KB page where one did.
//   - 3, compact without fields: layout 2, but the payload is stored
//     without the licence fields' JSON, which the record holds anyway
//     (a large part of it): after the header, the
//     offset where it was cut out, then the rest of the payload. Reading
//     puts back credential.AppendFieldsJSON of the record's fields, the
//     very bytes the payload held. Used whenever the payload holds them
//     exactly once (always, for a credential this issuer signs).
//   - 1, verbatim: the credential, then the QR core's JSON; used when a
//     credential does not survive the round trip through the compact form
//     (never for one this issuer signs).
//
// Every length is a uvarint.
const (
	blobVerbatim  = 1
	blobCompact   = 2
	blobFieldsCut = 3
)

// fieldsSpan returns the bytes a credential payload carries for fields
// ("fields": and their JSON), and where they start in payload, or -1 if
// payload does not hold them exactly once.
func fieldsSpan(payload []byte, fields map[string]string) ([]byte, int) {
	if fields == nil {
		return nil, -1
	}
	span := credential.AppendFieldsJSON(append(make([]byte, 0, 1024), `"fields":`...), fields)
	// Look for the short key and compare the rest: searching for the whole
	// kilobyte-long span is slow on every issuance.
	key := span[:len(`"fields":`)]
	at := -1
	for off := 0; ; {
		i := bytes.Index(payload[off:], key)
		if i < 0 {
			break
		}
		if bytes.HasPrefix(payload[off+i:], span) {
			if at >= 0 {
				return nil, -1
			}
			at = off + i
		}
		off += i + 1
	}
	if at < 0 {
		return nil, -1
	}
	return span, at
}

// splitJWS returns the three dot-separated parts of a compact JWS, or
// false if it has another number of parts.
func splitJWS(s string) (parts [3]string, ok bool) {
	var ok1, ok2 bool
	parts[0], s, ok1 = strings.Cut(s, ".")
	parts[1], parts[2], ok2 = strings.Cut(s, ".")
	return parts, ok1 && ok2 && strings.IndexByte(parts[2], '.') < 0
}

func appendBlob(b []byte, r *state.Record) ([]byte, error) {
	h := r.Holding
	if h == nil && len(r.QR) == 0 {
		return appendBytes(append(b, blobVerbatim), []byte(r.Credential)), nil
	}
	if h == nil {
		h = new(qr.Holding)
		if err := json.Unmarshal(r.QR, h); err != nil {
			return nil, fmt.Errorf("store: QR core of %s: %w", r.ID, err)
		}
	}
	parts, compact := splitJWS(r.Credential)
	compact = compact && h.Credential == r.CredentialHash
	var raw [3][]byte
	for i := 0; compact && i < 3; i++ {
		// Only a canonical encoding reads back as it came: strict
		// decoding refuses stray trailing bits, and line breaks, which
		// the decoder skips, are refused here (IndexByte, not
		// ContainsAny: a credential is kilobytes, and ContainsAny with
		// two bytes walks them one at a time).
		var err error
		raw[i], err = base64.RawURLEncoding.Strict().DecodeString(parts[i])
		compact = err == nil && strings.IndexByte(parts[i], '\r') < 0 && strings.IndexByte(parts[i], '\n') < 0
	}
	if !compact {
		qj := r.QR
		if qj == nil {
			var err error
			if qj, err = json.Marshal(h); err != nil {
				return nil, err
			}
		}
		b = append(b, blobVerbatim)
		b = appendBytes(b, []byte(r.Credential))
		return append(b, qj...), nil
	}
	if span, at := fieldsSpan(raw[1], r.Fields); at >= 0 {
		b = appendBytes(append(b, blobFieldsCut), raw[0])
		b = binary.AppendUvarint(b, uint64(at))
		b = binary.AppendUvarint(b, uint64(len(raw[1])-len(span)))
		b = append(append(b, raw[1][:at]...), raw[1][at+len(span):]...)
		b = appendBytes(b, raw[2])
	} else {
		b = append(b, blobCompact)
		for _, p := range raw {
			b = appendBytes(b, p)
		}
	}
	b = appendBytes(appendBytes(appendBytes(b, h.Core), h.KeyID), h.IssuerSig)
	b = binary.AppendUvarint(b, uint64(len(h.Optional)))
	for _, o := range h.Optional {
		b = appendBytes(b, []byte(o.Key))
		b = binary.AppendUvarint(b, uint64(o.Field))
		b = appendBytes(b, o.Salt)
		if v, ok := r.Fields[o.Key]; ok && v == o.Value {
			b = append(b, 0)
		} else {
			b = appendBytes(append(b, 1), []byte(o.Value))
		}
	}
	return b, nil
}

func appendBytes(b, p []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(p))), p...)
}

func readBlob(tx *bolt.Tx, r *state.Record) error {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 8), r.LedgerIndex)
	if err := decodeBlob(tx.Bucket(bucketCreds).Get(k), r); err != nil {
		return fmt.Errorf("%w: %s: %v", state.ErrCorrupt, r.ID, err)
	}
	return nil
}

// decodeBlob fills r.Credential and r.Holding (layout 2) or r.QR (layout
// 1) from v; the compact layout needs r.CredentialHash and r.Fields.
func decodeBlob(v []byte, r *state.Record) error {
	if len(v) == 0 {
		return fmt.Errorf("no credential")
	}
	d := blobReader{b: v[1:]}
	switch v[0] {
	case blobVerbatim:
		cred := d.bytes()
		if d.err != nil {
			return d.err
		}
		r.Credential, r.QR = string(cred), bytes.Clone(d.b)
		return nil
	case blobCompact, blobFieldsCut:
	default:
		return fmt.Errorf("credential layout %d", v[0])
	}
	var sb strings.Builder
	for i := range 3 {
		var p []byte
		if i == 1 && v[0] == blobFieldsCut {
			at := d.uvarint()
			if rest := d.bytes(); at > uint64(len(rest)) {
				d.fail("fields cut out at %d of a %d-byte payload", at, len(rest))
			} else {
				p = slices.Concat(rest[:at], credential.AppendFieldsJSON([]byte(`"fields":`), r.Fields), rest[at:])
			}
		} else {
			p = d.bytes()
		}
		if i > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(base64.RawURLEncoding.EncodeToString(p))
	}
	h := &qr.Holding{Core: d.bytes(), KeyID: d.bytes(), IssuerSig: d.bytes(), Credential: r.CredentialHash}
	n := d.uvarint()
	if n > uint64(len(d.b)) { // each field takes at least one byte
		return fmt.Errorf("%d optional fields in %d bytes", n, len(d.b))
	}
	for range n {
		o := qr.OptionalField{Key: string(d.bytes())}
		f := d.uvarint()
		if f > 0xffff {
			d.fail("optional field number %d", f)
		}
		o.Field, o.Salt = uint16(f), d.bytes()
		switch d.byte() {
		case 0:
			v, ok := r.Fields[o.Key]
			if !ok && d.err == nil {
				d.fail("optional field %q is not in the record", o.Key)
			}
			o.Value = v
		case 1:
			o.Value = string(d.bytes())
		default:
			d.fail("optional field %q: bad value mark", o.Key)
		}
		h.Optional = append(h.Optional, o)
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d bytes after the QR core", len(d.b))
	}
	if d.err != nil {
		return d.err
	}
	r.Credential, r.Holding = sb.String(), h
	return nil
}

// blobReader reads a blob's fields, remembering the first fault.
type blobReader struct {
	b   []byte
	err error
}

func (d *blobReader) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
	d.b = nil
}

func (d *blobReader) uvarint() uint64 {
	v, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.fail("bad length at %d bytes from the end", len(d.b))
		return 0
	}
	d.b = d.b[k:]
	return v
}

func (d *blobReader) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length %d past the end (%d left)", n, len(d.b))
		return nil
	}
	p := bytes.Clone(d.b[:n])
	d.b = d.b[n:]
	return p
}

func (d *blobReader) byte() byte {
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}
