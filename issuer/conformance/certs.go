package conformance

import (
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"strings"
	"time"

	"elicense/certs/agencycert"
	"elicense/certs/catalog"
	"elicense/internal/gm"
)

// certInput is the input of a certificate vector.
type certInput struct {
	Cert []byte `json:"cert"` // DER, base64
	// Require, when set, is the role the certificate is offered for
	// (root, agency, ledger, receipt); otherwise the vector asks which
	// role it has.
	Require string `json:"require,omitempty"`
}

// catalogueInput is the input of a catalogue vector.
type catalogueInput struct {
	Doc string `json:"doc"` // a catalogue file (classes.json form)
}

func init() { ctxSteps = append(ctxSteps, (*kit).certVectors, (*kit).catalogueVectors) }

// certWith certifies a key under the root with the given usage and
// extensions.
func (w *world) certWith(cn string, usage gm.KeyUsage, isCA bool, exts ...pkix.Extension) ([]byte, error) {
	w.serial++
	key := seedKey("cert-" + cn)
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(w.serial), Subject: pkix.Name{CommonName: cn, Organization: []string{cn}},
		NotBefore: w.Now.Add(-24 * time.Hour), NotAfter: w.Now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage: usage, BasicConstraintsValid: true, IsCA: isCA, ExtraExtensions: exts,
	}
	return gm.CreateCertificate(tmpl, w.Root, key.PublicKey(), detSigner{w.RootKey})
}

func (k *kit) certVectors(*Context) error {
	w := k.w
	const f = "certificates.json"
	add := func(in certInput, want, desc string, rules ...string) {
		k.add(f, Vector{Rules: rules, Description: desc, Input: in, Expected: want})
	}
	add(certInput{Cert: w.RootDER}, "role:root", "the kit's root", "CERT-06", "CERT-02")
	add(certInput{Cert: w.Market.DER}, "role:agency", "the market agency's key: policy with its USCC and two type codes", "CERT-07", "CERT-01", "CERT-02", "CERT-03", "CERT-12")
	add(certInput{Cert: w.LedgerDER}, "role:ledger", "the ledger key", "CERT-08")
	rext, err := agencycert.RoleExtension(agencycert.RoleReceipt)
	if err != nil {
		return err
	}
	rc, err := w.certWith("receipt key", gm.KeyUsageKeyEncipherment, false, rext)
	if err != nil {
		return err
	}
	add(certInput{Cert: rc}, "role:receipt", "a receipt key: keyEncipherment only, role receipt", "CERT-09")
	rs, err := w.certWith("receipt key that signs", gm.KeyUsageKeyEncipherment|gm.KeyUsageDigitalSignature, false, rext)
	if err != nil {
		return err
	}
	add(certInput{Cert: rs}, "reject:agencycert.ErrRole", "role receipt with digitalSignature as well", "CERT-09", "CERT-05")
	lext, err := agencycert.RoleExtension(agencycert.RoleLedger)
	if err != nil {
		return err
	}
	lca, err := w.certWith("ledger CA", gm.KeyUsageDigitalSignature|gm.KeyUsageCertSign, true, lext)
	if err != nil {
		return err
	}
	add(certInput{Cert: lca}, "reject:agencycert.ErrRole", "role ledger on a CA certificate", "CERT-08", "CERT-05")
	plain, err := w.certWith("plain end entity", gm.KeyUsageDigitalSignature, false)
	if err != nil {
		return err
	}
	add(certInput{Cert: plain, Require: "agency"}, "reject:agencycert.ErrRole", "an end entity without elicense attributes offered as an agency key", "CERT-10")
	crit := lext
	crit.Critical = true
	cl, err := w.certWith("ledger critical", gm.KeyUsageDigitalSignature, false, crit)
	if err != nil {
		return err
	}
	add(certInput{Cert: cl}, "reject:agencycert.ErrMalformedPolicy", "the Subject Directory Attributes extension marked critical", "CERT-01")
	pext, err := agencycert.Policy{AgencyCode: codeMarket, Classes: []string{"business-license"}}.Extension()
	if err != nil {
		return err
	}
	aca, err := w.certWith("agency CA", gm.KeyUsageDigitalSignature|gm.KeyUsageCertSign, true, pext)
	if err != nil {
		return err
	}
	add(certInput{Cert: aca}, "reject:agencycert.ErrRole", "an agency policy on a CA certificate", "CERT-07", "CERT-05")
	oext, err := agencycert.RoleExtension(agencycert.RoleRoot)
	if err != nil {
		return err
	}
	rootEE, err := w.certWith("root end entity", gm.KeyUsageDigitalSignature, false, oext)
	if err != nil {
		return err
	}
	add(certInput{Cert: rootEE}, "reject:agencycert.ErrRole", "role root on an end entity without keyCertSign", "CERT-06", "CERT-05")
	badEnum := lext
	badEnum.Value = append([]byte(nil), lext.Value...)
	badEnum.Value[len(badEnum.Value)-1] = 9
	be, err := w.certWith("role nine", gm.KeyUsageDigitalSignature, false, badEnum)
	if err != nil {
		return err
	}
	add(certInput{Cert: be}, "reject:agencycert.ErrMalformedPolicy", "a role attribute with the value 9 (roles are 1 to 4)", "CERT-02")
	add(certInput{Cert: plain, Require: "ledger"}, "reject:agencycert.ErrRole", "an end entity without elicense attributes offered as the ledger key", "CERT-10")
	return nil
}

