package qr

import (
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/ident"
	"elicense/internal/chinatime"
	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
)

// SaltSize is the length of the random salt of each optional field; it
// keeps an undisclosed value from being guessed by hashing candidates.
const SaltSize = 16

// BuildOptions say who signs the core and where its status lives.
type BuildOptions struct {
	Catalog    *catalog.Catalog // nil means catalog.Default()
	Signer     crypto.Signer    // the agency key that signed the credential
	KeyID      string           // its key ID, hex (gm.KeyIDString)
	StatusList string           // short ID of the status list (the trust bundle maps it to a URL); required
	// SignedAt is the signing time the core carries (whole seconds);
	// zero means the licence's SignedAt, as credential.Sign set it, or
	// else the current time.
	SignedAt time.Time
	Rand     io.Reader // salts; nil means crypto/rand
}

// Holding is what a wallet keeps to show one licence: the signed core, the
// committed credential digest, and every optional field with its salt. It
// is JSON-serialisable.
type Holding struct {
	Core       []byte          `json:"core"`
	KeyID      []byte          `json:"kid"`
	IssuerSig  []byte          `json:"sig"`
	Credential string          `json:"credential"` // hex SM3 of the compact JWS (leaf 0)
	Optional   []OptionalField `json:"optional,omitempty"`
}

// OptionalField is one optional field with the salt committed in the core.
type OptionalField struct {
	Key   string `json:"key"`
	Field uint16 `json:"field"` // field number (catalogue position + 1)
	Value string `json:"value"`
	Salt  []byte `json:"salt"`
}

// DiscloseCredential, passed to Present or Static, discloses the
// credential digest (leaf 0), so a verifier holding the full JWS can check
// that this QR and that credential are one licence.
const DiscloseCredential = "@credential"

// Build makes the issuer-signed QR core for a licence and its signed JWS
// credential. The licence must already be valid for its class (it was just
// signed); a bound licence (Device set) yields a core that can only be
// shown as a holder-bound presentation.
func Build(l *credential.License, jws string, opts BuildOptions) (*Holding, error) {
	cat := opts.Catalog
	if cat == nil {
		cat = catalog.Default()
	}
	cl, ok := cat.Lookup(l.Class)
	if !ok {
		return nil, errf(credential.ErrUnknownClass, "class", "%q is not in the catalogue", l.Class)
	}
	kid, err := hex.DecodeString(opts.KeyID)
	if err != nil || len(kid) != gm.KeyIDSize || opts.Signer == nil {
		return nil, errf(credential.ErrUnknownKey, "kid", "need a signer and an %d-byte hex key ID", gm.KeyIDSize)
	}
	id, err := ident.ParseLicenseID(l.ID)
	if err != nil {
		return nil, &Error{Reason: credential.ErrBadField, Field: "license id", Err: err}
	}
	if opts.StatusList == "" || l.Status == nil {
		// A core without a status reference could never be revoked;
		// verifiers refuse one.
		return nil, errf(credential.ErrBadField, "status", "a QR core needs a status list and index")
	}
	signedAt := opts.SignedAt
	if signedAt.IsZero() {
		signedAt = l.SignedAt
	}
	if signedAt.IsZero() {
		signedAt = time.Now()
	}
	if signedAt.Unix() <= 0 {
		return nil, errf(credential.ErrBadField, "signed_at", "time %v is before 1970", signedAt)
	}
	rnd := opts.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	digest := gm.SM3([]byte(jws))
	h := &Holding{KeyID: kid, Credential: hex.EncodeToString(digest[:])}
	c := core{
		ID:          licenceRef{TypeCode: id.TypeCode, Serial: id.Serial, Version: uint16(id.Version)},
		HolderName:  l.HolderName,
		HolderCode:  l.HolderCode,
		ValidFrom:   toDays(l.ValidFrom),
		StatusList:  opts.StatusList,
		StatusIndex: l.Status.Index,
		SignedAt:    uint64(signedAt.Unix()),
	}
	if !l.ValidUntil.IsZero() {
		c.ValidUntil = toDays(l.ValidUntil)
	}
	if l.Device != nil {
		if c.Device, err = gm.MarshalPublicKeyCompressed(l.Device); err != nil {
			return nil, &Error{Reason: credential.ErrBadField, Field: "device", Err: err}
		}
	}
	var impliedBuf [32]byte
	implied, hasImplied := appendValidityText(impliedBuf[:0], cl, fromDays(c.ValidFrom), dayOrZero(c.ValidUntil))
	// All salts in one read: one call into crypto/rand instead of one per
	// field, and the same bytes in the same order from any other reader.
	var salts []byte
	if n := countOptional(cl, l.Fields); n > 0 {
		salts = make([]byte, n*SaltSize)
		if _, err := io.ReadFull(rnd, salts); err != nil {
			return nil, fmt.Errorf("qr: salt: %w", err)
		}
		h.Optional = make([]OptionalField, 0, n)
	}
	for i := range cl.Fields {
		f := &cl.Fields[i]
		v := l.Fields[f.Key]
		if !inCore(cl, f, v) {
			continue
		}
		switch f.QR {
		case catalog.QRAlways:
			// The validity field is rebuilt from the dates when it says
			// exactly what they say.
			if f.Key == cl.Validity.Field && hasImplied && v == string(implied) {
				continue
			}
			if c.Fields == nil {
				c.Fields = map[uint16]string{}
			}
			c.Fields[fieldNumber(i)] = v
		case catalog.QROptional:
			salt := salts[:SaltSize:SaltSize]
			salts = salts[SaltSize:]
			h.Optional = append(h.Optional, OptionalField{Key: f.Key, Field: fieldNumber(i), Value: v, Salt: salt})
		}
	}
	root := h.root()
	c.Root = root[:RootSize]
	c.Leaves = uint16(1 + len(h.Optional))
	h.Core = mustMarshal(c)
	if h.IssuerSig, err = gm.SignRS(opts.Signer, append([]byte(coreContext), h.Core...)); err != nil {
		return nil, &Error{Reason: ErrBadSignature, Err: err}
	}
	return h, nil
}

