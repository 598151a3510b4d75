// Package consenttest is a fake issuer for testing the holder's side of
// 授权用证 (docs/consent.md §4–§7) while the real one is elsewhere: it
// stands in front of a real issuer (claims, trust bundle, status lists
// pass through) and serves the consent API itself, verifying every proof
// and consent it receives with certs/consent, signing requests with the
// issuer's ledger key, and keeping a ledger of its own for the uses.
// Tests of the wallet SDK, its command line and its web page use it.
package consenttest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/consent"
	"elicense/certs/ledgerevent"
	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
)

// The relying party every request comes from.
const (
	RPID    = "sh-scjg-food-permit"
	RPName  = "上海市食品经营许可审批系统"
	OrgCode = "11310000PDY100010H"
	OrgName = "上海市市场监督管理局"
	Matter  = "310100001000"
	MName   = "食品经营许可证核发"
)

// Issuer is the fake. Its exported fields may be changed between calls.
type Issuer struct {
	URL string // the fake's base URL: claim and open requests here

	// lieUses, when set (SetLieUses), changes the uses list before it
	// is sent.
	lieUses func(uses []map[string]any)

	srv       *httptest.Server
	proxy     *httputil.ReverseProxy
	ledgerKey *gm.PrivateKey
	ledgerKID string
	audit     *ledgerevent.AuditKey

	mu       sync.Mutex
	devices  map[string]*ecdsa.PublicKey // copy id → device key, learned from claims
	requests map[string]*request
	grants   map[string]*grant
	jtis     map[string]bool
	entries  [][]byte
	tree     *tlog.MemTree
	uses     map[string][]use // copy id → its entries, oldest first
	claimed  []claimed        // claims not yet in the ledger (AfterClaims)
	calls    []string
}

type request struct {
	jws    string
	claims consent.RequestClaims
	state  string
	grant  string
}

type grant struct {
	id, copyID, state string
	fields            []string
	notAfter, created time.Time
	use               consent.Use
	req               *request
}

type use struct {
	index   uint64
	kind    string
	time    time.Time
	grant   string
	fields  []string
	counter string
	verdict string
	opening *ledgerevent.Opening
}

// New starts the fake, not yet in front of an issuer: start the issuer
// with --public-url set to the fake's URL (so that the trust bundle's
// status lists and the requests name the fake, as one origin), then call
// Front. It stops when the test ends.
func New(t testing.TB) *Issuer {
	t.Helper()
	secret := make([]byte, ledgerevent.AuditKeySize)
	rand.Read(secret)
	audit, err := ledgerevent.NewAuditKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	f := &Issuer{audit: audit,
		devices: map[string]*ecdsa.PublicKey{}, requests: map[string]*request{}, grants: map[string]*grant{},
		jtis: map[string]bool{}, tree: tlog.NewMemTree(tlog.SM3), uses: map[string][]use{}}
	f.srv = httptest.NewServer(f)
	f.URL = f.srv.URL
	t.Cleanup(f.srv.Close)
	return f
}

// Front puts the fake in front of the issuer at upstream, whose data
// directory (for its ledger key and key passphrase) is dataDir.
// SetLieUses makes the uses list be changed by lie before it is sent
// (nil: sent as it is), to test that the wallet catches a list that does
// not match the ledger. Safe while the fake serves.
func (f *Issuer) SetLieUses(lie func(uses []map[string]any)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lieUses = lie
}

func (f *Issuer) Front(t testing.TB, upstream, dataDir string) {
	t.Helper()
	pass, err := gm.PassphraseSource{File: filepath.Join(dataDir, "passphrase")}.Read()
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dataDir, "pki", "ledger.key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := gm.ParsePrivateKeyPEM(keyPEM, pass)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := os.ReadFile(filepath.Join(dataDir, "pki", "ledger.crt.pem"))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := gm.ParseCertificatesPEM(certPEM)
	if err != nil || len(certs) == 0 {
		t.Fatalf("ledger certificate: %v", err)
	}
	up, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ledgerKey, f.ledgerKID = key, gm.KeyIDString(certs[0].Raw)
	f.proxy = httputil.NewSingleHostReverseProxy(up)
}

