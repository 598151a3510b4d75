package ofd

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"elicense/certs/ofd"
	"elicense/certs/ses"
	"elicense/internal/chinatime"
	"elicense/internal/gm"
	"elicense/verifier/seal"
)

// Options say what Verify trusts and as of when.
type Options struct {
	// Roots (with Intermediates) are the roots a seal maker's or a Sign
	// signer's certificate may chain to.
	Roots, Intermediates []*gm.Certificate
	// Trusted are certificates trusted directly, byte for byte: a seal's
	// maker certificate or a Sign signature's signer certificate.
	Trusted []*gm.Certificate
	// At is when trust is evaluated (zero: now); AtSigningTime evaluates
	// it at each signature's own time instead.
	At            time.Time
	AtSigningTime bool
	// Status, when set, is asked whether a seal is revoked.
	Status seal.SealStatus
	// TSARoots are the roots a Seal signature's time-stamp authority must
	// chain to for the time-stamp to be trusted: only a trusted
	// time-stamp made before a seal's revocation keeps the signature
	// valid (seal.Options.TSARoots). Without them, or when its authority
	// chains to none of them, a time-stamp is checked but not trusted: it
	// does not count against a revocation, nor fail the signature
	// (SEAL-16).
	TSARoots []*gm.Certificate
	// Limits bound the container (nil: ofd.DefaultLimits).
	Limits *ofd.Limits
	// Licences, when set, also checks the licence a licence file carries
	// (a document whose metadata names a 证照标识; licence.go): callers
	// that tell a clerk or a relying party whether to accept a licence file
	// set it, since a valid seal alone does not say the licence is valid.
	// Nil: documents are judged by their signatures alone.
	Licences Licences
}

// Reference is the check of one protected file.
type Reference struct {
	Path    string `json:"path"`
	OK      bool   `json:"ok"`
	Missing bool   `json:"missing,omitempty"`
}

// Signature is the result for one signature.
type Signature struct {
	ID       string  `json:"id"`
	Type     string  `json:"type"` // Seal or Sign
	Path     string  `json:"path"` // its Signature.xml
	Verdict  Verdict `json:"verdict"`
	Detail   string  `json:"detail,omitempty"`
	Format   string  `json:"format,omitempty"` // e.g. "SES_Signature GB/T 38540-2020 (v4)"
	Provider string  `json:"provider,omitempty"`

	SignedAt   time.Time `json:"signed_at,omitzero"`
	VerifiedAt time.Time `json:"verified_at,omitzero"`
	Signer     string    `json:"signer,omitempty"` // subject CN of the signer certificate
	Maker      string    `json:"maker,omitempty"`  // subject CN of the seal maker (Seal)
	ESID       string    `json:"esid,omitempty"`
	SealName   string    `json:"seal_name,omitempty"`
	// SealVerdict is verifier/seal's own verdict for a Seal.
	SealVerdict seal.Verdict `json:"seal_verdict,omitempty"`
	// RevocationKnown: Options.Status knew whether this seal is revoked.
	// Always false for a Sign signature (no revocation source is read).
	RevocationKnown bool `json:"revocation_known"`
	// TimestampAt is when a Seal signature's time-stamp (SEAL-16) says it
	// existed, once the time-stamp verified; zero without one.
	// TimestampTrusted: its authority chains to Options.TSARoots, so it
	// counts against a later revocation (SEAL-15).
	TimestampAt      time.Time `json:"timestamp_at,omitzero"`
	TimestampTrusted bool      `json:"timestamp_trusted,omitempty"`

	References []Reference `json:"references"`
	// Unprotected are shown files this signature does not protect.
	Unprotected []string `json:"unprotected,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
	Notes       []string `json:"notes,omitempty"`

	signerCert []byte // DER of a Seal's signer certificate, for checkLicence
	// sealedValid: an EXPIRED Seal that verifies fully, with the
	// verifier's roots and status, as of its signing time (checkLicence).
	sealedValid bool
}

// RevocationChecked reports whether the revocation of every signature was
// known: each is a Seal whose status Options.Status knew.
func (r *Report) RevocationChecked() bool {
	for _, s := range r.Signatures {
		if !s.RevocationKnown {
			return false
		}
	}
	return len(r.Signatures) > 0
}

// Report is the result for a package.
type Report struct {
	Verdict    Verdict     `json:"verdict"`
	Detail     string      `json:"detail,omitempty"`
	Signatures []Signature `json:"signatures"`
	// Unprotected are shown files no signature protects.
	Unprotected []string `json:"unprotected,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
	Notes       []string `json:"notes,omitempty"`
	// Licence, for a licence file checked with Options.Licences, is what
	// its licence was found to be; the document's verdict is VALID only
	// when this is too.
	Licence *LicenceCheck `json:"licence,omitempty"`
}

