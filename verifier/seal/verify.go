package seal

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"elicense/certs/ses"
	"elicense/internal/gm"
)

// SealStatus looks up whether a seal (by its esID) has been revoked. A
// counter backs it with the status data it has synced. known is false
// when the lookup has no record of the seal; since is when the
// revocation took effect (zero: treat as always).
type SealStatus interface {
	SealStatus(esID string) (revoked bool, since time.Time, known bool)
}

// SealStatusFunc adapts a function to SealStatus.
type SealStatusFunc func(esID string) (revoked bool, since time.Time, known bool)

// SealStatus calls f.
func (f SealStatusFunc) SealStatus(esID string) (bool, time.Time, bool) { return f(esID) }

// Options say what Verify trusts and as of when.
type Options struct {
	// Roots are the trusted roots the seal maker's certificate must chain
	// to (with Intermediates, if any).
	Roots         []*gm.Certificate
	Intermediates []*gm.Certificate
	// TrustedMakers are maker certificates trusted directly, without a
	// chain (for seals whose maker root is not at hand, such as the ofdrw
	// samples). A maker is trusted if its certificate is byte-identical
	// to one of these and valid at the verification time.
	TrustedMakers []*gm.Certificate

	// At is the time trust is evaluated at (maker chain, revocation);
	// zero means now. AtSigningTime evaluates it at the signature's own
	// timeInfo instead, to verify an old signature "as of" when it was
	// made (its certificates may have expired since).
	At            time.Time
	AtSigningTime bool

	// Status, when set, is asked for the seal's revocation status.
	Status SealStatus

	// TSARoots are the roots a time-stamp authority's certificate must
	// chain to for the time-stamp to be trusted as a time source (only a
	// trusted one keeps a seal revoked after it valid). A time-stamp is
	// always checked (it must be over this signature value, signed by
	// the certificate it carries within that certificate's validity, and
	// not older than timeInfo: else BadTimestamp); one whose authority
	// chains to none of TSARoots, or checked without TSARoots, is valid
	// but untrusted, and a note says why.
	TSARoots []*gm.Certificate
}

// Result is what Verify found. It is filled as far as verification got:
// after MALFORMED only Verdict and Err are set.
type Result struct {
	Verdict Verdict
	Err     *Error // nil when Verdict is Valid

	Version    ses.Version
	Signature  *ses.Signature
	ESID       string // 电子印章标识符
	SealName   string // 印章名称
	SealType   int64
	SignerCert *gm.Certificate
	MakerCert  *gm.Certificate

	SignedAt       time.Time      // TBS_Sign.timeInfo
	VerifiedAt     time.Time      // the time trust was evaluated at
	SealSignedForm ses.SignedForm // what the maker's signature covers
	MakerTrust     string         // "chain" (to Roots) or "direct" (TrustedMakers)

	TimestampAt      time.Time // genTime of a verified time-stamp, else zero
	TimestampTrusted bool      // the time-stamp's TSA chains to TSARoots

	StatusChecked bool      // Options.Status was asked
	StatusKnown   bool      // … and knew the seal
	RevokedSince  time.Time // set when the seal is revoked

	Notes []string // things a clerk should know that are not failures
}

// Verify checks a detached electronic signature (DER SES_Signature, v4 or
// v1) over document in the order of GB/T 38540: structure; the signature
// over TBS_Sign; the signer certificate in the seal's list; the maker's
// signature on the seal and the maker certificate's chain and validity;
// the seal's validity at timeInfo; the signer certificate's validity at
// timeInfo; the time-stamp if present; the document's SM3 digest against
// dataHash. Then the seal's status, if opts.Status is set.
//
// The Result is never nil. The error is nil exactly when the verdict is
// Valid, and is otherwise an *Error wrapping the verdict. Verify does no
// I/O and never panics, whatever sigDER holds.
func Verify(sigDER, document []byte, opts Options) (*Result, error) {
	h := gm.SM3(document)
	return VerifyDigest(sigDER, h[:], opts)
}

// VerifyDigest is Verify given the SM3 digest of the document.
func VerifyDigest(sigDER, digest []byte, opts Options) (*Result, error) {
	r := &Result{}
	err := verify(r, sigDER, digest, opts)
	if err != nil {
		r.Verdict, r.Err = err.Verdict, err
		return r, err
	}
	r.Verdict = Valid
	return r, nil
}

func fail(v Verdict, cause error, format string, args ...any) *Error {
	return &Error{Verdict: v, Detail: fmt.Sprintf(format, args...), Err: cause}
}