// Calls lists the consent calls the fake answered, "METHOD path".
func (f *Issuer) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Req describes a request to make; zero values take defaults.
type Req struct {
	Class    string         // default business-license
	Fields   []string       // default name, legal_rep, domicile
	Use      consent.Use    // default once
	Duration time.Duration  // default 7 days
	Expires  time.Time      // default in 10 minutes
	Issuer   string         // iss, default the fake's URL
	Signer   *gm.PrivateKey // default the ledger key
}

// NewRequest makes a signed request as POST /v1/requests would, and
// returns its id and wallet link.
func (f *Issuer) NewRequest(t testing.TB, r Req) (id, link string) {
	t.Helper()
	if r.Class == "" {
		r.Class = "business-license"
	}
	if r.Fields == nil {
		r.Fields = []string{"name", "legal_rep", "domicile"}
	}
	if r.Use == "" {
		r.Use = consent.UseOnce
	}
	if r.Duration == 0 {
		r.Duration = 7 * 24 * time.Hour
	}
	now := time.Now().Truncate(time.Second)
	if r.Expires.IsZero() {
		r.Expires = now.Add(consent.RequestLifetime)
	}
	cl, ok := catalog.Default().Lookup(r.Class)
	if !ok {
		t.Fatalf("class %q", r.Class)
	}
	if r.Issuer == "" {
		r.Issuer = f.URL
	}
	if r.Expires.Before(now) {
		now = r.Expires.Add(-time.Minute) // iat ≤ exp
	}
	if r.Signer == nil {
		f.mu.Lock()
		r.Signer = f.ledgerKey
		f.mu.Unlock()
	}
	c := consent.RequestClaims{ID: consent.NewRequestID(), Issuer: r.Issuer, IssuedAt: now, ExpiresAt: r.Expires,
		RP:     consent.RP{ID: RPID, Name: RPName, OrgCode: OrgCode, OrgName: OrgName},
		Matter: consent.Matter{Code: Matter, Name: MName}, Class: r.Class, Duration: r.Duration, Use: r.Use}
	for _, k := range r.Fields {
		fd, ok := cl.Field(k)
		if !ok {
			t.Fatalf("field %q of %s", k, r.Class)
		}
		c.Fields = append(c.Fields, consent.RequestedField{Key: k, Name: fd.Label, Purpose: "核对" + fd.Label})
	}
	f.mu.Lock()
	kid := f.ledgerKID
	f.mu.Unlock()
	jws, err := consent.SignRequest(r.Signer, kid, c)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.requests[c.ID] = &request{jws: jws, claims: c, state: "pending"}
	f.mu.Unlock()
	return c.ID, f.URL + "/wallet/?request=" + c.ID
}

// RequestState is the request's state: pending, granted, refused.
func (f *Issuer) RequestState(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r := f.requests[id]; r != nil {
		return r.state
	}
	return ""
}

// GrantState is the grant's state (active, used, revoked), its copy and
// its fields.
func (f *Issuer) GrantState(id string) (state, copyID string, fields []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if g := f.grants[id]; g != nil {
		return g.state, g.copyID, slices.Clone(g.fields)
	}
	return "", "", nil
}

// Fetch is the relying party fetching the grant's credential: a
// grant-use event, and a once grant is used.
func (f *Issuer) Fetch(t testing.TB, grantID string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.grants[grantID]
	if g == nil || g.state != "active" {
		t.Fatalf("fetch of grant %s: not active", grantID)
	}
	f.appendLocked(t, g.copyID, &ledgerevent.GrantUse{Time: time.Now().Truncate(time.Second), Agency: OrgCode, Grant: g.id, RP: RPID}, use{kind: "grant-use", grant: g.id})
	if g.use == consent.UseOnce {
		g.state = "used"
	}
}

