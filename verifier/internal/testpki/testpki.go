// Package testpki builds, in-process and without the issuer, a complete
// counter-side world for tests: a root, a ledger/status signer, agencies
// with their certificates, a signed trust bundle, signed status lists, a
// ledger checkpoint, and licences with their QR holdings. It is imported by
// tests only; it holds throw-away keys.
package testpki

import (
	"crypto/x509/pkix"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"time"

	"elicense/certs/agencycert"
	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/ident"
	"elicense/certs/qr"
	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
)

//go:embed samples.json
var samplesJSON []byte

// Samples returns the catalogue sample records by class key (a copy of
// certs/catalog/testdata/samples.json).
func Samples() map[string]map[string]string {
	var s struct{ Samples map[string]map[string]string }
	if err := json.Unmarshal(samplesJSON, &s); err != nil {
		panic(err)
	}
	return s.Samples
}

// USCC completes 17 characters into a valid 统一社会信用代码.
func USCC(first17 string) string {
	c, err := ident.USCCCheckChar(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(c)
}

// Agency codes of the world.
var (
	CodeMarket = USCC("11310000PDY100010") // 市场监督管理局
	CodePolice = USCC("11310000PDY100029") // 公安局
	CodeCivil  = USCC("11310000PDY100037") // 民政局
)

// Agency is one agency with its signing keys.
type Agency struct {
	Code, Name string
	Classes    []string
	Key        *gm.PrivateKey // active key
	DER        []byte
	KID        string
}

// World is a PKI and everything signed with it.
type World struct {
	Now                time.Time
	RootKey, LedgerKey *gm.PrivateKey
	Root               *gm.Certificate
	RootDER, LedgerDER []byte
	Market, Police     *Agency
	Civil              *Agency
	Compromised        *Agency // a compromised key of the market agency
	Retired            *Agency // a retired key of the market agency
	Outsider           *Agency // a key the bundle does not list
	// Genuine lists the cores the compromised key signed before its
	// compromise (MarkGenuine); when it is not nil the bundle names the
	// set (GenuineDoc) for that key.
	Genuine []trust.GenuineEntry
	// ReceiptKey, once AddReceiptKey made it, is the platform's receipt
	// key, named in the bundle (certificate ReceiptDER).
	ReceiptKey *gm.PrivateKey
	ReceiptDER []byte

	Lists     map[string]*ListSpec
	Tree      *tlog.MemTree
	serial    int64
	licSerial int
}

// ListSpec is one status list: its entries and when it was signed.
type ListSpec struct {
	ID, URI, Agency string
	List            *statuslist.List
	Version         uint64
	IssuedAt        time.Time
	ExpiresAt       time.Time
}

// LedgerOrigin is the checkpoint origin for a root key ID, as the issuer
// uses it.
func LedgerOrigin(rootKID string) string { return "elicense.local/ledger/" + rootKID }

// New makes a world at now.
func New(now time.Time) (*World, error) {
	w := &World{Now: now, Lists: map[string]*ListSpec{}}
	var err error
	if w.RootKey, err = gm.GenerateKey(); err != nil {
		return nil, err
	}
	if w.LedgerKey, err = gm.GenerateKey(); err != nil {
		return nil, err
	}
	ext, err := agencycert.RoleExtension(agencycert.RoleRoot)
	if err != nil {
		return nil, err
	}
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "elicense test root"},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(20 * 365 * 24 * time.Hour),
		KeyUsage:              gm.KeyUsageCertSign | gm.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
		ExtraExtensions: []pkix.Extension{ext},
	}
	if w.RootDER, err = gm.CreateCertificate(tmpl, tmpl, w.RootKey.PublicKey(), w.RootKey); err != nil {
		return nil, err
	}
	if w.Root, err = gm.ParseCertificate(w.RootDER); err != nil {
		return nil, err
	}
	w.serial = 1
	lext, err := agencycert.RoleExtension(agencycert.RoleLedger)
	if err != nil {
		return nil, err
	}
	if w.LedgerDER, err = w.issue("ledger and status signer", w.LedgerKey, lext); err != nil {
		return nil, err
	}
	mk := func(code, name string, classes ...string) (*Agency, error) {
		k, err := gm.GenerateKey()
		if err != nil {
			return nil, err
		}
		pext, err := agencycert.Policy{AgencyCode: code, Classes: classes}.Extension()
		if err != nil {
			return nil, err
		}
		der, err := w.issue(name, k, pext)
		if err != nil {
			return nil, err
		}
		return &Agency{Code: code, Name: name, Classes: classes, Key: k, DER: der, KID: gm.KeyIDString(der)}, nil
	}
	if w.Market, err = mk(CodeMarket, "上海市市场监督管理局", "business-license", "food-operation-permit"); err != nil {
		return nil, err
	}
	if w.Compromised, err = mk(CodeMarket, "上海市市场监督管理局", "business-license", "food-operation-permit"); err != nil {
		return nil, err
	}
	if w.Retired, err = mk(CodeMarket, "上海市市场监督管理局", "business-license", "food-operation-permit"); err != nil {
		return nil, err
	}
	if w.Outsider, err = mk(CodeMarket, "上海市市场监督管理局", "business-license", "food-operation-permit"); err != nil {
		return nil, err
	}
	if w.Police, err = mk(CodePolice, "上海市公安局", "drivers-license", "vehicle-license"); err != nil {
		return nil, err
	}
	if w.Civil, err = mk(CodeCivil, "上海市民政局", "marriage-certificate"); err != nil {
		return nil, err
	}
	day := 24 * time.Hour
	for _, l := range []ListSpec{
		{ID: "amr-1", Agency: CodeMarket, IssuedAt: now.Add(-time.Hour)},
		{ID: "amr-stale", Agency: CodeMarket, IssuedAt: now.Add(-2 * day)},
		{ID: "gab-1", Agency: CodePolice, IssuedAt: now.Add(-time.Hour)},
		{ID: "mz-1", Agency: CodeCivil, IssuedAt: now.Add(-time.Hour)},
		{ID: "mz-stale", Agency: CodeCivil, IssuedAt: now.Add(-10 * day)},
	} {
		l.URI = "https://status.example.gov.cn/" + l.ID
		l.List = statuslist.New(1024)
		l.Version = 1
		l.ExpiresAt = now.Add(30 * day)
		w.Lists[l.ID] = &l
	}
	w.Tree = tlog.NewMemTree(tlog.SM3)
	w.Tree.AppendEntry([]byte("genesis"))
	return w, nil
}

