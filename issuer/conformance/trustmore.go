package conformance

import (
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"strings"
	"time"

	"elicense/certs/agencycert"
	"elicense/certs/trust"
	"elicense/internal/gm"
)

func init() { ctxSteps = append(ctxSteps, (*kit).trustContent) }

// trustContent are bundles and genuine sets that each break one check
// of TRUST-06 … TRUST-21 and nothing else.
func (k *kit) trustContent(ctx *Context) error {
	w := k.w
	const f = "trust.json"
	add := func(in trustInput, want, desc string, rules ...string) {
		if in.Op == "" {
			in.Op = "bundle"
		}
		k.add(f, Vector{Rules: rules, Description: desc, Input: in, Expected: want})
	}
	std := base64.StdEncoding.EncodeToString
	iat := w.Now.Add(-time.Hour)
	seq := uint64(iat.UnixMicro())
	good, err := k.signedBundle(seq, iat, nil)
	if err != nil {
		return err
	}
	// next_update read as a JWT's exp: stale from that instant on.
	k.add(f, Vector{Rules: []string{"TRUST-14"}, Description: "the small bundle at its next_update exactly: stale from that instant, accepted with a warning",
		Now: iat.Add(24 * time.Hour), Input: trustInput{Op: "bundle", Bundle: good}, Expected: "warn"})
	later, err := k.signedBundle(seq+1, iat.Add(-time.Hour), nil)
	if err != nil {
		return err
	}
	add(trustInput{Bundle: later, Previous: good}, "reject:trust.ErrRollback", "a higher seq than the bundle held, but an earlier issued_at", "TRUST-14")
	foreign, err := w.foreignAgencyCert()
	if err != nil {
		return err
	}
	wrongAgency, err := w.agencyCertWithPolicy("civil-wrong-agency", "上海市民政局", agencycert.Policy{AgencyCode: codePolice, Classes: []string{"marriage-certificate"}})
	if err != nil {
		return err
	}
	keyOf := func(kid string, der []byte) string { return `"kid":"` + kid + `","cert":"` + std(der) + `"` }
	// TRUST-09 validates a key's chain at now clamped into the key's own
	// validity: an expired or not yet valid key certificate still chains.
	marketPolicy := agencycert.Policy{AgencyCode: codeMarket, Classes: w.Market.Classes}
	expired, err := w.agencyCertValid("market", w.Market.Name, marketPolicy, 102, w.Now.Add(-23*time.Hour), w.Now.Add(-time.Hour))
	if err != nil {
		return err
	}
	future, err := w.agencyCertValid("market", w.Market.Name, marketPolicy, 103, w.Now.Add(time.Hour), w.Now.Add(48*time.Hour))
	if err != nil {
		return err
	}
	for _, c := range []struct {
		desc, want string
		rules      []string
		edit       func(string) string
	}{
		{"bundle_signer is not the x5c array (the root missing)", "reject:trust.ErrMalformed", []string{"TRUST-07"}, func(p string) string {
			return replaceOnce(p, `"bundle_signer":["`+std(w.LedgerDER)+`","`+std(w.RootDER)+`"]`, `"bundle_signer":["`+std(w.LedgerDER)+`"]`)
		}},
		{"an agency key whose kid is not its certificate's key ID", "reject:trust.ErrKeyIDMismatch", []string{"TRUST-09"}, func(p string) string {
			return replaceOnce(p, `"kid":"`+w.Market.KID+`"`, `"kid":"`+w.Retired.KID+`"`)
		}},
		{"an agency key certificate issued by another root (same subject, policy and role)", "reject:trust.ErrUntrustedKey", []string{"TRUST-09", "CERT-11"}, func(p string) string {
			return replaceOnce(p, keyOf(w.Market.KID, w.Market.DER), keyOf(gm.KeyIDString(foreign), foreign))
		}},
		{"an agency key whose certificate policy names another agency (the classes match)", "reject:trust.ErrUntrustedKey", []string{"TRUST-09", "CERT-12"}, func(p string) string {
			return replaceOnce(p, keyOf(w.Civil.KID, w.Civil.DER), keyOf(gm.KeyIDString(wrongAgency), wrongAgency))
		}},
		{"a status list whose signer_kid is a key of another agency", "reject:trust.ErrMalformed", []string{"TRUST-12"}, func(p string) string {
			return replaceOnce(p, `"signer_kid":"`+w.ledgerKID()+`"`, `"signer_kid":"`+w.Civil.KID+`"`)
		}},
		{"a status list whose agency is not in the bundle", "reject:trust.ErrMalformed", []string{"TRUST-12"}, func(p string) string {
			return replaceOnce(p, `amr-stale","agency":"`+codeMarket+`"`, `amr-stale","agency":"`+codePolice+`"`)
		}},
		{"the member seq repeated (the second a lower value)", "reject:trust.ErrMalformed", []string{"GM-08", "TRUST-05"}, func(p string) string {
			return replaceOnce(p, `"seq":`, `"seq":1,"seq":`)
		}},
		{"the market key's certificate expired an hour before now: it chains at its NotAfter, so the bundle stands", "VALID", []string{"TRUST-09", "CERT-11"}, func(p string) string {
			return replaceOnce(p, keyOf(w.Market.KID, w.Market.DER), keyOf(gm.KeyIDString(expired), expired))
		}},
		{"the market key's certificate valid from an hour after now: it chains at its NotBefore, so the bundle stands", "VALID", []string{"TRUST-09", "CERT-11"}, func(p string) string {
			return replaceOnce(p, keyOf(w.Market.KID, w.Market.DER), keyOf(gm.KeyIDString(future), future))
		}},
		{"no checkpoint member: the checkpoint is optional", "VALID", []string{"TRUST-13"}, func(p string) string {
			i := strings.Index(p, `"checkpoint":"`)
			j := i + len(`"checkpoint":"`) + strings.Index(p[i+len(`"checkpoint":"`):], `"`) + 1
			return p[:i] + strings.TrimPrefix(p[j:], ",")
		}},
	} {
		t, err := k.signedBundle(seq, iat, c.edit)
		if err != nil {
			return err
		}
		add(trustInput{Bundle: t}, c.want, c.desc, c.rules...)
	}
	// A list signed by a compromised key of its agency: the full bundle.
	comp, err := k.fullBundle(func(p string) string {
		return replaceOnce(p, `"signer_kid":"`+w.ledgerKID()+`"`, `"signer_kid":"`+w.Compromised.KID+`"`)
	})
	if err != nil {
		return err
	}
	add(trustInput{Bundle: comp}, "reject:trust.ErrMalformed", "status list amr-1 whose signer_kid is the market agency's compromised key", "TRUST-12")
	return k.genuineEdits(ctx)
}