// CounterVerified records a counter's verification of the copy (a
// counter-verified event committing to value, the copy or licence id).
func (f *Issuer) CounterVerified(t testing.TB, copyID, value, counter, verdict string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now().Truncate(time.Second)
	e := &ledgerevent.CounterVerified{Time: now, Agency: OrgCode, Receipt: base64.RawURLEncoding.EncodeToString(randBytes(16)),
		Counter: counter, Verdict: verdict, At: now.Add(-time.Minute)}
	o := f.commitLocked(e, &e.Licence, value)
	f.appendLocked(t, copyID, e, use{kind: "counter-verified", counter: counter, verdict: verdict, opening: o})
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// commitLocked sets *dst to the commitment of e's licence field to value
// and returns its opening.
func (f *Issuer) commitLocked(e ledgerevent.Event, dst *ledgerevent.Commitment, value string) *ledgerevent.Opening {
	h := e.Head()
	salt := f.audit.Salt(e.Kind(), h.Subject, h.Time, ledgerevent.FieldLicence)
	*dst = ledgerevent.Commit(salt, []byte(value))
	return &ledgerevent.Opening{Field: ledgerevent.FieldLicence, Salt: salt, Value: []byte(value)}
}

func (f *Issuer) appendLocked(t testing.TB, copyID string, e ledgerevent.Event, u use) {
	raw, err := ledgerevent.Encode(e)
	if err != nil {
		if t != nil {
			t.Fatalf("encode %s: %v", e.Kind(), err)
		}
		panic(err)
	}
	u.index = f.tree.AppendEntry(raw)
	u.time = e.Head().Time
	f.entries = append(f.entries, raw)
	f.uses[copyID] = append(f.uses[copyID], u)
}

// ServeHTTP answers the consent API and passes the rest upstream.
func (f *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case r.Method == "GET" && strings.HasPrefix(p, "/v1/requests/"):
		f.getRequest(w, strings.TrimPrefix(p, "/v1/requests/"))
	case r.Method == "POST" && p == "/v1/grants":
		f.postGrant(w, r)
	case r.Method == "DELETE" && strings.HasPrefix(p, "/v1/grants/"):
		f.deleteGrant(w, r, strings.TrimPrefix(p, "/v1/grants/"))
	case r.Method == "GET" && p == "/v1/holder/grants":
		f.holderGrants(w, r)
	case r.Method == "GET" && p == "/v1/holder/uses":
		f.holderUses(w, r)
	case r.Method == "GET" && p == "/v1/ledger/checkpoint" && f.ownLedger():
		f.checkpoint(w)
	case r.Method == "GET" && p == "/v1/ledger/proof/inclusion" && f.ownLedger():
		f.inclusion(w, r)
	case r.Method == "POST" && p == "/v1/claims":
		f.claim(w, r)
	default:
		f.upstream().ServeHTTP(w, r)
	}
}

func (f *Issuer) upstream() http.Handler {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.proxy == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fail(w, 503, "unavailable", "the fake is not in front of an issuer yet")
		})
	}
	return f.proxy
}

// ownLedger: once a copy is claimed through the fake, its ledger is the
// fake's (the claim itself checks its proof against the real one).
func (f *Issuer) ownLedger() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tree.Size() > 0
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *Issuer) getRequest(w http.ResponseWriter, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "GET /v1/requests/"+id)
	r := f.requests[id]
	if r == nil {
		fail(w, 404, "NOT_FOUND", "no such request")
		return
	}
	ans := map[string]string{"request": r.jws, "state": r.state}
	if time.Now().After(r.claims.ExpiresAt) && r.state == "pending" {
		ans["state"] = "expired"
	}
	if r.grant != "" {
		ans["grant"] = r.grant
	}
	reply(w, 200, ans)
}

// holder verifies the holder's proof on r and returns the copy it signs
// for, or answers 401 and returns "".
func (f *Issuer) holder(w http.ResponseWriter, r *http.Request, body []byte) string {
	p, err := consent.ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		fail(w, 401, "PROOF_INVALID", err.Error())
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	dev := f.devices[p.Subject]
	if dev == nil {
		fail(w, 401, "PROOF_INVALID", "unknown copy "+p.Subject)
		return ""
	}
	if err := p.Verify(dev, r.Method, r.URL.Path, body, time.Now()); err != nil {
		fail(w, 401, "PROOF_INVALID", err.Error())
		return ""
	}
	if f.jtis[p.JTI] {
		fail(w, 401, "PROOF_INVALID", "replayed jti")
		return ""
	}
	f.jtis[p.JTI] = true
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	return p.Subject
}

