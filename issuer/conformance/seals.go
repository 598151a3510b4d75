package conformance

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"image"
	"image/color"
	"image/png"
	"math/big"
	"time"

	"elicense/certs/ses"
	"elicense/internal/gm"
	"elicense/issuer/seal"
)

// sealInput is the input of a seal vector.
type sealInput struct {
	Signature []byte `json:"signature"` // DER SES_Signature, base64
	Document  []byte `json:"document"`  // the signed bytes, base64
	// RootPEM is the root the maker certificate must chain to; absent:
	// root.pem.
	RootPEM string `json:"root_pem,omitempty"`
	// Revoked are the revoked seals the verifier knows (a trust bundle's
	// revoked_seals).
	Revoked []revokedSeal `json:"revoked_seals,omitempty"`
}

type revokedSeal struct {
	ESID  string    `json:"esid"`
	Since time.Time `json:"since"`
}

func init() { ctxSteps = append(ctxSteps, (*kit).sealVectors) }

// tinyPNG is a 4×4 red PNG: a seal picture of a few bytes.
func tinyPNG() ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for i := range 16 {
		img.Set(i%4, i/4, color.NRGBA{R: 0xd0, A: 0xff})
	}
	var buf bytes.Buffer
	err := png.Encode(&buf, img)
	return buf.Bytes(), err
}

// holderCert certifies key as a seal holder's signing key, valid
// from..until (no elicense role).
func (w *world) holderCert(name string, key *gm.PrivateKey, from, until time.Time) ([]byte, error) {
	w.serial++
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(w.serial), Subject: pkix.Name{CommonName: name, Organization: []string{name}},
		NotBefore: from, NotAfter: until, KeyUsage: gm.KeyUsageDigitalSignature, BasicConstraintsValid: true,
	}
	return gm.CreateCertificate(tmpl, w.Root, key.PublicKey(), detSigner{w.RootKey})
}

// makeSeal has the market agency make a seal for the sample company
// listing signer, valid from..until.
func (w *world) makeSeal(esid string, signer []byte, from, until time.Time) (*seal.Made, error) {
	pic, err := tinyPNG()
	if err != nil {
		return nil, err
	}
	return seal.Make(seal.Maker{Cert: w.Market.DER, Signer: w.Market.signer()}, seal.Options{
		HolderName: "上海浦江示例网络科技有限公司", HolderCode: "91310115MA1FPA014G",
		ValidFrom: from, ValidUntil: until, SignerCerts: [][]byte{signer}, Picture: pic,
		ESID: esid, Now: from,
	})
}

