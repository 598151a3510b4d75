package trust

import (
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"elicense/certs/agencycert"
	"elicense/certs/ident"
	"elicense/internal/gm"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// usccFor returns a valid 统一社会信用代码 from 17 characters.
func usccFor(first17 string) string {
	c, err := ident.USCCCheckChar(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(c)
}

var (
	codeMarket = usccFor("11310000PDY100010") // 市场监督管理局
	codePolice = usccFor("11310000PDY100029") // 公安局
)

// testPKI is a root, a ledger signer and agency keys made with
// gm.CreateCertificate and the elicense role and policy attributes.
type testPKI struct {
	rootKey, ledgerKey *gm.PrivateKey
	root               *gm.Certificate
	rootDER, ledgerDER []byte
	serial             int64
}

func newKey(t testing.TB) *gm.PrivateKey {
	t.Helper()
	k, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	p := &testPKI{rootKey: newKey(t), ledgerKey: newKey(t)}
	ext, err := agencycert.RoleExtension(agencycert.RoleRoot)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &gm.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "elicense test root"},
		NotBefore:             t0.Add(-time.Hour),
		NotAfter:              t0.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              gm.KeyUsageCertSign | gm.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		ExtraExtensions:       []pkix.Extension{ext},
	}
	if p.rootDER, err = gm.CreateCertificate(tmpl, tmpl, p.rootKey.PublicKey(), p.rootKey); err != nil {
		t.Fatal(err)
	}
	if p.root, err = gm.ParseCertificate(p.rootDER); err != nil {
		t.Fatal(err)
	}
	p.serial = 1
	p.ledgerDER = p.issue(t, "ledger and status signer", p.ledgerKey, roleExt(t, agencycert.RoleLedger), t0.Add(-time.Hour), t0.Add(365*24*time.Hour))
	return p
}

func roleExt(t testing.TB, r agencycert.Role) pkix.Extension {
	t.Helper()
	ext, err := agencycert.RoleExtension(r)
	if err != nil {
		t.Fatal(err)
	}
	return ext
}

func policyExt(t testing.TB, code string, classes ...string) pkix.Extension {
	t.Helper()
	ext, err := agencycert.Policy{AgencyCode: code, Classes: classes}.Extension()
	if err != nil {
		t.Fatal(err)
	}
	return ext
}

// issue makes an end-entity certificate for key, signed by the root.
func (p *testPKI) issue(t testing.TB, cn string, key *gm.PrivateKey, ext pkix.Extension, nb, na time.Time) []byte {
	t.Helper()
	p.serial++
	tmpl := &gm.Certificate{
		SerialNumber:          big.NewInt(p.serial),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{cn}},
		NotBefore:             nb,
		NotAfter:              na,
		KeyUsage:              gm.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{ext},
	}
	der, err := gm.CreateCertificate(tmpl, p.root, key.PublicKey(), p.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// agencyKey makes an agency certificate allowing classes.
func (p *testPKI) agencyKey(t testing.TB, code string, classes ...string) (*gm.PrivateKey, []byte) {
	t.Helper()
	k := newKey(t)
	return k, p.issue(t, "agency "+code, k, policyExt(t, code, classes...), t0.Add(-time.Hour), t0.Add(365*24*time.Hour))
}

func (p *testPKI) chain() [][]byte { return [][]byte{p.ledgerDER, p.rootDER} }

func (p *testPKI) opts() VerifyOptions {
	return VerifyOptions{Roots: []*gm.Certificate{p.root}, Now: t0.Add(time.Hour)}
}

// fixture is a PKI and the agency keys of a good bundle.
type fixture struct {
	*testPKI
	marketKey, policeKey, oldKey, badKey *gm.PrivateKey
	marketDER, policeDER, oldDER, badDER []byte
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{testPKI: newPKI(t)}
	f.marketKey, f.marketDER = f.agencyKey(t, codeMarket, "business-license", "food-operation-permit")
	f.oldKey, f.oldDER = f.agencyKey(t, codeMarket, "business-license", "food-operation-permit")
	f.badKey, f.badDER = f.agencyKey(t, codeMarket, "business-license", "food-operation-permit")
	f.policeKey, f.policeDER = f.agencyKey(t, codePolice, "drivers-license", "vehicle-license")
	return f
}

// bundle returns a good bundle with sequence number seq.
func (f *fixture) bundle(seq uint64) *Bundle {
	return &Bundle{
		Version:    FormatVersion,
		Seq:        seq,
		IssuedAt:   t0,
		NextUpdate: t0.Add(24 * time.Hour),
		Root:       gm.KeyIDString(f.rootDER),
		Agencies: []Agency{
			{
				Code: codeMarket, Name: "上海市市场监督管理局",
				Classes: []string{"business-license", "food-operation-permit"},
				Keys: []AgencyKey{
					{KID: gm.KeyIDString(f.marketDER), Cert: f.marketDER, State: KeyActive, Since: t0.Add(-time.Hour)},
					{KID: gm.KeyIDString(f.oldDER), Cert: f.oldDER, State: KeyRetired, Since: t0.Add(-30 * time.Minute)},
					{KID: gm.KeyIDString(f.badDER), Cert: f.badDER, State: KeyCompromised, Since: t0.Add(-10 * time.Minute)},
				},
			},
			{
				Code: codePolice, Name: "上海市公安局",
				Classes: []string{"drivers-license"},
				Keys:    []AgencyKey{{KID: gm.KeyIDString(f.policeDER), Cert: f.policeDER, State: KeyActive}},
			},
		},
		StatusLists: []StatusList{
			{ID: "sh-amr-1", URI: "https://status.example.gov.cn/amr/1", Agency: codeMarket, SignerKID: gm.KeyIDString(f.ledgerDER)},
			{ID: "sh-psb-1", URI: "https://status.example.gov.cn/psb/1", Agency: codePolice, SignerKID: gm.KeyIDString(f.policeDER)},
		},
		Checkpoint: "elicense.example.gov.cn/ledger\n42\nAAAA\n\n— elicense Zm9v\n",
		LedgerKey:  &Key{KID: gm.KeyIDString(f.ledgerDER), Cert: f.ledgerDER},
	}
}

func (f *fixture) sign(t testing.TB, b *Bundle) string {
	t.Helper()
	tok, err := Sign(b, f.ledgerKey, f.chain())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
