package seal_test

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"elicense/certs/ses"
	"elicense/certs/tsp"
	"elicense/internal/gm"
	"elicense/verifier/seal"
)

// sampleDir holds the ofdrw samples; certs/ses owns the copy (with its
// README saying where they come from and what must hold).
const sampleDir = "../../certs/ses/testdata/ofdrw"

func readSample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(sampleDir, filepath.FromSlash(name)))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

type party struct {
	der  []byte
	cert *gm.Certificate
	key  *gm.PrivateKey
}

var serial atomic.Int64

// issue makes a certificate under parent (self-signed without one), a CA
// or an end entity with the given extended key usages.
func issue(tb testing.TB, cn string, parent *party, ca bool, nb, na time.Time, eku ...gm.ExtKeyUsage) *party {
	tb.Helper()
	key, err := gm.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"elicense test"}},
		NotBefore:    nb, NotAfter: na,
		KeyUsage: gm.KeyUsageDigitalSignature, ExtKeyUsage: eku,
	}
	if ca {
		tmpl.KeyUsage = gm.KeyUsageCertSign | gm.KeyUsageCRLSign
		tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	}
	parentCert, parentKey := tmpl, key
	if parent != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := gm.CreateCertificate(tmpl, parentCert, key.PublicKey(), parentKey)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := gm.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return &party{der: der, cert: cert, key: key}
}

// world is a dev PKI (root, seal maker, two signers), a seal listing the
// first signer, and a document that signer sealed.
type world struct {
	root, maker, signer, other *party
	nb, na                     time.Time
	seal                       *ses.Seal
	signedAt                   time.Time
	doc                        []byte
	sig                        *ses.Signature
}

func newWorld(tb testing.TB) *world {
	tb.Helper()
	nb := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	na := nb.AddDate(1, 0, 0)
	root := issue(tb, "test root", nil, true, nb, na)
	w := &world{
		root:   root,
		maker:  issue(tb, "上海市市场监督管理局 seal maker", root, false, nb, na),
		signer: issue(tb, "测试有限公司 signer", root, false, nb, na),
		other:  issue(tb, "other signer", root, false, nb, na),
		nb:     nb, na: na,
		doc: []byte("营业执照申请书\n申请人：测试有限公司\n"),
	}
	w.seal = w.makeSeal(tb, w.nb.Add(time.Hour), w.na.Add(-time.Hour), w.signer.der)
	w.signedAt = w.nb.Add(24 * time.Hour)
	sig, err := ses.SignDocument(w.seal, w.signer.der, w.signer.key, w.doc, w.signedAt, "application.txt")
	if err != nil {
		tb.Fatal(err)
	}
	w.sig = sig
	return w
}

// tinyPNG is a valid 1×1 PNG.
var tinyPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")

func (w *world) sealParams(from, until time.Time, signers ...[]byte) ses.SealParams {
	return ses.SealParams{
		ESID: "310000TEST0000000001", Type: ses.TypeContract, Name: "测试有限公司合同专用章",
		SignerCerts: signers, CreateDate: from, ValidStart: from, ValidEnd: until,
		Picture: tinyPNG, WidthMM: 40, HeightMM: 40,
	}
}