// tree is the commitment tree over the committed values: the credential
// digest, then the optional fields in catalogue order. It has the shape
// and hashing of the ledger's (RFC 6962 with SM3), so it is built with the
// ledger's tree code.
func (h *Holding) tree() *tlog.MemTree {
	t := tlog.NewMemTree(tlog.SM3)
	t.AppendEntry(leafBytes(credentialField, nil, h.Credential))
	for _, o := range h.Optional {
		t.AppendEntry(leafBytes(o.Field, o.Salt, o.Value))
	}
	return t
}

// root is h.tree().Root() without keeping the tree: a frontier holds only
// the complete subtrees, which is all a root needs.
func (h *Holding) root() tlog.Hash {
	var f tlog.Frontier
	var scratch [8]tlog.Hash // Append's output, which the root does not need
	var buf [256]byte        // a leaf's encoding; longer values spill to the heap
	f.Append(tlog.SM3, tlog.SM3.HashLeaf(appendLeaf(buf[:0], credentialField, nil, h.Credential)), scratch[:0])
	for _, o := range h.Optional {
		f.Append(tlog.SM3, tlog.SM3.HashLeaf(appendLeaf(buf[:0], o.Field, o.Salt, o.Value)), scratch[:0])
	}
	return f.Root(tlog.SM3)
}

// inCore reports whether Build puts field f with value v in the core or
// its commitments: the holder's name and code travel on their own, and
// an empty field is left out.
func inCore(cl *catalog.Class, f *catalog.Field, v string) bool {
	return v != "" && f.Key != cl.HolderNameField && f.Key != cl.HolderCodeField
}

// countOptional is the number of optional fields Build commits to (one
// salt each).
func countOptional(cl *catalog.Class, fields map[string]string) int {
	n := 0
	for i := range cl.Fields {
		f := &cl.Fields[i]
		if f.QR == catalog.QROptional && inCore(cl, f, fields[f.Key]) {
			n++
		}
	}
	return n
}

// proof is the inclusion path of leaf i, as the token carries it.
func proof(t *tlog.MemTree, i int) ([][]byte, error) {
	p, err := t.InclusionProof(uint64(i), t.Size())
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(p))
	for j := range p {
		out[j] = p[j][:]
	}
	return out, nil
}

// validityText is what the class's validity field says for the given
// dates, when the class has a field of a kind that can be rebuilt.
func validityText(cl *catalog.Class, from, until time.Time) (string, bool) {
	var buf [32]byte
	b, ok := appendValidityText(buf[:0], cl, from, until)
	return string(b), ok
}

// appendValidityText appends validityText's text to b. Build compares it
// with the field in place, where building the string cost three
// allocations a licence.
func appendValidityText(b []byte, cl *catalog.Class, from, until time.Time) ([]byte, bool) {
	f, ok := cl.Field(cl.Validity.Field)
	if !ok {
		return b, false
	}
	switch f.Type {
	case catalog.TypeTerm:
		b = from.AppendFormat(b, credential.DateLayout)
		b = append(b, "至"...)
	case catalog.TypeDate:
		if until.IsZero() {
			return b, false
		}
	default:
		return b, false
	}
	if until.IsZero() {
		return append(b, credential.LongTerm...), true
	}
	return until.AppendFormat(b, credential.DateLayout), true
}

