package conformance

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"elicense/certs/ses"
	"elicense/internal/gm"
)

// Type="Sign" signatures (OFD-05) and shown files left unprotected
// (OFD-07). elicense's licence writer makes neither, so the kit makes
// them here by rewriting the licence file: its Signature.xml re-signed as
// a GM/T 0010 SignedData, or re-sealed with some references left out.

// Object identifiers of GM/T 0010 SignedData.
var (
	oidGMSignedData  = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 1, 4, 2, 2}
	oidGMData        = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 1, 4, 2, 1}
	oidSigningTimeAt = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
)

// Paths of the licence file's one signature.
const (
	kitSignaturesXML = "Doc_0/Signs/Signatures.xml"
	kitSignatureXML  = "Doc_0/Signs/Sign_0/Signature.xml"
	kitSignedValue   = "Doc_0/Signs/Sign_0/SignedValue.dat"
	kitPage          = "Doc_0/Pages/Page_0/Content.xml"
	kitPublicRes     = "Doc_0/PublicRes.xml"
	kitDocument      = "Doc_0/Document.xml"
)

// signer is a Sign signer: its key and certificate.
type signer struct {
	key  *gm.PrivateKey
	der  []byte
	cert *gm.Certificate
}

// signerUnder issues a signing certificate for key under the issuer
// (issuerDER, issuerKey). The serial is fixed, not the world's counter,
// so that these certificates leave every other vector's bytes alone.
func signerUnder(name string, serial int64, key *gm.PrivateKey, issuerDER []byte, issuerKey *gm.PrivateKey, from, until time.Time) (*signer, error) {
	parent, err := gm.ParseCertificate(issuerDER)
	if err != nil {
		return nil, err
	}
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name, Organization: []string{name}},
		NotBefore: from, NotAfter: until, KeyUsage: gm.KeyUsageDigitalSignature | gm.KeyUsageContentCommitment, BasicConstraintsValid: true,
	}
	der, err := gm.CreateCertificate(tmpl, parent, key.PublicKey(), detSigner{issuerKey})
	if err != nil {
		return nil, err
	}
	cert, err := gm.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &signer{key: key, der: der, cert: cert}, nil
}

// signSpec is one GM/T 0010 SignedData; its zero changes make the
// conforming form, the others each break one point of OFD-05.
type signSpec struct {
	by          *signer
	contentType asn1.ObjectIdentifier // nil: GM/T 0010 signedData
	digestAlg   asn1.ObjectIdentifier // nil: SM3
	signingTime time.Time
	// extraCerts come before the signer's certificate in certificates.
	extraCerts [][]byte
	serial     *big.Int       // the SignerInfo's serial (nil: the signer's)
	digestOf   []byte         // messageDigest is SM3 of this (nil: of Signature.xml)
	noDigest   bool           // no messageDigest attribute
	signAsIs   bool           // sign the attributes with their [0] tag, not as SET
	signWith   *gm.PrivateKey // nil: the signer's key
	twice      bool           // a second, identical SignerInfo
}

// attributes are the [0] IMPLICIT signed attributes, in DER order (SET
// OF sorted by encoding: contentType, signingTime, messageDigest).
func (s *signSpec) attributes(digest []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidContentTypeAt)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidGMData) })
		})
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidSigningTimeAt)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddASN1UTCTime(s.signingTime.UTC()) })
		})
		if !s.noDigest {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidMessageDigest)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) })
			})
		}
	})
	return b.BytesOrPanic()
}

