package mobilesdk

import (
	"bytes"
	vseal "elicense/verifier/seal"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"elicense/certs/qr"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/internal/issuertest"
)

func counterKeys(t *testing.T, s *issuertest.Server) *trust.Bundle {
	t.Helper()
	roots, err := gm.ParseCertificatesPEM(s.RootPEM(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := trust.Verify(s.TrustBundle(t), trust.VerifyOptions{Roots: roots})
	if err != nil {
		t.Fatalf("trust bundle: %v", err)
	}
	return b
}

// TestClaimAgainstIssuer runs the whole holder story against the real
// issuer: claim (which also proves claimSigningInput equals the
// server's), present, verify at a counter, screenshot replay, bad
// passphrase, tampered store, reused code.
func TestClaimAgainstIssuer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the issuer")
	}
	s := issuertest.Start(t)
	h := &holderStory{
		s:      s,
		bl:     s.Issue(t, "business-license"),
		dl:     s.Issue(t, "drivers-license"),
		sample: issuertest.Sample(t, "business-license"),
		dir:    t.TempDir(),
	}
	h.claim(t)
	h.ledgerProof(t)

	// The counter verifies with the issuer's trust bundle.
	bundle := counterKeys(t, s)
	now := time.Now().Truncate(time.Second)
	for _, tc := range []presentCase{
		{"default", "", nil, []string{"domicile", "business_scope"}},
		{"domicile", "domicile", []string{"domicile"}, []string{"business_scope", "entity_type"}},
		{"two and credential", " domicile, business_scope ," + DiscloseCredential, []string{"domicile", "business_scope"}, []string{"entity_type"}},
	} {
		t.Run(tc.name, func(t *testing.T) { h.present(t, tc, bundle, now) })
	}
	h.presentRefusals(t)
	h.reusedCode(t)
	h.secondLicence(t)

	// Wrong passphrase: typed error, nothing touched.
	if _, err := Open(h.dir, "wrong horse"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	h.tamperedStore(t)
}

// holderStory is the state TestClaimAgainstIssuer's steps share: the
// issuer, what it issued, and the holder's wallets and licences.
type holderStory struct {
	s      *issuertest.Server
	bl, dl issuertest.Issued
	sample map[string]string
	dir    string

	w, w2     *Wallet
	lic, dlic *Licence
}

// claim opens the wallet, pins the root and claims the business licence
// (which also proves claimSigningInput equals the server's).
func (h *holderStory) claim(t *testing.T) {
	t.Helper()
	w, err := Open(h.dir, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	h.w = w
	if err := w.SetTrustRoot(h.s.RootPEM(t)); err != nil {
		t.Fatal(err)
	}
	lic, err := w.Claim(h.s.URL+"/", strings.ToLower(h.bl.ClaimCode))
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	h.lic = lic
	// The copy's tag is derived from the licence and the device key, so
	// copies on one phone share no tag (the ledger publishes it).
	if !lic.Bound || !lic.Verified || lic.CopyOf != h.bl.ID || !strings.HasPrefix(lic.ID, h.bl.ID+"#") || strings.HasSuffix(lic.ID, w.DeviceKeyID()) || lic.Class != "business-license" {
		t.Fatalf("claimed licence: %+v", lic)
	}
	if lic.HolderName != h.sample["name"] || lic.Status != "valid" || !strings.Contains(lic.Optional, "domicile") {
		t.Fatalf("claimed licence face: %+v", lic)
	}
	var fields map[string]string
	if err := json.Unmarshal([]byte(lic.FieldsJSON), &fields); err != nil || fields["legal_rep"] != h.sample["legal_rep"] {
		t.Fatalf("fields %q: %v", lic.FieldsJSON, err)
	}
}

// ledgerProof checks that the issuance is provably in the ledger, checked
// offline (the issuer may be gone), and that a tampered proof is not.
func (h *holderStory) ledgerProof(t *testing.T) {
	t.Helper()
	if err := h.w.VerifyInLedger(h.lic.ID); err != nil {
		t.Fatalf("ledger proof: %v", err)
	}
	r, err := h.w.load(h.lic.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name, tamper := range map[string]func(p *ledgerProof){
		"entry":      func(p *ledgerProof) { p.Entry[len(p.Entry)-1] ^= 1 },
		"proof":      func(p *ledgerProof) { p.Proof = append(p.Proof, make([]byte, 32)) },
		"checkpoint": func(p *ledgerProof) { p.Checkpoint = strings.Replace(p.Checkpoint, "\n", "\n1", 1) },
		"tree size":  func(p *ledgerProof) { p.TreeSize++ },
	} {
		p := *r.Ledger
		p.Entry, p.Proof = bytes.Clone(p.Entry), slices.Clone(p.Proof)
		tamper(&p)
		if err := p.verify(r.LedgerIndex, r.ID, r.Credential); err == nil {
			t.Errorf("a tampered %s still verifies", name)
		}
	}
}

// presentCase is one disclosure: the fields it must show and hide.
type presentCase struct {
	name, disclose string
	want, hidden   []string
}

// present presents the business licence as tc asks and verifies it at a
// counter, then replays it as a screenshot would.
func (h *holderStory) present(t *testing.T, tc presentCase, bundle *trust.Bundle, now time.Time) {
	p, err := h.w.Present(h.lic.ID, tc.disclose, now.Unix())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Text, qr.Prefix) || p.RefreshAt != now.Unix()+30 || p.ExpiresAt != now.Unix()+60 {
		t.Fatalf("presentation %+v", p)
	}
	tok, err := qr.Decode(p.Text)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tok.Verify(qr.VerifyOptions{Keys: bundle.Resolver(), Now: now.Add(59 * time.Second)})
	if err != nil {
		t.Fatalf("counter: %v", err)
	}
	if !res.Bound || res.HolderName != h.sample["name"] || res.PresentedAt.Unix() != now.Unix() {
		t.Fatalf("result %+v", res)
	}
	for _, k := range tc.want {
		if res.Fields[k] != h.sample[k] {
			t.Errorf("disclosed %s = %q, want %q", k, res.Fields[k], h.sample[k])
		}
	}
	for _, k := range tc.hidden {
		if _, ok := res.Fields[k]; ok {
			t.Errorf("undisclosed %s visible", k)
		}
	}
	if (res.CredentialDigest != "") != strings.Contains(tc.disclose, DiscloseCredential) {
		t.Errorf("credential digest %q", res.CredentialDigest)
	}
	screenshotReplay(t, p.Text, bundle, now)
}

// screenshotReplay: the same text is refused once older than 60 s at a
// counter whose clock is in sync (skew 1 ms), and after 60 s + the
// default 30 s skew at a default counter.
func screenshotReplay(t *testing.T, text string, bundle *trust.Bundle, now time.Time) {
	t.Helper()
	synced := qr.VerifyOptions{Keys: bundle.Resolver(), ClockSkew: time.Millisecond}
	for _, c := range []struct {
		opts  qr.VerifyOptions
		age   time.Duration
		stale bool
	}{
		{synced, 60 * time.Second, false},
		{synced, 61 * time.Second, true},
		{qr.VerifyOptions{Keys: bundle.Resolver()}, 90 * time.Second, false},
		{qr.VerifyOptions{Keys: bundle.Resolver()}, 91 * time.Second, true},
	} {
		c.opts.Now = now.Add(c.age)
		tok, _ := qr.Decode(text)
		_, err := tok.Verify(c.opts)
		if c.stale != errors.Is(err, qr.ErrPresentationStale) || (!c.stale && err != nil) {
			t.Fatalf("presentation %v old (skew %v): %v, stale want %v", c.age, c.opts.ClockSkew, err, c.stale)
		}
	}
}

// presentRefusals: an unknown field, a static QR of a bound licence and
// an unknown licence are refused with typed errors.
func (h *holderStory) presentRefusals(t *testing.T) {
	t.Helper()
	if _, err := h.w.Present(h.lic.ID, "no_such_field", 0); !errors.Is(err, ErrPresentation) || !errors.Is(err, qr.ErrBadDisclosure) {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := h.w.StaticQR(h.lic.ID, ""); !errors.Is(err, ErrPresentation) || !errors.Is(err, qr.ErrBindingMismatch) {
		t.Errorf("static QR of a bound licence: %v", err)
	}
	if _, err := h.w.Present("nope", "", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown licence: %v", err)
	}
}

// reusedCode: a used claim code is refused with the issuer's reason, and
// nothing changes; so are a wrong and a malformed code.
func (h *holderStory) reusedCode(t *testing.T) {
	t.Helper()
	if _, err := h.w.Claim(h.s.URL, h.bl.ClaimCode); !errors.Is(err, ErrClaimRefused) {
		t.Fatalf("reused code: %v", err)
	} else if ce := (*ClaimError)(nil); !errors.As(err, &ce) || ce.Status != 403 || ce.Field != "code" {
		t.Fatalf("reused code: %#v", err)
	}
	if _, err := h.w.Claim(h.s.URL, "0000-0000-0000-0000-0000"); !errors.Is(err, ErrClaimRefused) {
		t.Fatalf("wrong code: %v", err)
	}
	if _, err := h.w.Claim(h.s.URL, "short"); !errors.Is(err, ErrClaimRefused) {
		t.Fatalf("malformed code: %v", err)
	}
}

// secondLicence reopens the store and claims the driving licence without
// a pinned root (device binding only).
func (h *holderStory) secondLicence(t *testing.T) {
	t.Helper()
	w2, err := Open(h.dir, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	h.w2 = w2
	if !bytes.Equal(w2.DeviceKey(), h.w.DeviceKey()) {
		t.Fatal("reopening made a new device key")
	}
	dlic, err := w2.Claim(h.s.URL, h.dl.ClaimCode)
	if err != nil {
		t.Fatal(err)
	}
	h.dlic = dlic
	list, err := w2.List()
	if err != nil || list.Len() != 2 || list.Damaged() != 0 || list.At(0).ID != h.lic.ID || list.At(1).ID != dlic.ID || list.At(2) != nil {
		t.Fatalf("list: %v %+v", err, list)
	}
}

// tamperedStore tampers with the business licence's file: only that
// entry is lost.
func (h *holderStory) tamperedStore(t *testing.T) {
	t.Helper()
	name := filepath.Join(h.dir, licFileName(h.lic.ID))
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(name); st.Mode().Perm() != 0o600 {
		t.Fatalf("store file mode %v", st.Mode())
	}
	raw[len(raw)/2] ^= 1
	os.WriteFile(name, raw, 0o600)
	if _, err := h.w2.Get(h.lic.ID); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("tampered get: %v", err)
	}
	list, err := h.w2.List()
	if err != nil || list.Len() != 1 || list.Damaged() != 1 || !errors.Is(list.Err(), ErrCorrupt) || list.At(0).ID != h.dlic.ID {
		t.Fatalf("list after tampering: %v %d %d %v", err, list.Len(), list.Damaged(), list.Err())
	}
	p, err := h.w2.Present(h.dlic.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := qr.Decode(p.Text)
	if _, err := tok.Verify(qr.VerifyOptions{Keys: counterKeys(t, h.s).Resolver()}); err != nil {
		t.Fatalf("driving licence after the other was tampered with: %v", err)
	}
	if err := h.w2.Delete(h.lic.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.w2.Delete(h.lic.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

// TestForgedAnswer puts a forging proxy between the wallet and the
// issuer: an answer bound to another device, or with a changed
// credential, is refused and nothing is stored.
func TestForgedAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the issuer")
	}
	s := issuertest.Start(t)
	// Another device claims a licence; its answer is replayed to ours.
	other, err := OpenStorage(NewMemoryStorage(), "other device")
	if err != nil {
		t.Fatal(err)
	}
	var stolen []byte
	capture := httptest.NewServer(proxy(t, s.URL, func(b []byte) []byte { stolen = b; return b }))
	defer capture.Close()
	if _, err := other.Claim(capture.URL, s.Issue(t, "drivers-license").ClaimCode); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		rewrite func([]byte) []byte
		root    bool
	}{
		{"other device's answer", func([]byte) []byte { return stolen }, false},
		{"changed credential", func(b []byte) []byte {
			var m map[string]any
			json.Unmarshal(b, &m)
			parts := strings.Split(m["credential"].(string), ".")
			parts[2] = parts[2][:10] + "AAAA" + parts[2][14:]
			m["credential"] = strings.Join(parts, ".")
			out, _ := json.Marshal(m)
			return out
		}, false},
		{"no holding", func(b []byte) []byte {
			var m map[string]any
			json.Unmarshal(b, &m)
			delete(m, "holding")
			out, _ := json.Marshal(m)
			return out
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := httptest.NewServer(proxy(t, s.URL, tc.rewrite))
			defer fake.Close()
			w, err := OpenStorage(NewMemoryStorage(), "our device")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Claim(fake.URL, s.Issue(t, "drivers-license").ClaimCode); !errors.Is(err, ErrForgedAnswer) {
				t.Fatalf("got %v, want ErrForgedAnswer", err)
			}
			if l, _ := w.List(); l.Len() != 0 {
				t.Fatal("a forged answer was stored")
			}
		})
	}
}

// proxy forwards to the issuer and rewrites the 201 answer of POST /v1/claims.
func proxy(t *testing.T, upstream string, rewrite func([]byte) []byte) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		u, _ := url.Parse(upstream + r.URL.Path)
		req, _ := http.NewRequest(r.Method, u.String(), r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			rw.WriteHeader(502)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if r.URL.Path == "/v1/claims" && resp.StatusCode == 201 {
			body = rewrite(body)
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(resp.StatusCode)
		rw.Write(body)
	})
}

// TestRefresh: the holder learns of a suspension and a revocation from
// the issuer's signed status list, and the wallet then refuses to present
// the licence with a typed error; an old or unknown status is presented
// and reported; a replayed older list is refused.
func TestRefresh(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the issuer")
	}
	s := issuertest.Start(t)
	bl := s.Issue(t, "business-license")
	dl := s.Issue(t, "drivers-license")
	w, err := Open(t.TempDir(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	r := &refreshStory{s: s, op: s.Operator(t, "business-license"), w: w, bl: bl}
	r.withoutRoot(t)
	r.pinRoot(t)
	r.refreshed(t, dl)
	r.suspended(t)
	r.revoked(t)
	r.olderList(t)
}

// refreshStory is the state TestRefresh's steps share: the issuer, an
// operator's token, the wallet and its two licences.
type refreshStory struct {
	s         *issuertest.Server
	op        string
	w         *Wallet
	bl        issuertest.Issued
	lic, lic2 *Licence
}

// withoutRoot claims the business licence without a trust root: its
// status is unknown, it is presented so, and refreshing is refused.
func (r *refreshStory) withoutRoot(t *testing.T) {
	t.Helper()
	lic, err := r.w.Claim(r.s.URL, r.bl.ClaimCode)
	if err != nil {
		t.Fatal(err)
	}
	r.lic = lic
	if lic.Status != StatusUnknown || lic.RefreshedAt != 0 {
		t.Errorf("claimed without a trust root: status %q refreshed %d, want unknown, never", lic.Status, lic.RefreshedAt)
	}
	p, err := r.w.Present(lic.ID, "", 0)
	if err != nil || p.Status != StatusUnknown || !p.StatusStale || p.StatusAge != -1 {
		t.Fatalf("present with an unknown status: %v %+v", err, p)
	}
	if _, err := r.w.Refresh(lic.ID); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("refresh without a trust root: %v", err)
	}
	if _, err := r.w.RefreshAll(); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("refresh all without a trust root: %v", err)
	}
}

// pinRoot: the web wallet pins the root of the issuer that serves it.
func (r *refreshStory) pinRoot(t *testing.T) {
	t.Helper()
	kid, err := r.w.PinTrustRootFromServer(r.s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	roots, _ := gm.ParseCertificatesPEM(r.s.RootPEM(t))
	if kid != gm.KeyIDString(roots[0].Raw) {
		t.Errorf("pinned root %s, want the issuer's", kid)
	}
	if pinned, _ := r.w.TrustRoot(); !bytes.Equal(pinned, r.s.RootPEM(t)) {
		t.Errorf("pinned root PEM differs from the issuer's root.crt.pem")
	}
	if _, err := r.w.PinTrustRootFromServer(r.s.URL); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("re-pinning over a pinned root: %v", err)
	}
}

// refreshed refreshes the business licence, claims the driving licence
// dl with the root pinned, and presents a status a day old.
func (r *refreshStory) refreshed(t *testing.T, dl issuertest.Issued) {
	t.Helper()
	before := time.Now().Unix()
	got, err := r.w.Refresh(r.lic.ID)
	if err != nil || got.Status != StatusValid || got.StatusAt == 0 || got.RefreshedAt < before || got.StatusStale(0) {
		t.Fatalf("refresh: %v %+v", err, got)
	}
	// Claimed with the trust root pinned: the status is read at once.
	lic2, err := r.w.Claim(r.s.URL, dl.ClaimCode)
	if err != nil || lic2.Status != StatusValid || lic2.RefreshedAt < before {
		t.Fatalf("claim with a trust root: %v %+v", err, lic2)
	}
	r.lic2 = lic2

	// A day and more without a refresh: still presented, reported old.
	r.w.now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	p, err := r.w.Present(r.lic.ID, "", 0)
	if err != nil || p.Status != StatusValid || !p.StatusStale || p.StatusAge < 25*3600 {
		t.Fatalf("present with an old status: %v %+v", err, p)
	}
	r.w.now = time.Now
}

// change has the operator suspend, reinstate or revoke the business licence.
func (r *refreshStory) change(t *testing.T, action, reason string) {
	t.Helper()
	if st := r.s.Call(t, "POST", "/v1/licences/"+r.bl.ID+"/"+action, r.op, map[string]string{"reason": reason}, nil); st != 200 {
		t.Fatalf("%s: HTTP %d", action, st)
	}
}

// suspended: a suspended licence is refused with a typed error, the
// other is still presented, and a reinstated one is presented again.
func (r *refreshStory) suspended(t *testing.T) {
	t.Helper()
	r.change(t, "suspend", "核查")
	if n, err := r.w.RefreshAll(); err != nil || n != 2 {
		t.Fatalf("refresh all: %d %v", n, err)
	}
	_, err := r.w.Present(r.lic.ID, "", 0)
	var se *StatusError
	if !errors.Is(err, ErrSuspended) || !errors.As(err, &se) || !strings.Contains(se.Message("zh"), "暂停") {
		t.Fatalf("present a suspended licence: %v", err)
	}
	if _, err := r.w.Present(r.lic2.ID, "", 0); err != nil {
		t.Errorf("the other licence: %v", err)
	}
	r.change(t, "reinstate", "")
	if got, err := r.w.Refresh(r.lic.ID); err != nil || got.Status != StatusValid {
		t.Fatalf("refresh after reinstatement: %v %+v", err, got)
	}
	if _, err := r.w.Present(r.lic.ID, "", 0); err != nil {
		t.Fatalf("present after reinstatement: %v", err)
	}
}

// revoked: a revoked licence's status is stored and it is refused with a
// message naming its issuer.
func (r *refreshStory) revoked(t *testing.T) {
	t.Helper()
	r.change(t, "revoke", "吊销")
	got, err := r.w.Refresh(r.lic.ID)
	if err != nil || got.Status != StatusRevoked {
		t.Fatalf("refresh after revocation: %v %+v", err, got)
	}
	if again, _ := r.w.Get(r.lic.ID); again.Status != StatusRevoked || again.Presentable() {
		t.Fatal("the refreshed status was not stored")
	}
	_, err = r.w.Present(r.lic.ID, "", 0)
	var se *StatusError
	if !errors.Is(err, ErrNotPresentable) || !errors.Is(err, ErrRevoked) || !errors.As(err, &se) {
		t.Fatalf("present a revoked licence: %v", err)
	}
	if msg := se.Message("zh"); !strings.HasPrefix(msg, "该证照已被吊销或注销，不能出示。请联系颁发机构") || !strings.Contains(msg, got.IssuerName) || got.IssuerName == "" {
		t.Errorf("refusal %q (issuer %q)", msg, got.IssuerName)
	}
}

// olderList: an older list than the one already read is refused, and
// the status stays revoked.
func (r *refreshStory) olderList(t *testing.T) {
	t.Helper()
	w := r.w
	w.mu.Lock()
	rec, _ := w.load(r.lic.ID)
	rec.StatusVersion = 1 << 62
	w.save(rec)
	w.mu.Unlock()
	if _, err := w.Refresh(r.lic.ID); !errors.Is(err, ErrForgedAnswer) || !strings.Contains(err.Error(), "older") {
		t.Errorf("refresh with an older list: %v", err)
	}
	if again, _ := w.Get(r.lic.ID); again.Status != StatusRevoked {
		t.Errorf("status after a refused refresh: %s", again.Status)
	}
}

// TestSealDocument: the agency makes a seal for the device's certificate;
// the phone seals a document; a counter verifies it under the root.
func TestSealDocument(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the issuer")
	}
	s := issuertest.Start(t)
	w, err := Open(t.TempDir(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.SealDocument([]byte("x"), []byte("doc")); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("seal junk: %v", err)
	}
	cert, err := w.DeviceCertificate("上海浦江示例网络科技有限公司")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := w.DeviceCertificate(""); !bytes.Equal(again, cert) {
		t.Fatal("the device certificate changed")
	}
	var made struct {
		Seal []byte `json:"seal"`
	}
	if st := s.Call(t, "POST", "/v1/seals", s.Operator(t, "business-license"), map[string]any{
		"holder_name": "上海浦江示例网络科技有限公司", "holder_code": "91310115MA1FPA014G", "type": 4, "signer_cert": cert}, &made); st != 201 {
		t.Fatalf("make seal: %d", st)
	}
	doc := []byte("甲方与乙方签订本合同。")
	sig, err := w.SealDocument(made.Seal, doc)
	if err != nil {
		t.Fatal(err)
	}
	roots, _ := gm.ParseCertificatesPEM(s.RootPEM(t))
	if res, err := vseal.Verify(sig, doc, vseal.Options{Roots: roots}); err != nil || res.Verdict != vseal.Valid {
		t.Fatalf("sealed document: %v", err)
	}
	if res, _ := vseal.Verify(sig, []byte("改过的合同"), vseal.Options{Roots: roots}); res.Verdict != vseal.DocumentModified {
		t.Fatalf("changed document: %v", res.Verdict)
	}
}
