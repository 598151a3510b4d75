package ofd

import (
	"bytes"
	"crypto/ecdsa"
	"fmt"
	"time"

	"elicense/certs/archive"
	"elicense/certs/ofd"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/verifier"
	"elicense/verifier/seal"
)

// The GB/T 36903 metadata a licence file (GB/T 36905) carries in its
// CustomDatas (certs/archive owns the names), and the one elicense adds:
// the licence's static QR token, whose status a verifier can look up.
const (
	MetaID         = archive.ItemID
	MetaHolder     = archive.ItemHolder
	MetaIssuerCode = archive.ItemIssuerCode
	MetaToken      = archive.ItemQR
)

// Licences checks the licence a licence file carries. *verifier.Verifier
// is one: Verify judges the static QR token at a time (signature, key
// state, validity, status), State gives the trust bundle whose agency keys
// a licence file must be sealed with.
type Licences interface {
	Verify(text string, now time.Time) verifier.Verdict
	State() verifier.State
}

// LicenceCheck is what a licence file's licence was found to be.
type LicenceCheck struct {
	// Verdict is VALID, LICENCE_NOT_VALID, LICENCE_NOT_GENUINE or
	// LICENCE_UNCHECKED.
	Verdict Verdict `json:"verdict"`
	Detail  string  `json:"detail,omitempty"`
	ID      string  `json:"id"`               // the 证照标识 the file names
	Holder  string  `json:"holder,omitempty"` // its 持证主体
	// QR is the verdict on the file's static QR token (the licence's
	// status among it); nil when the file carries none.
	QR *verifier.Verdict `json:"qr,omitempty"`
	// SealExpired: the agency's seal on the file has expired since it
	// was applied (its signature is EXPIRED, it was wholly valid then);
	// the licence is judged VALID all the same.
	SealExpired bool `json:"seal_expired,omitempty"`
}

// checkLicence judges the licence of a document whose metadata names a
// 证照标识, when the caller gave Options.Licences: a valid signature says
// the file is unchanged since some seal was applied, not that the licence
// is still valid nor that its issuing agency applied it. The licence is
// VALID only when its static token verifies now (status included), names
// the same licence, holder and agency as the metadata, and a VALID seal
// that protects every shown file was made with a key of that agency in
// the trust bundle that was not compromised, nor retired before sealing.
func checkLicence(p *ofd.Package, r *Report, opts Options) *LicenceCheck {
	if opts.Licences == nil || len(p.Root.Bodies) == 0 {
		return nil
	}
	meta, count := map[string]string{}, map[string]int{}
	for _, cd := range p.Root.Bodies[0].CustomData {
		meta[cd.Name] = cd.Value
		count[cd.Name]++
	}
	id, ok := meta[MetaID]
	if !ok {
		return nil // not a licence file
	}
	c := &LicenceCheck{ID: id, Holder: meta[MetaHolder]}
	for _, name := range []string{MetaID, MetaHolder, MetaIssuerCode, MetaToken} {
		if count[name] > 1 {
			c.Verdict, c.Detail = LicenceNotGenuine, "the metadata gives "+name+" twice"
			return c
		}
	}
	bundle := opts.Licences.State().Bundle
	at := opts.At
	if at.IsZero() {
		at = time.Now()
	}
	// unchecked is the verdict when the licence's status cannot be
	// established: still not genuine when a bundle is held and no seal
	// of the agency the metadata names covers the file.
	unchecked := func(detail string) *LicenceCheck {
		c.Verdict, c.Detail = LicenceUnchecked, detail
		if bundle != nil {
			if v, why, _ := issuerSealed(r, bundle, meta[MetaIssuerCode], opts.Status, at); v != Valid {
				c.Verdict, c.Detail = v, why
			}
		}
		return c
	}
	token := meta[MetaToken]
	if token == "" {
		return unchecked("the file names licence " + id + " but carries no elicense QR token (" + MetaToken + "), so its status cannot be looked up")
	}
	qv := opts.Licences.Verify(token, at)
	c.QR = &qv
	switch qv.Code {
	case verifier.ValidStatic:
	case verifier.NoTrust, verifier.StatusUnavailable, verifier.StatusStale, verifier.UnsupportedVersion:
		return unchecked(fmt.Sprintf("the licence's status cannot be checked here: %s (%s)", qv.Code, qv.MessageEN))
	case verifier.Revoked, verifier.Suspended, verifier.Superseded, verifier.Expired, verifier.NotYetValid:
		c.Verdict, c.Detail = LicenceNotValid, fmt.Sprintf("the licence is %s: %s", qv.Code, qv.MessageEN)
		return c
	default: // a refusal, or a holder-bound presentation, which no file carries
		c.Verdict, c.Detail = LicenceNotGenuine, fmt.Sprintf("the file's QR token is not its licence's static token: %s (%s)", qv.Code, qv.MessageEN)
		return c
	}
	l := qv.Licence
	switch {
	case l == nil:
		c.Verdict, c.Detail = LicenceNotGenuine, "the file's QR token names no licence"
	case l.ID != id:
		c.Verdict, c.Detail = LicenceNotGenuine, fmt.Sprintf("the metadata names licence %s, its QR token %s", id, l.ID)
	case l.HolderName != meta[MetaHolder]:
		c.Verdict, c.Detail = LicenceNotGenuine, fmt.Sprintf("the metadata names holder %q, the QR token %q", meta[MetaHolder], l.HolderName)
	case qv.AgencyCode != meta[MetaIssuerCode]:
		c.Verdict, c.Detail = LicenceNotGenuine, fmt.Sprintf("the metadata names issuing agency %s, the QR token's key is agency %s's", meta[MetaIssuerCode], qv.AgencyCode)
	default:
		c.Verdict, c.Detail, c.SealExpired = issuerSealed(r, bundle, qv.AgencyCode, opts.Status, at)
	}
	return c
}