// signedData returns the DER ContentInfo signing sigXML (a Signature.xml).
func (s *signSpec) signedData(sigXML []byte) ([]byte, error) {
	digestOf := sigXML
	if s.digestOf != nil {
		digestOf = s.digestOf
	}
	md := gm.SM3(digestOf)
	attrs := s.attributes(md[:])
	msg := append([]byte{0x31}, attrs[1:]...) // RFC 5652 §5.4: signed as a SET OF
	if s.signAsIs {
		msg = attrs
	}
	key := s.by.key
	if s.signWith != nil {
		key = s.signWith
	}
	sig, err := gm.Sign(detSigner{key}, msg)
	if err != nil {
		return nil, err
	}
	ct, dalg, serial := oidGMSignedData, ses.OIDSM3, s.by.cert.SerialNumber
	if s.contentType != nil {
		ct = s.contentType
	}
	if s.digestAlg != nil {
		dalg = s.digestAlg
	}
	if s.serial != nil {
		serial = s.serial
	}
	signerInfo := func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(1)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(s.by.cert.RawIssuer)
				b.AddASN1BigInt(serial)
			})
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(dalg) })
			b.AddBytes(attrs)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidSM2Sign) })
			b.AddASN1OctetString(sig)
		})
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(ct)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(dalg) })
				})
				// Detached: the signed content is Signature.xml itself.
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidGMData) })
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					for _, c := range s.extraCerts {
						b.AddBytes(c)
					}
					b.AddBytes(s.by.der)
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					signerInfo(b)
					if s.twice {
						signerInfo(b)
					}
				})
			})
		})
	})
	return b.Bytes()
}

// dropRefs removes the Reference elements of the files named from a
// Signature.xml.
func dropRefs(sigXML []byte, files ...string) ([]byte, error) {
	s := string(sigXML)
	for _, f := range files {
		i := strings.Index(s, `<ofd:Reference FileRef="/`+f+`">`)
		if i < 0 {
			return nil, fmt.Errorf("conformance: no reference to %s in Signature.xml", f)
		}
		j := strings.Index(s[i:], "</ofd:Reference>")
		if j < 0 {
			return nil, errors.New("conformance: unterminated Reference in Signature.xml")
		}
		s = s[:i] + s[i+j+len("</ofd:Reference>"):]
	}
	return []byte(s), nil
}

// setRef sets the CheckValue of file's Reference in a Signature.xml to
// the SM3 of content.
func setRef(sigXML []byte, file string, content []byte) ([]byte, error) {
	s := string(sigXML)
	open := `<ofd:Reference FileRef="/` + file + `"><ofd:CheckValue>`
	i := strings.Index(s, open)
	if i < 0 {
		return nil, fmt.Errorf("conformance: no reference to %s in Signature.xml", file)
	}
	i += len(open)
	j := strings.Index(s[i:], "</ofd:CheckValue>")
	if j < 0 {
		return nil, errors.New("conformance: unterminated CheckValue in Signature.xml")
	}
	h := gm.SM3(content)
	return []byte(s[:i] + base64.StdEncoding.EncodeToString(h[:]) + s[i+j:]), nil
}

// asSign turns the licence file's Signature.xml into a Sign signature's:
// no stamp annotation (a Sign signature shows no seal), the kit as
// provider.
func asSign(sigXML []byte) []byte {
	s := string(sigXML)
	if i := strings.Index(s, "<ofd:StampAnnot "); i >= 0 {
		if j := strings.Index(s[i:], "/>"); j >= 0 {
			s = s[:i] + s[i+j+2:]
		}
	}
	return []byte(strings.Replace(s, `<ofd:Provider ProviderName="elicense"`, `<ofd:Provider ProviderName="elicense conformance kit"`, 1))
}

// fileOf returns one entry of an OFD package.
func fileOf(pkg []byte, name string) ([]byte, error) {
	var out []byte
	if _, err := rezip(pkg, func(n string, c []byte) (string, []byte) {
		if n == name {
			out = c
		}
		return n, c
	}); err != nil {
		return nil, err
	}
	if out == nil {
		return nil, fmt.Errorf("conformance: no %s in the licence file", name)
	}
	return out, nil
}