// Verify opens the OFD package data and verifies every signature. The
// report is never nil. The error is non-nil only when the package cannot
// be read at all (the report's verdict is then MALFORMED, with no
// signatures); it wraps the certs/ofd error.
func Verify(data []byte, opts Options) (*Report, error) {
	return VerifyContext(context.Background(), data, opts)
}

// VerifyContext is Verify, given up when ctx is done: the error then wraps
// ctx.Err() (errors.Is context.DeadlineExceeded or context.Canceled) and
// the report, MALFORMED, says verification stopped; no verdict is given.
func VerifyContext(ctx context.Context, data []byte, opts Options) (*Report, error) {
	p, err := ofd.Open(data, opts.Limits)
	if err != nil {
		return &Report{Verdict: Malformed, Detail: err.Error(), Signatures: []Signature{}}, err
	}
	return verifyPackage(ctx, p, opts)
}

// VerifyPackage verifies every signature of an opened package.
func VerifyPackage(p *ofd.Package, opts Options) *Report {
	r, _ := verifyPackage(context.Background(), p, opts)
	return r
}

// run is one verification: what it was asked, and each file's SM3 once
// computed (signatures often protect the same files).
type run struct {
	ctx    context.Context
	p      *ofd.Package
	opts   Options
	sums   map[string][32]byte
	signed map[string]bool // Signature.xml files checked
}

func (v *run) sm3(name string, b []byte) [32]byte {
	if h, ok := v.sums[name]; ok {
		return h
	}
	h := gm.SM3(b)
	v.sums[name] = h
	return h
}

func verifyPackage(ctx context.Context, p *ofd.Package, opts Options) (*Report, error) {
	v := &run{ctx: ctx, p: p, opts: opts, sums: map[string][32]byte{}, signed: map[string]bool{}}
	r := &Report{Signatures: []Signature{}, Notes: append([]string(nil), p.Notes...)}
	var uncovered []string
	for _, body := range p.Root.Bodies {
		uncovered = append(uncovered, v.verifyBody(r, body)...)
		if err := ctx.Err(); err != nil {
			err = fmt.Errorf("ofd: verification stopped: %w", err)
			return &Report{Verdict: Malformed, Detail: err.Error(), Signatures: []Signature{}}, err
		}
	}
	r.Notes = dedupe(append(r.Notes, p.Notes...)) // parts parsed since may have added some
	if r.Verdict == "" {
		r.Verdict = Valid
		for _, s := range r.Signatures {
			if s.Verdict.severity() < r.Verdict.severity() {
				r.Verdict = s.Verdict
			}
		}
		switch {
		case len(r.Signatures) == 0:
			r.Verdict = NotSigned
		case r.Verdict == Valid && len(uncovered) > 0:
			// Every signature holds, but what is shown is not all theirs.
			r.Verdict = PartiallyProtected
			r.Detail = "shown but protected by no valid signature: " + strings.Join(uncovered, ", ")
		}
	}
	r.Licence = checkLicence(p, r, opts)
	switch {
	case r.Licence == nil:
	case r.Licence.Verdict != Valid && r.Licence.Verdict.severity() < r.Verdict.severity():
		r.Verdict, r.Detail = r.Licence.Verdict, r.Licence.Detail
	case r.Licence.SealExpired && r.Verdict == Expired:
		// A licence file is judged by its licence (OFD-10): the agency's
		// seal on it was valid when applied and has expired since, so it
		// counts as VALID here; any other signature's verdict stands (one
		// EXPIRED on its own account, an untrusted signer's). The
		// agency's seal protects every shown file: nothing is unprotected.
		r.Verdict, r.Detail = Valid, ""
		for _, s := range r.Signatures {
			if s.Verdict != Valid && !(s.Verdict == Expired && s.sealedValid) && s.Verdict.severity() < r.Verdict.severity() {
				r.Verdict, r.Detail = s.Verdict, s.Detail
			}
		}
		r.Notes = append(r.Notes, "the issuing agency's seal on this licence file has expired since it was applied (it was valid then); the licence is valid: a fresh file carries the agency's current seal")
	}
	return r, nil
}