// genuineEdits are genuine sets the bundle names by their SM3 but whose
// content disagrees with it, and a non-canonical one.
func (k *kit) genuineEdits(ctx *Context) error {
	w := k.w
	kid := w.Compromised.KID
	doc := ctx.Genuine[kid]
	sum := func(d []byte) string { s := gm.SM3(d); return hex.EncodeToString(s[:]) }
	add := func(d []byte, count int, desc string, rules ...string) error {
		b, err := k.fullBundle(func(p string) string {
			p = replaceOnce(p, `"sm3":"`+sum(doc)+`"`, `"sm3":"`+sum(d)+`"`)
			if count >= 0 {
				s, e := numberAt(p, `"genuine":{"count":`)
				p = p[:s] + itoa(int64(count)) + p[e:]
			}
			return p
		})
		if err != nil {
			return err
		}
		k.add("trust.json", Vector{Rules: rules, Description: desc, Expected: "reject:trust.ErrGenuineSet",
			Input: trustInput{Op: "genuine", Bundle: b, Kid: kid, Doc: d}})
		return nil
	}
	since, err := trust.MarshalGenuineSet(kid, w.compromisedSince().Add(time.Second), w.Genuine)
	if err != nil {
		return err
	}
	if err := add(since, -1, "a genuine set whose since is a second after the bundle's (its SM3 is the bundle's)", "TRUST-21"); err != nil {
		return err
	}
	other, err := trust.MarshalGenuineSet(w.Market.KID, w.compromisedSince(), w.Genuine)
	if err != nil {
		return err
	}
	if err := add(other, -1, "a genuine set for another key ID (its SM3 is the bundle's)", "TRUST-21"); err != nil {
		return err
	}
	if err := add(doc, len(w.Genuine)+1, "the genuine set of context.json under a bundle whose count is one more", "TRUST-21"); err != nil {
		return err
	}
	// Two lists, each with one entry, in the wrong order.
	u := []byte("elicense-genuine/1\n")
	kb, _ := hex.DecodeString(kid)
	u = append(u, kb...)
	u = binary.BigEndian.AppendUint64(u, uint64(w.compromisedSince().Unix()))
	u = binary.AppendUvarint(u, 2)
	u = binary.AppendUvarint(u, 2)
	for _, id := range []string{"amr-stale", "amr-1"} {
		u = append(u, byte(len(id)))
		u = append(u, id...)
		u = binary.AppendUvarint(u, 1)
		u = binary.AppendUvarint(u, 7)
		u = append(u, make([]byte, trust.GenuineTagSize)...)
	}
	return add(u, 2, "a genuine set whose lists are not sorted by ID (not canonical; its SM3 and header are the bundle's)", "TRUST-20")
}

