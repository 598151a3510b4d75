package conformance

import (
	"crypto"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
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

// samples returns the catalogue sample records by class key (a copy of
// certs/catalog/testdata/samples.json).
func samples() map[string]map[string]string {
	var s struct{ Samples map[string]map[string]string }
	if err := json.Unmarshal(samplesJSON, &s); err != nil {
		panic(err) // embedded data
	}
	return s.Samples
}

// uscc completes 17 characters into a valid 统一社会信用代码.
func uscc(first17 string) string {
	c, err := ident.USCCCheckChar(first17)
	if err != nil {
		panic(err) // constant input
	}
	return first17 + string(c)
}

// Agency codes of the kit's world.
var (
	codeMarket = uscc("11310000PDY100010") // 市场监督管理局
	codePolice = uscc("11310000PDY100029") // 公安局
	codeCivil  = uscc("11310000PDY100037") // 民政局
)

// seedKey derives the kit's SM2 key called name: the scalar is
// SM3("elicense/conformance/v1/" ‖ name). Anyone can rebuild the keys;
// they protect nothing.
func seedKey(name string) *gm.PrivateKey {
	d := gm.SM3([]byte("elicense/conformance/v1/" + name))
	k, err := gm.NewPrivateKey(d[:])
	if err != nil {
		panic(fmt.Sprintf("conformance: seed %q: %v", name, err)) // constant input, checked by the tests
	}
	return k
}

// detSigner signs with RFC 6979 style deterministic nonces whatever
// randomness the caller passes, so the kit's bytes do not change between
// runs.
type detSigner struct{ k *gm.PrivateKey }

func (d detSigner) Public() crypto.PublicKey { return d.k.Public() }

func (d detSigner) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	return d.k.Sign(nil, msg, opts)
}

// saltReader is a deterministic stream for QR salts: SM3 in counter mode
// over a label.
type saltReader struct {
	label string
	n     uint64
	buf   []byte
}

func (r *saltReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) {
		h := gm.SM3(fmt.Appendf(nil, "elicense/conformance/salt/%s/%d", r.label, r.n))
		r.n++
		r.buf = append(r.buf, h[:]...)
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// agency is one agency key of the world.
type agency struct {
	Code, Name string
	Classes    []string
	Key        *gm.PrivateKey
	DER        []byte
	KID        string
}

func (a *agency) signer() crypto.Signer { return detSigner{a.Key} }

// world is the kit's PKI and everything signed with it, at a fixed clock.
type world struct {
	Now                time.Time
	RootKey, LedgerKey *gm.PrivateKey
	RootDER, LedgerDER []byte
	Root               *gm.Certificate
	Market, Police     *agency
	Civil              *agency
	Compromised        *agency // a compromised key of the market agency
	Retired            *agency // a retired key of the market agency
	Outsider           *agency // a key the bundle does not list
	Genuine            []trust.GenuineEntry
	Lists              map[string]*listSpec
	Tree               *tlog.MemTree
	serial             int64
	licSerial          int
}

// listSpec is one status list: its entries and when it was signed.
type listSpec struct {
	ID, URI, Agency string
	List            *statuslist.List
	Version         uint64
	IssuedAt        time.Time
	ExpiresAt       time.Time
}

// listOrder is the order the bundle names the lists in.
var listOrder = []string{"amr-1", "amr-stale", "gab-1", "mz-1", "mz-stale", "amr-exp"}

func ledgerOrigin(rootKID string) string { return "elicense.local/ledger/" + rootKID }

// newWorld makes the world at now.
func newWorld(now time.Time) (*world, error) {
	w := &world{Now: now, Lists: map[string]*listSpec{}, RootKey: seedKey("root"), LedgerKey: seedKey("ledger")}
	ext, err := agencycert.RoleExtension(agencycert.RoleRoot)
	if err != nil {
		return nil, err
	}
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "elicense conformance root"},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(20 * 365 * 24 * time.Hour),
		KeyUsage:              gm.KeyUsageCertSign | gm.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
		ExtraExtensions: []pkix.Extension{ext},
	}
	if w.RootDER, err = gm.CreateCertificate(tmpl, tmpl, w.RootKey.PublicKey(), detSigner{w.RootKey}); err != nil {
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
	if err := w.makeAgencies(); err != nil {
		return nil, err
	}
	day := 24 * time.Hour
	for _, l := range []listSpec{
		{ID: "amr-1", Agency: codeMarket, IssuedAt: now.Add(-time.Hour)},
		{ID: "amr-stale", Agency: codeMarket, IssuedAt: now.Add(-2 * day)},
		{ID: "gab-1", Agency: codePolice, IssuedAt: now.Add(-time.Hour)},
		{ID: "mz-1", Agency: codeCivil, IssuedAt: now.Add(-time.Hour)},
		{ID: "mz-stale", Agency: codeCivil, IssuedAt: now.Add(-10 * day)},
		// Fresh, but expiring an hour after now (STATUS-19's exp part).
		{ID: "amr-exp", Agency: codeMarket, IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)},
	} {
		l.URI = "https://status.example.gov.cn/" + l.ID
		l.List = statuslist.New(1024)
		// A microsecond clock value, as the issuer writes (STATUS-09).
		l.Version = uint64(l.IssuedAt.UnixMicro())
		if l.ExpiresAt.IsZero() {
			l.ExpiresAt = now.Add(30 * day)
		}
		w.Lists[l.ID] = &l
	}
	w.Tree = tlog.NewMemTree(tlog.SM3)
	w.Tree.AppendEntry([]byte("genesis"))
	return w, nil
}