// verifyBody checks the signatures of one document body and returns the
// shown files that no VALID signature protects.
func (v *run) verifyBody(r *Report, body ofd.DocBody) (uncovered []string) {
	p := v.p
	// What is shown; a document that does not parse still has its
	// signatures checked (a changed protected file is DOCUMENT_MODIFIED,
	// not MALFORMED), and the document is MALFORMED only if they all pass.
	var shown []string
	var shownErr error
	doc, err := p.Document(body.DocRoot)
	if err == nil {
		shown, err = p.Shown(doc)
	}
	if err != nil {
		shownErr = err
		r.Warnings = append(r.Warnings, "what the document shows could not be read, so coverage is unknown: "+err.Error())
	}
	if len(body.Versions) > 0 {
		// Not read, so not checked: a reader may show one of them.
		uncovered = append(uncovered, body.Versions...)
		r.Unprotected = append(r.Unprotected, body.Versions...)
		r.Warnings = append(r.Warnings, fmt.Sprintf("the document has %d other version(s) (%s), which are not checked: a reader may show one of them", len(body.Versions), strings.Join(body.Versions, ", ")))
	}
	if body.Signatures == "" {
		r.Unprotected = append(r.Unprotected, shown...)
		if shownErr != nil {
			r.Verdict, r.Detail = Malformed, shownErr.Error()
		}
		return append(uncovered, shown...)
	}
	list, err := p.Signatures(body.Signatures)
	if err != nil {
		r.Verdict, r.Detail = Malformed, err.Error()
		return uncovered
	}
	// protected: by any signature whose reference digest matches (the
	// warnings); covered: by a VALID one (the document's verdict).
	protected, covered := map[string]bool{}, map[string]bool{}
	allValid := true
	for _, e := range list.List {
		if v.ctx.Err() != nil {
			return nil // the caller reports it
		}
		s := v.verifySignature(e)
		allValid = allValid && s.Verdict == Valid
		for _, ref := range s.References {
			if ref.OK {
				protected[ref.Path] = true
				covered[ref.Path] = covered[ref.Path] || s.Verdict == Valid
			}
		}
		var un []string
		for _, f := range shown {
			if !slices.ContainsFunc(s.References, func(x Reference) bool { return x.Path == f }) {
				un = append(un, f)
			}
		}
		if s.Verdict != Malformed && len(un) > 0 {
			s.Unprotected = un
			s.Warnings = append(s.Warnings, fmt.Sprintf("%d shown file(s) are not protected by this signature and can change what is displayed: %s", len(un), strings.Join(un, ", ")))
		}
		r.Signatures = append(r.Signatures, s)
	}
	if shownErr != nil && allValid {
		r.Verdict, r.Detail = Malformed, shownErr.Error()
	}
	var un []string
	for _, f := range shown {
		if !protected[f] {
			un = append(un, f)
		}
		if !covered[f] {
			uncovered = append(uncovered, f)
		}
	}
	if len(un) > 0 {
		r.Unprotected = append(r.Unprotected, un...)
		r.Warnings = append(r.Warnings, fmt.Sprintf("no signature protects %s: a change there fails no signature", strings.Join(un, ", ")))
	}
	return uncovered
}