// resign rewrites the licence file good with its one signature replaced:
// Signature.xml is edited by edit, then signed by sign (its bytes → the
// new SignedValue.dat); sign set makes the signature Type="Sign".
func resign(good []byte, edit func([]byte) ([]byte, error), sign func([]byte) ([]byte, error), typeSign bool, extra ...zipEntry) ([]byte, error) {
	orig, err := fileOf(good, kitSignatureXML)
	if err != nil {
		return nil, err
	}
	sigXML, err := edit(orig)
	if err != nil {
		return nil, err
	}
	value, err := sign(sigXML)
	if err != nil {
		return nil, err
	}
	return rezipAdd(good, func(n string, c []byte) (string, []byte) {
		switch n {
		case kitSignaturesXML:
			if typeSign {
				c = bytes.Replace(c, []byte(`Type="Seal"`), []byte(`Type="Sign"`), 1)
			}
			if len(extra) > 0 {
				c = bytes.Replace(c, []byte("<ofd:MaxSignId>1</ofd:MaxSignId>"), []byte("<ofd:MaxSignId>2</ofd:MaxSignId>"), 1)
				c = bytes.Replace(c, []byte("</ofd:Signatures>"),
					[]byte(`<ofd:Signature ID="2" Type="Sign" BaseLoc="/Doc_0/Signs/Sign_1/Signature.xml"/></ofd:Signatures>`), 1)
			}
		case kitSignatureXML:
			c = sigXML
		case kitSignedValue:
			c = value
		}
		return n, c
	}, extra)
}

// ofdSignVectors: Type="Sign" signatures (OFD-05) and shown files no
// signature protects (OFD-07), made from the licence file good, whose
// seal is face (the market agency's, signed by its key).
func (k *kit) ofdSignVectors(good []byte, face *ses.Seal) error {
	w := k.w
	add := func(file []byte, want, desc string, rules ...string) {
		k.add("ofd.json", Vector{Rules: rules, Description: desc, Input: ofdInput{File: file}, Expected: want})
	}
	signedAt := w.Now.Add(-time.Hour)
	day, year := 24*time.Hour, 365*24*time.Hour
	alice, err := signerUnder("上海浦江示例网络科技有限公司 经办人", 701, seedKey("sign-signer"), w.RootDER, w.RootKey, w.Now.Add(-day), w.Now.Add(year))
	if err != nil {
		return err
	}
	asIs := func(b []byte) ([]byte, error) { return asSign(b), nil }
	signed := func(edit func([]byte) ([]byte, error), spec signSpec) ([]byte, error) {
		if spec.by == nil {
			spec.by = alice
		}
		if spec.signingTime.IsZero() {
			spec.signingTime = signedAt
		}
		return resign(good, edit, spec.signedData, true)
	}
	valid, err := signed(asIs, signSpec{})
	if err != nil {
		return err
	}
	add(valid, "ofd:VALID", "the licence file signed with a Type=\"Sign\" signature instead: a GM/T 0010 SignedData by a certificate under root.pem, protecting every shown file",
		"OFD-05", "OFD-06", "OFD-07")

	// Each of these breaks one point of OFD-05 (or OFD-06's order).
	other := seedKey("sign-other")
	otherSigner, err := signerUnder("另一签名人", 702, other, w.RootDER, w.RootKey, w.Now.Add(-day), w.Now.Add(year))
	if err != nil {
		return err
	}
	otherRootDER, err := otherRoot(w.Now)
	if err != nil {
		return err
	}
	foreign, err := signerUnder("上海浦江示例网络科技有限公司 经办人", 701, seedKey("sign-signer"), otherRootDER, seedKey("other-root"), w.Now.Add(-day), w.Now.Add(year))
	if err != nil {
		return err
	}
	expired, err := signerUnder("上海浦江示例网络科技有限公司 经办人", 703, seedKey("sign-signer"), w.RootDER, w.RootKey, w.Now.Add(-day), w.Now.Add(-30*time.Minute))
	if err != nil {
		return err
	}
	late, err := signerUnder("上海浦江示例网络科技有限公司 经办人", 704, seedKey("sign-signer"), w.RootDER, w.RootKey, w.Now.Add(-30*time.Minute), w.Now.Add(year))
	if err != nil {
		return err
	}
	for _, c := range []struct {
		want, desc string
		spec       signSpec
	}{
		{"ofd:VALID", "the same with the PKCS #7 signedData content type (1.2.840.113549.1.7.2), which OFD-05 also reads", signSpec{contentType: oidSignedData}},
		{"ofd:VALID", "the same with another certificate first in the SignedData's certificates: the signer's is the one its issuer and serial number name", signSpec{extraCerts: [][]byte{otherSigner.der}}},
		{"ofd:SIGNATURE_INVALID", "messageDigest is SM3 of other bytes (the signed attributes themselves verify)", signSpec{digestOf: []byte("another Signature.xml")}},
		{"ofd:SIGNATURE_INVALID", "the SM2 signature is over the signed attributes as encoded, tag [0], not re-tagged as SET", signSpec{signAsIs: true}},
		{"ofd:SIGNATURE_INVALID", "the signed attributes signed by another key than the signer certificate's", signSpec{signWith: other}},
		{"ofd:MALFORMED", "the ContentInfo's content type is GM/T 0010 data (1.2.156.10197.6.1.4.2.1), not signedData", signSpec{contentType: oidGMData}},
		{"ofd:MALFORMED", "the SignerInfo's serial number names no certificate in the SignedData", signSpec{serial: big.NewInt(799)}},
		{"ofd:MALFORMED", "the digest algorithm is SHA-256, not SM3", signSpec{digestAlg: oidSHA256}},
		{"ofd:MALFORMED", "two SignerInfos (OFD-05: one signer)", signSpec{twice: true}},
		{"ofd:MALFORMED", "signed attributes without messageDigest", signSpec{noDigest: true}},
		{"ofd:UNTRUSTED_SIGNER", "signed by a certificate that another root issued (not under root.pem)", signSpec{by: foreign}},
		{"ofd:EXPIRED", "the signer certificate expired 30 minutes ago, after the signing (signingTime 1 h ago): valid as of signing, not now", signSpec{by: expired}},
		{"ofd:EXPIRED", "signingTime (1 h ago) before the signer certificate's validity (from 30 minutes ago)", signSpec{by: late}},
	} {
		file, err := signed(asIs, c.spec)
		if err != nil {
			return err
		}
		add(file, c.want, c.desc, "OFD-05", "OFD-06")
	}
	changed, err := rezip(valid, func(n string, c []byte) (string, []byte) {
		if n == kitSignatureXML {
			return n, bytes.Replace(c, []byte("<ofd:SignatureMethod>"), []byte("\n<ofd:SignatureMethod>"), 1)
		}
		return n, c
	})
	if err != nil {
		return err
	}
	add(changed, "ofd:SIGNATURE_INVALID", "the Sign signature's Signature.xml changed after signing (messageDigest is no longer its SM3)", "OFD-05", "OFD-06")
	modified, err := rezip(valid, func(n string, c []byte) (string, []byte) {
		if n == kitPage {
			return n, bytes.Replace(c, []byte("上海浦江"), []byte("上海黄浦"), 1)
		}
		return n, c
	})
	if err != nil {
		return err
	}
	add(modified, "ofd:DOCUMENT_MODIFIED", "a page the Sign signature protects changed after signing (its reference digest no longer matches)", "OFD-03", "OFD-05", "OFD-06")
	return k.ofdCoverageVectors(good, face, alice)
}