func (k *kit) sealVectors(*Context) error {
	w := k.w
	const f = "seals.json"
	add := func(in sealInput, want, desc string, rules ...string) {
		k.add(f, Vector{Rules: rules, Description: desc, Input: in, Expected: want})
	}
	hkey := seedKey("seal-holder")
	hcert, err := w.holderCert("上海浦江示例网络科技有限公司 签章人", hkey, w.Now.Add(-24*time.Hour), w.Now.Add(365*24*time.Hour))
	if err != nil {
		return err
	}
	made, err := w.makeSeal("31011500000001", hcert, w.Now.Add(-12*time.Hour), w.Now.Add(365*24*time.Hour))
	if err != nil {
		return err
	}
	doc := []byte("合同正文：甲方与乙方约定……\n")
	at := w.Now.Add(-time.Hour)
	sig, err := ses.SignDocument(made.Seal, hcert, detSigner{hkey}, doc, at, "contract.txt")
	if err != nil {
		return err
	}
	der, err := sig.Marshal()
	if err != nil {
		return err
	}
	add(sealInput{Signature: der, Document: doc}, "seal:VALID", "a v4 seal made by the market agency, a document signed by the holder an hour ago",
		"SEAL-01", "SEAL-02", "SEAL-03", "SEAL-04", "SEAL-05", "SEAL-07", "SEAL-08", "SEAL-09", "SEAL-10", "SEAL-11", "SEAL-12", "SEAL-14", "SEAL-15", "GM-03")
	add(sealInput{Signature: der, Document: append(append([]byte(nil), doc...), '!')}, "seal:DOCUMENT_MODIFIED", "the document with one byte appended", "SEAL-14")
	add(sealInput{Signature: der[:len(der)-7], Document: doc}, "seal:MALFORMED", "the signature DER truncated", "SEAL-01", "SEAL-07")
	add(sealInput{Signature: der, Document: doc, Revoked: []revokedSeal{{ESID: made.ESID, Since: w.Now.Add(-30 * time.Minute)}}}, "seal:SEAL_REVOKED",
		"the seal revoked 30 minutes ago (no time-stamp)", "SEAL-15")
	other, err := otherRoot(w.Now)
	if err != nil {
		return err
	}
	add(sealInput{Signature: der, Document: doc, RootPEM: string(gm.EncodeCertificatePEM(other))}, "seal:MAKER_UNTRUSTED", "maker certificate not under the pinned root", "SEAL-10")
	// Signatures SignDigest refuses to make, signed at the TBS level.
	tbs := func(s *ses.Seal, t time.Time) ses.TBSSign {
		h := gm.SM3(doc)
		return ses.TBSSign{Version: 4, Seal: s, TimeInfo: ses.GeneralizedTime(t), DataHash: h[:], PropertyInfo: "contract.txt"}
	}
	signed := func(t ses.TBSSign, cert []byte, key *gm.PrivateKey) ([]byte, error) {
		s, err := ses.SignTBS(t, cert, detSigner{key})
		if err != nil {
			return nil, err
		}
		return s.Marshal()
	}
	okey := seedKey("seal-other-holder")
	ocert, err := w.holderCert("另一签章人", okey, w.Now.Add(-24*time.Hour), w.Now.Add(365*24*time.Hour))
	if err != nil {
		return err
	}
	notIn, err := signed(tbs(made.Seal, at), ocert, okey)
	if err != nil {
		return err
	}
	add(sealInput{Signature: notIn, Document: doc}, "seal:SIGNER_NOT_IN_SEAL", "signed by a certificate the seal does not list", "SEAL-09")
	late, err := signed(tbs(made.Seal, w.Now.Add(400*24*time.Hour)), hcert, hkey)
	if err != nil {
		return err
	}
	add(sealInput{Signature: late, Document: doc}, "seal:SEAL_EXPIRED", "signing time after the seal's validity", "SEAL-11")
	shortKey := seedKey("seal-short-holder")
	short, err := w.holderCert("短期签章人", shortKey, w.Now.Add(-24*time.Hour), w.Now.Add(-2*time.Hour))
	if err != nil {
		return err
	}
	made2, err := w.makeSeal("31011500000002", short, w.Now.Add(-12*time.Hour), w.Now.Add(365*24*time.Hour))
	if err != nil {
		return err
	}
	expired, err := signed(tbs(made2.Seal, at), short, shortKey)
	if err != nil {
		return err
	}
	add(sealInput{Signature: expired, Document: doc}, "seal:SIGNER_CERT_EXPIRED", "signing time after the signer certificate's NotAfter", "SEAL-12")
	// The maker's signature on the seal broken: flip the last byte of
	// the seal's DER (its signature value) and sign again as the holder.
	sealDER := append([]byte(nil), made.DER...)
	sealDER[len(sealDER)-1] ^= 1
	broken, err := ses.ParseSeal(sealDER)
	if err != nil {
		return err
	}
	badSeal, err := signed(tbs(broken, at), hcert, hkey)
	if err != nil {
		return err
	}
	add(sealInput{Signature: badSeal, Document: doc}, "seal:BAD_SEAL_SIGNATURE", "the maker's signature on the seal altered", "SEAL-04", "SEAL-10")
	// Time-stamps (SEAL-13) and revocation after a trusted time-stamp
	// (SEAL-15). The TSA's certificate is issued by root.pem, which the
	// verifier also trusts as a time-stamp root.
	ts, err := w.newTSA()
	if err != nil {
		return err
	}
	stamped, err := ts.stamped(sig, at.Add(time.Minute))
	if err != nil {
		return err
	}
	add(sealInput{Signature: stamped, Document: doc}, "seal:VALID", "time-stamped a minute after the signing time", "SEAL-13", "SEAL-16", "SEAL-17")
	early, err := ts.stamped(sig, at.Add(-time.Hour))
	if err != nil {
		return err
	}
	add(sealInput{Signature: early, Document: doc}, "seal:BAD_TIMESTAMP", "time-stamp an hour before the signing time", "SEAL-13", "SEAL-17")
	add(sealInput{Signature: stamped, Document: doc, Revoked: []revokedSeal{{ESID: made.ESID, Since: w.Now.Add(-30 * time.Minute)}}}, "seal:VALID",
		"the seal revoked 30 minutes ago, the signature time-stamped (trusted) before that", "SEAL-15", "SEAL-13")
	// A seal whose holder ExtData is not a Holder (SEAL-05).
	pic, err := tinyPNG()
	if err != nil {
		return err
	}
	info, err := ses.NewSealInfo(ses.SealParams{ESID: "31011500000003", Type: ses.TypeOfficial, Name: "上海浦江示例网络科技有限公司公章",
		SignerCerts: [][]byte{hcert}, CreateDate: w.Now.Add(-12 * time.Hour), ValidStart: w.Now.Add(-12 * time.Hour), ValidEnd: w.Now.Add(365 * 24 * time.Hour),
		Picture: pic, WidthMM: 40, HeightMM: 40, ExtDatas: []ses.ExtData{{ID: ses.OIDHolder, Value: []byte{0x05, 0x00}}}})
	if err != nil {
		return err
	}
	badHolder, err := ses.SignSeal(info, w.Market.DER, w.Market.signer())
	if err != nil {
		return err
	}
	bh, err := signed(tbs(badHolder, at), hcert, hkey)
	if err != nil {
		return err
	}
	// seals-ofd.md states the Holder form for elicense seals but sets no
	// verifier check on it (rules.md says seal:MALFORMED): either verdict
	// conforms until the specification decides.
	k.add(f, Vector{Rules: []string{"SEAL-05"}, Description: "the holder ExtData (2.25.2312…) is NULL, not Holder {code, name}: SEAL-05 sets no verifier check (rules.md names seal:MALFORMED)",
		Input: sealInput{Signature: bh, Document: doc}, Expected: "seal:VALID", AlsoConforming: []string{"seal:MALFORMED"}})
	flipped := append([]byte(nil), der...)
	flipped[len(flipped)-1] ^= 1
	add(sealInput{Signature: flipped, Document: doc}, "seal:BAD_SIGNATURE", "the signer's signature value altered (last byte)", "SEAL-03", "SEAL-08", "GM-03")
	sv := sealVectorEnv{k: k, doc: doc, at: at, hkey: hkey, hcert: hcert, made: made, sig: sig, ts: ts, tbs: tbs, signed: signed}
	if err := sv.validityVectors(); err != nil {
		return err
	}
	if err := sv.formVectors(); err != nil {
		return err
	}
	return sv.timestampVectors()
}

