package conformance

import (
	"archive/zip"
	"bytes"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"maps"
	"math/big"
	"strings"
	"time"

	"elicense/certs/agencycert"
	"elicense/certs/catalog"
	"elicense/certs/ses"
	"elicense/internal/gm"
	"elicense/issuer/ofdfile"
	"elicense/issuer/seal"
)

// ofdInput is the input of an OFD vector.
type ofdInput struct {
	File []byte `json:"file"` // the OFD package (zip), base64
	// Revoked are the revoked seals the verifier knows (a trust bundle's
	// revoked_seals).
	Revoked []revokedSeal `json:"revoked_seals,omitempty"`
	// CheckLicence: judge the licence the file carries too (OFD-10), with
	// the context's trust (bundle and status lists) at the vector's now.
	CheckLicence bool `json:"check_licence,omitempty"`
}

func init() { ctxSteps = append(ctxSteps, (*kit).ofdVectors) }

// rezip rewrites an OFD package, changing it with edit (entry name →
// content; returning a nil content drops the entry), keeping order and
// headers so the result is deterministic.
func rezip(data []byte, edit func(name string, content []byte) (string, []byte)) ([]byte, error) {
	return rezipAdd(data, edit, nil)
}

// zipEntry is an entry rezipAdd appends after the package's own.
type zipEntry struct {
	name    string
	content []byte
}