func (k *kit) catalogueVectors(*Context) error {
	const f = "catalogue.json"
	add := func(doc, want, desc string, rules ...string) {
		k.add(f, Vector{Rules: rules, Description: desc, Input: catalogueInput{Doc: doc}, Expected: want})
	}
	var full map[string]json.RawMessage
	if err := json.Unmarshal(catalog.DefaultJSON(), &full); err != nil {
		return err
	}
	var classes []json.RawMessage
	if err := json.Unmarshal(full["classes"], &classes); err != nil {
		return err
	}
	mini := func(class string) string {
		m := map[string]json.RawMessage{}
		for key, v := range full {
			m[key] = v
		}
		m["classes"] = json.RawMessage("[" + class + "]")
		b, err := marshal(m)
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	var bl string
	for _, c := range classes {
		if strings.Contains(string(c), `"key": "business-license"`) || strings.Contains(string(c), `"key":"business-license"`) {
			bl = string(c)
		}
	}
	if bl == "" {
		bl = string(classes[0])
	}
	good := mini(bl)
	add(good, "VALID", "the catalogue reduced to the business licence class", "CAT-01", "CAT-02", "CAT-03")
	add(strings.Replace(good, "{", `{"x-unknown": 1,`, 1), "reject:catalog", "an unknown top-level member", "CAT-01")
	add(mini(strings.Replace(bl, "{", `{"type_code": "11310000PDY00001XQ001",`, 1)), "reject:catalog", "type_code repeated in a class", "CAT-01")
	noType := removeMember(bl, "type_code")
	add(mini(noType), "reject:catalog", "a class without type_code", "CAT-02")
	add(mini(strings.Replace(bl, `"type": "uscc"`, `"type": "colour"`, 1)), "reject:catalog", "a field of an unknown type", "CAT-03", "CAT-15")
	// number_field: the business licence class has none; name one.
	withNumber := func(key string) string {
		return mini(strings.Replace(bl, `"holder_code_field": "uscc",`, `"holder_code_field": "uscc", "number_field": "`+key+`",`, 1))
	}
	add(withNumber("uscc"), "reject:catalog", "number_field names a field of type uscc (not licence_no or resident_id)", "CAT-22")
	add(withNumber("serial"), "reject:catalog", "number_field names no field of the class", "CAT-22")
	return nil
}

// removeMember drops the first member key (and its string value) from a
// JSON object text as classes.json writes it.
func removeMember(obj, key string) string {
	i := strings.Index(obj, `"`+key+`"`)
	if i < 0 {
		panic("conformance: no member " + key)
	}
	j := strings.Index(obj[i:], ",")
	return obj[:i] + obj[i+j+1:]
}
