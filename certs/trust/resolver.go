package trust

import (
	"crypto/ecdsa"
	"slices"

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
				if k.Since.Before(ik.NotAfter) {
					ik.NotAfter = k.Since
				}
			case KeyCompromised:
				ik.CompromisedSince = k.Since
			}
			x.keys[k.KID] = append(x.keys[k.KID], ik)
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

// resolver is the bundle's credential.KeyResolver.
type resolver struct{ x *index }

// IssuerKeys implements credential.KeyResolver. The returned slice is
// shared and must not be modified.
func (r resolver) IssuerKeys(kid string) []credential.IssuerKey { return r.x.keys[kid] }

// Resolver returns the bundle's agency keys as a credential.KeyResolver:
// for each key, the public key and validity of its certificate, the agency
// code and classes, and its state (a retired key's NotAfter is its
// retirement time; a compromised key's CompromisedSince is set). Lookups
// are one map access; the map is built once per bundle.
func (b *Bundle) Resolver() credential.KeyResolver { return resolver{b.index()} }

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
