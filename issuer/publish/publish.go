// Package publish serves what counters fetch from the issuer: the signed
// status lists (from issuer/status) and the signed trust bundle, which it
// assembles from the PKI, the status lists and the latest ledger
// checkpoint and re-signs when any of them changes or half its validity
// has passed.
package publish

import (
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/issuer/pki"
	"elicense/issuer/status"
)

// Checkpointer gives the latest signed ledger checkpoint.
type Checkpointer interface {
	Checkpoint() ledger.SignedCheckpoint
}

// Options wire a Publisher.
type Options struct {
	PKI *pki.PKI
	// Current, when set, gives the PKI as it is now (issuer/service's
	// PKI, which a key rotation or compromise replaces) and PKI is not
	// used: the next bundle after a change lists the keys as they are.
	Current  func() *pki.PKI
	Status   *status.Manager
	Ledger   Checkpointer
	Validity time.Duration // next_update after issue; zero means 24 hours
	// RevokedSeals lists the revoked electronic seals (nil: none).
	RevokedSeals func() ([]trust.RevokedSeal, error)
	Now          func() time.Time
}

// Publisher implements the API's document endpoints. It is safe for
// concurrent use.
type Publisher struct {
	o  Options
	mu sync.Mutex

	doc     []byte
	etag    string
	seq     uint64
	built   time.Time
	keys    *pki.PKI // the PKI the bundle was built from
	cpSize  uint64
	nLists  int
	lastErr error
	genuine map[string][]byte // genuine-set documents by SM3
}

// New returns a publisher.
func New(o Options) *Publisher {
	if o.Validity <= 0 {
		o.Validity = 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Current == nil {
		k := o.PKI
		o.Current = func() *pki.PKI { return k }
	}
	return &Publisher{o: o}
}

// StatusList serves a signed status list.
func (p *Publisher) StatusList(id string) ([]byte, string, bool) { return p.o.Status.StatusList(id) }

// StatusDelta serves a signed delta between status-list versions.
func (p *Publisher) StatusDelta(id string, from uint64) ([]byte, error) {
	return p.o.Status.StatusDelta(id, from)
}

// TrustBundle serves the signed trust bundle, re-signing it first when the
// PKI, the checkpoint or the set of lists changed or it is half way to
// stale.
func (p *Publisher) TrustBundle() ([]byte, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.o.Now()
	keys := p.o.Current()
	cp := p.o.Ledger.Checkpoint()
	lists := p.o.Status.Lists()
	if p.doc != nil && keys == p.keys && cp.Size == p.cpSize && len(lists) == p.nLists && now.Before(p.built.Add(p.o.Validity/2)) {
		return p.doc, p.etag
	}
	doc, err := p.build(now, keys, cp, lists)
	if err != nil {
		p.lastErr = err
		return p.doc, p.etag // the last good one, which carries its own next_update
	}
	sum := gm.SM3(doc)
	p.doc, p.etag, p.built, p.keys, p.cpSize, p.nLists = doc, fmt.Sprintf(`"%x"`, sum[:12]), now, keys, cp.Size, len(lists)
	return p.doc, p.etag
}

// GenuinePath is where a compromised key's genuine set is published,
// followed by the key ID.
const GenuinePath = "/v1/trust/genuine/"

// GenuineSet serves the genuine set of compromised key kid, as the bundle
// names it: the document the key's compromise produced, read once and
// checked against the SM3 the PKI manifest (and so the bundle) records.
func (p *Publisher) GenuineSet(kid string) (doc []byte, etag string, ok bool, err error) {
	for _, a := range p.o.Current().Agencies {
		for _, pk := range a.Previous {
			if pk.KeyID != kid || pk.Genuine == nil {
				continue
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			etag = `"` + pk.Genuine.SM3[:24] + `"`
			if doc, ok := p.genuine[pk.Genuine.SM3]; ok {
				return doc, etag, true, nil
			}
			doc, err := os.ReadFile(pk.GenuinePath)
			if err != nil {
				return nil, "", true, fmt.Errorf("publish: genuine set of %s: %w", kid, err)
			}
			if sum := gm.SM3(doc); hex.EncodeToString(sum[:]) != pk.Genuine.SM3 {
				return nil, "", true, fmt.Errorf("publish: %s does not have the SM3 the manifest records", pk.GenuinePath)
			}
			if p.genuine == nil {
				p.genuine = map[string][]byte{}
			}
			p.genuine[pk.Genuine.SM3] = doc
			return doc, etag, true, nil
		}
	}
	return nil, "", false, nil
}

// GenuineKeys lists the compromised keys that have a genuine set, for a
// static publication to write each at GenuinePath+kid.
func (p *Publisher) GenuineKeys() []string {
	var out []string
	for _, a := range p.o.Current().Agencies {
		for _, pk := range a.Previous {
			if pk.Genuine != nil {
				out = append(out, pk.KeyID)
			}
		}
	}
	return out
}

// Err is the last failure to sign a bundle, if any (for /readyz).
func (p *Publisher) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

func (p *Publisher) build(now time.Time, k *pki.PKI, cp ledger.SignedCheckpoint, lists []status.Info) ([]byte, error) {
	// Sequence numbers follow the microsecond clock so they keep
	// increasing across restarts without being stored.
	p.seq = max(p.seq+1, uint64(now.UnixMicro()))
	b := &trust.Bundle{
		Version: trust.FormatVersion, Seq: p.seq, IssuedAt: now.UTC().Truncate(time.Second),
		NextUpdate: now.Add(p.o.Validity).UTC().Truncate(time.Second),
		Root:       gm.KeyIDString(k.RootDER), Checkpoint: string(cp.Note),
		LedgerKey:    &trust.Key{KID: k.Ledger.KeyID, Cert: k.Ledger.CertDER},
		BundleSigner: [][]byte{k.Ledger.CertDER, k.RootDER},
	}
	if r := k.Receipt; r != nil {
		b.ReceiptKey = &trust.Key{KID: r.KeyID, Cert: r.CertDER}
	}
	for _, a := range k.Agencies {
		keys := []trust.AgencyKey{{KID: a.KeyID, Cert: a.CertDER, State: trust.KeyActive}}
		for _, pk := range a.Previous {
			ak := trust.AgencyKey{KID: pk.KeyID, Cert: pk.CertDER, State: trust.KeyState(pk.State), Since: pk.Since}
			if g := pk.Genuine; g != nil {
				ak.Genuine = &trust.GenuineRef{Count: g.Count, SM3: g.SM3, URL: p.o.Status.BaseURL() + GenuinePath + pk.KeyID}
			}
			keys = append(keys, ak)
		}
		b.Agencies = append(b.Agencies, trust.Agency{Code: a.Code, Name: a.Name, Classes: slices.Clone(a.Classes), Keys: keys})
	}
	for _, l := range lists {
		b.StatusLists = append(b.StatusLists, trust.StatusList{ID: l.ID, URI: l.URI, Agency: l.Agency, SignerKID: k.Ledger.KeyID, Version: l.Version})
	}
	if p.o.RevokedSeals != nil {
		seals, err := p.o.RevokedSeals()
		if err != nil {
			return nil, err
		}
		b.RevokedSeals = seals
	}
	tok, err := trust.Sign(b, k.Ledger.Signer, b.BundleSigner)
	if err != nil {
		return nil, err
	}
	return []byte(tok), nil
}
