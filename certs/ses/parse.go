package ses

import (
	"bytes"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ParseSeal decodes a DER SES_Seal (GB/T 38540 v4) or SESeal (GM/T 0031
// v1), telling the two apart by structure: after esealInfo, v4 has the
// maker certificate (OCTET STRING), v1 the signInfo SEQUENCE. Every error
// is a *MalformedError (errors.Is ErrMalformed) naming the bad element.
//
// The returned Seal owns a copy of der; Raw and RawSealInfo are slices of
// that copy. Marshal reproduces der exactly.
func ParseSeal(der []byte) (*Seal, error) {
	in := cryptobyte.String(bytes.Clone(der))
	name := "SES_Seal"
	if sealVersion(in) == V1 {
		name = "SESeal"
	}
	s, err := parseSeal(&in, name)
	if err != nil {
		return nil, err
	}
	if !in.Empty() {
		return nil, malformed(name, "%d bytes of trailing data", len(in))
	}
	return s, nil
}

// sealVersion guesses the version of the seal at the start of in from the
// tag after esealInfo; 0 when it cannot tell.
func sealVersion(in cryptobyte.String) Version {
	var body, skip cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1Element(&skip, cbasn1.SEQUENCE) {
		return 0
	}
	switch peekTag(body) {
	case byte(cbasn1.OCTET_STRING):
		return V4
	case byte(cbasn1.SEQUENCE):
		return V1
	}
	return 0
}

func parseSeal(in *cryptobyte.String, path string) (*Seal, error) {
	body, raw, err := readSequence(in, path)
	if err != nil {
		return nil, err
	}
	s := &Seal{Raw: raw}
	// esealInfo first: its errors are more useful than a version guess.
	info, rawInfo, err := parseSealInfo(&body, path+".esealInfo")
	if err != nil {
		return nil, err
	}
	s.Info, s.RawSealInfo = *info, rawInfo
	switch peekTag(body) {
	case byte(cbasn1.OCTET_STRING):
		s.Version = V4
		if s.MakerCert, err = readOctets(&body, path+".cert"); err != nil {
			return nil, err
		}
		if s.SignAlg, err = readOID(&body, path+".signAlgID"); err != nil {
			return nil, err
		}
		if s.SignedValue, err = readBits(&body, path+".signedValue"); err != nil {
			return nil, err
		}
	case byte(cbasn1.SEQUENCE):
		s.Version = V1
		sp := path + ".signInfo"
		si, _, err := readSequence(&body, sp)
		if err != nil {
			return nil, err
		}
		if s.MakerCert, err = readOctets(&si, sp+".cert"); err != nil {
			return nil, err
		}
		if s.SignAlg, err = readOID(&si, sp+".signatureAlgorithm"); err != nil {
			return nil, err
		}
		if s.SignedValue, err = readBits(&si, sp+".signData"); err != nil {
			return nil, err
		}
		if !si.Empty() {
			return nil, malformed(sp, "unexpected %s after signData", describeTag(si[0]))
		}
	case 0:
		return nil, malformed(path, "missing cert (v4) or signInfo (v1) after esealInfo")
	default:
		return nil, malformed(path, "after esealInfo want cert OCTET STRING (v4) or signInfo SEQUENCE (v1), found %s", describeTag(body[0]))
	}
	if !body.Empty() {
		return nil, malformed(path, "unexpected %s after the signature", describeTag(body[0]))
	}
	return s, nil
}

func parseSealInfo(in *cryptobyte.String, path string) (*SealInfo, []byte, error) {
	body, raw, err := readSequence(in, path)
	if err != nil {
		return nil, nil, err
	}
	info := &SealInfo{}

	hp := path + ".header"
	h, _, err := readSequence(&body, hp)
	if err != nil {
		return nil, nil, err
	}
	if info.Header.ID, err = readString(&h, tagIA5String, hp+".ID"); err != nil {
		return nil, nil, err
	}
	if info.Header.Version, err = readInt(&h, hp+".version"); err != nil {
		return nil, nil, err
	}
	if info.Header.VID, err = readString(&h, tagIA5String, hp+".Vid"); err != nil {
		return nil, nil, err
	}
	if !h.Empty() {
		return nil, nil, malformed(hp, "unexpected %s after Vid", describeTag(h[0]))
	}

	if info.ESID, err = readString(&body, tagIA5String, path+".esID"); err != nil {
		return nil, nil, err
	}
	if err := parseProperty(&body, path+".property", &info.Property); err != nil {
		return nil, nil, err
	}
	if err := parsePicture(&body, path+".picture", &info.Picture); err != nil {
		return nil, nil, err
	}
	if !body.Empty() {
		ext, err := parseExtensions(&body, path+".extDatas", FormUntagged)
		if err != nil {
			return nil, nil, err
		}
		info.ExtDatas = ext
	}
	if !body.Empty() {
		return nil, nil, malformed(path, "unexpected %s after extDatas", describeTag(body[0]))
	}
	return info, raw, nil
}

// parseProperty reads SES_ESPropertyInfo in either form: v4 has
// certListType (INTEGER) before the list, v1 goes straight to the list.
func parseProperty(in *cryptobyte.String, path string, p *Property) error {
	body, _, err := readSequence(in, path)
	if err != nil {
		return err
	}
	if p.Type, err = readInt(&body, path+".type"); err != nil {
		return err
	}
	if p.Name, err = readString(&body, tagUTF8String, path+".name"); err != nil {
		return err
	}
	if peekTag(body) == byte(cbasn1.INTEGER) {
		if p.CertListType, err = readInt(&body, path+".certListType"); err != nil {
			return err
		}
		if p.CertListType != CertListCerts && p.CertListType != CertListDigests {
			return malformed(path+".certListType", "value %d, want 1 (certificates) or 2 (certificate digests)", p.CertListType)
		}
	}
	lp := path + ".certList"
	list, _, err := readSequence(&body, lp)
	if err != nil {
		return err
	}
	if p.CertListType == CertListDigests {
		for i := 0; !list.Empty(); i++ {
			ip := lp + "[" + itoa(i) + "]"
			obj, _, err := readSequence(&list, ip)
			if err != nil {
				return err
			}
			var d CertDigest
			if d.Type, d.typeTag, err = readStringOf(&obj, ip+".type", byte(tagPrintableString), byte(tagIA5String), byte(tagUTF8String)); err != nil {
				return err
			}
			if d.Value, err = readOctets(&obj, ip+".value"); err != nil {
				return err
			}
			if !obj.Empty() {
				return malformed(ip, "unexpected %s after value", describeTag(obj[0]))
			}
			p.CertDigests = append(p.CertDigests, d)
		}
	} else {
		for i := 0; !list.Empty(); i++ {
			c, err := readOctets(&list, lp+"["+itoa(i)+"]")
			if err != nil {
				return err
			}
			p.Certs = append(p.Certs, c)
		}
	}
	// Dates: GeneralizedTime in v4, UTCTime in v1; both read either way
	// (ofdrw's v1 reader does the same for non-standard seals).
	for _, d := range []struct {
		name string
		t    *Time
	}{{"createDate", &p.CreateDate}, {"validStart", &p.ValidStart}, {"validEnd", &p.ValidEnd}} {
		if *d.t, err = readTime(&body, path+"."+d.name, tagGeneralizedTime, tagUTCTime); err != nil {
			return err
		}
	}
	if !body.Empty() {
		return malformed(path, "unexpected %s after validEnd", describeTag(body[0]))
	}
	return nil
}

func parsePicture(in *cryptobyte.String, path string, pic *Picture) error {
	body, _, err := readSequence(in, path)
	if err != nil {
		return err
	}
	if pic.Type, err = readString(&body, tagIA5String, path+".type"); err != nil {
		return err
	}
	if pic.Data, err = readOctets(&body, path+".data"); err != nil {
		return err
	}
	if pic.Width, err = readInt(&body, path+".width"); err != nil {
		return err
	}
	if pic.Height, err = readInt(&body, path+".height"); err != nil {
		return err
	}
	if !body.Empty() {
		return malformed(path, "unexpected %s after height", describeTag(body[0]))
	}
	return nil
}

// parseExtensions reads ExtensionDatas written untagged (SEQUENCE), as
// [0] EXPLICIT SEQUENCE, or as [0] IMPLICIT (the ExtData SEQUENCEs directly
// inside [0]). std is the form the standard gives this field; it is
// recorded as FormStandard.
func parseExtensions(in *cryptobyte.String, path string, std Form) (*Extensions, error) {
	var list cryptobyte.String
	var form Form
	switch peekTag(*in) {
	case byte(cbasn1.SEQUENCE):
		form = FormUntagged
		l, _, err := readSequence(in, path)
		if err != nil {
			return nil, err
		}
		list = l
	case byte(tagContext0):
		wrapped, _, err := readElement(in, tagContext0, path)
		if err != nil {
			return nil, err
		}
		// EXPLICIT: one SEQUENCE OF whose items are SEQUENCEs. IMPLICIT:
		// the items themselves, each starting with an OBJECT IDENTIFIER.
		probe := wrapped
		var first cryptobyte.String
		if wrapped.Empty() || probe.ReadASN1(&first, cbasn1.SEQUENCE) && peekTag(first) == byte(cbasn1.OBJECT_IDENTIFIER) {
			form, list = FormImplicit, wrapped
		} else {
			form = FormExplicit
			l, _, err := readSequence(&wrapped, path)
			if err != nil {
				return nil, err
			}
			if !wrapped.Empty() {
				return nil, malformed(path, "unexpected %s after ExtensionDatas inside [0]", describeTag(wrapped[0]))
			}
			list = l
		}
	default:
		return nil, malformed(path, "want ExtensionDatas (SEQUENCE or [0]), found %s", describeTag((*in)[0]))
	}
	if form == std {
		form = FormStandard
	}
	ext := &Extensions{Form: form, List: []ExtData{}}
	for i := 0; !list.Empty(); i++ {
		ip := path + "[" + itoa(i) + "]"
		item, _, err := readSequence(&list, ip)
		if err != nil {
			return nil, err
		}
		var e ExtData
		id, _, err := readElement(&item, cbasn1.OBJECT_IDENTIFIER, ip+".extnID")
		if err != nil {
			return nil, err
		}
		if e.ID = OID(id); !e.ID.valid() {
			return nil, malformed(ip+".extnID", "bad OBJECT IDENTIFIER encoding")
		}
		if peekTag(item) == byte(cbasn1.BOOLEAN) {
			_, raw, err := readElement(&item, cbasn1.BOOLEAN, ip+".critical")
			if err != nil {
				return nil, err
			}
			r := cryptobyte.String(raw)
			if !r.ReadASN1Boolean(&e.Critical) {
				return nil, malformed(ip+".critical", "BOOLEAN must be 0x00 or 0xff")
			}
			e.CriticalEncoded = !e.Critical
		}
		if e.Value, err = readOctets(&item, ip+".extnValue"); err != nil {
			return nil, err
		}
		if !item.Empty() {
			return nil, malformed(ip, "unexpected %s after extnValue", describeTag(item[0]))
		}
		ext.List = append(ext.List, e)
	}
	return ext, nil
}

// ParseSignature decodes a DER SES_Signature, v4 (GB/T 38540) or v1 (GM/T
// 0031), told apart by structure: after toSign, v4 has the signer
// certificate (OCTET STRING), v1 the signature (BIT STRING). The seal
// inside is decoded too. Every error is a *MalformedError naming the bad
// element.
//
// The returned Signature owns a copy of der. Marshal reproduces der exactly.
func ParseSignature(der []byte) (*Signature, error) {
	in := cryptobyte.String(bytes.Clone(der))
	const path = "SES_Signature"
	body, raw, err := readSequence(&in, path)
	if err != nil {
		return nil, err
	}
	if !in.Empty() {
		return nil, malformed(path, "%d bytes of trailing data", len(in))
	}
	sig := &Signature{Raw: raw}
	if sig.Version, err = signatureVersion(body, path); err != nil {
		return nil, err
	}
	if err := parseTBSSign(&body, sig, path+".toSign"); err != nil {
		return nil, err
	}
	if sig.Version == V4 {
		if sig.SignerCert, err = readOctets(&body, path+".cert"); err != nil {
			return nil, err
		}
		if sig.SignAlg, err = readOID(&body, path+".signatureAlgID"); err != nil {
			return nil, err
		}
	}
	if sig.Value, err = readBits(&body, path+".signature"); err != nil {
		return nil, err
	}
	if sig.Version == V4 && !body.Empty() {
		if sig.Timestamp, err = parseTimestamp(&body, path+".timeStamp"); err != nil {
			return nil, err
		}
	}
	if !body.Empty() {
		return nil, malformed(path, "unexpected %s at the end", describeTag(body[0]))
	}
	return sig, nil
}

// signatureVersion tells v4 from v1 by the tag after toSign in body, the
// content of an SES_Signature: v4 has the signer certificate (OCTET
// STRING), v1 the signature (BIT STRING). It does not consume body.
func signatureVersion(body cryptobyte.String, path string) (Version, error) {
	var skip cryptobyte.String
	if !body.ReadASN1Element(&skip, cbasn1.SEQUENCE) {
		_, _, err := readSequence(&body, path+".toSign")
		return 0, err
	}
	switch peekTag(body) {
	case byte(cbasn1.OCTET_STRING):
		return V4, nil
	case byte(cbasn1.BIT_STRING):
		return V1, nil
	case 0:
		return 0, malformed(path, "missing cert (v4) or signature (v1) after toSign")
	default:
		return 0, malformed(path, "after toSign want cert OCTET STRING (v4) or signature BIT STRING (v1), found %s", describeTag(body[0]))
	}
}

// parseTBSSign reads toSign (TBS_Sign) of a signature whose version is
// known into sig: its raw DER, TBS and, for v1, the signer certificate
// and signature algorithm, which v1 keeps inside toSign.
func parseTBSSign(body *cryptobyte.String, sig *Signature, tp string) error {
	tbs, rawTBS, err := readSequence(body, tp)
	if err != nil {
		return err
	}
	sig.RawTBSSign = rawTBS
	t := &sig.TBS
	if t.Version, err = readInt(&tbs, tp+".version"); err != nil {
		return err
	}
	if t.Seal, err = parseSeal(&tbs, tp+".eseal"); err != nil {
		return err
	}
	if sig.Version == V4 {
		t.TimeInfo, err = readTime(&tbs, tp+".timeInfo", tagGeneralizedTime, tagUTCTime)
	} else {
		t.TimeInfo, err = readTime(&tbs, tp+".timeInfo", tagBitString, tagOctetString, tagUTCTime, tagGeneralizedTime)
	}
	if err != nil {
		return err
	}
	if err := parseDataHash(&tbs, t, tp+".dataHash"); err != nil {
		return err
	}
	if t.PropertyInfo, err = readString(&tbs, tagIA5String, tp+".propertyInfo"); err != nil {
		return err
	}
	if sig.Version == V4 {
		if !tbs.Empty() {
			if t.ExtDatas, err = parseExtensions(&tbs, tp+".extDatas", FormExplicit); err != nil {
				return err
			}
		}
	} else {
		if sig.SignerCert, err = readOctets(&tbs, tp+".cert"); err != nil {
			return err
		}
		if sig.SignAlg, err = readOID(&tbs, tp+".signatureAlgorithm"); err != nil {
			return err
		}
	}
	if !tbs.Empty() {
		return malformed(tp, "unexpected %s at the end", describeTag(tbs[0]))
	}
	return nil
}

// parseDataHash reads dataHash as the standard BIT STRING or as the OCTET
// STRING some GM/T 0031 producers write (ofdrw reads it too).
func parseDataHash(tbs *cryptobyte.String, t *TBSSign, path string) error {
	var err error
	if peekTag(*tbs) == byte(cbasn1.OCTET_STRING) {
		t.dataHashOctets = true
		t.DataHash, err = readOctets(tbs, path)
	} else {
		t.DataHash, err = readBits(tbs, path)
	}
	return err
}

// parseTimestamp reads timeStamp as [0] EXPLICIT BIT STRING (the standard
// form), [0] IMPLICIT BIT STRING, or an untagged BIT STRING.
func parseTimestamp(in *cryptobyte.String, path string) (*Timestamp, error) {
	ts := &Timestamp{}
	var err error
	switch peekTag(*in) {
	case byte(tagContext0):
		inner, _, err := readElement(in, tagContext0, path)
		if err != nil {
			return nil, err
		}
		if ts.Token, err = readBits(&inner, path); err != nil {
			return nil, err
		}
		if !inner.Empty() {
			return nil, malformed(path, "unexpected %s after the BIT STRING inside [0]", describeTag(inner[0]))
		}
	case byte(tagContext0Prim):
		ts.Form = FormImplicit
		content, _, err := readElement(in, tagContext0Prim, path)
		if err != nil {
			return nil, err
		}
		if ts.Token, err = bitsContent(content, path); err != nil {
			return nil, err
		}
	case byte(cbasn1.BIT_STRING):
		ts.Form = FormUntagged
		if ts.Token, err = readBits(in, path); err != nil {
			return nil, err
		}
	default:
		return nil, malformed(path, "want [0] BIT STRING, found %s", describeTag((*in)[0]))
	}
	return ts, nil
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}