func (v *run) verifySignature(e ofd.SignatureEntry) Signature {
	p, opts := v.p, v.opts
	s := Signature{ID: e.ID, Type: e.Type, Path: e.BaseLoc, References: []Reference{}}
	if v.signed[e.BaseLoc] {
		// Another body's list names it too: one file, one signature.
		s.Verdict, s.Detail = Malformed, e.BaseLoc+" is named by another signature of the package"
		return s
	}
	v.signed[e.BaseLoc] = true
	x, err := p.Signature(e.BaseLoc)
	if err != nil {
		s.Verdict, s.Detail = Malformed, err.Error()
		return s
	}
	s.Provider = strings.TrimSpace(x.ProviderName + " " + x.Company + " " + x.ProviderVersion)
	value, err := p.File(x.SignedValue)
	if err != nil {
		s.Verdict, s.Detail = Malformed, err.Error()
		return s
	}
	// References first: they are independent of the signature's kind.
	modified := v.checkReferences(x, &s)
	if s.Verdict == Malformed {
		return s
	}
	if e.Type == ofd.TypeSign {
		verifySign(&s, x, value, opts)
	} else {
		verifySeal(&s, p, x, value, opts)
	}
	// Integrity before trust: a changed file outranks an untrusted maker.
	if modified != "" && s.Verdict.severity() > DocumentModified.severity() {
		s.Verdict, s.Detail = DocumentModified, modified
	}
	return s
}

// checkReferences fills s.References and returns a detail when a
// protected file differs or is missing ("" when all match).
func (v *run) checkReferences(x *ofd.Signature, s *Signature) string {
	if !ofd.IsSM3(x.CheckMethod) {
		s.Verdict, s.Detail = Malformed, fmt.Sprintf("References CheckMethod %q is not SM3", x.CheckMethod)
		return ""
	}
	var bad []string
	for _, ref := range x.References {
		res := Reference{Path: ref.FileRef}
		if b, err := v.p.File(ref.FileRef); err != nil {
			res.Missing = true
			bad = append(bad, ref.FileRef+" (missing)")
		} else if h := v.sm3(ref.FileRef, b); bytes.Equal(h[:], ref.CheckValue) {
			res.OK = true
		} else {
			bad = append(bad, ref.FileRef)
		}
		s.References = append(s.References, res)
	}
	if len(bad) == 0 {
		return ""
	}
	return "protected file(s) changed: " + strings.Join(bad, ", ")
}