// rezipAdd is rezip that then appends extra entries.
func rezipAdd(data []byte, edit func(name string, content []byte) (string, []byte), extra []zipEntry) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		content, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		name, content := edit(f.Name, content)
		if content == nil {
			continue
		}
		h := f.FileHeader
		h.Name = name
		w, err := zw.CreateHeader(&zip.FileHeader{Name: h.Name, Method: h.Method, Modified: h.Modified})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(content); err != nil {
			return nil, err
		}
	}
	for _, e := range extra {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(e.content); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (k *kit) ofdVectors(*Context) error {
	w := k.w
	const f = "ofd.json"
	add := func(file []byte, want, desc string, rules ...string) {
		k.add(f, Vector{Rules: rules, Description: desc, Input: ofdInput{File: file}, Expected: want})
	}
	made, err := w.makeSeal("31000000000001", w.Market.DER, w.Now.Add(-12*time.Hour), w.Now.Add(365*24*time.Hour))
	if err != nil {
		return err
	}
	cl, _ := catalog.Default().Lookup("business-license")
	l := &ofdfile.Licence{Class: cl, ID: "1.2.156.3005.2.11310000PDY00001XQ001." + codeMarket + ".T000001.001.X",
		IssuerName: w.Market.Name, IssuerCode: codeMarket, IssuedOn: "2026-03-01", Fields: samples()["business-license"]}
	good, err := ofdfile.Build(l, ofdfile.Sealer{Seal: made.Seal, Cert: w.Market.DER, Signer: w.Market.signer()},
		ofdfile.Options{At: w.Now.Add(-time.Hour), ProviderVersion: "conformance"})
	if err != nil {
		return err
	}
	add(good, "ofd:VALID", "a licence OFD file sealed by the market agency (one Seal signature protecting every shown file)",
		"OFD-01", "OFD-02", "OFD-03", "OFD-04", "OFD-06", "OFD-08", "SEAL-14")
	edits := []struct {
		desc, want string
		rules      []string
		edit       func(name string, c []byte) (string, []byte)
	}{
		{"a protected page changed after signing", "ofd:DOCUMENT_MODIFIED", []string{"OFD-03", "OFD-06"}, func(n string, c []byte) (string, []byte) {
			if strings.Contains(n, "Content.xml") {
				return n, bytes.Replace(c, []byte("上海浦江"), []byte("上海黄浦"), 1)
			}
			return n, c
		}},
		{"Signature.xml changed (its SM3 is the seal's dataHash)", "ofd:SIGNATURE_INVALID", []string{"OFD-04", "OFD-09", "SEAL-14"}, func(n string, c []byte) (string, []byte) {
			if strings.HasSuffix(n, "Sign_0/Signature.xml") {
				return n, bytes.Replace(c, []byte("<ofd:Provider"), []byte("<ofd:Provider "), 1)
			}
			return n, c
		}},
		{"the signature list and signatures removed", "ofd:NOT_SIGNED", []string{"OFD-06"}, func(n string, c []byte) (string, []byte) {
			if strings.Contains(n, "/Signs/") {
				return n, nil
			}
			if n == "OFD.xml" {
				s := string(c)
				i := strings.Index(s, "<ofd:Signatures>")
				j := strings.Index(s, "</ofd:Signatures>")
				if i >= 0 && j > i {
					return n, []byte(s[:i] + s[j+len("</ofd:Signatures>"):])
				}
			}
			return n, c
		}},
		{"an entry named ../evil.xml", "ofd:MALFORMED", []string{"OFD-01"}, func(n string, c []byte) (string, []byte) {
			if n == "OFD.xml" {
				return "../evil.xml", c
			}
			return n, c
		}},
		{"OFD.xml with a DTD", "ofd:MALFORMED", []string{"OFD-02"}, func(n string, c []byte) (string, []byte) {
			if n == "OFD.xml" {
				s := string(c)
				i := strings.Index(s, "?>") + 2
				return n, []byte(s[:i] + `<!DOCTYPE x [<!ENTITY a "b">]>` + s[i:])
			}
			return n, c
		}},
	}
	for _, e := range edits {
		data, err := rezip(good, e.edit)
		if err != nil {
			return err
		}
		add(data, e.want, e.desc, e.rules...)
	}
	add([]byte("not a zip file"), "ofd:MALFORMED", "not a zip file", "OFD-01")
	if err := k.ofdRevokedVectors(good, made.ESID); err != nil {
		return err
	}
	later, last, err := k.ofdLicenceVectors(made.Seal)
	if err != nil {
		return err
	}
	if err := k.ofdFormVectors(good); err != nil {
		return err
	}
	if err := k.ofdSignVectors(good, made.Seal); err != nil {
		return err
	}
	// Added last, so that the vectors before keep their ids.
	for _, v := range later {
		k.add("ofd.json", v)
	}
	if err := k.ofdForeignTimestampVectors(good); err != nil {
		return err
	}
	for _, v := range last {
		k.add("ofd.json", v)
	}
	return nil
}

// ofdLicenceVectors: licence files judged by the licence they carry
// (OFD-10), against the context's bundle and status lists. It returns
// vectors to add after the others (later) and after those (last), so
// that ids given before stay.
func (k *kit) ofdLicenceVectors(face *ses.Seal) (later, last []Vector, err error) {
	w := k.w
	add := func(file []byte, want, desc string) {
		k.add("ofd.json", Vector{Rules: []string{"OFD-10"}, Description: desc, Input: ofdInput{File: file, CheckLicence: true}, Expected: want})
	}
	cl, _ := catalog.Default().Lookup("business-license")
	agencySealer := ofdfile.Sealer{Seal: face, Cert: w.Market.DER, Signer: w.Market.signer()}
	at := ofdfile.Options{At: w.Now.Add(-time.Hour), ProviderVersion: "conformance"}
	// build makes the file of the licence at amr-1 entry idx, its
	// metadata changed by edit.
	build := func(idx uint64, s ofdfile.Sealer, edit func(*ofdfile.Licence)) ([]byte, error) {
		l, err := w.issueLicence(w.Market, "business-license", "amr-1", idx, false, nil)
		if err != nil {
			return nil, err
		}
		token, err := l.static()
		if err != nil {
			return nil, err
		}
		fl := &ofdfile.Licence{Class: cl, ID: l.Licence.ID, IssuerName: w.Market.Name, IssuerCode: codeMarket,
			IssuedOn: l.Licence.IssuedOn.Format(time.DateOnly), Fields: l.Licence.Fields, QR: token}
		if edit != nil {
			edit(fl)
		}
		return ofdfile.Build(fl, s, at)
	}
	good, err := build(1, agencySealer, nil)
	if err != nil {
		return nil, nil, err
	}
	add(good, "ofd:VALID", "a licence file whose QR token (证照二维码) verifies VALID_STATIC, names its licence, holder and agency, sealed by that agency's key")
	k.licenceOFD = good
	revoked, err := build(2, agencySealer, nil)
	if err != nil {
		return nil, nil, err
	}
	add(revoked, "ofd:LICENCE_NOT_VALID", "the file of a licence revoked since (amr-1 entry 2): its seal is valid, its licence is not")
	// The seal's maker certificate has expired since the agency's seal
	// sealed the file (OFD-09: the signature is EXPIRED): the file is
	// still the licence's (OFD-10), unless the seal was revoked.
	mkey := seedKey("ofd-old-maker")
	pext, err := agencycert.Policy{AgencyCode: codeMarket, Classes: w.Market.Classes}.Extension()
	if err != nil {
		return nil, nil, err
	}
	makerDER, err := gm.CreateCertificate(&gm.Certificate{
		SerialNumber: big.NewInt(705), Subject: pkix.Name{CommonName: w.Market.Name, Organization: []string{w.Market.Name}},
		NotBefore: w.Now.Add(-20 * time.Hour), NotAfter: w.Now.Add(-2 * time.Hour),
		KeyUsage: gm.KeyUsageDigitalSignature, BasicConstraintsValid: true, ExtraExtensions: []pkix.Extension{pext},
	}, w.Root, mkey.PublicKey(), detSigner{w.RootKey})
	if err != nil {
		return nil, nil, err
	}
	pic, err := tinyPNG()
	if err != nil {
		return nil, nil, err
	}
	old, err := seal.Make(seal.Maker{Cert: makerDER, Signer: detSigner{mkey}}, seal.Options{
		HolderName: w.Market.Name, HolderCode: codeMarket, Type: ses.TypeOfficial, Name: w.Market.Name + "电子证照专用章",
		ValidFrom: w.Now.Add(-19 * time.Hour), ValidUntil: w.Now.Add(365 * 24 * time.Hour), SignerCerts: [][]byte{w.Market.DER}, Picture: pic,
		ESID: "31000000000002", Now: w.Now.Add(-19 * time.Hour),
	})
	if err != nil {
		return nil, nil, err
	}
	at.At = w.Now.Add(-10 * time.Hour)
	sealedThen, err := build(1, ofdfile.Sealer{Seal: old.Seal, Cert: w.Market.DER, Signer: w.Market.signer()}, nil)
	at.At = w.Now.Add(-time.Hour)
	if err != nil {
		return nil, nil, err
	}
	later = append(later, Vector{Rules: []string{"OFD-10"}, Input: ofdInput{File: sealedThen, CheckLicence: true}, Expected: "ofd:VALID",
		Description: "a licence file sealed 10 h ago by its agency with a seal whose maker certificate has expired since (2 h ago): the signature is EXPIRED, the file is still the licence's"})
	later = append(later, Vector{Rules: []string{"OFD-10", "SEAL-15"}, Input: ofdInput{File: sealedThen, CheckLicence: true,
		Revoked: []revokedSeal{{ESID: "31000000000002", Since: w.Now.Add(-5 * time.Hour)}}}, Expected: "ofd:EXPIRED",
		Description: "the same file, its seal revoked 5 h ago (after the signing time; no time-stamp shows when it sealed): it no longer carries the licence; the signature is EXPIRED"})
	// The expired-seal licence file plus a second, Sign, signature that
	// is EXPIRED on its own account (signed after its certificate
	// ended): the document is EXPIRED for that signature. Signed by a
	// certificate of another root (added last of all): UNTRUSTED_SIGNER.
	gone, err := signerUnder("另一经办人", 706, seedKey("ofd-gone-signer"), w.RootDER, w.RootKey, w.Now.Add(-48*time.Hour), w.Now.Add(-20*time.Hour))
	if err != nil {
		return nil, nil, err
	}
	both, err := withSecondSign(sealedThen, gone, w.Now.Add(-3*time.Hour))
	if err != nil {
		return nil, nil, err
	}
	later = append(later, Vector{Rules: []string{"OFD-10"}, Input: ofdInput{File: both, CheckLicence: true}, Expected: "ofd:EXPIRED",
		Description: "the licence file of ofd-046 with a second, Sign, signature made 3 h ago by a certificate that ended 20 h ago: that signature is EXPIRED on its own account, and so is the document"})
	otherDER, err := otherRoot(w.Now)
	if err != nil {
		return nil, nil, err
	}
	stranger, err := signerUnder("外来经办人", 707, seedKey("ofd-foreign-signer"), otherDER, seedKey("other-root"), w.Now.Add(-48*time.Hour), w.Now.Add(48*time.Hour))
	if err != nil {
		return nil, nil, err
	}
	if both, err = withSecondSign(sealedThen, stranger, w.Now.Add(-3*time.Hour)); err != nil {
		return nil, nil, err
	}
	last = append(last, Vector{Rules: []string{"OFD-10"}, Input: ofdInput{File: both, CheckLicence: true}, Expected: "ofd:UNTRUSTED_SIGNER",
		Description: "the licence file of ofd-046 with a second, Sign, signature by a signer another root certified: its UNTRUSTED_SIGNER stands; the expired agency seal does not make the document VALID over it"})
	noToken, err := build(1, agencySealer, func(l *ofdfile.Licence) { l.QR = "" })
	if err != nil {
		return nil, nil, err
	}
	add(noToken, "ofd:LICENCE_UNCHECKED", "a licence file (证照标识 in its metadata) that carries no QR token")
	other, err := build(1, agencySealer, func(l *ofdfile.Licence) {
		f := maps.Clone(l.Fields)
		f[cl.HolderNameField] = "上海黄浦示例网络科技有限公司"
		l.Fields = f
	})
	if err != nil {
		return nil, nil, err
	}
	add(other, "ofd:LICENCE_NOT_GENUINE", "sealed by the agency, but its 持证主体 is not the holder its QR token names")
	// A company's seal the same agency made, applied to the licence file.
	hkey := seedKey("ofd-company")
	hcert, err := w.holderCert("上海浦江示例网络科技有限公司 签章人", hkey, w.Now.Add(-24*time.Hour), w.Now.Add(365*24*time.Hour))
	if err != nil {
		return nil, nil, err
	}
	company, err := w.makeSeal("31011500000009", hcert, w.Now.Add(-12*time.Hour), w.Now.Add(365*24*time.Hour))
	if err != nil {
		return nil, nil, err
	}
	forged, err := build(1, ofdfile.Sealer{Seal: company.Seal, Cert: hcert, Signer: detSigner{hkey}}, nil)
	if err != nil {
		return nil, nil, err
	}
	add(forged, "ofd:LICENCE_NOT_GENUINE", "the licence file sealed with a company's seal the issuing agency made (a VALID signature by a key that is not the agency's)")
	forgedNoToken, err := build(1, ofdfile.Sealer{Seal: company.Seal, Cert: hcert, Signer: detSigner{hkey}}, func(l *ofdfile.Licence) { l.QR = "" })
	if err != nil {
		return nil, nil, err
	}
	add(forgedNoToken, "ofd:LICENCE_NOT_GENUINE", "a licence file without a QR token, sealed with a company's seal: its status cannot be checked, but the agency its 颁发机构代码 names did not seal it")
	for _, c := range []struct {
		desc string
		edit func(*ofdfile.Licence)
	}{
		{"sealed by the agency, but its 证照标识 is not the identifier its QR token rebuilds", func(l *ofdfile.Licence) {
			l.ID = strings.Replace(l.ID, ".001.", ".002.", 1)
		}},
		{"sealed by the agency, but its 颁发机构代码 names another agency", func(l *ofdfile.Licence) { l.IssuerCode = codePolice }},
	} {
		file, err := build(1, agencySealer, c.edit)
		if err != nil {
			return nil, nil, err
		}
		add(file, "ofd:LICENCE_NOT_GENUINE", c.desc)
	}
	bound, err := w.issueLicence(w.Market, "business-license", "amr-1", 1, true, nil)
	if err != nil {
		return nil, nil, err
	}
	presented, err := bound.present(w.Now.Add(-10 * time.Second))
	if err != nil {
		return nil, nil, err
	}
	file, err := build(1, agencySealer, func(l *ofdfile.Licence) { l.ID, l.QR = bound.Licence.ID, presented })
	if err != nil {
		return nil, nil, err
	}
	add(file, "ofd:LICENCE_NOT_GENUINE", "its 证照二维码 is a holder-bound presentation (VALID), not the licence's static token")
	// The market agency's own other keys: retired 6 h before now, and
	// compromised; each with a licence-face seal listing it.
	for _, c := range []struct {
		key        *agency
		esid, desc string
	}{
		{w.Retired, "31000000000091", "sealed 1 h ago with the agency's key retired 6 h ago"},
		{w.Compromised, "31000000000092", "sealed with the agency's compromised key"},
	} {
		made, err := w.makeSeal(c.esid, c.key.DER, w.Now.Add(-12*time.Hour), w.Now.Add(365*24*time.Hour))
		if err != nil {
			return nil, nil, err
		}
		file, err := build(1, ofdfile.Sealer{Seal: made.Seal, Cert: c.key.DER, Signer: c.key.signer()}, nil)
		if err != nil {
			return nil, nil, err
		}
		add(file, "ofd:LICENCE_NOT_GENUINE", c.desc)
	}
	return later, last, nil
}

// withSecondSign adds to the kit's licence file a second, Sign,
// signature by signer at when, over its page.
func withSecondSign(file []byte, by *signer, when time.Time) ([]byte, error) {
	page, err := fileOf(file, kitPage)
	if err != nil {
		return nil, err
	}
	sum := gm.SM3(page)
	second := []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<ofd:Signature xmlns:ofd="http://www.ofdspec.org/2016"><ofd:SignedInfo><ofd:Provider ProviderName="review" Version="1"/>` +
		`<ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod><ofd:SignatureDateTime>` + when.UTC().Format("20060102150405Z") + `</ofd:SignatureDateTime>` +
		`<ofd:References CheckMethod="1.2.156.10197.1.401"><ofd:Reference FileRef="/` + kitPage + `"><ofd:CheckValue>` + base64.StdEncoding.EncodeToString(sum[:]) + `</ofd:CheckValue></ofd:Reference></ofd:References>` +
		`</ofd:SignedInfo><ofd:SignedValue>/Doc_0/Signs/Sign_1/SignedValue.dat</ofd:SignedValue></ofd:Signature>`)
	spec := signSpec{by: by, signingTime: when}
	value, err := spec.signedData(second)
	if err != nil {
		return nil, err
	}
	return rezipAdd(file, func(n string, c []byte) (string, []byte) {
		if n == kitSignaturesXML {
			c = bytes.Replace(c, []byte("<ofd:MaxSignId>1</ofd:MaxSignId>"), []byte("<ofd:MaxSignId>2</ofd:MaxSignId>"), 1)
			c = bytes.Replace(c, []byte("</ofd:Signatures>"), []byte(`<ofd:Signature ID="2" Type="Sign" BaseLoc="/Doc_0/Signs/Sign_1/Signature.xml"/></ofd:Signatures>`), 1)
		}
		return n, c
	}, []zipEntry{{"Doc_0/Signs/Sign_1/Signature.xml", second}, {"Doc_0/Signs/Sign_1/SignedValue.dat", value}})
}

// ofdRevokedVectors: the licence file's seal revoked after it signed,
// without and with a time-stamp (SEAL-15 through OFD-09).
func (k *kit) ofdRevokedVectors(good []byte, esid string) error {
	w := k.w
	revoked := []revokedSeal{{ESID: esid, Since: w.Now.Add(-30 * time.Minute)}}
	add := func(file []byte, want, desc string, rules ...string) {
		k.add("ofd.json", Vector{Rules: rules, Description: desc, Input: ofdInput{File: file, Revoked: revoked}, Expected: want})
	}
	add(good, "ofd:REVOKED", "the licence file's seal revoked 30 minutes ago, after it signed (no time-stamp)", "OFD-09", "SEAL-15")
	stamp := func(t *tsa) ([]byte, error) { return stampOFD(good, t, nil) }
	ts, err := w.newTSA()
	if err != nil {
		return err
	}
	stamped, err := stamp(ts)
	if err != nil {
		return err
	}
	add(stamped, "ofd:VALID", "the same seal revoked, the signature time-stamped (TSA under root.pem) a minute after signing, before the revocation", "OFD-09", "SEAL-15", "SEAL-16")
	foreign, err := w.foreignTSA()
	if err != nil {
		return err
	}
	byForeign, err := stamp(foreign)
	if err != nil {
		return err
	}
	add(byForeign, "ofd:REVOKED", "the same, time-stamped by a TSA another root certified: checked, not trusted, so it does not count against the revocation", "OFD-09", "SEAL-15", "SEAL-16")
	return nil
}

// ofdForeignTimestampVectors: the licence file's seal, not revoked,
// time-stamped by a TSA another root certified: an untrusted time-stamp
// leaves the signature VALID, while one that fails its own checks makes
// it SIGNATURE_INVALID (SEAL-16 through OFD-09).
func (k *kit) ofdForeignTimestampVectors(good []byte) error {
	foreign, err := k.w.foreignTSA()
	if err != nil {
		return err
	}
	add := func(file []byte, want, desc string) {
		k.add("ofd.json", Vector{Rules: []string{"OFD-09", "SEAL-16"}, Description: desc, Input: ofdInput{File: file}, Expected: want})
	}
	stamped, err := stampOFD(good, foreign, nil)
	if err != nil {
		return err
	}
	add(stamped, "ofd:VALID", "the licence file's seal signature time-stamped by a TSA another root certified (not revoked): the time-stamp is checked, not trusted")
	altered, err := stampOFD(good, foreign, func(tok []byte) { tok[len(tok)-1] ^= 1 })
	if err != nil {
		return err
	}
	add(altered, "ofd:SIGNATURE_INVALID", "the same, the TSA's signature on the time-stamp altered (last byte): BAD_TIMESTAMP in the seal check, whoever certified the TSA")
	return nil
}

// stampOFD time-stamps the first signature of file with t a minute after
// its signing time; edit, when set, changes the token first.
func stampOFD(file []byte, t *tsa, edit func(tok []byte)) ([]byte, error) {
	return rezipErr(file, func(n string, c []byte) (string, []byte, error) {
		if !strings.HasSuffix(n, "Sign_0/SignedValue.dat") {
			return n, c, nil
		}
		sig, err := ses.ParseSignature(c)
		if err != nil {
			return n, nil, err
		}
		tok, err := t.token(sig.Value, sig.TBS.TimeInfo.Time().Add(time.Minute))
		if err != nil {
			return n, nil, err
		}
		if edit != nil {
			edit(tok)
		}
		der, err := withToken(sig, tok)
		return n, der, err
	})
}

// rezipErr is rezip with an edit that can fail.
func rezipErr(data []byte, edit func(name string, content []byte) (string, []byte, error)) ([]byte, error) {
	var first error
	out, err := rezip(data, func(n string, c []byte) (string, []byte) {
		n, c, err := edit(n, c)
		if err != nil && first == nil {
			first = err
		}
		return n, c
	})
	if first != nil {
		return nil, first
	}
	return out, err
}

// ofdFormVectors break one rule of OFD-01 … OFD-03 each.
func (k *kit) ofdFormVectors(good []byte) error {
	add := func(file []byte, desc string, rules ...string) {
		k.add("ofd.json", Vector{Rules: rules, Description: desc, Input: ofdInput{File: file}, Expected: "ofd:MALFORMED"})
	}
	same := func(n string, c []byte) (string, []byte) { return n, c }
	folded, err := rezipAdd(good, same, []zipEntry{{"ofd.xml", []byte("<x/>")}})
	if err != nil {
		return err
	}
	add(folded, "an entry ofd.xml beside OFD.xml (names repeated case-folded)", "OFD-01")
	foreign, err := rezip(good, func(n string, c []byte) (string, []byte) {
		if n == "OFD.xml" {
			return n, bytes.Replace(c, []byte("</ofd:OFD>"), []byte(`<x:Note xmlns:x="urn:example:not-ofd">x</x:Note></ofd:OFD>`), 1)
		}
		return n, c
	})
	if err != nil {
		return err
	}
	add(foreign, "OFD.xml with an element in another namespace", "OFD-02")
	twice, err := rezip(good, func(n string, c []byte) (string, []byte) {
		if !strings.HasSuffix(n, "Sign_0/Signature.xml") {
			return n, c
		}
		s := string(c)
		i := strings.Index(s, "<ofd:Reference ")
		j := strings.Index(s, "</ofd:Reference>")
		if i < 0 || j < i {
			return n, c
		}
		ref := s[i : j+len("</ofd:Reference>")]
		return n, []byte(s[:i] + ref + ref + s[i:][len(ref):])
	})
	if err != nil {
		return err
	}
	if bytes.Equal(twice, good) {
		return errors.New("conformance: the licence file's Signature.xml has no Reference")
	}
	add(twice, "a reference listed twice in Signature.xml", "OFD-03")
	return nil
}
