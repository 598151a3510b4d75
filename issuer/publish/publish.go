// Package publish serves what counters fetch from the issuer: the signed
// status lists (from issuer/status) and the signed trust bundle, which it
// assembles from the PKI, the status lists and the latest ledger
// checkpoint and re-signs when any of them changes or half its validity
// has passed.
package publish

import (
	"fmt"
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
	PKI      *pki.PKI
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
	cpSize  uint64
	nLists  int
	lastErr error
}

// New returns a publisher.
func New(o Options) *Publisher {
	if o.Validity <= 0 {
		o.Validity = 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
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
// checkpoint or the set of lists changed or it is half way to stale.
func (p *Publisher) TrustBundle() ([]byte, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.o.Now()
	cp := p.o.Ledger.Checkpoint()
	lists := p.o.Status.Lists()
	if p.doc != nil && cp.Size == p.cpSize && len(lists) == p.nLists && now.Before(p.built.Add(p.o.Validity/2)) {
		return p.doc, p.etag
	}
	doc, err := p.build(now, cp, lists)
	if err != nil {
		p.lastErr = err
		return p.doc, p.etag // the last good one, which carries its own next_update
	}
	sum := gm.SM3(doc)
	p.doc, p.etag, p.built, p.cpSize, p.nLists = doc, fmt.Sprintf(`"%x"`, sum[:12]), now, cp.Size, len(lists)
	return p.doc, p.etag
}

// Err is the last failure to sign a bundle, if any (for /readyz).
func (p *Publisher) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

func (p *Publisher) build(now time.Time, cp ledger.SignedCheckpoint, lists []status.Info) ([]byte, error) {
	k := p.o.PKI
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
	for _, a := range k.Agencies {
		keys := []trust.AgencyKey{{KID: a.KeyID, Cert: a.CertDER, State: trust.KeyActive}}
		for _, p := range a.Previous {
			keys = append(keys, trust.AgencyKey{KID: p.KeyID, Cert: p.CertDER, State: trust.KeyState(p.State), Since: p.Since})
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
