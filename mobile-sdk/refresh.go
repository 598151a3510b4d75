package mobilesdk

import (
	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/gm"
)

// Refresh asks the issuer for the licence's current status: it fetches
// the trust bundle (checked against the pinned root), the status list the
// credential points into (checked with the list signer the bundle names),
// and records the status and the list's signing time. A holder sees a
// revocation or suspension before a counter has to tell them. It needs a
// pinned trust root; the licence itself never changes.
func (w *Wallet) Refresh(id string) (*Licence, error) {
	w.mu.Lock()
	r, err := w.load(id)
	client := w.client
	w.mu.Unlock()
	if err != nil {
		return nil, err
	}
	rootPEM, err := w.TrustRoot()
	if err != nil {
		return nil, err
	}
	if rootPEM == nil {
		return nil, wrapf(ErrInvalidArgument, "pin a trust root (SetTrustRoot) before refreshing")
	}
	roots, err := gm.ParseCertificatesPEM(rootPEM)
	if err != nil {
		return nil, &StoreError{File: trustFile, Corrupt: true, err: err}
	}
	p, err := parseCredentialPayload(r.Credential)
	if err != nil || p.Status == nil {
		return nil, wrapf(ErrCorrupt, "the credential names no status list")
	}
	doc, err := get(client, r.Server+"/v1/trust")
	if err != nil {
		return nil, err
	}
	now := w.now()
	b, err := trust.Verify(string(doc), trust.VerifyOptions{Roots: roots, Now: now})
	if err != nil {
		return nil, wrapf(ErrForgedAnswer, "trust bundle: %v", err)
	}
	ref := p.Status.StatusList
	sl, ok := b.StatusListByURI(ref.URI)
	if !ok {
		return nil, wrapf(ErrForgedAnswer, "the trust bundle does not know status list %s", ref.URI)
	}
	listDoc, err := get(client, sl.URI)
	if err != nil {
		return nil, err
	}
	signed, err := statuslist.Parse(string(listDoc), statuslist.VerifyOptions{URI: sl.URI, Keys: b.StatusKeys(sl.ID), Now: now})
	if err != nil {
		return nil, wrapf(ErrForgedAnswer, "status list: %v", err)
	}
	st, err := signed.Status(int(ref.Idx))
	if err != nil {
		return nil, wrapf(ErrForgedAnswer, "status list: %v", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	r, err = w.load(id) // re-read under the lock; the file may have changed
	if err != nil {
		return nil, err
	}
	r.Status = map[statuslist.Status]string{statuslist.Valid: "valid", statuslist.Revoked: "revoked",
		statuslist.Suspended: "suspended", statuslist.Superseded: "superseded"}[st]
	r.StatusAt = signed.IssuedAt.Unix()
	if err := w.save(r); err != nil {
		return nil, err
	}
	return r.licence(), nil
}