// sealVectorEnv is what the seal vectors share: one holder, one seal
// listing it, one signature over doc at at, and a TSA.
type sealVectorEnv struct {
	k      *kit
	doc    []byte
	at     time.Time
	hkey   *gm.PrivateKey
	hcert  []byte
	made   *seal.Made
	sig    *ses.Signature
	ts     *tsa
	tbs    func(*ses.Seal, time.Time) ses.TBSSign
	signed func(ses.TBSSign, []byte, *gm.PrivateKey) ([]byte, error)
}

func (e *sealVectorEnv) add(sig []byte, want, desc string, rules ...string) {
	e.k.add("seals.json", Vector{Rules: rules, Description: desc, Input: sealInput{Signature: sig, Document: e.doc}, Expected: want})
}

// validityVectors sign before the seal's and the signer certificate's
// validity (SEAL-11, SEAL-12).
func (e *sealVectorEnv) validityVectors() error {
	w := e.k.w
	early, err := e.signed(e.tbs(e.made.Seal, w.Now.Add(-13*time.Hour)), e.hcert, e.hkey)
	if err != nil {
		return err
	}
	e.add(early, "seal:SEAL_NOT_YET_VALID", "signing time an hour before the seal's validStart (the signer certificate valid then)", "SEAL-11")
	key := seedKey("seal-late-holder")
	cert, err := w.holderCert("新任签章人", key, w.Now.Add(-2*time.Hour), w.Now.Add(365*24*time.Hour))
	if err != nil {
		return err
	}
	made, err := w.makeSeal("31011500000004", cert, w.Now.Add(-12*time.Hour), w.Now.Add(365*24*time.Hour))
	if err != nil {
		return err
	}
	before, err := e.signed(e.tbs(made.Seal, w.Now.Add(-3*time.Hour)), cert, key)
	if err != nil {
		return err
	}
	e.add(before, "seal:SIGNER_CERT_NOT_YET_VALID", "signing time an hour before the signer certificate's NotBefore (the seal valid then)", "SEAL-12")
	return nil
}