func dayOrZero(d uint32) time.Time {
	if d == 0 {
		return time.Time{}
	}
	return fromDays(d)
}

// Bound reports whether the core carries a device key.
func (h *Holding) Bound() bool {
	var c core
	return decMode.Unmarshal(h.Core, &c) == nil && len(c.Device) > 0
}

// CoreInfo is what an issuer needs to know of a core it signed: its
// status position and signing time (zero for a version 1 core).
type CoreInfo struct {
	StatusList  string
	StatusIndex uint64
	SignedAt    time.Time
}

// Info decodes the core's status position and signing time.
func (h *Holding) Info() (CoreInfo, error) {
	var c core
	if err := decodeCanonical("core", h.Core, &c); err != nil {
		return CoreInfo{}, err
	}
	in := CoreInfo{StatusList: c.StatusList, StatusIndex: c.StatusIndex}
	if c.SignedAt != 0 {
		in.SignedAt = time.Unix(int64(min(c.SignedAt, 1<<40)), 0)
	}
	return in, nil
}

// shape reports whether the core is bound to a device, and the token
// prefix for it: version 2 when the core carries a signing time, else
// version 1 (a holding made before).
func (h *Holding) shape() (bound bool, prefix string) {
	var c core
	if decMode.Unmarshal(h.Core, &c) != nil {
		return false, Prefix
	}
	if c.SignedAt == 0 {
		return len(c.Device) > 0, PrefixV1
	}
	return len(c.Device) > 0, Prefix
}

// Static returns a token for paper: no time, no device signature. Only an
// unbound core may be shown this way.
func (h *Holding) Static(disclose ...string) (string, error) {
	bound, prefix := h.shape()
	if bound {
		return "", errf(ErrBindingMismatch, "", "a device-bound licence is shown only as a signed presentation")
	}
	b, err := h.body(disclose, 0)
	if err != nil {
		return "", err
	}
	return encodeText(prefix, payloadOf(version(prefix), envelope{Body: b})), nil
}

// Present returns a holder-bound presentation made at now and signed by
// the device key the core names, disclosing the named optional fields (and
// DiscloseCredential, if named).
func (h *Holding) Present(device crypto.Signer, now time.Time, disclose ...string) (string, error) {
	bound, prefix := h.shape()
	if !bound {
		return "", errf(ErrBindingMismatch, "", "the licence is not bound to a device; use Static")
	}
	if now.Unix() <= 0 {
		return "", errf(ErrMalformed, "presented_at", "time %v is before 1970", now)
	}
	b, err := h.body(disclose, uint64(now.Unix()))
	if err != nil {
		return "", err
	}
	sig, err := gm.SignRS(device, append([]byte(presentationContext), b...))
	if err != nil {
		return "", &Error{Reason: ErrBadDeviceSignature, Err: err}
	}
	return encodeText(prefix, payloadOf(version(prefix), envelope{Body: b, DeviceSig: sig})), nil
}

func (h *Holding) body(disclose []string, at uint64) ([]byte, error) {
	var tree *tlog.MemTree // the proofs' tree, made only when something is disclosed
	if len(disclose) > 0 {
		tree = h.tree()
	}
	ds := []disclosure{}
	for _, key := range disclose {
		d := disclosure{Field: credentialField, Value: h.Credential}
		if key != DiscloseCredential {
			i := slices.IndexFunc(h.Optional, func(o OptionalField) bool { return o.Key == key })
			if i < 0 {
				return nil, errf(ErrBadDisclosure, key, "not an optional field of this licence")
			}
			o := h.Optional[i]
			d = disclosure{Field: o.Field, Salt: o.Salt, Value: o.Value, Leaf: uint16(i + 1)}
		}
		p, err := proof(tree, int(d.Leaf))
		if err != nil {
			return nil, &Error{Reason: ErrBadDisclosure, Field: key, Err: err}
		}
		d.Proof = p
		ds = append(ds, d)
	}
	return mustMarshal(body{Core: h.Core, KeyID: h.KeyID, IssuerSig: h.IssuerSig, Disclosures: ds, PresentedAt: at}), nil
}

// toDays counts days since 1970-01-01 for a date in China time.
func toDays(t time.Time) uint32 {
	y, m, d := t.In(chinatime.Zone).Date()
	return uint32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func fromDays(n uint32) time.Time {
	t := time.Unix(int64(n)*86400, 0).UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, chinatime.Zone)
}