func (w *world) makeAgencies() error {
	mk := func(seed, code, name string, classes ...string) (*agency, error) {
		k := seedKey(seed)
		pext, err := agencycert.Policy{AgencyCode: code, Classes: classes}.Extension()
		if err != nil {
			return nil, err
		}
		der, err := w.issue(name, k, pext)
		if err != nil {
			return nil, err
		}
		return &agency{Code: code, Name: name, Classes: classes, Key: k, DER: der, KID: gm.KeyIDString(der)}, nil
	}
	var err error
	market := []string{"business-license", "food-operation-permit"}
	for _, a := range []struct {
		dst              **agency
		seed, code, name string
		classes          []string
	}{
		{&w.Market, "market", codeMarket, "上海市市场监督管理局", market},
		{&w.Compromised, "market-compromised", codeMarket, "上海市市场监督管理局", market},
		{&w.Retired, "market-retired", codeMarket, "上海市市场监督管理局", market},
		{&w.Outsider, "outsider", codeMarket, "上海市市场监督管理局", market},
		{&w.Police, "police", codePolice, "上海市公安局", []string{"drivers-license", "vehicle-license"}},
		{&w.Civil, "civil", codeCivil, "上海市民政局", []string{"marriage-certificate"}},
	} {
		if *a.dst, err = mk(a.seed, a.code, a.name, a.classes...); err != nil {
			return err
		}
	}
	return nil
}

func (w *world) issue(cn string, key *gm.PrivateKey, ext pkix.Extension) ([]byte, error) {
	w.serial++
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(w.serial), Subject: pkix.Name{CommonName: cn, Organization: []string{cn}},
		NotBefore: w.Now.Add(-24 * time.Hour), NotAfter: w.Now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage: gm.KeyUsageDigitalSignature, BasicConstraintsValid: true,
		ExtraExtensions: []pkix.Extension{ext},
	}
	return gm.CreateCertificate(tmpl, w.Root, key.PublicKey(), detSigner{w.RootKey})
}

func (w *world) rootPEM() []byte { return gm.EncodeCertificatePEM(w.RootDER) }

func (w *world) ledgerKID() string { return gm.KeyIDString(w.LedgerDER) }