// fullBundle signs the context's bundle, its payload changed by edit.
func (k *kit) fullBundle(edit func(string) string) (string, error) {
	w := k.w
	b, err := w.bundle(uint64(w.Now.Add(-time.Hour).UnixMicro()), w.Now.Add(-time.Hour))
	if err != nil {
		return "", err
	}
	t, err := w.signBundle(b)
	if err != nil {
		return "", err
	}
	return resignJWS(t, detSigner{w.LedgerKey}, func(h, p string) (string, string) { return h, edit(p) })
}

// foreignAgencyCert is the market agency's certificate (subject, policy,
// role) issued by a root the kit does not pin.
func (w *world) foreignAgencyCert() ([]byte, error) {
	rootDER, err := otherRoot(w.Now)
	if err != nil {
		return nil, err
	}
	root, err := gm.ParseCertificate(rootDER)
	if err != nil {
		return nil, err
	}
	pext, err := agencycert.Policy{AgencyCode: codeMarket, Classes: w.Market.Classes}.Extension()
	if err != nil {
		return nil, err
	}
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(100), Subject: pkix.Name{CommonName: w.Market.Name, Organization: []string{w.Market.Name}},
		NotBefore: w.Now.Add(-24 * time.Hour), NotAfter: w.Now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage: gm.KeyUsageDigitalSignature, BasicConstraintsValid: true,
		ExtraExtensions: []pkix.Extension{pext},
	}
	return gm.CreateCertificate(tmpl, root, w.Market.Key.PublicKey(), detSigner{seedKey("other-root")})
}

// agencyCertWithPolicy is a certificate of the kit's root for the key
// seed with policy p. Its serial is fixed, so that the certificates the
// generator makes after it keep theirs.
func (w *world) agencyCertWithPolicy(seed, name string, p agencycert.Policy) ([]byte, error) {
	return w.agencyCertValid(seed, name, p, 101, w.Now.Add(-24*time.Hour), w.Now.Add(10*365*24*time.Hour))
}

// agencyCertValid is agencyCertWithPolicy with the serial and validity
// given.
func (w *world) agencyCertValid(seed, name string, p agencycert.Policy, serial int64, notBefore, notAfter time.Time) ([]byte, error) {
	pext, err := p.Extension()
	if err != nil {
		return nil, err
	}
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name, Organization: []string{name}},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: gm.KeyUsageDigitalSignature, BasicConstraintsValid: true,
		ExtraExtensions: []pkix.Extension{pext},
	}
	return gm.CreateCertificate(tmpl, w.Root, seedKey(seed).PublicKey(), detSigner{w.RootKey})
}