// issuerSealed reports whether a seal protecting every shown file was
// made with a usable key of agency in b: one that is not compromised and
// was not retired at or before the seal's signing time. The seal is
// VALID, or EXPIRED since it was applied (sealedValid: wholly valid as
// of its signing time) and not revoked at the check time: a licence file
// outlives its seal's validity as its QR token outlives its key's
// certificate; the licence's status decides (expired reports that case).
func issuerSealed(r *Report, b *trust.Bundle, agency string, status seal.SealStatus, at time.Time) (v Verdict, why string, expired bool) {
	if b == nil {
		return LicenceUnchecked, "no trust bundle to find the issuing agency's keys in", false
	}
	a, ok := b.Agency(agency)
	if !ok {
		return LicenceNotGenuine, "the trust bundle has no agency " + fmt.Sprintf("%q", agency), false
	}
	why = "no valid seal covering the whole file was made with a key of the issuing agency " + agency + ": another party sealed it"
	for _, s := range r.Signatures {
		if s.Type != "Seal" || len(s.Unprotected) > 0 || s.signerCert == nil {
			continue
		}
		if s.Verdict != Valid && (s.Verdict != Expired || !s.sealedValid) {
			continue
		}
		if s.Verdict == Expired {
			if revoked, since, _ := sealStatus(status, s.ESID); revoked && !since.After(at) && !(s.TimestampTrusted && s.TimestampAt.Before(since)) {
				why = fmt.Sprintf("sealed with seal %s, which has expired since and was revoked on %s", s.ESID, since.UTC().Format(time.RFC3339))
				continue
			}
		}
		for _, k := range a.Keys {
			switch {
			case !samePublicKey(k.Cert, s.signerCert):
			case k.State == trust.KeyCompromised:
				why = fmt.Sprintf("sealed with agency %s's key %s, which is compromised", agency, k.KID)
			case k.State == trust.KeyRetired && !s.SignedAt.Before(k.Since):
				why = fmt.Sprintf("sealed at %s with agency %s's key %s, retired since %s", s.SignedAt.UTC().Format(time.RFC3339), agency, k.KID, k.Since.UTC().Format(time.RFC3339))
			default:
				return Valid, "", s.Verdict == Expired
			}
		}
	}
	return LicenceNotGenuine, why, false
}

// sealStatus asks status, if there is one, whether esid is revoked.
func sealStatus(status seal.SealStatus, esid string) (revoked bool, since time.Time, known bool) {
	if status == nil {
		return false, time.Time{}, false
	}
	return status.SealStatus(esid)
}

// samePublicKey reports whether two certificates hold the same key.
func samePublicKey(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	ca, err := gm.ParseCertificate(a)
	if err != nil {
		return false
	}
	cb, err := gm.ParseCertificate(b)
	if err != nil {
		return false
	}
	pa, ok1 := ca.PublicKey.(*ecdsa.PublicKey)
	pb, ok2 := cb.PublicKey.(*ecdsa.PublicKey)
	return ok1 && ok2 && pa.Equal(pb)
}
