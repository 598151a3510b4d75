package consent

import (
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"elicense/certs/agencycert"
	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/ident"
	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/chinatime"
	"elicense/internal/gm"
)

// t0 is the time of the test flow: the request is made at t0, answered
// a minute later, the credential signed two minutes later.
var t0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

const (
	issuerURL = "https://elicense.example.gov.cn"
	testRP    = "sh-scjg-food-permit"
	statusURI = "https://status.example.gov.cn/amr/1"
)

func usccFor(first17 string) string {
	c, err := ident.USCCCheckChar(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(c)
}

var (
	codeMarket = usccFor("11310000PDY100010")
	codePolice = usccFor("11310000PDY100029")
	testLicID  = ident.LicenseID{TypeCode: mustClass("business-license").TypeCode, IssuerCode: codeMarket, Serial: "000001", Version: 1}.String()
	testCopyID = testLicID + "#0011223344556677"
)

// fixedKey is a test key derived from its name: the golden vectors'
// keys are fixed, so a vector made once verifies for ever.
func fixedKey(t testing.TB, name string) *gm.PrivateKey {
	t.Helper()
	d := gm.SM3([]byte("elicense/consent/test-key/" + name))
	k, err := gm.NewPrivateKey(d[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fixture is a PKI (root, ledger signer, agency keys), a signed and
// verified trust bundle, and the holder's and relying party's keys.
type fixture struct {
	root                                     *gm.Certificate
	rootDER, ledgerDER, agencyDER, policeDER []byte
	badDER                                   []byte
	rootKey, ledgerKey, agencyKey, policeKey *gm.PrivateKey
	badKey, deviceKey, otherDevice, rpKey    *gm.PrivateKey
	bundleToken                              string
	bundle                                   *trust.Bundle
	serial                                   int64
	samples                                  map[string]string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{
		rootKey: fixedKey(t, "root"), ledgerKey: fixedKey(t, "ledger"), agencyKey: fixedKey(t, "agency"),
		policeKey: fixedKey(t, "police"), badKey: fixedKey(t, "compromised"), deviceKey: fixedKey(t, "device"),
		otherDevice: fixedKey(t, "other-device"), rpKey: fixedKey(t, "rp"), serial: 1,
	}
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "elicense consent test root"},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(50 * 365 * 24 * time.Hour),
		KeyUsage: gm.KeyUsageCertSign | gm.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
		ExtraExtensions: []pkix.Extension{roleExt(t, agencycert.RoleRoot)},
	}
	var err error
	if f.rootDER, err = gm.CreateCertificate(tmpl, tmpl, f.rootKey.PublicKey(), f.rootKey); err != nil {
		t.Fatal(err)
	}
	if f.root, err = gm.ParseCertificate(f.rootDER); err != nil {
		t.Fatal(err)
	}
	f.ledgerDER = f.issue(t, "ledger", f.ledgerKey, roleExt(t, agencycert.RoleLedger))
	f.agencyDER = f.issue(t, "market", f.agencyKey, policyExt(t, codeMarket, "business-license", "food-operation-permit"))
	f.badDER = f.issue(t, "market compromised", f.badKey, policyExt(t, codeMarket, "business-license", "food-operation-permit"))
	f.policeDER = f.issue(t, "police", f.policeKey, policyExt(t, codePolice, "drivers-license"))
	f.bundleToken, err = trust.Sign(f.bundleContent(), f.ledgerKey, [][]byte{f.ledgerDER, f.rootDER})
	if err != nil {
		t.Fatal(err)
	}
	f.verifyBundle(t)
	f.samples = samples(t)
	return f
}

func (f *fixture) verifyBundle(t testing.TB) {
	t.Helper()
	var err error
	if f.bundle, err = trust.Verify(f.bundleToken, trust.VerifyOptions{Roots: []*gm.Certificate{f.root}, Now: t0}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) bundleContent() *trust.Bundle {
	return &trust.Bundle{
		Version: trust.FormatVersion, Seq: 1, IssuedAt: t0.Add(-time.Minute), NextUpdate: t0.Add(24 * time.Hour),
		Root: gm.KeyIDString(f.rootDER),
		Agencies: []trust.Agency{
			{Code: codeMarket, Name: "上海市市场监督管理局", Classes: []string{"business-license", "food-operation-permit"},
				Keys: []trust.AgencyKey{
					{KID: gm.KeyIDString(f.agencyDER), Cert: f.agencyDER, State: trust.KeyActive, Since: t0.Add(-time.Hour)},
					{KID: gm.KeyIDString(f.badDER), Cert: f.badDER, State: trust.KeyCompromised, Since: t0.Add(-10 * time.Minute)},
				}},
			{Code: codePolice, Name: "上海市公安局", Classes: []string{"drivers-license"},
				Keys: []trust.AgencyKey{{KID: gm.KeyIDString(f.policeDER), Cert: f.policeDER, State: trust.KeyActive}}},
		},
		StatusLists: []trust.StatusList{{ID: "sh-amr-1", URI: statusURI, Agency: codeMarket, SignerKID: gm.KeyIDString(f.ledgerDER)}},
		LedgerKey:   &trust.Key{KID: gm.KeyIDString(f.ledgerDER), Cert: f.ledgerDER},
	}
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

func (f *fixture) issue(t testing.TB, cn string, key *gm.PrivateKey, ext pkix.Extension) []byte {
	t.Helper()
	f.serial++
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(f.serial), Subject: pkix.Name{CommonName: cn, Organization: []string{cn}},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(50 * 365 * 24 * time.Hour),
		KeyUsage: gm.KeyUsageDigitalSignature, BasicConstraintsValid: true, ExtraExtensions: []pkix.Extension{ext},
	}
	der, err := gm.CreateCertificate(tmpl, f.root, key.PublicKey(), f.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// samples is the catalogue's sample business licence.
func samples(t testing.TB) map[string]string {
	t.Helper()
	return map[string]string{
		"name": "上海浦江示例网络科技有限公司", "uscc": "91310115MA1FPA014G", "entity_type": "有限责任公司（自然人投资或控股）",
		"legal_rep": "张伟", "registered_capital": "人民币500.0000万元整", "established": "2019-04-18",
		"term": "2019-04-18至2049-04-17", "domicile": "中国（上海）自由贸易试验区张江路88号3幢501室",
		"business_scope":         "一般项目：技术服务、技术开发；软件开发。（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）",
		"registration_authority": "上海市浦东新区市场监督管理局", "approval_date": "2024-06-12",
	}
}

// requestClaims is the test request: three fields of a business licence.
func (f *fixture) requestClaims(t testing.TB) RequestClaims {
	t.Helper()
	cl, _ := catalog.Default().Lookup("business-license")
	c := RequestClaims{
		ID: "r_AAECAwQFBgcICQoLDA0ODw", Issuer: issuerURL, IssuedAt: t0, ExpiresAt: t0.Add(RequestLifetime),
		RP:     RP{ID: testRP, Name: "上海市食品经营许可审批系统", OrgCode: codeMarket, OrgName: "上海市市场监督管理局"},
		Matter: Matter{Code: "310100001000", Name: "食品经营许可证核发"}, Class: "business-license",
		Duration: 7 * 24 * time.Hour, Use: UseOnce,
	}
	for _, k := range []string{"name", "legal_rep", "domicile"} {
		fd, _ := cl.Field(k)
		c.Fields = append(c.Fields, RequestedField{Key: k, Name: fd.Label, Purpose: "核对" + fd.Label})
	}
	return c
}

// flow is one run of the protocol: the signed request, the holder's
// consent and the credential the relying party fetches.
type flow struct {
	request, consent, credential string
	grant                        string
	jwt                          string
	disclosures                  map[string]string
}

const testGrant = "g_EBESExQVFhcYGRobHB0eHw"

func (f *fixture) base() GrantBase {
	return GrantBase{
		Issuer: codeMarket, ID: testLicID, IssuedAt: t0.Add(2 * time.Minute),
		NotBefore: time.Date(2019, 4, 18, 0, 0, 0, 0, chinatime.Zone), Expires: time.Date(2049, 4, 18, 0, 0, 0, 0, chinatime.Zone),
		Class: "business-license", TypeCode: mustClass("business-license").TypeCode, Name: "营业执照",
		IssuerName: "上海市浦东新区市场监督管理局", IssuedOn: "2024-06-12", ValidFrom: "2019-04-18", ValidUntil: "2049-04-17",
		Status: credential.StatusRef{URI: statusURI, Index: 7}, Device: f.deviceKey.PublicKey(),
		Audience: testRP, Grant: testGrant,
	}
}

func mustClass(k string) *catalog.Class {
	cl, ok := catalog.Default().Lookup(k)
	if !ok {
		panic(k)
	}
	return cl
}

func (f *fixture) flow(t testing.TB) *flow {
	t.Helper()
	var (
		fl  = &flow{grant: testGrant}
		err error
	)
	if fl.request, err = SignRequest(f.ledgerKey, gm.KeyIDString(f.ledgerDER), f.requestClaims(t)); err != nil {
		t.Fatal(err)
	}
	if fl.consent, err = SignConsent(f.deviceKey, ConsentClaims{
		Request: "r_AAECAwQFBgcICQoLDA0ODw", RequestSM3: RequestSM3(fl.request), Licence: testCopyID,
		Decision: Approve, Fields: []string{"name", "legal_rep"}, IssuedAt: t0.Add(time.Minute),
	}); err != nil {
		t.Fatal(err)
	}
	if fl.jwt, fl.disclosures, err = IssueGrantCredential(f.agencyKey, gm.KeyIDString(f.agencyDER), f.base(), f.samples); err != nil {
		t.Fatal(err)
	}
	fl.credential = Present(fl.jwt, fl.disclosures, []string{"name", "legal_rep"})
	return fl
}

func (f *fixture) opts() VerifyOptions {
	return VerifyOptions{Bundle: f.bundle, RP: testRP, Grant: testGrant, Now: t0.Add(3 * time.Minute),
		Status: func(credential.StatusRef) (statuslist.Status, error) { return statuslist.Valid, nil }}
}

// signRaw signs any header and payload text with key, for malformed
// tokens that the Sign functions refuse to make.
func signRaw(t testing.TB, key *gm.PrivateKey, header, payload string) string {
	t.Helper()
	in := b64(header) + "." + b64(payload)
	sig, err := gm.SignRS(key, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// payloadOf decodes a token's payload into a map, for tests that change
// one claim and sign again.
func payloadOf(t testing.TB, tok string) map[string]any {
	t.Helper()
	tk, err := parseAny(tok)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func parseAny(tok string) (map[string]any, error) {
	var parts [3]string
	n := 0
	for i, j := 0, 0; i <= len(tok); i++ {
		if i == len(tok) || tok[i] == '.' {
			if n < 3 {
				parts[n] = tok[j:i]
			}
			n++
			j = i + 1
		}
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	return m, json.Unmarshal(b, &m)
}

func jsonText(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
