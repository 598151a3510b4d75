package seal_test

import (
	"bytes"
	"crypto/x509/pkix"
	"errors"
	"image/png"
	"math/big"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"elicense/certs/ident"
	"elicense/certs/ses"
	"elicense/internal/gm"
	"elicense/issuer/pki"
	"elicense/issuer/seal"
)

// devPKI makes a development PKI with one agency (the seal maker) and a
// holder certificate for signing.
func devPKI(t *testing.T) (*pki.PKI, *pki.Agency, []byte, *gm.PrivateKey) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pki")
	pass := []byte("test passphrase")
	if _, err := pki.Init(pki.InitOptions{
		Dir: dir, Passphrase: pass, Agencies: pki.DefaultAgencies()[:1],
		KeyEncryption: &gm.KeyEncryption{Iterations: 1000},
	}); err != nil {
		t.Fatal(err)
	}
	p, err := pki.Load(dir, pass)
	if err != nil {
		t.Fatal(err)
	}
	key, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "测试有限公司 经办人"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: gm.KeyUsageDigitalSignature,
	}
	der, err := gm.CreateCertificate(tmpl, tmpl, key.PublicKey(), key)
	if err != nil {
		t.Fatal(err)
	}
	return p, p.Agencies[0], der, key
}

// holderCode builds a valid 统一社会信用代码 in the self-defined
// organisation-code range (PDY…), registered in Shanghai (310000).
func holderCode(t *testing.T) string {
	t.Helper()
	org := "PDY20001"
	c, err := ident.OrgCodeCheckChar(org)
	if err != nil {
		t.Fatal(err)
	}
	first17 := "91310000" + org + string(c)
	cc, err := ident.USCCCheckChar(first17)
	if err != nil {
		t.Fatal(err)
	}
	code := first17 + string(cc)
	if err := ident.ValidateUSCC(code); err != nil {
		t.Fatal(err)
	}
	return code
}