func (f *Issuer) postGrant(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	copyID := f.holder(w, r, body)
	if copyID == "" {
		return
	}
	var in struct {
		Consent string `json:"consent"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		fail(w, 400, "bad_request", err.Error())
		return
	}
	c, err := consent.ParseConsent(in.Consent)
	if err != nil {
		fail(w, 422, "CONSENT_INVALID", err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	req := f.requests[c.Request]
	switch {
	case req == nil:
		fail(w, 404, "NOT_FOUND", "no such request")
		return
	case time.Now().After(req.claims.ExpiresAt):
		fail(w, 410, "REQUEST_EXPIRED", "the request expired")
		return
	case req.state != "pending":
		fail(w, 409, "REQUEST_ANSWERED", "the request is "+req.state)
		return
	case c.Licence != copyID:
		fail(w, 403, "CONSENT_INVALID", "the consent is for another copy than the proof")
		return
	}
	dev := f.devices[c.Licence]
	if dev == nil {
		fail(w, 403, "CONSENT_INVALID", "unknown copy")
		return
	}
	if err := c.Verify(dev, req.jws); err != nil {
		fail(w, 403, "CONSENT_INVALID", err.Error())
		return
	}
	if c.Decision == consent.Refuse {
		req.state = "refused"
		reply(w, 200, map[string]string{"request": c.Request, "state": "refused"})
		return
	}
	now := time.Now().Truncate(time.Second)
	g := &grant{id: consent.NewGrantID(), copyID: copyID, state: "active", fields: c.Fields, created: now,
		notAfter: now.Add(req.claims.Duration), use: req.claims.Use, req: req}
	e := &ledgerevent.Grant{Time: now, Agency: OrgCode, Grant: g.id, RP: RPID, Matter: Matter, Fields: strings.Join(c.Fields, ","),
		NotAfter: g.notAfter, Use: ledgerevent.UseOnce, Consent: ledgerevent.Digest(gm.SM3([]byte(in.Consent)))}
	if g.use == consent.UseRepeat {
		e.Use = ledgerevent.UseRepeat
	}
	o := f.commitLocked(e, &e.Licence, copyID)
	f.appendLocked(nil, copyID, e, use{kind: "grant", grant: g.id, fields: c.Fields, opening: o})
	f.grants[g.id] = g
	req.state, req.grant = "granted", g.id
	reply(w, 201, map[string]any{"grant": wireGrant(g), "request": req.claims.ID, "state": "granted"})
}

// wireGrant is a grant as the issuer's API shows it to its holder
// (issuer/service GrantView).
func wireGrant(g *grant) map[string]any {
	return map[string]any{"id": g.id, "request": g.req.claims.ID, "rp": RPID, "matter": Matter, "licence": g.copyID, "fields": g.fields,
		"not_after": g.notAfter.UTC().Format(time.RFC3339), "use": string(g.use), "state": g.state,
		"created": g.created.UTC().Format(time.RFC3339), "fetches": 0, "ledger_index": 0}
}

func (f *Issuer) deleteGrant(w http.ResponseWriter, r *http.Request, id string) {
	copyID := f.holder(w, r, nil)
	if copyID == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.grants[id]
	switch {
	case g == nil || g.copyID != copyID:
		fail(w, 404, "NOT_FOUND", "no such grant")
	case g.state == "revoked": // idempotent, as the issuer's
		reply(w, 200, wireGrant(g))
	default:
		g.state = "revoked"
		f.appendLocked(nil, copyID, &ledgerevent.GrantRevoked{Time: time.Now().Truncate(time.Second), Agency: OrgCode, Grant: g.id, RP: RPID, By: ledgerevent.ByHolder},
			use{kind: "grant-revoked", grant: g.id})
		reply(w, 200, wireGrant(g))
	}
}

func (f *Issuer) holderGrants(w http.ResponseWriter, r *http.Request) {
	copyID := f.holder(w, r, nil)
	if copyID == "" {
		return
	}
	if r.URL.Query().Get("licence") != copyID {
		fail(w, 403, "PROOF_INVALID", "the proof is for another copy")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	list := []map[string]any{}
	for _, g := range f.grants {
		if g.copyID == copyID {
			list = append(list, wireGrant(g))
		}
	}
	reply(w, 200, map[string]any{"grants": list})
}

func (f *Issuer) holderUses(w http.ResponseWriter, r *http.Request) {
	copyID := f.holder(w, r, nil)
	if copyID == "" {
		return
	}
	if r.URL.Query().Get("licence") != copyID {
		fail(w, 403, "PROOF_INVALID", "the proof is for another copy")
		return
	}
	f.mu.Lock()
	list := []map[string]any{}
	for _, u := range f.uses[copyID] {
		m := map[string]any{"index": u.index, "kind": u.kind, "time": u.time.UTC().Format(time.RFC3339),
			"raw": base64.StdEncoding.EncodeToString(f.entries[u.index])}
		if u.grant != "" {
			m["grant"] = u.grant
			m["rp"] = map[string]string{"id": RPID, "name": RPName}
		}
		if g := f.grants[u.grant]; g != nil { // as the issuer lists them, every grant event with its grant's matter and fields
			m["matter"] = map[string]string{"code": Matter, "name": MName}
			m["fields"] = g.fields
		}
		if u.counter != "" {
			m["counter"], m["verdict"] = u.counter, u.verdict
		}
		if u.opening != nil {
			m["opening"] = map[string]string{"field": u.opening.Field, "salt": hex.EncodeToString(u.opening.Salt[:]), "value": string(u.opening.Value)}
		}
		list = append(list, m)
	}
	lie := f.lieUses
	f.mu.Unlock()
	if lie != nil {
		lie(list)
	}
	reply(w, 200, map[string]any{"uses": list})
}

func (f *Issuer) checkpoint(w http.ResponseWriter) {
	f.mu.Lock()
	cp := tlog.Checkpoint{Origin: "fake.elicense.test/ledger", Size: f.tree.Size(), Root: f.tree.Root()}
	f.mu.Unlock()
	s, err := tlog.NewNoteSigner(cp.Origin, f.ledgerKey)
	if err != nil {
		fail(w, 500, "internal", err.Error())
		return
	}
	note, err := tlog.SignCheckpoint(cp, s)
	if err != nil {
		fail(w, 500, "internal", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(note)
}

func (f *Issuer) inclusion(w http.ResponseWriter, r *http.Request) {
	index, err1 := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	size, err2 := strconv.ParseUint(r.URL.Query().Get("tree_size"), 10, 64)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err1 != nil || err2 != nil || index >= size || size > f.tree.Size() {
		fail(w, 400, "bad_request", "index")
		return
	}
	proof, err := f.tree.InclusionProof(index, size)
	if err != nil {
		fail(w, 400, "bad_request", err.Error())
		return
	}
	out := make([]string, len(proof))
	for i, h := range proof {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	reply(w, 200, map[string]any{"proof": out})
}

// claim passes the claim upstream and learns the copy's device key; the
// copy's claim becomes the first event of its uses.
func (f *Issuer) claim(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	f.upstream().ServeHTTP(rec, r)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
	if rec.Code != http.StatusCreated {
		return
	}
	var ans struct {
		ID         string `json:"id"`
		Device     string `json:"device"`
		Credential string `json:"credential"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &ans) != nil {
		return
	}
	dev, err := hex.DecodeString(ans.Device)
	if err != nil {
		return
	}
	pub, err := gm.ParsePublicKey(dev)
	if err != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.devices[ans.ID] = pub
	e := f.audit.Claim(ledgerevent.Claim{Time: time.Now().Truncate(time.Second), Agency: OrgCode, ID: ans.ID,
		Credential: ledgerevent.Digest(gm.SM3([]byte(ans.Credential)))}, dev)
	f.claimed = append(f.claimed, claimed{copyID: ans.ID, e: e})
}

// AfterClaims moves the fake to its own ledger, which starts with the
// claims made through it (call it after claiming: a claim checks its
// ledger proof against the real issuer's ledger).
func (f *Issuer) AfterClaims(t testing.TB) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.claimed {
		f.appendLocked(t, c.copyID, c.e, use{kind: "claim"})
	}
	f.claimed = nil
}

type claimed struct {
	copyID string
	e      *ledgerevent.Claim
}
