package conformance

import (
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"strings"
	"time"

	"elicense/certs/agencycert"
	"elicense/certs/trust"
	"elicense/internal/gm"
)

// trustInput is the input of a trust vector (files.go documents it).
type trustInput struct {
	Op       string `json:"op"`
	Bundle   string `json:"bundle"`
	RootPEM  string `json:"root_pem,omitempty"`
	Previous string `json:"previous,omitempty"`
	Kid      string `json:"kid,omitempty"`
	Doc      []byte `json:"doc,omitempty"`
	// List and ListToken: verify the bundle, then the list token under
	// the bundle's ID list, refusing a version below the one the bundle
	// names (a counter's first sync, TRUST-19).
	List      string `json:"list,omitempty"`
	ListToken string `json:"list_token,omitempty"`
}

func init() { ctxSteps = append(ctxSteps, (*kit).trustVectors) }

func (k *kit) trustVectors(ctx *Context) error {
	w := k.w
	const f = "trust.json"
	add := func(in trustInput, want, desc string, rules ...string) {
		if in.Op == "" {
			in.Op = "bundle"
		}
		k.add(f, Vector{Rules: rules, Description: desc, Input: in, Expected: want})
	}
	add(trustInput{Bundle: ctx.Bundle}, "VALID", "the context's bundle, signed by the ledger key (x5c ledger, root)",
		"TRUST-01", "TRUST-02", "TRUST-03", "TRUST-04", "TRUST-05", "TRUST-06", "TRUST-07", "TRUST-08", "TRUST-09", "TRUST-10", "TRUST-11", "TRUST-12", "TRUST-13",
		"CERT-01", "CERT-02", "CERT-03", "CERT-05", "CERT-06", "CERT-07", "CERT-08", "CERT-11", "ID-20", "VER-08")
	// The failures below change a small bundle (two agencies, two
	// lists), valid as it is, to keep the kit small.
	good, err := k.signedBundle(uint64(w.Now.Add(-time.Hour).UnixMicro()), w.Now.Add(-time.Hour), nil)
	if err != nil {
		return err
	}
	add(trustInput{Bundle: good}, "VALID", "a small bundle: the market agency's active key and the civil affairs agency, lists amr-1 and amr-stale",
		"TRUST-08", "TRUST-12")
	ledger := detSigner{w.LedgerKey}
	std := base64.StdEncoding.EncodeToString
	ledgerKey := `"ledger_key":{"kid":"` + w.ledgerKID() + `","cert":"` + std(w.LedgerDER) + `"}`
	agencyKey := `"ledger_key":{"kid":"` + w.Outsider.KID + `","cert":"` + std(w.Outsider.DER) + `"}`
	for _, c := range []struct {
		desc, want string
		rules      []string
		sign       bool
		edit       func(h, p string) (string, string)
	}{
		{"payload changed, not re-signed", "reject:trust.ErrBadSignature", []string{"TRUST-03"}, false,
			func(h, p string) (string, string) { return h, replaceOnce(p, `"version":1`, `"version":1 `) }},
		{"typ JWT", "reject:trust.ErrMalformed", []string{"TRUST-01"}, true,
			func(h, p string) (string, string) { return replaceOnce(h, `"elicense-trust+jwt"`, `"JWT"`), p }},
		{"format version 2", "reject:trust.ErrMalformed", []string{"TRUST-04", "VER-02", "VER-06"}, true,
			func(h, p string) (string, string) { return h, replaceOnce(p, `"version":1`, `"version":2`) }},
		{"an unknown top-level member (ignored)", "VALID", []string{"TRUST-04"}, true,
			func(h, p string) (string, string) { return h, replaceOnce(p, `{`, `{"x-later":{"a":1},`) }},
		{"seq 0", "reject:trust.ErrMalformed", []string{"TRUST-05"}, true,
			func(h, p string) (string, string) { s, e := numberAt(p, `"seq":`); return h, p[:s] + "0" + p[e:] }},
		{"next_update equal to issued_at", "reject:trust.ErrMalformed", []string{"TRUST-06"}, true, func(h, p string) (string, string) {
			i := strings.Index(p, `"issued_at":"`) + len(`"issued_at":"`)
			iat := p[i : i+strings.Index(p[i:], `"`)]
			j := strings.Index(p, `"next_update":"`) + len(`"next_update":"`)
			return h, p[:j] + iat + p[j+strings.Index(p[j:], `"`):]
		}},
		{"root naming another key ID", "reject:trust.ErrUntrustedSigner", []string{"TRUST-07"}, true,
			func(h, p string) (string, string) {
				return h, replaceOnce(p, `"root":"`+gm.KeyIDString(w.RootDER), `"root":"0000000000000000`)
			}},
		{"an agency listing an unknown class", "reject:trust.ErrUnknownClass", []string{"TRUST-08"}, true,
			func(h, p string) (string, string) {
				return h, replaceOnce(p, `"classes":["marriage-certificate"]`, `"classes":["marriage-certificate","no-such-class"]`)
			}},
		{"an agency listing a class its key's policy does not allow", "reject:trust.ErrUntrustedKey", []string{"TRUST-09", "CERT-12", "TRUST-17"}, true,
			func(h, p string) (string, string) {
				return h, replaceOnce(p, `"classes":["marriage-certificate"]`, `"classes":["marriage-certificate","business-license"]`)
			}},
		{"a genuine reference on an active key", "reject:trust.ErrMalformed", []string{"TRUST-10"}, true, func(h, p string) (string, string) {
			return h, replaceOnce(p, `"state":"active"`, `"state":"active","genuine":{"count":1,"sm3":"`+strings.Repeat("00", 32)+`","url":"https://x.example/g"}`)
		}},
		{"ledger_key an agency certificate (role agency)", "reject:trust.ErrUntrustedKey", []string{"TRUST-11", "CERT-08", "CERT-05"}, true,
			func(h, p string) (string, string) { return h, replaceOnce(p, ledgerKey, agencyKey) }},
		{"two status lists with the ID amr-1", "reject:trust.ErrMalformed", []string{"TRUST-12", "ID-20"}, true,
			func(h, p string) (string, string) { return h, replaceOnce(p, `"id":"amr-stale"`, `"id":"amr-1"`) }},
		{"a status list ID with a space", "reject:trust.ErrMalformed", []string{"ID-20", "TRUST-12"}, true,
			func(h, p string) (string, string) { return h, replaceOnce(p, `"id":"amr-stale"`, `"id":"amr stale"`) }},
		{"a status list URI that is not http(s)", "reject:trust.ErrMalformed", []string{"TRUST-12"}, true,
			func(h, p string) (string, string) {
				return h, replaceOnce(p, `"uri":"https://status.example.gov.cn/amr-stale"`, `"uri":"ftp://status.example.gov.cn/amr-stale"`)
			}},
		{"the checkpoint's tree size changed (its signature by ledger_key fails, ledger.md)", "reject:tlog.ErrBadSignature", []string{"TRUST-13", "LEDGER-13"}, true,
			func(h, p string) (string, string) { return h, replaceOnce(p, `\n1\n`, `\n2\n`) }},
	} {
		var t string
		var err error
		if c.sign {
			t, err = resignJWS(good, ledger, c.edit)
		} else {
			t, err = resignJWS(good, nil, c.edit)
		}
		if err != nil {
			return err
		}
		add(trustInput{Bundle: t}, c.want, c.desc, c.rules...)
	}
	return k.trustSigners(ctx)
}