// formVectors: another algorithm, a non-minimal DER integer, and the
// digest form of certList.
func (e *sealVectorEnv) formVectors() error {
	w := e.k.w
	alg := *e.sig
	alg.SignAlg = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	der, err := alg.Marshal()
	if err != nil {
		return err
	}
	e.add(der, "seal:UNSUPPORTED_ALGORITHM", "signatureAlgID ecdsa-with-SHA256 (1.2.840.10045.4.3.2), the signature value unchanged", "SEAL-02", "SEAL-07")
	rs, err := gm.DERToRS(e.sig.Value)
	if err != nil {
		return err
	}
	long := *e.sig
	long.Value = nonMinimalDER(rs)
	if der, err = long.Marshal(); err != nil {
		return err
	}
	e.add(der, "seal:BAD_SIGNATURE", "the signer's DER signature with r written with a superfluous leading zero byte (same r and s)", "GM-03", "SEAL-03")
	digestSeal := func(esid, digestType string) (*ses.Seal, error) {
		pic, err := tinyPNG()
		if err != nil {
			return nil, err
		}
		info, err := ses.NewSealInfo(ses.SealParams{ESID: esid, Type: ses.TypeOfficial, Name: "上海浦江示例网络科技有限公司公章",
			SignerCerts: [][]byte{e.hcert}, CertListType: ses.CertListDigests, CreateDate: w.Now.Add(-12 * time.Hour),
			ValidStart: w.Now.Add(-12 * time.Hour), ValidEnd: w.Now.Add(365 * 24 * time.Hour), Picture: pic, WidthMM: 40, HeightMM: 40})
		if err != nil {
			return nil, err
		}
		if digestType != "" {
			info.Property.CertDigests[0].Type = digestType
		}
		return ses.SignSeal(info, w.Market.DER, w.Market.signer())
	}
	for _, c := range []struct{ esid, typ, want, desc string }{
		{"31011500000005", "", "seal:VALID", "a seal listing its signer by digest (certListType 2, type \"SM3\", SM3 of the certificate's DER)"},
		{"31011500000006", "SHA256", "seal:UNSUPPORTED_ALGORITHM", "a seal listing its signer by a digest of type \"SHA256\" (certListType 2)"},
	} {
		s, err := digestSeal(c.esid, c.typ)
		if err != nil {
			return err
		}
		der, err := e.signed(e.tbs(s, e.at), e.hcert, e.hkey)
		if err != nil {
			return err
		}
		e.add(der, c.want, c.desc, "SEAL-09", "SEAL-18")
	}
	return nil
}

// nonMinimalDER writes the 64-byte r‖s as a DER SEQUENCE whose r has
// one more leading zero byte than DER allows.
func nonMinimalDER(rs []byte) []byte {
	integer := func(v []byte, pad bool) []byte {
		v = bytes.TrimLeft(v, "\x00")
		if len(v) == 0 || v[0]&0x80 != 0 {
			v = append([]byte{0}, v...)
		}
		if pad {
			v = append([]byte{0}, v...)
		}
		return append([]byte{0x02, byte(len(v))}, v...)
	}
	body := append(integer(rs[:32], true), integer(rs[32:], false)...)
	return append([]byte{0x30, byte(len(body))}, body...)
}