// verify runs the checks in the order of GB/T 38540, one named step each,
// filling r as it goes.
func verify(r *Result, sigDER, digest []byte, opts Options) *Error {
	// 1. Structure (and algorithms, which are part of it).
	sig, e := parseSignature(r, sigDER)
	if e != nil {
		return e
	}
	seal, signer, maker := sig.TBS.Seal, r.SignerCert, r.MakerCert
	at := opts.At
	switch {
	case opts.AtSigningTime:
		at = r.SignedAt
	case at.IsZero():
		at = time.Now()
	}
	r.VerifiedAt = at

	// 2. The signer's signature over TBS_Sign.
	if err := sig.CheckSignature(signer); err != nil {
		return fail(BadSignature, err, "")
	}
	// 3. The signer certificate in the seal's list.
	if e := checkSignerInSeal(sig, signer); e != nil {
		return e
	}
	// 4. The maker's signature on the seal, then the maker's certificate.
	if e := checkSealSignature(r, seal, maker); e != nil {
		return e
	}
	if e := checkMaker(r, maker, seal.MakerCert, at, opts); e != nil {
		return e
	}
	// 5. The seal's validity at the signing time.
	if e := checkSealValidity(&seal.Info.Property, r.SignedAt); e != nil {
		return e
	}
	// 6. The signer certificate's validity at the signing time.
	if e := checkSignerValidity(signer, r.SignedAt); e != nil {
		return e
	}
	// 7. The time-stamp, if any.
	if sig.Timestamp != nil {
		if e := checkSignatureTimestamp(r, sig, opts); e != nil {
			return e
		}
	}
	// 8. The document.
	if !bytes.Equal(sig.TBS.DataHash, digest) {
		return fail(DocumentModified, nil, "SM3 of the document differs from dataHash")
	}
	// Then the seal's status.
	if opts.Status != nil {
		return checkStatus(r, seal.Info.ESID, at, opts.Status)
	}
	return nil
}

// parseSignature is step 1: it parses sigDER, checks that every algorithm
// is SM2 with SM3 and parses the signer and maker certificates, and fills
// what r says of the signature and seal.
func parseSignature(r *Result, sigDER []byte) (*ses.Signature, *Error) {
	sig, err := ses.ParseSignature(sigDER)
	if err != nil {
		return nil, fail(Malformed, err, "")
	}
	seal := sig.TBS.Seal
	r.Signature, r.Version = sig, sig.Version
	r.ESID, r.SealName, r.SealType = seal.Info.ESID, seal.Info.Property.Name, seal.Info.Property.Type
	r.SignedAt = sig.TBS.TimeInfo.Time()
	if !ses.IsSM2WithSM3(sig.SignAlg) {
		return nil, fail(UnsupportedAlgorithm, nil, "signature algorithm %s", sig.SignAlg)
	}
	if !ses.IsSM2WithSM3(seal.SignAlg) {
		return nil, fail(UnsupportedAlgorithm, nil, "seal signature algorithm %s", seal.SignAlg)
	}
	if len(sig.TBS.DataHash) != gm.SM3Size {
		return nil, fail(UnsupportedAlgorithm, nil, "dataHash is %d bytes, not an SM3 digest", len(sig.TBS.DataHash))
	}
	signer, err := sig.SignerCertificate()
	if err != nil {
		return nil, fail(Malformed, err, "SES_Signature.cert")
	}
	maker, err := seal.MakerCertificate()
	if err != nil {
		return nil, fail(Malformed, err, "SES_Signature.toSign.eseal.cert")
	}
	r.SignerCert, r.MakerCert = signer, maker
	return sig, nil
}

// checkSignerInSeal is step 3: the signer certificate is in the seal's
// certList.
func checkSignerInSeal(sig *ses.Signature, signer *gm.Certificate) *Error {
	seal := sig.TBS.Seal
	ok, err := seal.HasSigner(sig.SignerCert)
	if err != nil {
		return fail(UnsupportedAlgorithm, err, "")
	}
	if !ok {
		return fail(SignerNotInSeal, nil, "signer %q is not in the certList of seal %q", signer.Subject.CommonName, seal.Info.ESID)
	}
	return nil
}

// checkSealSignature is the first half of step 4: the maker's signature
// on the seal, in either of the forms the standards use.
func checkSealSignature(r *Result, seal *ses.Seal, maker *gm.Certificate) *Error {
	form, err := seal.CheckSignature(maker)
	if err != nil {
		return fail(BadSealSignature, err, "")
	}
	r.SealSignedForm = form
	if form != ses.SignedSealInfo && seal.Version == ses.V4 {
		r.Notes = append(r.Notes, "the maker signed the v4 seal in the GM/T 0031 v1 way (over SES_SealInfo, cert and algorithm)")
	}
	return nil
}

// checkSealValidity is step 5: the seal was valid at the signing time t.
func checkSealValidity(p *ses.Property, t time.Time) *Error {
	switch {
	case t.Before(p.ValidStart.Time()):
		return fail(SealNotYetValid, nil, "signed %s, seal valid from %s", stamp(t), stamp(p.ValidStart.Time()))
	case t.After(p.ValidEnd.Time()):
		return fail(SealExpired, nil, "signed %s, seal valid until %s", stamp(t), stamp(p.ValidEnd.Time()))
	}
	return nil
}

