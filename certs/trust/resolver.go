package trust

import (
	"crypto/ecdsa"
	"slices"
	"time"

	"elicense/certs/credential"
	"elicense/certs/statuslist"
	"elicense/internal/gm"
)

// index is what the hot path looks up, computed once per bundle.
type index struct {
	keys     map[string][]credential.IssuerKey // by kid
	lists    map[string]StatusList             // by ID
	listURIs map[string]string                 // URI → ID
	listKeys map[string][]*ecdsa.PublicKey     // list ID → its signer's keys
	receipt  *gm.Certificate                   // the receipt key's certificate, or nil
}

// index returns the bundle's index, building it on first use. Verify
// builds it eagerly from the certificates it has parsed.
func (b *Bundle) index() *index {
	b.once.Do(func() {
		if b.idx == nil {
			b.idx = buildIndex(b, parseLenient)
		}
	})
	return b.idx
}

// parseLenient parses a certificate, or returns nil; for bundles that did
// not come through Verify.
func parseLenient(der []byte) *gm.Certificate {
	c, err := gm.ParseCertificate(der)
	if err != nil {
		return nil
	}
	return c
}

// buildIndex computes the index; parse returns the certificate of a DER
// encoding, or nil to skip it.
func buildIndex(b *Bundle, parse func([]byte) *gm.Certificate) *index {
	x := &index{
		keys:     make(map[string][]credential.IssuerKey),
		lists:    make(map[string]StatusList, len(b.StatusLists)),
		listURIs: make(map[string]string, len(b.StatusLists)),
		listKeys: make(map[string][]*ecdsa.PublicKey, len(b.StatusLists)),
	}
	for _, a := range b.Agencies {
		classes := slices.Clone(a.Classes)
		for _, k := range a.Keys {
			c := parse(k.Cert)
			if c == nil {
				continue
			}
			pub, ok := c.PublicKey.(*ecdsa.PublicKey)
			if !ok {
				continue
			}
			ik := credential.IssuerKey{
				Public:     pub,
				AgencyCode: a.Code,
				Classes:    classes,
				NotBefore:  c.NotBefore,
				NotAfter:   c.NotAfter,
			}
			switch k.State {
			case KeyRetired:
				ik.RetiredSince = k.Since
			case KeyCompromised:
				ik.CompromisedSince = k.Since
			}
			x.keys[k.KID] = append(x.keys[k.KID], ik)
		}
	}
	if rk := b.ReceiptKey; rk != nil {
		if c := parse(rk.Cert); c != nil {
			if _, ok := c.PublicKey.(*ecdsa.PublicKey); ok {
				x.receipt = c
			}
		}
	}
	for _, l := range b.StatusLists {
		x.lists[l.ID] = l
		x.listURIs[l.URI] = l.ID
		x.listKeys[l.ID] = statusSigners(b, l, parse)
	}
	return x
}

// statusSigners returns the keys that may sign list l: the ledger key or
// the list agency's keys, not compromised, whose key ID is l.SignerKID.
func statusSigners(b *Bundle, l StatusList, parse func([]byte) *gm.Certificate) []*ecdsa.PublicKey {
	var ders [][]byte
	if b.LedgerKey != nil && b.LedgerKey.KID == l.SignerKID {
		ders = append(ders, b.LedgerKey.Cert)
	}
	if a, ok := b.Agency(l.Agency); ok {
		for _, k := range a.Keys {
			if k.KID == l.SignerKID && k.State != KeyCompromised {
				ders = append(ders, k.Cert)
			}
		}
	}
	var pubs []*ecdsa.PublicKey
	for _, der := range ders {
		if c := parse(der); c != nil {
			if pub, ok := c.PublicKey.(*ecdsa.PublicKey); ok {
				pubs = append(pubs, pub)
			}
		}
	}
	return pubs
}

// resolver is the bundle's credential.KeyResolver; genuine holds the
// compromised keys with their genuine sets attached.
type resolver struct {
	x       *index
	genuine map[string][]credential.IssuerKey
}

// IssuerKeys implements credential.KeyResolver. The returned slice is
// shared and must not be modified.
func (r resolver) IssuerKeys(kid string) []credential.IssuerKey {
	if r.genuine != nil {
		if ks, ok := r.genuine[kid]; ok {
			return ks
		}
	}
	return r.x.keys[kid]
}

// Resolver returns the bundle's agency keys as a credential.KeyResolver:
// for each key, the public key and validity of its certificate, the agency
// code and classes, and its state (a retired key's RetiredSince or a
// compromised key's CompromisedSince is set). A compromised key has no
// genuine set, so every QR core it signed is refused; see ResolverWith.
// Lookups are one map access; the map is built once per bundle.
func (b *Bundle) Resolver() credential.KeyResolver { return resolver{x: b.index()} }

// ResolverWith is Resolver with the genuine sets of compromised keys
// attached, by key ID. A set is attached only to the key the bundle names
// it for, and only when its SM3 is the one the bundle names: any other
// (an older set, a set for another key) is ignored, and that key's QR
// cores are all refused.
func (b *Bundle) ResolverWith(sets map[string]*GenuineSet) credential.KeyResolver {
	r := resolver{x: b.index()}
	for kid, g := range sets {
		ref, ok := b.GenuineRef(kid)
		if !ok || g == nil || g.kid != kid || g.SM3() != ref.SM3 {
			continue
		}
		ks := slices.Clone(r.x.keys[kid])
		for i := range ks {
			if !ks[i].CompromisedSince.IsZero() {
				ks[i].Genuine = g
			}
		}
		if r.genuine == nil {
			r.genuine = map[string][]credential.IssuerKey{}
		}
		r.genuine[kid] = ks
	}
	return r
}

// StatusKeys returns the key lookup for verifying status list id with
// statuslist.Parse or statuslist.ParseDelta: it knows only the list's
// signer (the ledger key or a non-compromised key of the list's agency, by
// signer_kid). For an unknown id it knows no key.
func (b *Bundle) StatusKeys(id string) statuslist.KeyFunc {
	x := b.index()
	l, ok := x.lists[id]
	keys := x.listKeys[id]
	return func(kid string) []*ecdsa.PublicKey {
		if ok && kid == l.SignerKID {
			return keys
		}
		return nil
	}
}

// ReceiptPublicKey returns the public key counters seal their receipts to
// (docs/consent.md §9) and its key ID, or false when the bundle names
// none (an issuer that has not made one yet) or its certificate is not
// valid at now: an expired encryption key is of no use, and a counter
// then makes no receipts until the issuer publishes a new one.
func (b *Bundle) ReceiptPublicKey(now time.Time) (*ecdsa.PublicKey, string, bool) {
	c := b.index().receipt
	if c == nil || now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return nil, "", false
	}
	return c.PublicKey.(*ecdsa.PublicKey), b.ReceiptKey.KID, true
}