// verifySeal checks an SES_Signature over SM3(Signature.xml): first its
// integrity alone (the maker trusted as it is, as of signing), then with
// the caller's trust.
func verifySeal(s *Signature, p *ofd.Package, x *ofd.Signature, value []byte, opts Options) {
	digest := gm.SM3(x.Raw)
	sig, err := ses.ParseSignature(value)
	if err != nil {
		s.Verdict, s.Detail = Malformed, err.Error()
		return
	}
	s.Format, s.signerCert = sig.FormatName(), sig.SignerCert
	for _, c := range []struct {
		who string
		der []byte
	}{{"signer", sig.SignerCert}, {"maker", sig.TBS.Seal.MakerCert}} {
		if _, quirks, err := gm.ParseCertificateQuirks(c.der); err == nil {
			for _, q := range quirks {
				s.Notes = append(s.Notes, c.who+" certificate: "+q)
			}
		}
	}
	if x.Seal != "" {
		if b, err := p.File(x.Seal); err == nil && !bytes.Equal(b, sig.TBS.Seal.Raw) {
			s.Notes = append(s.Notes, fmt.Sprintf("%s differs from the seal inside the signature (the one verified)", x.Seal))
		}
	}
	self := seal.Options{AtSigningTime: true}
	if m, err := sig.TBS.Seal.MakerCertificate(); err == nil {
		self.TrustedMakers = []*gm.Certificate{m}
	}
	res, _ := seal.VerifyDigest(value, digest[:], self)
	fillSeal(s, res)
	if res.Verdict != seal.Valid {
		s.Verdict = sealVerdict(res.Verdict)
		s.Detail = res.Err.Error()
		if res.Verdict == seal.DocumentModified {
			s.Detail = "dataHash is not SM3 of " + x.Path + ": the Signature.xml was changed"
		}
		return
	}
	trust := seal.Options{Roots: opts.Roots, Intermediates: opts.Intermediates, TrustedMakers: opts.Trusted,
		At: opts.At, AtSigningTime: opts.AtSigningTime, Status: opts.Status, TSARoots: opts.TSARoots}
	res, _ = seal.VerifyDigest(value, digest[:], trust)
	fillSeal(s, res)
	s.RevocationKnown = res.StatusKnown
	s.Notes = append(s.Notes, res.Notes...)
	if res.Verdict == seal.Valid {
		s.Verdict = Valid
		return
	}
	s.Verdict, s.Detail = sealVerdict(res.Verdict), res.Err.Error()
	if opts.AtSigningTime || res.Verdict != seal.MakerUntrusted {
		return
	}
	// Untrusted now (validity is judged at the signing time in both
	// passes): EXPIRED only if it was wholly valid as of signing (the
	// certificate expired since), and then it may still carry a licence
	// file (OFD-10); a seal that fails as of signing too (revoked, say)
	// is reported for that.
	trust.AtSigningTime = true
	switch r2, _ := seal.VerifyDigest(value, digest[:], trust); r2.Verdict {
	case seal.Valid:
		s.Verdict, s.sealedValid = Expired, true
		s.Detail += " (it was trusted at the signing time: verify as of signing)"
	case seal.MakerUntrusted:
	default:
		s.Verdict, s.Detail = sealVerdict(r2.Verdict), r2.Err.Error()
	}
}

func fillSeal(s *Signature, res *seal.Result) {
	s.SealVerdict = res.Verdict
	s.SignedAt, s.VerifiedAt, s.ESID, s.SealName = res.SignedAt, res.VerifiedAt, res.ESID, res.SealName
	s.TimestampAt, s.TimestampTrusted = res.TimestampAt, res.TimestampTrusted
	if res.SignerCert != nil {
		s.Signer = res.SignerCert.Subject.CommonName
	}
	if res.MakerCert != nil {
		s.Maker = res.MakerCert.Subject.CommonName
	}
}

// sealVerdict maps verifier/seal's verdicts onto this package's.
func sealVerdict(v seal.Verdict) Verdict {
	switch v {
	case seal.Valid:
		return Valid
	case seal.Malformed, seal.UnsupportedAlgorithm:
		return Malformed
	case seal.MakerUntrusted:
		return UntrustedMaker
	case seal.SealNotYetValid, seal.SealExpired, seal.SignerCertNotYetValid, seal.SignerCertExpired:
		return Expired
	case seal.SealRevoked:
		return Revoked
	}
	// BadSignature, SignerNotInSeal, BadSealSignature, BadTimestamp, and
	// DocumentModified (dataHash is over Signature.xml).
	return SignatureInvalid
}