func (k *kit) trustSigners(ctx *Context) error {
	w := k.w
	const f = "trust.json"
	add := func(in trustInput, want, desc string, rules ...string) {
		if in.Op == "" {
			in.Op = "bundle"
		}
		k.add(f, Vector{Rules: rules, Description: desc, Input: in, Expected: want})
	}
	std := base64.StdEncoding.EncodeToString
	good, err := k.signedBundle(uint64(w.Now.Add(-time.Hour).UnixMicro()), w.Now.Add(-time.Hour), nil)
	if err != nil {
		return err
	}
	byAgency, err := resignJWS(good, w.Market.signer(), func(h, p string) (string, string) {
		return replaceOnce(h, std(w.LedgerDER), std(w.Market.DER)), p
	})
	if err != nil {
		return err
	}
	add(trustInput{Bundle: byAgency}, "reject:trust.ErrUntrustedSigner", "signed by an agency key (x5c[0] role agency)", "TRUST-02", "CERT-07")
	other, err := otherRoot(w.Now)
	if err != nil {
		return err
	}
	add(trustInput{Bundle: good, RootPEM: string(gm.EncodeCertificatePEM(other))}, "reject:trust.ErrUntrustedSigner", "pinned root is another root", "TRUST-02", "TRUST-07", "CERT-06")
	// Rollback and precision.
	older, err := k.signedBundle(1, w.Now.Add(-2*time.Hour), nil)
	if err != nil {
		return err
	}
	add(trustInput{Bundle: older, Previous: good}, "reject:trust.ErrRollback", "a bundle with a lower seq than the one held", "TRUST-14", "VER-08")
	seq := uint64(w.Now.Add(-time.Hour).UnixMicro())
	same, err := k.signedBundle(seq, w.Now.Add(-30*time.Minute), nil)
	if err != nil {
		return err
	}
	add(trustInput{Bundle: same, Previous: good}, "reject:trust.ErrRollback", "the held bundle's seq with other content", "TRUST-14")
	const big = uint64(1) << 53
	b1, err := k.signedBundle(big, w.Now.Add(-time.Hour), nil)
	if err != nil {
		return err
	}
	b2, err := k.signedBundle(big+1, w.Now.Add(-time.Hour), nil)
	if err != nil {
		return err
	}
	add(trustInput{Bundle: b2, Previous: b1}, "VALID", "seq 2^53+1 after 2^53 (a float64 reader sees the same seq with other content)", "TRUST-05", "STATUS-10", "VER-08")
	for _, c := range []struct {
		d          time.Duration
		want, desc string
	}{
		{-time.Second, "VALID", "the context's bundle 1 s before next_update"},
		{time.Second, "warn", "the context's bundle 1 s after next_update: accepted with a warning"},
	} {
		k.add(f, Vector{Rules: []string{"TRUST-14", "VERIFY-16"}, Description: c.desc, Now: w.Now.Add(23*time.Hour + c.d),
			Input: trustInput{Op: "bundle", Bundle: good}, Expected: c.want})
	}
	kid := w.Compromised.KID
	doc := ctx.Genuine[kid]
	add(trustInput{Op: "genuine", Bundle: ctx.Bundle, Kid: kid, Doc: doc}, "VALID", "the compromised key's genuine set, as the bundle names it", "TRUST-20", "TRUST-21", "TRUST-23")
	bad := append([]byte(nil), doc...)
	bad[len(bad)-1] ^= 1
	add(trustInput{Op: "genuine", Bundle: ctx.Bundle, Kid: kid, Doc: bad}, "reject:trust.ErrGenuineSet", "the genuine set with its last byte changed (SM3 differs from the bundle's)", "TRUST-20", "TRUST-21")
	// First sync: the bundle names amr-1 at a later version than the list offered.
	ahead, err := k.signedBundle(seq+1, w.Now.Add(-time.Hour), func(p string) string {
		return replaceOnce(p, `"signer_kid":"`+w.ledgerKID()+`"}`, `"signer_kid":"`+w.ledgerKID()+`","version":`+itoa(int64(w.Lists["amr-1"].Version+1))+`}`)
	})
	if err != nil {
		return err
	}
	add(trustInput{Op: "bundle+list", Bundle: ahead, List: "amr-1", ListToken: ctx.Lists["amr-1"]}, "reject:statuslist.ErrRollback",
		"first sync: the bundle names amr-1 one version later than the list offered", "TRUST-19")
	add(trustInput{Op: "bundle+list", Bundle: good, List: "amr-1", ListToken: ctx.Lists["amr-1"]}, "VALID", "first sync: bundle and list agree", "TRUST-19", "TRUST-18")
	return nil
}