// bundle returns the trust bundle with sequence seq, issued at issuedAt.
func (w *world) bundle(seq uint64, issuedAt time.Time) (*trust.Bundle, error) {
	ledgerKID := w.ledgerKID()
	b := &trust.Bundle{
		Version: trust.FormatVersion, Seq: seq, IssuedAt: issuedAt, NextUpdate: issuedAt.Add(24 * time.Hour),
		Root: gm.KeyIDString(w.RootDER),
		Agencies: []trust.Agency{
			{Code: codeMarket, Name: w.Market.Name, Classes: w.Market.Classes, Keys: []trust.AgencyKey{
				{KID: w.Market.KID, Cert: w.Market.DER, State: trust.KeyActive},
				{KID: w.Compromised.KID, Cert: w.Compromised.DER, State: trust.KeyCompromised, Since: w.compromisedSince()},
				{KID: w.Retired.KID, Cert: w.Retired.DER, State: trust.KeyRetired, Since: w.retiredSince()},
			}},
			// The police key's policy also allows vehicle licences, which
			// the bundle does not list (QR-24: the agency's list decides).
			{Code: codePolice, Name: w.Police.Name, Classes: []string{"drivers-license"}, Keys: []trust.AgencyKey{
				{KID: w.Police.KID, Cert: w.Police.DER, State: trust.KeyActive},
			}},
			{Code: codeCivil, Name: w.Civil.Name, Classes: w.Civil.Classes, Keys: []trust.AgencyKey{
				{KID: w.Civil.KID, Cert: w.Civil.DER, State: trust.KeyActive},
			}},
		},
		LedgerKey: &trust.Key{KID: ledgerKID, Cert: w.LedgerDER},
	}
	if w.Genuine != nil {
		doc, err := w.genuineDoc()
		if err != nil {
			return nil, err
		}
		sum := gm.SM3(doc)
		b.Agencies[0].Keys[1].Genuine = &trust.GenuineRef{Count: uint64(len(w.Genuine)), SM3: hex.EncodeToString(sum[:]),
			URL: "https://elicense.example.gov.cn/v1/trust/genuine/" + w.Compromised.KID}
	}
	for _, id := range listOrder {
		l := w.Lists[id]
		b.StatusLists = append(b.StatusLists, trust.StatusList{ID: l.ID, URI: l.URI, Agency: l.Agency, SignerKID: ledgerKID})
	}
	cp, err := w.checkpoint()
	if err != nil {
		return nil, err
	}
	b.Checkpoint = string(cp)
	return b, nil
}

func (w *world) compromisedSince() time.Time { return w.Now.Add(-12 * time.Hour).UTC() }
func (w *world) retiredSince() time.Time     { return w.Now.Add(-6 * time.Hour).UTC() }

func (w *world) markGenuine(l *licence) error {
	in, err := l.Holding.Info()
	if err != nil {
		return err
	}
	w.Genuine = append(w.Genuine, trust.GenuineEntry{List: in.StatusList, Index: in.StatusIndex, Tag: trust.GenuineTag(l.Holding.Core)})
	return nil
}

func (w *world) genuineDoc() ([]byte, error) {
	return trust.MarshalGenuineSet(w.Compromised.KID, w.compromisedSince(), w.Genuine)
}

func (w *world) signBundle(b *trust.Bundle) (string, error) {
	return trust.Sign(b, detSigner{w.LedgerKey}, [][]byte{w.LedgerDER, w.RootDER})
}

func (w *world) noteSigner() (*tlog.NoteSigner, error) {
	return tlog.NewNoteSigner(ledgerOrigin(gm.KeyIDString(w.RootDER)), detSigner{w.LedgerKey})
}

func (w *world) checkpoint() ([]byte, error) {
	s, err := w.noteSigner()
	if err != nil {
		return nil, err
	}
	return tlog.SignCheckpoint(tlog.Checkpoint{Origin: ledgerOrigin(gm.KeyIDString(w.RootDER)), Size: w.Tree.Size(), Root: w.Tree.Root()}, s)
}