// timestampVectors: the tolerance of a time-stamp before the signing
// time (SEAL-13).
func (e *sealVectorEnv) timestampVectors() error {
	for _, c := range []struct {
		d          time.Duration
		want, desc string
	}{
		{-4 * time.Minute, "seal:VALID", "time-stamped 4 minutes before the signing time (within the 5-minute tolerance)"},
		{-6 * time.Minute, "seal:BAD_TIMESTAMP", "time-stamped 6 minutes before the signing time"},
	} {
		der, err := e.ts.stamped(e.sig, e.at.Add(c.d))
		if err != nil {
			return err
		}
		e.add(der, c.want, c.desc, "SEAL-13", "SEAL-17")
	}
	return e.foreignTimestampVectors()
}

// foreignTimestampVectors: a time-stamp whose authority another root
// certified (the kit's TSA roots are root.pem) is valid but untrusted
// (SEAL-16 item 5): it does not count against a revocation (SEAL-15);
// the same authority's time-stamp that fails its own checks is
// BAD_TIMESTAMP.
func (e *sealVectorEnv) foreignTimestampVectors() error {
	w := e.k.w
	foreign, err := w.foreignTSA()
	if err != nil {
		return err
	}
	der, err := foreign.stamped(e.sig, e.at.Add(time.Minute))
	if err != nil {
		return err
	}
	e.add(der, "seal:VALID", "time-stamped a minute after the signing time by a TSA whose certificate another root issued: checked, not trusted (root.pem is the TSA root)", "SEAL-13", "SEAL-16")
	e.k.add("seals.json", Vector{Rules: []string{"SEAL-15", "SEAL-16"}, Expected: "seal:SEAL_REVOKED",
		Description: "the same, the seal revoked 30 minutes ago: that time-stamp is before the revocation but not trusted, so it does not count",
		Input:       sealInput{Signature: der, Document: e.doc, Revoked: []revokedSeal{{ESID: e.made.ESID, Since: w.Now.Add(-30 * time.Minute)}}}})
	tok, err := foreign.token(e.sig.Value, e.at.Add(time.Minute))
	if err != nil {
		return err
	}
	tok[len(tok)-1] ^= 1
	if der, err = withToken(e.sig, tok); err != nil {
		return err
	}
	e.add(der, "seal:BAD_TIMESTAMP", "time-stamped by that TSA (another root's), its signature altered (last byte): an untrusted authority's time-stamp is still checked", "SEAL-13", "SEAL-16")
	if tok, err = foreign.token(e.doc, e.at.Add(time.Minute)); err != nil {
		return err
	}
	if der, err = withToken(e.sig, tok); err != nil {
		return err
	}
	e.add(der, "seal:BAD_TIMESTAMP", "time-stamped by that TSA (another root's) over the document, not the signature value (message imprint)", "SEAL-13", "SEAL-16")
	lapsed, err := w.foreignTSAValid(101, w.Now.Add(-24*time.Hour), e.at)
	if err != nil {
		return err
	}
	if der, err = lapsed.stamped(e.sig, e.at.Add(time.Minute)); err != nil {
		return err
	}
	e.add(der, "seal:BAD_TIMESTAMP", "time-stamped a minute after the signing time by another root's TSA whose certificate ended at the signing time (genTime outside it)", "SEAL-13", "SEAL-16")
	// The seal's own signer key as a time-stamp authority: its
	// certificate chains to root.pem but is no time-stamping one, so a
	// holder cannot back-date its way past a revocation.
	self, err := gm.ParseCertificate(e.hcert)
	if err != nil {
		return err
	}
	if der, err = (&tsa{key: e.hkey, der: e.hcert, cert: self}).stamped(e.sig, e.at.Add(time.Minute)); err != nil {
		return err
	}
	e.k.add("seals.json", Vector{Rules: []string{"SEAL-15", "SEAL-16"}, Expected: "seal:SEAL_REVOKED",
		Description: "the seal revoked 30 minutes ago, the signature time-stamped before that with the seal signer's own key, whose certificate root.pem issued without id-kp-timeStamping: checked, not trusted",
		Input:       sealInput{Signature: der, Document: e.doc, Revoked: []revokedSeal{{ESID: e.made.ESID, Since: w.Now.Add(-30 * time.Minute)}}}})
	return nil
}