func (w *World) issue(cn string, key *gm.PrivateKey, ext pkix.Extension) ([]byte, error) {
	w.serial++
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(w.serial), Subject: pkix.Name{CommonName: cn, Organization: []string{cn}},
		NotBefore: w.Now.Add(-24 * time.Hour), NotAfter: w.Now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage: gm.KeyUsageDigitalSignature, BasicConstraintsValid: true,
		ExtraExtensions: []pkix.Extension{ext},
	}
	return gm.CreateCertificate(tmpl, w.Root, key.PublicKey(), w.RootKey)
}

// AddReceiptKey makes the receipt key (role receipt, keyEncipherment)
// that the bundles name from now on.
func (w *World) AddReceiptKey() error {
	k, err := gm.GenerateKey()
	if err != nil {
		return err
	}
	ext, err := agencycert.RoleExtension(agencycert.RoleReceipt)
	if err != nil {
		return err
	}
	w.serial++
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(w.serial), Subject: pkix.Name{CommonName: "elicense receipt key"},
		NotBefore: w.Now.Add(-24 * time.Hour), NotAfter: w.Now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage: gm.KeyUsageKeyEncipherment, BasicConstraintsValid: true,
		ExtraExtensions: []pkix.Extension{ext},
	}
	der, err := gm.CreateCertificate(tmpl, w.Root, k.PublicKey(), w.RootKey)
	if err != nil {
		return err
	}
	w.ReceiptKey, w.ReceiptDER = k, der
	return nil
}

// RootPEM is the root certificate in PEM.
func (w *World) RootPEM() []byte { return gm.EncodeCertificatePEM(w.RootDER) }

// Bundle returns the trust bundle with sequence seq, issued at issuedAt.
func (w *World) Bundle(seq uint64, issuedAt time.Time) (*trust.Bundle, error) {
	ledgerKID := gm.KeyIDString(w.LedgerDER)
	b := &trust.Bundle{
		Version: trust.FormatVersion, Seq: seq, IssuedAt: issuedAt, NextUpdate: issuedAt.Add(24 * time.Hour),
		Root: gm.KeyIDString(w.RootDER),
		Agencies: []trust.Agency{
			{Code: CodeMarket, Name: w.Market.Name, Classes: w.Market.Classes, Keys: []trust.AgencyKey{
				{KID: w.Market.KID, Cert: w.Market.DER, State: trust.KeyActive},
				{KID: w.Compromised.KID, Cert: w.Compromised.DER, State: trust.KeyCompromised, Since: w.CompromisedSince()},
				{KID: w.Retired.KID, Cert: w.Retired.DER, State: trust.KeyRetired, Since: w.RetiredSince()},
			}},
			{Code: CodePolice, Name: w.Police.Name, Classes: w.Police.Classes, Keys: []trust.AgencyKey{
				{KID: w.Police.KID, Cert: w.Police.DER, State: trust.KeyActive},
			}},
			{Code: CodeCivil, Name: w.Civil.Name, Classes: w.Civil.Classes, Keys: []trust.AgencyKey{
				{KID: w.Civil.KID, Cert: w.Civil.DER, State: trust.KeyActive},
			}},
		},
		LedgerKey: &trust.Key{KID: ledgerKID, Cert: w.LedgerDER},
	}
	if w.ReceiptDER != nil {
		b.ReceiptKey = &trust.Key{KID: gm.KeyIDString(w.ReceiptDER), Cert: w.ReceiptDER}
	}
	if w.Genuine != nil {
		doc, err := w.GenuineDoc()
		if err != nil {
			return nil, err
		}
		sum := gm.SM3(doc)
		b.Agencies[0].Keys[1].Genuine = &trust.GenuineRef{Count: uint64(len(w.Genuine)), SM3: hex.EncodeToString(sum[:]),
			URL: "https://elicense.example.gov.cn/v1/trust/genuine/" + w.Compromised.KID}
	}
	for _, id := range []string{"amr-1", "amr-stale", "gab-1", "mz-1", "mz-stale"} {
		l := w.Lists[id]
		b.StatusLists = append(b.StatusLists, trust.StatusList{ID: l.ID, URI: l.URI, Agency: l.Agency, SignerKID: ledgerKID})
	}
	cp, err := w.Checkpoint()
	if err != nil {
		return nil, err
	}
	b.Checkpoint = string(cp)
	return b, nil
}

