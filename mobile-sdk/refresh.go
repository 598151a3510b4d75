package mobilesdk

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"elicense/certs/jws"
	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/gm"
)

// Refresh asks the issuer for the licence's current status and records
// it with the time it was read. Like a counter, it trusts only what
// verifies: the trust bundle against the pinned root, then the status
// list the credential points into, signed by the key the bundle names
// for that list, for the licence's own agency, not expired, and no older
// than the list the wallet read before (a replayed old list cannot undo
// a revocation). A holder so sees a revocation or suspension before a
// counter has to tell them, and Present refuses the licence from then
// on. It needs a pinned trust root; the licence itself never changes.
func (w *Wallet) Refresh(id string) (*Licence, error) {
	r, err := w.resolve(id)
	if err != nil {
		return nil, err
	}
	rf, err := w.newRefresher()
	if err != nil {
		return nil, err
	}
	return w.refreshOne(rf, r)
}

// RefreshAll refreshes every licence in the wallet (one trust bundle per
// issuer and one download per status list) and returns how many it
// refreshed. It carries on past a licence that fails and returns the
// first failure, so one unreachable issuer does not hold up the others.
func (w *Wallet) RefreshAll() (int64, error) {
	l, err := w.List()
	if err != nil {
		return 0, err
	}
	rf, err := w.newRefresher()
	if err != nil {
		return 0, err
	}
	var n int64
	var first error
	failed := 0
	for i := int64(0); i < l.Len(); i++ {
		w.mu.Lock()
		r, err := w.load(l.At(i).ID)
		w.mu.Unlock()
		if err == nil {
			_, err = w.refreshOne(rf, r)
		}
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
			continue
		}
		n++
	}
	if first != nil {
		return n, fmt.Errorf("%d of %d licences not refreshed, the first: %w", failed, l.Len(), first)
	}
	return n, nil
}

// refresher fetches and verifies trust data once per issuer and status
// list for one refresh round.
type refresher struct {
	client  *http.Client
	roots   []*gm.Certificate
	now     time.Time
	bundles map[string]*trust.Bundle
	lists   map[string]*statuslist.Signed
}

func (w *Wallet) newRefresher() (*refresher, error) {
	rootPEM, err := w.TrustRoot()
	if err != nil {
		return nil, err
	}
	if rootPEM == nil {
		return nil, wrapf(ErrNoTrustRoot, "pin a trust root (SetTrustRoot) before refreshing")
	}
	roots, err := gm.ParseCertificatesPEM(rootPEM)
	if err != nil {
		return nil, &StoreError{File: trustFile, Corrupt: true, err: err}
	}
	w.mu.Lock()
	client := w.client
	w.mu.Unlock()
	return &refresher{client: client, roots: roots, now: w.now(),
		bundles: map[string]*trust.Bundle{}, lists: map[string]*statuslist.Signed{}}, nil
}

func (rf *refresher) bundle(server string) (*trust.Bundle, error) {
	if b := rf.bundles[server]; b != nil {
		return b, nil
	}
	doc, err := getFresh(rf.client, server+"/v1/trust")
	if err != nil {
		return nil, err
	}
	b, err := trust.Verify(string(doc), trust.VerifyOptions{Roots: rf.roots, Now: rf.now})
	if err != nil {
		return nil, wrapf(ErrForgedAnswer, "trust bundle: %v", err)
	}
	rf.bundles[server] = b
	return b, nil
}