// signedBundle signs a small bundle of the world (the market agency's
// active key, the civil affairs agency, lists amr-1 and amr-stale) with
// seq and issuedAt, its payload changed by edit when not nil.
func (k *kit) signedBundle(seq uint64, issuedAt time.Time, edit func(string) string) (string, error) {
	b, err := k.w.bundle(seq, issuedAt)
	if err != nil {
		return "", err
	}
	b.Agencies = []trust.Agency{b.Agencies[0], b.Agencies[2]}
	b.Agencies[0].Keys = b.Agencies[0].Keys[:1]
	b.StatusLists = b.StatusLists[:2]
	t, err := k.w.signBundle(b)
	if err != nil || edit == nil {
		return t, err
	}
	return resignJWS(t, detSigner{k.w.LedgerKey}, func(h, p string) (string, string) { return h, edit(p) })
}

// otherRoot is a root certificate that signed nothing in the kit.
func otherRoot(now time.Time) ([]byte, error) {
	key := seedKey("other-root")
	ext, err := agencycert.RoleExtension(agencycert.RoleRoot)
	if err != nil {
		return nil, err
	}
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(99), Subject: pkix.Name{CommonName: "another root"},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(20 * 365 * 24 * time.Hour),
		KeyUsage:              gm.KeyUsageCertSign | gm.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
		ExtraExtensions: []pkix.Extension{ext},
	}
	return gm.CreateCertificate(tmpl, tmpl, key.PublicKey(), detSigner{key})
}
