package trust

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"elicense/certs/agencycert"
	"elicense/certs/catalog"
	"elicense/certs/ident"
	"elicense/certs/jws"
	"elicense/internal/gm"

	jsonv2 "github.com/go-json-experiment/json"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Roots are the trust anchors, pinned out of band. Required.
	Roots []*gm.Certificate
	// Previous is the bundle the counter already holds, if any: the new
	// one must have a greater seq (and an issued_at not before it), or the
	// same seq and identical content. Pass a bundle Verify returned.
	Previous *Bundle
	// Now is the time to check certificates and next_update against; zero
	// means time.Now().
	Now time.Time
	// Catalog is the class catalogue; nil means catalog.Default().
	Catalog *catalog.Catalog
}

// Limits on what a bundle may hold, against hostile input.
const (
	maxChain         = 4
	maxListIDLen     = 16
	maxCheckpointLen = 64 << 10
)

// Verify checks a signed trust bundle and returns it. Checks, in order:
//
//  1. the compact JWS and its header: alg SM2SM3, typ elicense-trust+jwt,
//     x5c with 1 to 4 certificates, no crit (ErrMalformed);
//  2. the signer: x5c[0] chains to one of opts.Roots at Now, and is that
//     root or the ledger/status signer (ErrUntrustedSigner);
//  3. the signature with x5c[0]'s key (ErrBadSignature);
//  4. the payload: format version, seq ≥ 1, next_update after issued_at,
//     root naming the root the signer chains to, bundle_signer equal to
//     x5c (ErrMalformed, ErrUntrustedSigner);
//  5. every agency: a valid 统一社会信用代码, a name, class keys known to the
//     catalogue (ErrUnknownClass), keys whose kid is gm.KeyIDString of the
//     certificate (ErrKeyIDMismatch), whose certificate chains to the root
//     within its validity, has the agency role and whose policy names the
//     agency and allows every class listed (ErrUntrustedKey);
//  6. the ledger key likewise (role ledger), the receipt key if any (role
//     receipt, within its validity at Now), and the status lists: unique
//     IDs and URIs, a known agency, a signer that is the ledger key or a
//     non-compromised key of that agency (ErrMalformed);
//  7. against opts.Previous: seq and issued_at not going back, and equal
//     seq only with identical content (ErrRollback);
//  8. last, staleness: Now after next_update gives a *StaleError
//     (ErrStale) together with the bundle, which is otherwise valid, so
//     that a counter can say how stale its data is.
//
// Agency certificates are checked within their own validity period rather
// than at Now: an expired agency certificate stays in the bundle so that
// the licences it signed while valid still verify (the resolver gives
// them the certificate's NotAfter).
func Verify(token string, opts VerifyOptions) (*Bundle, error) {
	if len(opts.Roots) == 0 {
		return nil, errors.New("trust: VerifyOptions.Roots is empty")
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	cat := opts.Catalog
	if cat == nil {
		cat = catalog.Default()
	}

	// 1. Structure and header.
	t, chain, err := readToken(token)
	if err != nil {
		return nil, err
	}

	// 2. The signer.
	root, err := signerRoot(chain, opts.Roots, now)
	if err != nil {
		return nil, err
	}

	// 3. The signature.
	if err := gm.VerifyRS(chain[0].PublicKey.(*ecdsa.PublicKey), t.SigningInput, t.Signature); err != nil {
		return nil, errf(ErrBadSignature, "%v", err)
	}

	// 4–6. The content.
	payload := t.Payload
	b := new(Bundle)
	// Strict JSON (GM-08): a repeated member, or a name that matches only
	// case-insensitively, is refused rather than read.
	if err := jsonv2.Unmarshal(payload, b); err != nil {
		return nil, errf(ErrMalformed, "payload: %v", err)
	}
	b.raw = payload
	if b.Root != gm.KeyIDString(root.Raw) {
		return nil, errf(ErrUntrustedSigner, "bundle names root %q, its signer chains to %q", b.Root, gm.KeyIDString(root.Raw))
	}
	if !equalChains(b.BundleSigner, t.Header.X5c) {
		return nil, errf(ErrMalformed, "bundle_signer differs from the x5c header")
	}
	certs, err := check(b, root, cat, now)
	if err != nil {
		return nil, err
	}

	// 7. Rollback.
	if p := opts.Previous; p != nil {
		if err := checkRollback(b, p); err != nil {
			return nil, err
		}
	}

	x := buildIndex(b, func(der []byte) *gm.Certificate { return certs[string(der)] })
	b.once.Do(func() { b.idx = x })

	// 8. Staleness.
	if b.Expired(now) {
		return b, &StaleError{NextUpdate: b.NextUpdate, Now: now}
	}
	return b, nil
}

// readToken takes a bundle token apart with certs/jws and parses the
// certificates of its x5c header, signer first.
func readToken(token string) (*jws.Token, []*gm.Certificate, error) {
	t, err := jws.Parse(token, jws.Expect{Typ: TokenType, AllowX5c: true})
	if err != nil {
		reason := ErrMalformed
		if errors.Is(err, jws.ErrSignatureSize) {
			reason = ErrBadSignature // what verifying it would say
		}
		return nil, nil, errf(reason, "%w", err)
	}
	x5c := t.Header.X5c
	if len(x5c) == 0 || len(x5c) > maxChain {
		return nil, nil, errf(ErrMalformed, "x5c has %d certificates, want 1 to %d", len(x5c), maxChain)
	}
	chain := make([]*gm.Certificate, len(x5c))
	for i, der := range x5c {
		if chain[i], err = gm.ParseCertificate(der); err != nil {
			return nil, nil, errf(ErrMalformed, "x5c[%d]: %v", i, err)
		}
	}
	return t, chain, nil
}

// checkRollback checks that b does not go back from p, the bundle held:
// seq and issued_at not lower, and the same seq only with the same content.
func checkRollback(b, p *Bundle) error {
	switch {
	case b.Seq < p.Seq:
		return errf(ErrRollback, "seq %d, already holding %d", b.Seq, p.Seq)
	case b.Seq == p.Seq && !bytes.Equal(b.raw, p.payload()):
		return errf(ErrRollback, "seq %d again, with other content", b.Seq)
	case b.IssuedAt.Before(p.IssuedAt):
		return errf(ErrRollback, "issued_at %s, before the held bundle's %s", b.IssuedAt.Format(time.RFC3339), p.IssuedAt.Format(time.RFC3339))
	}
	return nil
}

// payload returns the JSON the bundle was signed as: the verified payload,
// or for a bundle made in memory its encoding.
func (b *Bundle) payload() []byte {
	if b.raw != nil {
		return b.raw
	}
	p, err := json.Marshal(b)
	if err != nil {
		return nil
	}
	return p
}

// signerRoot checks that chain[0] chains to one of roots at now and is
// that root or the ledger signer, and returns the root.
func signerRoot(chain, roots []*gm.Certificate, now time.Time) (*gm.Certificate, error) {
	leaf := chain[0]
	var root *gm.Certificate
	var lastErr error
	for _, r := range roots {
		if err := gm.VerifyChain(leaf, []*gm.Certificate{r}, chain[1:], now); err != nil {
			lastErr = err
			continue
		}
		root = r
		break
	}
	if root == nil {
		return nil, errf(ErrUntrustedSigner, "%q does not chain to a pinned root: %v", leaf.Subject.CommonName, lastErr)
	}
	role, err := agencycert.RoleOf(leaf)
	if err != nil {
		return nil, errf(ErrUntrustedSigner, "%v", err)
	}
	if role == agencycert.RoleRoot && !bytes.Equal(leaf.Raw, root.Raw) {
		return nil, errf(ErrUntrustedSigner, "signer %q is a CA other than the pinned root", leaf.Subject.CommonName)
	}
	if role != agencycert.RoleRoot && role != agencycert.RoleLedger {
		return nil, errf(ErrUntrustedSigner, "signer %q has role %v; a bundle is signed by the root or the ledger signer", leaf.Subject.CommonName, role)
	}
	return root, nil
}

// check validates the bundle's content and returns its certificates parsed,
// by DER. The parts, in order: the bundle's own fields (checkFields), each
// agency with its classes and keys, the ledger key, the status lists.
func check(b *Bundle, root *gm.Certificate, cat *catalog.Catalog, now time.Time) (map[string]*gm.Certificate, error) {
	if err := checkFields(b); err != nil {
		return nil, err
	}
	c := &contentCheck{root: root, cat: cat, now: now, certs: make(map[string]*gm.Certificate)}
	agencies, err := c.agencies(b.Agencies)
	if err != nil {
		return nil, err
	}
	if lk := b.LedgerKey; lk != nil {
		if _, err := c.key("ledger_key", lk.KID, lk.Cert, agencycert.RoleLedger); err != nil {
			return nil, err
		}
	}
	if rk := b.ReceiptKey; rk != nil {
		// An expired receipt key still verifies here: it stops receipts
		// (ReceiptPublicKey), never the counter's checks.
		if _, err := c.key("receipt_key", rk.KID, rk.Cert, agencycert.RoleReceipt); err != nil {
			return nil, err
		}
	}
	if err := checkStatusLists(b, agencies); err != nil {
		return nil, err
	}
	return c.certs, nil
}

// checkFields checks the bundle's format version, seq, dates and
// checkpoint size.
func checkFields(b *Bundle) error {
	switch {
	case b.Version != FormatVersion:
		return errf(ErrMalformed, "format version %d, want %d", b.Version, FormatVersion)
	case b.Seq == 0:
		return errf(ErrMalformed, "seq 0 (sequence numbers start at 1)")
	case b.IssuedAt.IsZero():
		return errf(ErrMalformed, "no issued_at")
	case !b.NextUpdate.After(b.IssuedAt):
		return errf(ErrMalformed, "next_update %s is not after issued_at %s", b.NextUpdate.Format(time.RFC3339), b.IssuedAt.Format(time.RFC3339))
	case len(b.Checkpoint) > maxCheckpointLen:
		return errf(ErrMalformed, "checkpoint of %d bytes", len(b.Checkpoint))
	}
	return nil
}

// contentCheck is the state of one check: the certificates parsed so far,
// by DER, and what they are checked against.
type contentCheck struct {
	root  *gm.Certificate
	cat   *catalog.Catalog
	now   time.Time
	certs map[string]*gm.Certificate
}

// key parses and checks one certificate of role want.
func (c *contentCheck) key(where, kid string, der []byte, want agencycert.Role) (*gm.Certificate, error) {
	if _, dup := c.certs[string(der)]; dup {
		return nil, errf(ErrMalformed, "%s: certificate listed twice", where)
	}
	cert, err := gm.ParseCertificate(der)
	if err != nil {
		return nil, errf(ErrMalformed, "%s: %v", where, err)
	}
	if got := gm.KeyIDString(der); kid != got {
		return nil, errf(ErrKeyIDMismatch, "%s: kid %q, certificate's is %q", where, kid, got)
	}
	// Within the certificate's own validity; see Verify.
	at := c.now
	if at.After(cert.NotAfter) {
		at = cert.NotAfter
	}
	if at.Before(cert.NotBefore) {
		at = cert.NotBefore
	}
	if err := gm.VerifyChain(cert, []*gm.Certificate{c.root}, nil, at); err != nil {
		return nil, errf(ErrUntrustedKey, "%s: %v", where, err)
	}
	if err := agencycert.RequireRole(cert, want); err != nil {
		return nil, errf(ErrUntrustedKey, "%s: %v", where, err)
	}
	c.certs[string(der)] = cert
	return cert, nil
}

// agencies checks each agency and returns them by code.
func (c *contentCheck) agencies(list []Agency) (map[string]*Agency, error) {
	agencies := make(map[string]*Agency, len(list))
	for i := range list {
		a := &list[i]
		where := fmt.Sprintf("agencies[%d]", i)
		if err := ident.ValidateUSCC(a.Code); err != nil {
			return nil, errf(ErrMalformed, "%s: code: %v", where, err)
		}
		if agencies[a.Code] != nil {
			return nil, errf(ErrMalformed, "%s: agency %s listed twice", where, a.Code)
		}
		agencies[a.Code] = a
		if err := c.agency(where, a); err != nil {
			return nil, err
		}
	}
	return agencies, nil
}

// agency checks an agency's name, classes and keys.
func (c *contentCheck) agency(where string, a *Agency) error {
	if strings.TrimSpace(a.Name) == "" {
		return errf(ErrMalformed, "%s: no name", where)
	}
	if len(a.Classes) == 0 {
		return errf(ErrMalformed, "%s: no classes", where)
	}
	classes := make([]*catalog.Class, len(a.Classes))
	for j, k := range a.Classes {
		cl, ok := c.cat.Lookup(k)
		if !ok || cl.Key != k {
			return errf(ErrUnknownClass, "%s.classes[%d]: %q is not a class key in the catalogue", where, j, k)
		}
		for _, prev := range classes[:j] {
			if prev == cl {
				return errf(ErrMalformed, "%s.classes[%d]: %q listed twice", where, j, k)
			}
		}
		classes[j] = cl
	}
	if len(a.Keys) == 0 {
		return errf(ErrMalformed, "%s: no keys", where)
	}
	for j, k := range a.Keys {
		if err := c.agencyKey(fmt.Sprintf("%s.keys[%d]", where, j), a.Code, k, classes); err != nil {
			return err
		}
	}
	return nil
}

// agencyKey checks one key of agency code: its state, genuine-set
// reference and certificate, whose policy must name the agency and allow
// each of its classes.
func (c *contentCheck) agencyKey(kw, code string, k AgencyKey, classes []*catalog.Class) error {
	if !k.State.Valid() {
		return errf(ErrMalformed, "%s: state %q", kw, k.State)
	}
	if k.State != KeyActive && k.Since.IsZero() {
		return errf(ErrMalformed, "%s: %s key without since", kw, k.State)
	}
	if err := checkGenuineRef(k); err != nil {
		return errf(ErrMalformed, "%s: genuine: %v", kw, err)
	}
	cert, err := c.key(kw, k.KID, k.Cert, agencycert.RoleAgency)
	if err != nil {
		return err
	}
	pol, err := agencycert.FromCertificate(cert)
	if err != nil {
		return errf(ErrUntrustedKey, "%s: %v", kw, err)
	}
	if pol.AgencyCode != code {
		return errf(ErrUntrustedKey, "%s: certificate is for agency %s, not %s", kw, pol.AgencyCode, code)
	}
	for _, cl := range classes {
		if !pol.AllowsClass(cl) {
			return errf(ErrUntrustedKey, "%s: certificate does not allow class %s", kw, cl.Key)
		}
	}
	return nil
}

// checkStatusLists checks the status lists: unique valid IDs and URIs, an
// agency of the bundle, and a signer that is the ledger key or a usable
// key of that agency.
func checkStatusLists(b *Bundle, agencies map[string]*Agency) error {
	ids := make(map[string]bool, len(b.StatusLists))
	uris := make(map[string]bool, len(b.StatusLists))
	for i, l := range b.StatusLists {
		where := fmt.Sprintf("status_lists[%d]", i)
		if !validListID(l.ID) {
			return errf(ErrMalformed, "%s: id %q is not 1 to %d of A-Z a-z 0-9 . _ -", where, l.ID, maxListIDLen)
		}
		if ids[l.ID] {
			return errf(ErrMalformed, "%s: id %q listed twice", where, l.ID)
		}
		ids[l.ID] = true
		if u, err := url.Parse(l.URI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return errf(ErrMalformed, "%s: uri %q is not an http(s) URL", where, l.URI)
		}
		if uris[l.URI] {
			return errf(ErrMalformed, "%s: uri %q listed twice", where, l.URI)
		}
		uris[l.URI] = true
		a := agencies[l.Agency]
		if a == nil {
			return errf(ErrMalformed, "%s: agency %q is not in the bundle", where, l.Agency)
		}
		signer := b.LedgerKey != nil && b.LedgerKey.KID == l.SignerKID
		for _, k := range a.Keys {
			signer = signer || (k.KID == l.SignerKID && k.State != KeyCompromised)
		}
		if !signer {
			return errf(ErrMalformed, "%s: signer %q is neither the ledger key nor a usable key of agency %s", where, l.SignerKID, l.Agency)
		}
	}
	return nil
}

// checkGenuineRef checks a key's genuine-set reference: only on a
// compromised key, with an SM3 in lower-case hex and an http(s) URL.
func checkGenuineRef(k AgencyKey) error {
	g := k.Genuine
	if g == nil {
		return nil
	}
	if k.State != KeyCompromised {
		return fmt.Errorf("on a %s key (only a compromised key has one)", k.State)
	}
	if d, err := hex.DecodeString(g.SM3); err != nil || len(d) != gm.SM3Size || hex.EncodeToString(d) != g.SM3 {
		return fmt.Errorf("sm3 %q is not %d bytes of lower-case hex", g.SM3, gm.SM3Size)
	}
	if g.Count > maxGenuineEntries {
		return fmt.Errorf("count %d", g.Count)
	}
	if u, err := url.Parse(g.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("url %q is not an http(s) URL", g.URL)
	}
	return nil
}

func validListID(s string) bool {
	if len(s) == 0 || len(s) > maxListIDLen {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func equalChains(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
