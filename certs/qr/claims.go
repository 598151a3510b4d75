package qr

import (
	"encoding/hex"
	"slices"
	"time"

	"elicense/certs/catalog"
)

// Claims is what a token says about itself, read without checking any of
// it: for a person or a tool that wants to see what a QR holds (elicense-
// verify inspect). Nothing in it is verified; a verdict comes only from
// Verify.
type Claims struct {
	Version      int       `json:"version"`                     // format version from the prefix
	Bound        bool      `json:"bound"`                       // carries a device signature
	KeyID        string    `json:"kid"`                         // issuer key ID, hex
	TypeCode     string    `json:"type_code"`                   // GB/T 36904 type code of the class
	Class        string    `json:"class,omitempty"`             // catalogue key, when the type code is known
	ClassName    string    `json:"class_name,omitempty"`        // Chinese class name, when known
	Serial       string    `json:"serial"`                      // identifier serial
	IDVersion    uint16    `json:"id_version"`                  // identifier version (re-issues)
	HolderName   string    `json:"holder_name"`                 // 持证主体
	HolderCode   string    `json:"holder_code"`                 // 持证主体代码
	ValidFrom    time.Time `json:"valid_from"`                  // China date at 00:00
	ValidUntil   time.Time `json:"valid_until,omitzero"`        // zero: 长期
	StatusList   string    `json:"status_list"`                 // status list ID
	StatusIndex  uint64    `json:"status_index"`                // position in it
	SignedAt     time.Time `json:"signed_at,omitzero"`          // version 2 only
	PresentedAt  time.Time `json:"presented_at,omitzero"`       // presentations only
	DeviceKey    string    `json:"device_key,omitempty"`        // compressed SM2 point, hex
	Fields       []Field   `json:"fields,omitempty"`            // always-shown and disclosed fields
	Leaves       int       `json:"leaves"`                      // committed values under the root
	Presentation string    `json:"presentation_digest"`         // SM3 of the body, hex (the replay key)
	Credential   string    `json:"credential_digest,omitempty"` // disclosed leaf 0: SM3 of the JWS, hex
}

// Field is one field value a token shows.
type Field struct {
	Number    uint16 `json:"number"`          // field number (catalogue position + 1)
	Key       string `json:"key,omitempty"`   // catalogue key, when known
	Label     string `json:"label,omitempty"` // printed label, when known
	Value     string `json:"value"`
	Disclosed bool   `json:"disclosed"` // a selectively disclosed value, not an always-shown one
}

// Claims returns what the token says, naming classes and fields from cat
// (nil: catalog.Default()) where it knows them.
func (t *Token) Claims(cat *catalog.Catalog) Claims {
	if cat == nil {
		cat = catalog.Default()
	}
	c, b := &t.core, &t.body
	out := Claims{
		Version: t.version, Bound: t.Bound(), KeyID: t.KeyID(),
		TypeCode: c.ID.TypeCode, Serial: c.ID.Serial, IDVersion: c.ID.Version,
		HolderName: c.HolderName, HolderCode: c.HolderCode,
		ValidFrom: fromDays(c.ValidFrom), ValidUntil: dayOrZero(c.ValidUntil),
		StatusList: c.StatusList, StatusIndex: c.StatusIndex, Leaves: int(c.Leaves),
	}
	d := t.Digest()
	out.Presentation = hex.EncodeToString(d[:])
	if c.SignedAt != 0 {
		out.SignedAt = time.Unix(int64(c.SignedAt), 0)
	}
	if b.PresentedAt != 0 {
		out.PresentedAt = time.Unix(int64(b.PresentedAt), 0)
	}
	if len(c.Device) > 0 {
		out.DeviceKey = hex.EncodeToString(c.Device)
	}
	cl, ok := cat.Lookup(c.ID.TypeCode)
	if ok && cl.TypeCode == c.ID.TypeCode {
		out.Class, out.ClassName = cl.Key, cl.NameZH
	} else {
		cl = nil
	}
	name := func(f *Field) {
		if cl != nil && f.Number >= 1 && int(f.Number) <= len(cl.Fields) {
			cf := cl.Fields[f.Number-1]
			f.Key, f.Label = cf.Key, cf.Label
		}
	}
	for n, v := range c.Fields {
		f := Field{Number: n, Value: v}
		name(&f)
		out.Fields = append(out.Fields, f)
	}
	for _, dl := range b.Disclosures {
		if dl.Field == credentialField {
			out.Credential = dl.Value
			continue
		}
		f := Field{Number: dl.Field, Value: dl.Value, Disclosed: true}
		name(&f)
		out.Fields = append(out.Fields, f)
	}
	slices.SortFunc(out.Fields, func(a, b Field) int { return int(a.Number) - int(b.Number) })
	return out
}