func TestMake(t *testing.T) {
	p, agency, signerDER, signerKey := devPKI(t)
	code := holderCode(t)
	now := time.Now().Truncate(time.Second)
	made, err := seal.Make(seal.MakerFromAgency(agency), seal.Options{
		HolderName: "测试有限公司", HolderCode: code, Type: ses.TypeContract,
		ValidUntil: now.AddDate(2, 0, 0), SignerCerts: [][]byte{signerDER}, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^310000[0-9]{16}$`).MatchString(made.ESID) {
		t.Errorf("esID %q", made.ESID)
	}
	s, err := ses.ParseSeal(made.DER)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != ses.V4 || s.Info.ESID != made.ESID || s.Info.Property.Name != "测试有限公司合同专用章" ||
		s.Info.Property.Type != ses.TypeContract || s.Info.Property.CertListType != ses.CertListCerts {
		t.Fatalf("seal info %+v", s.Info)
	}
	if !s.Info.Property.ValidStart.Time().Equal(now) || !s.Info.Property.CreateDate.Time().Equal(now) {
		t.Errorf("dates %s %s", s.Info.Property.CreateDate, s.Info.Property.ValidStart)
	}
	h, ok, err := s.Info.Holder()
	if err != nil || !ok || h != (ses.Holder{Code: code, Name: "测试有限公司"}) {
		t.Fatalf("holder %+v %v %v", h, ok, err)
	}
	// The maker is the agency, certified by the root.
	if !bytes.Equal(s.MakerCert, agency.CertDER) {
		t.Fatal("maker certificate")
	}
	if form, err := s.CheckSignature(agency.Cert); err != nil || form != ses.SignedSealInfo {
		t.Fatalf("maker signature: %v %v", form, err)
	}
	if err := gm.VerifyChain(agency.Cert, []*gm.Certificate{p.Root}, nil, now); err != nil {
		t.Fatal(err)
	}
	// The generated picture.
	pic := s.Info.Picture
	img, err := png.Decode(bytes.NewReader(pic.Data))
	if err != nil || pic.Type != "PNG" || pic.Width != seal.DefaultSizeMM || img.Bounds().Dx() != seal.DefaultPicturePixel {
		t.Fatalf("picture %s %d mm: %v", pic.Type, pic.Width, err)
	}
	// The holder can seal a document with it.
	sig, err := ses.SignDocument(made.Seal, signerDER, signerKey, []byte("合同"), now.Add(time.Minute), "contract")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sig.SignerCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if err := sig.CheckSignature(signer); err != nil {
		t.Fatal(err)
	}
}

func TestMakeOptions(t *testing.T) {
	_, agency, signerDER, _ := devPKI(t)
	code := holderCode(t)
	until := time.Now().AddDate(1, 0, 0)
	maker := seal.MakerFromAgency(agency)
	picture, err := seal.DrawRoundSeal(128)
	if err != nil {
		t.Fatal(err)
	}
	made, err := seal.Make(maker, seal.Options{
		HolderName: "测试有限公司", HolderCode: code, Name: "测试有限公司财务专用章", Type: ses.TypeFinance,
		ValidUntil: until, SignerCerts: [][]byte{signerDER}, CertListType: ses.CertListDigests,
		Picture: picture, WidthMM: 38, HeightMM: 38, ESID: "ES-0001", VID: "SHGOV",
	})
	if err != nil {
		t.Fatal(err)
	}
	s := made.Seal
	if made.ESID != "ES-0001" || s.Info.Header.VID != "SHGOV" || !bytes.Equal(s.Info.Picture.Data, picture) ||
		s.Info.Picture.Height != 38 || s.Info.Property.CertListType != ses.CertListDigests {
		t.Fatalf("options not applied: %+v", s.Info)
	}
	if ok, err := s.HasSigner(signerDER); !ok || err != nil {
		t.Fatalf("signer by digest: %v %v", ok, err)
	}

	base := seal.Options{HolderName: "测试有限公司", HolderCode: code, ValidUntil: until, SignerCerts: [][]byte{signerDER}}
	invalid := map[string]func(*seal.Options){
		"no holder name":    func(o *seal.Options) { o.HolderName = "" },
		"bad holder code":   func(o *seal.Options) { o.HolderCode = "91310000PDY2000100" },
		"no validity":       func(o *seal.Options) { o.ValidUntil = time.Time{} },
		"validity reversed": func(o *seal.Options) { o.ValidFrom = until.Add(time.Hour) },
		"no signer":         func(o *seal.Options) { o.SignerCerts = nil },
		"garbage signer":    func(o *seal.Options) { o.SignerCerts = [][]byte{{1, 2, 3}} },
		"JPEG picture":      func(o *seal.Options) { o.Picture = []byte("\xff\xd8\xff\xe0 not a png") },
		"non-ASCII esID":    func(o *seal.Options) { o.ESID = "印章一号" },
		"negative type":     func(o *seal.Options) { o.Type = -1 },
	}
	for name, mod := range invalid {
		o := base
		mod(&o)
		if _, err := seal.Make(maker, o); !errors.Is(err, seal.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}

	// Only an agency key may make seals, and only with its own key.
	p, _, _, otherKey := devPKI(t)
	badMakers := map[string]seal.Maker{
		"root as maker":   {Cert: p.RootDER, Signer: agency.Signer},
		"ledger as maker": {Cert: p.Ledger.CertDER, Signer: p.Ledger.Signer},
		"wrong key":       {Cert: agency.CertDER, Signer: otherKey},
		"no key":          {Cert: agency.CertDER},
		"garbage":         {Cert: []byte("x"), Signer: otherKey},
	}
	for name, m := range badMakers {
		if _, err := seal.Make(m, base); !errors.Is(err, seal.ErrMaker) {
			t.Errorf("%s: %v", name, err)
		}
	}
	o := base
	o.Now = agency.Cert.NotAfter.Add(time.Hour)
	o.ValidUntil = o.Now.AddDate(1, 0, 0)
	if _, err := seal.Make(maker, o); !errors.Is(err, seal.ErrMaker) {
		t.Errorf("expired maker: %v", err)
	}
}

func TestNewESID(t *testing.T) {
	code := holderCode(t)
	seen := map[string]bool{}
	for range 100 {
		id, err := seal.NewESID(code)
		if err != nil || len(id) != 22 || id[:6] != "310000" || seen[id] {
			t.Fatalf("%q %v", id, err)
		}
		seen[id] = true
	}
	if id, _ := seal.NewESID("11010519491231002X"); id[:6] != "110105" {
		t.Errorf("resident ID region: %q", id)
	}
	if id, _ := seal.NewESID("unknown"); id[:6] != "000000" {
		t.Errorf("no region: %q", id)
	}
}

// TestNewHolderKey: the key opens with its passphrase, and the
// certificate is the key's, valid now, for signing.
func TestNewHolderKey(t *testing.T) {
	now := time.Now()
	hk, err := seal.NewHolderKey("上海浦江示例科技有限公司", []byte("pw"), now)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gm.ParsePrivateKeyPEM(hk.KeyPEM, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := gm.ParseCertificatesPEM(hk.CertPEM)
	if err != nil || len(certs) != 1 {
		t.Fatal(certs, err)
	}
	c := certs[0]
	if c.Subject.CommonName != "上海浦江示例科技有限公司" || now.Before(c.NotBefore) || now.After(c.NotAfter) ||
		gm.KeyIDString(c.Raw) != hk.KeyID || !k.PublicKey().Equal(c.PublicKey) {
		t.Fatalf("certificate %+v", c.Subject)
	}
	if _, err := gm.ParsePrivateKeyPEM(hk.KeyPEM, []byte("other")); err == nil {
		t.Fatal("the key opens with another passphrase")
	}
	if _, err := seal.NewHolderKey("", []byte("pw"), now); err == nil {
		t.Fatal("a key for no one")
	}
}
