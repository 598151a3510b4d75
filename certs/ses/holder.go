package ses

import (
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// HolderOIDString is the extnID of the ExtData in which elicense records
// the seal's holder organisation: the UUID
// adf2b369-bb41-4c08-a416-762e9e3d82e7 under 2.25 (ITU-T X.667), so that it
// squats on no one's arc. Its extnValue is the DER of
//
//	Holder ::= SEQUENCE {
//	    code PrintableString,  -- 统一社会信用代码 (or 公民身份号码)
//	    name UTF8String }      -- 持章单位名称
//
// The ExtData is not critical: other readers may ignore it.
const HolderOIDString = "2.25.231216618038784628019341232665171690215"

// OIDHolder is HolderOIDString encoded.
var OIDHolder = MustParseOID(HolderOIDString)

// Holder is the organisation (or person) a seal was issued to.
type Holder struct {
	Code string // 统一社会信用代码 or 公民身份号码
	Name string // 单位名称
}

// ExtData returns the holder as an ExtData for SES_SealInfo.extDatas.
func (h Holder) ExtData() (ExtData, error) {
	if h.Code == "" || checkString([]byte(h.Code), byte(tagPrintableString)) != nil {
		return ExtData{}, wrapf(ErrInvalidInput, "holder code %q is not a PrintableString", h.Code)
	}
	if checkString([]byte(h.Name), byte(tagUTF8String)) != nil {
		return ExtData{}, wrapf(ErrInvalidInput, "holder name is not UTF-8")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addString(b, tagPrintableString, h.Code)
		addString(b, tagUTF8String, h.Name)
	})
	v, err := b.Bytes()
	if err != nil {
		return ExtData{}, err
	}
	return ExtData{ID: OIDHolder, Value: v}, nil
}

// Holder returns the holder recorded in the seal's extDatas. ok is false
// when there is none; a holder ExtData that does not decode is an error
// (errors.Is ErrMalformed).
func (i *SealInfo) Holder() (h Holder, ok bool, err error) {
	if i.ExtDatas == nil {
		return Holder{}, false, nil
	}
	for n, e := range i.ExtDatas.List {
		if !e.ID.Equal(OIDHolder) {
			continue
		}
		path := "SES_SealInfo.extDatas[" + itoa(n) + "].extnValue"
		in := cryptobyte.String(e.Value)
		body, _, err := readSequence(&in, path)
		if err != nil {
			return Holder{}, false, err
		}
		if h.Code, err = readString(&body, tagPrintableString, path+".code"); err != nil {
			return Holder{}, false, err
		}
		if h.Name, err = readString(&body, tagUTF8String, path+".name"); err != nil {
			return Holder{}, false, err
		}
		if !body.Empty() || !in.Empty() {
			return Holder{}, false, malformed(path, "trailing data")
		}
		return h, true, nil
	}
	return Holder{}, false, nil
}
