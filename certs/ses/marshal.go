package ses

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Marshal encodes the seal as DER from its fields. For a parsed seal the
// result equals the bytes parsed (every encoding choice a producer may
// make — time forms, tagging of optional parts, an explicit FALSE — is kept
// in the fields).
func (s *Seal) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	s.add(&b)
	return b.Bytes()
}

// Marshal encodes SES_SealInfo as DER: the bytes a v4 maker signs.
func (i *SealInfo) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	i.add(&b)
	return b.Bytes()
}

// Marshal encodes the signature as DER from its fields; for a parsed
// signature the result equals the bytes parsed.
func (sig *Signature) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	sig.add(&b)
	return b.Bytes()
}

// MarshalTBS encodes TBS_Sign as DER: the bytes the signer signs.
func (sig *Signature) MarshalTBS() ([]byte, error) {
	var b cryptobyte.Builder
	sig.addTBS(&b)
	return b.Bytes()
}

var errUnset = errors.New("ses: cannot encode")

func unset(what string) error { return fmt.Errorf("%w: %s", errUnset, what) }

func (s *Seal) add(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		s.Info.add(b)
		switch s.Version {
		case V4:
			addOctets(b, s.MakerCert)
			addOID(b, s.SignAlg)
			addBits(b, s.SignedValue)
		case V1:
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addOctets(b, s.MakerCert)
				addOID(b, s.SignAlg)
				addBits(b, s.SignedValue)
			})
		default:
			b.SetError(unset(fmt.Sprintf("seal version %d", int(s.Version))))
		}
	})
}

func (i *SealInfo) add(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addString(b, tagIA5String, i.Header.ID)
			b.AddASN1Int64(i.Header.Version)
			addString(b, tagIA5String, i.Header.VID)
		})
		addString(b, tagIA5String, i.ESID)
		i.Property.add(b)
		p := &i.Picture
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addString(b, tagIA5String, p.Type)
			addOctets(b, p.Data)
			b.AddASN1Int64(p.Width)
			b.AddASN1Int64(p.Height)
		})
		if i.ExtDatas != nil {
			i.ExtDatas.add(b, FormUntagged)
		}
	})
}

func (p *Property) add(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(p.Type)
		addString(b, tagUTF8String, p.Name)
		if p.CertListType != 0 {
			b.AddASN1Int64(p.CertListType)
		}
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if p.CertListType == CertListDigests {
				for _, d := range p.CertDigests {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						tag := d.typeTag
						if tag == 0 {
							tag = byte(tagPrintableString)
						}
						addString(b, cbasn1.Tag(tag), d.Type)
						addOctets(b, d.Value)
					})
				}
				return
			}
			for _, c := range p.Certs {
				addOctets(b, c)
			}
		})
		for _, t := range []struct {
			name string
			t    Time
		}{{"createDate", p.CreateDate}, {"validStart", p.ValidStart}, {"validEnd", p.ValidEnd}} {
			if t.t.IsZero() {
				b.SetError(unset("property." + t.name + " is not set"))
				return
			}
			addTime(b, t.t)
		}
	})
}

// add writes the extensions in their form; std is the form the standard
// gives the field (what FormStandard means here).
func (e *Extensions) add(b *cryptobyte.Builder, std Form) {
	form := e.Form
	if form == FormStandard {
		form = std
	}
	items := func(b *cryptobyte.Builder) {
		for _, x := range e.List {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				if !x.ID.valid() {
					b.SetError(unset("extnID " + x.ID.String()))
				}
				b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(x.ID) })
				if x.Critical || x.CriticalEncoded {
					b.AddASN1Boolean(x.Critical)
				}
				addOctets(b, x.Value)
			})
		}
	}
	switch form {
	case FormUntagged:
		b.AddASN1(cbasn1.SEQUENCE, items)
	case FormExplicit:
		b.AddASN1(tagContext0, func(b *cryptobyte.Builder) { b.AddASN1(cbasn1.SEQUENCE, items) })
	case FormImplicit:
		b.AddASN1(tagContext0, items)
	default:
		b.SetError(unset(fmt.Sprintf("extension form %d", form)))
	}
}

func (sig *Signature) add(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		sig.addTBS(b)
		if sig.Version == V4 {
			addOctets(b, sig.SignerCert)
			addOID(b, sig.SignAlg)
		}
		addBits(b, sig.Value)
		if sig.Version == V4 && sig.Timestamp != nil {
			ts := sig.Timestamp
			switch ts.Form {
			case FormStandard, FormExplicit:
				b.AddASN1(tagContext0, func(b *cryptobyte.Builder) { addBits(b, ts.Token) })
			case FormImplicit:
				b.AddASN1(tagContext0Prim, func(b *cryptobyte.Builder) {
					b.AddUint8(0)
					b.AddBytes(ts.Token)
				})
			case FormUntagged:
				addBits(b, ts.Token)
			default:
				b.SetError(unset(fmt.Sprintf("timestamp form %d", ts.Form)))
			}
		}
	})
}

func (sig *Signature) addTBS(b *cryptobyte.Builder) {
	t := &sig.TBS
	if sig.Version != V1 && sig.Version != V4 {
		b.SetError(unset(fmt.Sprintf("signature version %d", int(sig.Version))))
		return
	}
	if t.Seal == nil {
		b.SetError(unset("toSign.eseal is nil"))
		return
	}
	if t.TimeInfo.IsZero() {
		b.SetError(unset("toSign.timeInfo is not set"))
		return
	}
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(t.Version)
		t.Seal.add(b)
		addTime(b, t.TimeInfo)
		if t.dataHashOctets {
			addOctets(b, t.DataHash)
		} else {
			addBits(b, t.DataHash)
		}
		addString(b, tagIA5String, t.PropertyInfo)
		if sig.Version == V1 {
			addOctets(b, sig.SignerCert)
			addOID(b, sig.SignAlg)
			return
		}
		if t.ExtDatas != nil {
			t.ExtDatas.add(b, FormExplicit)
		}
	})
}