// checkSignerValidity is step 6: the signer certificate was valid at the
// signing time t.
func checkSignerValidity(signer *gm.Certificate, t time.Time) *Error {
	switch {
	case t.Before(signer.NotBefore):
		return fail(SignerCertNotYetValid, nil, "signed %s, certificate valid from %s", stamp(t), stamp(signer.NotBefore))
	case t.After(signer.NotAfter):
		return fail(SignerCertExpired, nil, "signed %s, certificate valid until %s", stamp(t), stamp(signer.NotAfter))
	}
	return nil
}

// checkSignatureTimestamp is step 7: the signature's time-stamp is over
// its value, not earlier than timeInfo, and noted as trusted or not. An
// unknown authority is not a failure (SEAL-16 item 5): it only leaves
// the time-stamp untrusted, so it does not count for SEAL-15.
func checkSignatureTimestamp(r *Result, sig *ses.Signature, opts Options) *Error {
	ts, err := checkTimestamp(sig.Timestamp.Token, sig.Value, opts.TSARoots, opts.Intermediates)
	if err != nil {
		if errors.Is(err, ses.ErrUnsupportedAlgorithm) {
			return fail(UnsupportedAlgorithm, err, "time-stamp")
		}
		return fail(BadTimestamp, err, "")
	}
	if ts.genTime.Before(r.SignedAt.Add(-timestampSkew)) {
		return fail(BadTimestamp, nil, "time-stamp %s is earlier than the signing time %s", stamp(ts.genTime), stamp(r.SignedAt))
	}
	r.TimestampAt, r.TimestampTrusted = ts.genTime, ts.trusted
	switch {
	case errors.Is(ts.chainErr, errNotTimeStamping):
		r.Notes = append(r.Notes, fmt.Sprintf("the time-stamp verifies but is not trusted: its authority %q chains to a pinned TSA root, but %v", ts.tsa.Subject.CommonName, errNotTimeStamping))
	case ts.chainErr != nil:
		r.Notes = append(r.Notes, fmt.Sprintf("the time-stamp verifies but is not trusted: its authority %q does not chain to a pinned TSA root", ts.tsa.Subject.CommonName))
	case !ts.trusted:
		r.Notes = append(r.Notes, "the time-stamp verifies but is not trusted: no TSA root is configured")
	}
	return nil
}

// checkStatus asks status about the seal esID. A seal revoked at or
// before at fails, unless a trusted time-stamp shows the signature was
// made before the revocation.
func checkStatus(r *Result, esID string, at time.Time, status SealStatus) *Error {
	r.StatusChecked = true
	revoked, since, known := status.SealStatus(esID)
	r.StatusKnown = known
	switch {
	case !known:
		r.Notes = append(r.Notes, "the seal's status is unknown to this verifier")
	case revoked && (since.IsZero() || !since.After(at)):
		r.RevokedSince = since
		if r.TimestampTrusted && !since.IsZero() && r.TimestampAt.Before(since) {
			r.Notes = append(r.Notes, fmt.Sprintf("the seal was revoked %s, after the trusted time-stamp %s", stamp(since), stamp(r.TimestampAt)))
			return nil
		}
		if since.IsZero() {
			return fail(SealRevoked, nil, "seal %q is revoked", esID)
		}
		return fail(SealRevoked, nil, "seal %q revoked since %s", esID, stamp(since))
	}
	return nil
}

// timestampSkew is how much earlier than timeInfo a time-stamp may be
// (clocks differ); a time-stamp much earlier cannot be over this signature.
const timestampSkew = 5 * time.Minute

func checkMaker(r *Result, maker *gm.Certificate, makerDER []byte, at time.Time, opts Options) *Error {
	for _, t := range opts.TrustedMakers {
		if t != nil && bytes.Equal(t.Raw, makerDER) {
			if at.Before(maker.NotBefore) || at.After(maker.NotAfter) {
				return fail(MakerUntrusted, nil, "maker certificate %q is valid %s – %s, not at %s",
					maker.Subject.CommonName, stamp(maker.NotBefore), stamp(maker.NotAfter), stamp(at))
			}
			r.MakerTrust = "direct"
			return nil
		}
	}
	if len(opts.Roots) == 0 {
		return fail(MakerUntrusted, nil, "maker certificate %q: no trusted roots configured", maker.Subject.CommonName)
	}
	if err := gm.VerifyChain(maker, opts.Roots, opts.Intermediates, at); err != nil {
		return fail(MakerUntrusted, err, "maker certificate %q at %s", maker.Subject.CommonName, stamp(at))
	}
	r.MakerTrust = "chain"
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