// CompromisedSince is when the Compromised key was compromised.
func (w *World) CompromisedSince() time.Time { return w.Now.Add(-12 * time.Hour).UTC() }

// RetiredSince is when the Retired key was retired.
func (w *World) RetiredSince() time.Time { return w.Now.Add(-6 * time.Hour).UTC() }

// MarkGenuine adds l's core to the compromised key's genuine set.
func (w *World) MarkGenuine(l *Licence) error {
	in, err := l.Holding.Info()
	if err != nil {
		return err
	}
	w.Genuine = append(w.Genuine, trust.GenuineEntry{List: in.StatusList, Index: in.StatusIndex, Tag: trust.GenuineTag(l.Holding.Core)})
	return nil
}

// GenuineDoc is the compromised key's genuine-set document.
func (w *World) GenuineDoc() ([]byte, error) {
	return trust.MarshalGenuineSet(w.Compromised.KID, w.CompromisedSince(), w.Genuine)
}

// SignBundle signs b with the ledger key.
func (w *World) SignBundle(b *trust.Bundle) (string, error) {
	return trust.Sign(b, w.LedgerKey, [][]byte{w.LedgerDER, w.RootDER})
}

// Checkpoint signs the ledger's current checkpoint.
func (w *World) Checkpoint() ([]byte, error) {
	s, err := tlog.NewNoteSigner(LedgerOrigin(gm.KeyIDString(w.RootDER)), w.LedgerKey)
	if err != nil {
		return nil, err
	}
	return tlog.SignCheckpoint(tlog.Checkpoint{Origin: LedgerOrigin(gm.KeyIDString(w.RootDER)), Size: w.Tree.Size(), Root: w.Tree.Root()}, s)
}

// SignList signs the current state of list id.
func (w *World) SignList(id string) (string, error) {
	l := w.Lists[id]
	return statuslist.Sign(l.List, statuslist.Meta{URI: l.URI, Version: l.Version, IssuedAt: l.IssuedAt, ExpiresAt: l.ExpiresAt, TTL: time.Hour},
		w.LedgerKey, gm.KeyIDString(w.LedgerDER))
}

// Licence is one issued licence.
type Licence struct {
	Licence *credential.License
	JWS     string
	Holding *qr.Holding
	Device  *gm.PrivateKey // nil when unbound
}

// Issue signs a licence of class with fields (nil: the sample) by agency
// key a, pointing at status list entry (list, idx); bound makes a device
// key. fieldsEdit, if not nil, changes the sample first.
func (w *World) Issue(a *Agency, class string, list string, idx uint64, bound bool, edit func(map[string]string)) (*Licence, error) {
	return w.IssueAt(a, class, list, idx, bound, w.Now, edit)
}

// IssueAt is Issue with the credential and QR core signed at signedAt.
func (w *World) IssueAt(a *Agency, class string, list string, idx uint64, bound bool, signedAt time.Time, edit func(map[string]string)) (*Licence, error) {
	cl, ok := catalog.Default().Lookup(class)
	if !ok {
		return nil, fmt.Errorf("no class %s", class)
	}
	fields := maps.Clone(Samples()[class])
	if edit != nil {
		edit(fields)
	}
	w.licSerial++
	id := ident.LicenseID{TypeCode: cl.TypeCode, IssuerCode: a.Code, Serial: fmt.Sprintf("T%06d", w.licSerial), Version: 1}
	l, err := credential.NewLicense(cl, fields, credential.Issuance{ID: id.String(), IssuerName: a.Name, IssuerCode: a.Code, IssuedOn: w.Now})
	if err != nil {
		return nil, err
	}
	out := &Licence{Licence: l}
	if bound {
		if out.Device, err = gm.GenerateKey(); err != nil {
			return nil, err
		}
		l.Device = out.Device.PublicKey()
	}
	if list != "" {
		l.Status = &credential.StatusRef{URI: "https://status.example.gov.cn/" + list, Index: idx}
	}
	if out.JWS, err = credential.Sign(l, credential.SignOptions{Signer: a.Key, KeyID: a.KID, Now: func() time.Time { return signedAt }}); err != nil {
		return nil, err
	}
	if out.Holding, err = qr.Build(l, out.JWS, qr.BuildOptions{Signer: a.Key, KeyID: a.KID, StatusList: list}); err != nil {
		return nil, err
	}
	return out, nil
}