// verifySign checks a GM/T 0010 SignedData over Signature.xml.
func verifySign(s *Signature, x *ofd.Signature, value []byte, opts Options) {
	s.Format = "GM/T 0010 SignedData"
	sd, err := parseSignedData(value)
	if err != nil {
		s.Verdict, s.Detail = Malformed, err.Error()
		return
	}
	certDER, cert, quirks, err := sd.signerCert()
	if err != nil {
		s.Verdict, s.Detail = Malformed, err.Error()
		return
	}
	for _, q := range quirks {
		s.Notes = append(s.Notes, "signer certificate: "+q)
	}
	s.Signer = cert.Subject.CommonName
	if !sd.digestAlg.Equal(oidSM3) || !isSM2Signature(sd.sigAlg) {
		s.Verdict, s.Detail = Malformed, fmt.Sprintf("algorithms %s / %s, want SM3 / SM2", sd.digestAlg, sd.sigAlg)
		return
	}
	digest := gm.SM3(x.Raw)
	msg := x.Raw
	if sd.attrs != nil {
		if !bytes.Equal(sd.messageDigest, digest[:]) {
			s.Verdict, s.Detail = SignatureInvalid, "messageDigest is not SM3 of "+x.Path+": the Signature.xml was changed"
			return
		}
		msg = sd.attrs
	}
	sigDER := sd.signature
	if _, err := gm.DERToRS(sigDER); err != nil && len(sigDER) == gm.SignatureSize {
		sigDER, _ = gm.RSToDER(sigDER)
	}
	pub, _ := cert.PublicKey.(*ecdsa.PublicKey)
	if pub == nil || gm.Verify(pub, msg, sigDER) != nil {
		s.Verdict, s.Detail = SignatureInvalid, "the SM2 signature does not verify under the signer certificate"
		return
	}
	s.SignedAt = sd.signingTime
	if s.SignedAt.IsZero() {
		if t, err := parseDateTime(x.SignatureDateTime); err == nil {
			s.SignedAt = t
		}
	}
	if !s.SignedAt.IsZero() && (s.SignedAt.Before(cert.NotBefore) || s.SignedAt.After(cert.NotAfter)) {
		s.Verdict, s.Detail = Expired, fmt.Sprintf("signed %s, signer certificate valid %s – %s", stamp(s.SignedAt), stamp(cert.NotBefore), stamp(cert.NotAfter))
		return
	}
	at := opts.At
	switch {
	case opts.AtSigningTime && !s.SignedAt.IsZero():
		at = s.SignedAt
	case at.IsZero():
		at = time.Now()
	}
	s.VerifiedAt = at
	s.Verdict, s.Detail = signerTrust(cert, certDER, s.SignedAt, at, opts)
}

// signerTrust judges a Sign signer's certificate at the time at: trusted
// directly or by a chain; EXPIRED when it would have been trusted at the
// signing time but is not valid at at.
func signerTrust(cert *gm.Certificate, der []byte, signedAt, at time.Time, opts Options) (Verdict, string) {
	valid := func(t time.Time) bool { return !t.Before(cert.NotBefore) && !t.After(cert.NotAfter) }
	expired := fmt.Sprintf("signer certificate %q is valid %s – %s, not at %s (verify as of signing)",
		cert.Subject.CommonName, stamp(cert.NotBefore), stamp(cert.NotAfter), stamp(at))
	if slices.ContainsFunc(opts.Trusted, func(t *gm.Certificate) bool { return t != nil && bytes.Equal(t.Raw, der) }) {
		if !valid(at) {
			return Expired, expired
		}
		return Valid, ""
	}
	if len(opts.Roots) == 0 {
		return UntrustedSigner, fmt.Sprintf("signer certificate %q is not trusted directly and no roots are configured", cert.Subject.CommonName)
	}
	err := gm.VerifyChain(cert, opts.Roots, opts.Intermediates, at)
	if err == nil {
		return Valid, ""
	}
	if !signedAt.IsZero() && !at.Equal(signedAt) && gm.VerifyChain(cert, opts.Roots, opts.Intermediates, signedAt) == nil {
		return Expired, expired
	}
	return UntrustedSigner, fmt.Sprintf("signer certificate %q: %v", cert.Subject.CommonName, err)
}

// parseDateTime reads SignatureDateTime as producers write it:
// GeneralizedTime ("20221116112058Z", with fractions) or "2006-01-02
// 15:04:05" (taken as China Standard Time).
func parseDateTime(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := ses.ParseGeneralizedTime(v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, v, chinatime.Zone); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("unknown SignatureDateTime form")
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