func (w *world) listMeta(id string) statuslist.Meta {
	l := w.Lists[id]
	return statuslist.Meta{URI: l.URI, Version: l.Version, IssuedAt: l.IssuedAt, ExpiresAt: l.ExpiresAt, TTL: time.Hour}
}

func (w *world) signList(id string) (string, error) {
	return statuslist.Sign(w.Lists[id].List, w.listMeta(id), detSigner{w.LedgerKey}, w.ledgerKID())
}

// licence is one issued licence.
type licence struct {
	Licence *credential.License
	JWS     string
	Holding *qr.Holding
	Device  *gm.PrivateKey // nil when unbound
}

func (l *licence) static(disclose ...string) (string, error) { return l.Holding.Static(disclose...) }

func (l *licence) present(at time.Time, disclose ...string) (string, error) {
	return l.Holding.Present(detSigner{l.Device}, at, disclose...)
}

// issueAt signs a licence of class (the sample record, changed by edit
// when not nil) by agency key a at status entry (list, idx), signed at
// signedAt; bound gives it a device key.
func (w *world) issueAt(a *agency, class, list string, idx uint64, bound bool, signedAt time.Time, edit func(map[string]string)) (*licence, error) {
	cl, ok := catalog.Default().Lookup(class)
	if !ok {
		return nil, fmt.Errorf("no class %s", class)
	}
	fields := maps.Clone(samples()[class])
	if edit != nil {
		edit(fields)
	}
	w.licSerial++
	id := ident.LicenseID{TypeCode: cl.TypeCode, IssuerCode: a.Code, Serial: fmt.Sprintf("T%06d", w.licSerial), Version: 1}
	l, err := credential.NewLicense(cl, fields, credential.Issuance{ID: id.String(), IssuerName: a.Name, IssuerCode: a.Code, IssuedOn: w.Now})
	if err != nil {
		return nil, err
	}
	out := &licence{Licence: l}
	if bound {
		out.Device = seedKey(fmt.Sprintf("device-%d", w.licSerial))
		l.Device = out.Device.PublicKey()
	}
	if list != "" {
		l.Status = &credential.StatusRef{URI: "https://status.example.gov.cn/" + list, Index: idx}
	}
	return out, w.sign(out, a, list, signedAt, fmt.Sprint(w.licSerial))
}

// sign signs l's credential and QR core by a at signedAt; salt labels
// the QR salts.
func (w *world) sign(l *licence, a *agency, list string, signedAt time.Time, salt string) error {
	var err error
	if l.JWS, err = credential.Sign(l.Licence, credential.SignOptions{Signer: a.signer(), KeyID: a.KID, Now: func() time.Time { return signedAt }}); err != nil {
		return err
	}
	l.Holding, err = qr.Build(l.Licence, l.JWS, qr.BuildOptions{Signer: a.signer(), KeyID: a.KID, StatusList: list,
		Rand: &saltReader{label: salt}})
	return err
}

// copyOf makes a holder copy of orig (CRED-09): the same licence and
// identifier (jti), its own device key (from seed) and status position.
func (w *world) copyOf(orig *licence, a *agency, list string, idx uint64, seed string) (*licence, error) {
	l := *orig.Licence
	out := &licence{Licence: &l, Device: seedKey(seed)}
	l.Device = out.Device.PublicKey()
	l.Status = &credential.StatusRef{URI: "https://status.example.gov.cn/" + list, Index: idx}
	return out, w.sign(out, a, list, w.Now, "copy-"+seed)
}

func (w *world) issueLicence(a *agency, class, list string, idx uint64, bound bool, edit func(map[string]string)) (*licence, error) {
	return w.issueAt(a, class, list, idx, bound, w.Now, edit)
}