func (w *world) makeSeal(tb testing.TB, from, until time.Time, signers ...[]byte) *ses.Seal {
	tb.Helper()
	info, err := ses.NewSealInfo(w.sealParams(from, until, signers...))
	if err != nil {
		tb.Fatal(err)
	}
	s, err := ses.SignSeal(info, w.maker.der, w.maker.key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func (w *world) opts() seal.Options {
	return seal.Options{Roots: []*gm.Certificate{w.root.cert}}
}

// signTBS signs tbs with p (no checks: for signatures a verifier rejects).
func signTBS(tb testing.TB, tbs ses.TBSSign, p *party) *ses.Signature {
	tb.Helper()
	sig, err := ses.SignTBS(tbs, p.der, p.key)
	if err != nil {
		tb.Fatal(err)
	}
	return sig
}

func (w *world) tbs(seal *ses.Seal, at time.Time, doc []byte) ses.TBSSign {
	h := gm.SM3(doc)
	return ses.TBSSign{Version: 4, Seal: seal, TimeInfo: ses.GeneralizedTime(at), DataHash: h[:], PropertyInfo: "x"}
}

// v1Seal re-makes the world's seal in the GM/T 0031 form: no
// certListType, UTCTime dates, header version 1, the maker signing
// SEQUENCE {SES_SealInfo, cert, signatureAlgorithm}.
func (w *world) v1Seal(tb testing.TB) *ses.Seal {
	tb.Helper()
	s := &ses.Seal{Version: ses.V1, Info: w.seal.Info, MakerCert: w.maker.der, SignAlg: ses.OIDSM3WithSM2}
	p := &s.Info.Property
	p.CertListType = 0
	p.CreateDate = ses.UTCTime(p.CreateDate.Time())
	p.ValidStart = ses.UTCTime(p.ValidStart.Time())
	p.ValidEnd = ses.UTCTime(p.ValidEnd.Time())
	s.Info.Header.Version = 1
	msg, err := s.SignedMessage(ses.SignedV1Form)
	if err != nil {
		tb.Fatal(err)
	}
	if s.SignedValue, err = gm.Sign(w.maker.key, msg); err != nil {
		tb.Fatal(err)
	}
	der, err := s.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	back, err := ses.ParseSeal(der)
	if err != nil {
		tb.Fatal(err)
	}
	return back
}

// v1Signature signs doc with the v1 seal in the GM/T 0031 form (timeInfo
// a BIT STRING holding a DER UTCTime, as ofdrw writes it).
func v1Signature(tb testing.TB, seal []byte, at time.Time, signer *party, doc []byte) []byte {
	tb.Helper()
	h := gm.SM3(doc)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddBytes(seal)
		b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) {
			b.AddUint8(0)
			b.AddASN1(cbasn1.UTCTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte(at.UTC().Format("060102150405Z"))) })
		})
		b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) { b.AddUint8(0); b.AddBytes(h[:]) })
		b.AddASN1(cbasn1.Tag(22), func(b *cryptobyte.Builder) { b.AddBytes([]byte("/doc")) })
		b.AddASN1OctetString(signer.der)
		b.AddASN1ObjectIdentifier(ses.OIDSM3WithSM2)
	})
	tbs := b.BytesOrPanic()
	sig, err := gm.Sign(signer.key, tbs)
	if err != nil {
		tb.Fatal(err)
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) { b.AddUint8(0); b.AddBytes(sig) })
	})
	return out.BytesOrPanic()
}

// tokenOpts vary a test time-stamp token.
type tokenOpts struct {
	imprint  []byte // message imprint; SM3 of the signature value when nil
	noAttrs  bool   // sign the TSTInfo directly, without signed attributes
	badAttrs bool   // a messageDigest that does not match
	signer   *party // key that signs; the TSA when nil
}

// makeToken builds an RFC 3161 TimeStampToken with SM3 and SM2, as a
// GM/T 0033 time-stamp authority would, carrying the TSA certificate.
func makeToken(tb testing.TB, tsa *party, sigValue []byte, genTime time.Time, o tokenOpts) []byte {
	tb.Helper()
	st := tsp.Stamp{Imprint: o.imprint, GenTime: genTime, Policy: asn1.ObjectIdentifier{1, 2, 3, 4}, Serial: 42,
		TSA: tsa.cert, Signer: tsa.key, NoSignedAttrs: o.noAttrs}
	if st.Imprint == nil {
		h := gm.SM3(sigValue)
		st.Imprint = h[:]
	}
	if o.signer != nil {
		st.Signer = o.signer.key
	}
	if o.badAttrs {
		st.MessageDigest = bytes.Repeat([]byte{1}, 32)
	}
	tok, err := tsp.Build(st)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// withTimestamp returns sig's DER with token as its timeStamp.
func withTimestamp(tb testing.TB, sig *ses.Signature, token []byte) []byte {
	tb.Helper()
	v := *sig
	v.Timestamp = &ses.Timestamp{Token: token}
	der, err := v.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return der
}