// status reads the credential's entry from its verified status list.
func (rf *refresher) status(server, credential string, minVersion uint64) (statuslist.Status, *statuslist.Signed, error) {
	p, err := parseCredentialPayload(credential)
	if err != nil || p.Status == nil {
		return 0, nil, wrapf(ErrCorrupt, "the credential names no status list")
	}
	b, err := rf.bundle(server)
	if err != nil {
		return 0, nil, err
	}
	ref := p.Status.StatusList
	sl, ok := b.StatusListByURI(ref.URI)
	if !ok {
		return 0, nil, wrapf(ErrForgedAnswer, "the trust bundle does not know status list %s", ref.URI)
	}
	if sl.Agency != p.Iss {
		return 0, nil, wrapf(ErrForgedAnswer, "status list %s belongs to agency %s, not the licence's issuer %s", sl.URI, sl.Agency, p.Iss)
	}
	signed := rf.lists[sl.URI]
	if signed == nil {
		doc, err := getFresh(rf.client, sl.URI)
		if err != nil {
			return 0, nil, err
		}
		signed, err = statuslist.Parse(string(doc), statuslist.VerifyOptions{URI: sl.URI, Keys: b.StatusKeys(sl.ID), Now: rf.now})
		if err != nil {
			return 0, nil, wrapf(ErrForgedAnswer, "status list: %v", err)
		}
		rf.lists[sl.URI] = signed
	}
	if signed.Version < minVersion {
		return 0, nil, wrapf(ErrForgedAnswer, "status list %s: version %d is older than the version %d already read", sl.URI, signed.Version, minVersion)
	}
	st, err := signed.Status(int(min(ref.Idx, 1<<40)))
	if err != nil || ref.Idx < 0 {
		return 0, nil, wrapf(ErrForgedAnswer, "status list: index %d: %v", ref.Idx, err)
	}
	return st, signed, nil
}

func (w *Wallet) refreshOne(rf *refresher, r *record) (*Licence, error) {
	st, signed, err := rf.status(r.Server, r.Credential, r.StatusVersion)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	r, err = w.load(r.ID) // re-read under the lock; the file may have changed
	if err != nil {
		return nil, err
	}
	if signed.Version < r.StatusVersion {
		return nil, wrapf(ErrForgedAnswer, "status list version %d is older than the version %d already read", signed.Version, r.StatusVersion)
	}
	setStatus(r, st, signed, w.now())
	if err := w.save(r); err != nil {
		return nil, err
	}
	return r.licence(), nil
}

func setStatus(r *record, st statuslist.Status, signed *statuslist.Signed, now time.Time) {
	r.Status = map[statuslist.Status]string{statuslist.Valid: StatusValid, statuslist.Revoked: StatusRevoked,
		statuslist.Suspended: StatusSuspended, statuslist.Superseded: StatusSuperseded}[st]
	r.StatusAt = signed.IssuedAt.Unix()
	r.StatusVersion = signed.Version
	r.RefreshedAt = now.Unix()
}

// PinTrustRootFromServer pins the root certificate that the issuer at
// serverURL publishes (the last certificate of its trust bundle's x5c
// chain, after checking that the bundle verifies under it) and returns
// the root's key ID. It is trust on first use, for a web wallet served
// by that same issuer, whose code already comes from it; a phone app
// should ship the root and call SetTrustRoot. A root already pinned is
// kept: ErrInvalidArgument.
func (w *Wallet) PinTrustRootFromServer(serverURL string) (string, error) {
	base, err := issuerBase(serverURL)
	if err != nil {
		return "", err
	}
	if pinned, err := w.TrustRoot(); err != nil {
		return "", err
	} else if pinned != nil {
		return "", wrapf(ErrInvalidArgument, "a trust root is already pinned")
	}
	w.mu.Lock()
	client := w.client
	w.mu.Unlock()
	doc, err := get(client, base+"/v1/trust")
	if err != nil {
		return "", err
	}
	der, err := bundleRoot(string(doc))
	if err != nil {
		return "", wrapf(ErrForgedAnswer, "trust bundle: %v", err)
	}
	root, err := gm.ParseCertificate(der)
	if err != nil {
		return "", wrapf(ErrForgedAnswer, "trust bundle root: %v", err)
	}
	if _, err := trust.Verify(string(doc), trust.VerifyOptions{Roots: []*gm.Certificate{root}, Now: w.now()}); err != nil && !errors.Is(err, trust.ErrStale) {
		return "", wrapf(ErrForgedAnswer, "trust bundle: %v", err)
	}
	if err := w.SetTrustRoot(gm.EncodeCertificatePEM(der)); err != nil {
		return "", err
	}
	return gm.KeyIDString(der), nil
}

// bundleRoot returns the last certificate of a trust bundle's x5c header,
// read with certs/jws like every other token; it is not verified here.
func bundleRoot(doc string) ([]byte, error) {
	t, err := jws.Parse(doc, jws.Expect{Typ: trust.TokenType, AllowX5c: true})
	if err != nil {
		return nil, err
	}
	x5c := t.Header.X5c
	if len(x5c) == 0 {
		return nil, errors.New("no x5c chain")
	}
	return x5c[len(x5c)-1], nil
}