// ofdCoverageVectors: shown files that no signature protects (OFD-07).
func (k *kit) ofdCoverageVectors(good []byte, face *ses.Seal, alice *signer) error {
	w := k.w
	signedAt := w.Now.Add(-time.Hour)
	seal := func(sigXML []byte) ([]byte, error) {
		digest := gm.SM3(sigXML)
		sig, err := ses.SignDigest(face, w.Market.DER, w.Market.signer(), digest[:], signedAt, "/"+kitSignatureXML)
		if err != nil {
			return nil, err
		}
		return sig.Marshal()
	}
	without := func(files ...string) func([]byte) ([]byte, error) {
		return func(b []byte) ([]byte, error) { return dropRefs(b, files...) }
	}
	sealed, err := resign(good, without(kitPage), seal, false)
	if err != nil {
		return err
	}
	k.add("ofd.json", Vector{Rules: []string{"OFD-07", "OFD-06"}, Input: ofdInput{File: sealed}, Expected: "ofd:PARTIALLY_PROTECTED",
		Description: "the licence file's Seal signature (valid) re-made with its page (" + kitPage + ") left out of its references: the page is shown but unprotected",
		Unprotected: []string{kitPage}})
	sign := (&signSpec{by: alice, signingTime: signedAt}).signedData
	signed, err := resign(good, func(b []byte) ([]byte, error) { return dropRefs(asSign(b), kitPublicRes) }, sign, true)
	if err != nil {
		return err
	}
	k.add("ofd.json", Vector{Rules: []string{"OFD-07", "OFD-05"}, Input: ofdInput{File: signed}, Expected: "ofd:PARTIALLY_PROTECTED",
		Description: "a valid Sign signature whose references leave out the resource file " + kitPublicRes + " (the fonts the page names): shown but unprotected",
		Unprotected: []string{kitPublicRes}})
	// A page Document.xml names but the package lacks: re-sealed over the
	// changed Document.xml, nothing protects the page a reader looks for,
	// and anyone can add it without failing the signature.
	extraPage, err := rezip(good, func(n string, c []byte) (string, []byte) {
		if n == kitDocument {
			c = bytes.Replace(c, []byte(`BaseLoc="Pages/Page_0/Content.xml"/>`), []byte(`BaseLoc="Pages/Page_0/Content.xml"/><ofd:Page ID="37" BaseLoc="Pages/Page_1/Content.xml"/>`), 1)
			c = bytes.Replace(c, []byte("<ofd:MaxUnitID>36</ofd:MaxUnitID>"), []byte("<ofd:MaxUnitID>37</ofd:MaxUnitID>"), 1)
		}
		return n, c
	})
	if err != nil {
		return err
	}
	doc, err := fileOf(extraPage, kitDocument)
	if err != nil {
		return err
	}
	absent, err := resign(extraPage, func(b []byte) ([]byte, error) { return setRef(b, kitDocument, doc) }, seal, false)
	if err != nil {
		return err
	}
	k.add("ofd.json", Vector{Rules: []string{"OFD-07", "OFD-06"}, Input: ofdInput{File: absent}, Expected: "ofd:PARTIALLY_PROTECTED",
		Description: "Document.xml names a second page, Doc_0/Pages/Page_1/Content.xml, that the package lacks (sealed as it is): a named file is shown whether present or not, and nothing protects it",
		Unprotected: []string{"Doc_0/Pages/Page_1/Content.xml"}})
	// The page left out of the Seal signature, protected by a second,
	// Sign, signature: every shown file is protected by some signature.
	page, err := fileOf(good, kitPage)
	if err != nil {
		return err
	}
	pageSum := gm.SM3(page)
	second := []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<ofd:Signature xmlns:ofd="http://www.ofdspec.org/2016"><ofd:SignedInfo><ofd:Provider ProviderName="elicense conformance kit" Version="conformance"/>` +
		`<ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod><ofd:SignatureDateTime>` + signedAt.UTC().Format("20060102150405Z") + `</ofd:SignatureDateTime>` +
		`<ofd:References CheckMethod="1.2.156.10197.1.401"><ofd:Reference FileRef="/` + kitPage + `"><ofd:CheckValue>` + base64.StdEncoding.EncodeToString(pageSum[:]) + `</ofd:CheckValue></ofd:Reference></ofd:References>` +
		`</ofd:SignedInfo><ofd:SignedValue>/Doc_0/Signs/Sign_1/SignedValue.dat</ofd:SignedValue></ofd:Signature>`)
	value, err := sign(second)
	if err != nil {
		return err
	}
	both, err := resign(good, without(kitPage), seal, false,
		zipEntry{"Doc_0/Signs/Sign_1/Signature.xml", second}, zipEntry{"Doc_0/Signs/Sign_1/SignedValue.dat", value})
	if err != nil {
		return err
	}
	k.add("ofd.json", Vector{Rules: []string{"OFD-07", "OFD-05", "OFD-06"}, Input: ofdInput{File: both}, Expected: "ofd:VALID",
		Description: "the same Seal signature without the page, and a second, Sign, signature protecting the page: every shown file is protected by a valid signature"})
	// OFD-10 asks the agency's seal to protect every shown file.
	licence, err := resign(k.licenceOFD, without(kitPage), seal, false)
	if err != nil {
		return err
	}
	k.add("ofd.json", Vector{Rules: []string{"OFD-10", "OFD-07"}, Input: ofdInput{File: licence, CheckLicence: true}, Expected: "ofd:LICENCE_NOT_GENUINE",
		Description: "the licence file with a valid QR token, re-sealed by its agency's key with the page left out of the references: the agency's seal does not protect every shown file",
		Unprotected: []string{kitPage}})
	return nil
}
