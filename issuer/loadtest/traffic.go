package loadtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"elicense/certs/ident"
	"elicense/certs/qr"
	"elicense/internal/gm"
	"elicense/issuer/service"
)

// DefaultWeights is a day's shape at an issuer and its counters, per 100
// requests: mostly verifications and the counters' status and bundle
// polls (most answered 304), fewer look-ups, fewer issuances and claims,
// and a few revocations, so that status lists change and the counters'
// deltas carry something. The names are Traffic's kinds and the
// counter's (sync, verify, verify-static), which the caller supplies.
const DefaultWeights = "verify=30,verify-static=8,status=4,status-304=14,trust=2,trust-304=10," +
	"sync=2,get=9,search=7,issue=8,claim=5,revoke=1"

// BusinessLicence is the record Traffic issues unless told otherwise: the
// catalogue's sample 营业执照, which Traffic gives a new 统一社会信用代码
// each time so that holders are many and searches find few.
var BusinessLicence = map[string]string{
	"name": "上海浦江示例网络科技有限公司", "uscc": "91310115MA1FPA014G", "entity_type": "有限责任公司（自然人投资或控股）",
	"legal_rep": "张伟", "registered_capital": "人民币500.0000万元整", "established": "2019-04-18",
	"term": "2019-04-18至2049-04-17", "domicile": "中国（上海）自由贸易试验区张江路88号3幢501室",
	"business_scope":         "一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发。",
	"registration_authority": "上海市浦东新区市场监督管理局", "approval_date": "2024-06-12",
}

// TrafficOptions configure a Traffic.
type TrafficOptions struct {
	Server string // base URL, e.g. http://127.0.0.1:8080
	// Token may issue, read and revoke licences of Class for Agency: an
	// operator of that agency, or an admin.
	Token  string
	Agency string // default 11310000PDY100010H (上海市市场监督管理局, dev PKI)
	Class  string // default business-license
	Fields map[string]string
	// HolderField is the field Traffic sets to a new code for each
	// licence (default uscc); a search looks a holder up by it.
	HolderField string
	Clients     int // connections kept open to the server
}

// Traffic makes the issuer's side of a day: issuances, look-ups,
// revocations, holders' claims, the counters' status and bundle fetches.
// It keeps what it needs between requests (licences to look up, claim
// codes, the holders' claimed copies) in bounded pools, so that a long
// run's own memory stays flat. It is safe for concurrent use.
type Traffic struct {
	o      TrafficOptions
	base   string
	client *http.Client
	serial atomic.Uint64 // the next holder code's serial
	addr   atomic.Uint32 // the next claimant's address

	mu        sync.Mutex
	issued    ring[issuedLicence] // licences to get and search
	codes     []issuedLicence     // claim codes not yet used (FIFO)
	revocable []string            // licences kept for revocation only
	static    ring[string]        // static QR texts of licences never revoked
	held      ring[*Held]         // claimed copies
	lists     map[string]string   // status list → its last ETag
	trustETag string
	nIssued   uint64
	notMod    map[string]*[2]uint64 // kind → 304 answers, conditional requests
}

type issuedLicence struct{ id, holder, code string }

// Held is a holder's claimed copy: the device key and the QR core it
// presents from.
type Held struct {
	key     *gm.PrivateKey
	holding *qr.Holding
	last    int64 // the Unix second it was last presented in
}

// Pool sizes: enough material for every kind at thousands of requests a
// second, and a bound on the generator's memory.
const (
	poolIssued = 4096
	poolCodes  = 4096
	poolHeld   = 8192
	poolStatic = 1024
)

// NewTraffic checks opts and prepares the HTTP client; it sends nothing.
func NewTraffic(o TrafficOptions) (*Traffic, error) {
	u, err := url.Parse(strings.TrimRight(o.Server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("loadtest: server URL %q is not http(s)://host[:port]", o.Server)
	}
	if o.Token == "" {
		return nil, errors.New("loadtest: no token")
	}
	if o.Agency == "" {
		o.Agency = "11310000PDY100010H"
	}
	if o.Class == "" {
		o.Class = "business-license"
	}
	if o.Fields == nil {
		o.Fields = BusinessLicence
	}
	if o.HolderField == "" {
		o.HolderField = "uscc"
	}
	o.Clients = max(o.Clients, 1)
	tr := &http.Transport{MaxIdleConnsPerHost: o.Clients + 4, IdleConnTimeout: time.Minute}
	t := &Traffic{
		o: o, base: u.String(), client: &http.Client{Transport: tr, Timeout: time.Minute},
		issued: newRing[issuedLicence](poolIssued), static: newRing[string](poolStatic), held: newRing[*Held](poolHeld),
		lists: map[string]string{}, notMod: map[string]*[2]uint64{"status-304": {}, "trust-304": {}},
	}
	// Holder codes start at a point of the clock, so that runs against
	// one server make new holders.
	t.serial.Store(uint64(time.Now().UnixNano()/1e6) % 50_000_000)
	return t, nil
}

// Kinds are Traffic's requests, with no weights: issue, get, search,
// revoke, claim, status, status-304, trust, trust-304.
func (t *Traffic) Kinds() []Kind {
	return []Kind{
		{Name: "issue", Do: t.Issue},
		{Name: "get", Do: t.Get},
		{Name: "search", Do: t.Search},
		{Name: "revoke", Do: t.Revoke},
		{Name: "claim", Do: t.Claim},
		{Name: "status", Do: t.statusFetch(false)},
		{Name: "status-304", Do: t.statusFetch(true)},
		{Name: "trust", Do: t.trustFetch(false)},
		{Name: "trust-304", Do: t.trustFetch(true)},
	}
}

// Prepare issues licences and claims some of them, so that every kind has
// material from the first second of a run.
func (t *Traffic) Prepare(ctx context.Context, licences, claims int) error {
	for range licences {
		if err := t.Issue(ctx); err != nil {
			return fmt.Errorf("preparing: issue: %w", err)
		}
	}
	for range claims {
		if err := t.Claim(ctx); err != nil && !errors.Is(err, ErrSkip) {
			return fmt.Errorf("preparing: claim: %w", err)
		}
	}
	for _, k := range []func(context.Context) error{t.statusFetch(false), t.trustFetch(false), t.Revoke} {
		if err := k(ctx); err != nil && !errors.Is(err, ErrSkip) {
			return fmt.Errorf("preparing: %w", err)
		}
	}
	return nil
}

// NotModified reports, for the conditional kinds (status-304, trust-304),
// how many answers were 304 and how many requests were made: a document
// that changed since its ETag was taken is answered whole, as it should.
func (t *Traffic) NotModified() map[string]Conditional {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]Conditional{}
	for k, v := range t.notMod {
		out[k] = Conditional{NotModified: v[0], Requests: v[1]}
	}
	return out
}

// holderCode makes the next valid code for the holder field.
func (t *Traffic) holderCode() (string, error) {
	if t.o.HolderField != "uscc" {
		return t.o.Fields[t.o.HolderField], nil
	}
	for range 100 {
		body := fmt.Sprintf("%08d", t.serial.Add(1)%100_000_000)
		oc, err := ident.OrgCodeCheckChar(body)
		if err != nil {
			continue
		}
		first := "91310115" + body + string(oc)
		c, err := ident.USCCCheckChar(first)
		if err != nil {
			continue
		}
		if code := first + string(c); ident.ValidateUSCC(code) == nil {
			return code, nil
		}
	}
	return "", errors.New("loadtest: could not make a valid 统一社会信用代码")
}

// Issue issues one licence; its answer feeds the pools: every eighth
// licence is kept for revocation, the others for look-ups, claims and
// static QRs.
func (t *Traffic) Issue(ctx context.Context) error {
	holder, err := t.holderCode()
	if err != nil {
		return err
	}
	fields := maps.Clone(t.o.Fields)
	fields[t.o.HolderField] = holder
	req := map[string]any{"class": t.o.Class, "agency": t.o.Agency, "fields": fields}
	var ans struct {
		ID         string `json:"id"`
		HolderCode string `json:"holder_code"`
		ClaimCode  string `json:"claim_code"`
		QR         string `json:"qr"`
		StatusList string `json:"status_list"`
	}
	if _, err := t.call(ctx, http.MethodPost, "/v1/licences", req, nil, &ans, http.StatusCreated); err != nil {
		return err
	}
	if ans.ID == "" || ans.ClaimCode == "" {
		return fmt.Errorf("issue: the answer has no id or claim code")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nIssued++
	if ans.StatusList != "" {
		if _, ok := t.lists[ans.StatusList]; !ok {
			t.lists[ans.StatusList] = ""
		}
	}
	if t.nIssued%8 == 0 {
		if len(t.revocable) < poolCodes {
			t.revocable = append(t.revocable, ans.ID)
		}
		return nil
	}
	l := issuedLicence{id: ans.ID, holder: ans.HolderCode, code: ans.ClaimCode}
	t.issued.put(l)
	if ans.QR != "" {
		t.static.put(ans.QR)
	}
	if len(t.codes) < poolCodes {
		t.codes = append(t.codes, l)
	}
	return nil
}

// Get reads one licence issued in the run.
func (t *Traffic) Get(ctx context.Context) error {
	l, ok := t.pickIssued()
	if !ok {
		return ErrSkip
	}
	var ans struct {
		ID string `json:"id"`
	}
	if _, err := t.call(ctx, http.MethodGet, "/v1/licences/"+url.PathEscape(l.id), nil, nil, &ans, http.StatusOK); err != nil {
		return err
	}
	if ans.ID != l.id {
		return fmt.Errorf("get %s: the answer is licence %q", l.id, ans.ID)
	}
	return nil
}

// Search looks a holder up, as a clerk at the agency's counter does, and
// expects to find the licence issued to it.
func (t *Traffic) Search(ctx context.Context) error {
	l, ok := t.pickIssued()
	if !ok {
		return ErrSkip
	}
	q := url.Values{"holder": {l.holder}, "limit": {"20"}}
	var ans struct {
		Licences []struct {
			ID string `json:"id"`
		} `json:"licences"`
	}
	if _, err := t.call(ctx, http.MethodGet, "/v1/licences?"+q.Encode(), nil, nil, &ans, http.StatusOK); err != nil {
		return err
	}
	if !slices.ContainsFunc(ans.Licences, func(x struct {
		ID string `json:"id"`
	}) bool {
		return x.ID == l.id
	}) {
		return fmt.Errorf("search holder=%s: %d licences, not %s", l.holder, len(ans.Licences), l.id)
	}
	return nil
}

// Revoke revokes a licence issued for that purpose (one never claimed,
// looked up or shown), which changes its status list.
func (t *Traffic) Revoke(ctx context.Context) error {
	t.mu.Lock()
	n := len(t.revocable)
	if n == 0 {
		t.mu.Unlock()
		return ErrSkip
	}
	id := t.revocable[n-1]
	t.revocable = t.revocable[:n-1]
	t.mu.Unlock()
	var ans struct {
		Status string `json:"status"`
	}
	if _, err := t.call(ctx, http.MethodPost, "/v1/licences/"+url.PathEscape(id)+"/revoke", map[string]string{"reason": "吊销"}, nil, &ans, http.StatusOK); err != nil {
		return err
	}
	if ans.Status != "revoked" {
		return fmt.Errorf("revoke %s: status %q", id, ans.Status)
	}
	return nil
}

// Claim runs the holder's claim protocol with a new device key: a
// challenge, then the claim code, the key and its signature over the
// challenge. Each claim comes from an address of its own (RFC 2544's
// benchmarking range in X-Forwarded-For), as holders do: the server limits
// claims per client address, and counts these only if it trusts this
// client as its proxy (serve --trusted-proxies).
func (t *Traffic) Claim(ctx context.Context) error {
	t.mu.Lock()
	if len(t.codes) == 0 {
		t.mu.Unlock()
		return ErrSkip
	}
	l := t.codes[0]
	t.codes = t.codes[1:]
	t.mu.Unlock()
	key, err := gm.GenerateKey()
	if err != nil {
		return err
	}
	pub, err := gm.MarshalPublicKeyCompressed(key.PublicKey())
	if err != nil {
		return err
	}
	n := t.addr.Add(1)
	hdr := http.Header{"X-Forwarded-For": {fmt.Sprintf("198.%d.%d.%d", 18+n>>16&1, n>>8&0xff, n&0xff)}}
	var ch struct {
		Challenge string `json:"challenge"`
	}
	if _, err := t.call(ctx, http.MethodPost, "/v1/claims/challenge", nil, hdr, &ch, http.StatusCreated); err != nil {
		return claimHint(err)
	}
	sig, err := gm.SignRS(key, service.ClaimSigningInput(ch.Challenge, l.code, pub))
	if err != nil {
		return err
	}
	req := service.ClaimRequest{Code: l.code, DeviceKey: base64.RawURLEncoding.EncodeToString(pub), Challenge: ch.Challenge,
		Signature: base64.RawURLEncoding.EncodeToString(sig)}
	var ans struct {
		CopyOf  string          `json:"copy_of"`
		Holding json.RawMessage `json:"holding"`
	}
	if _, err := t.call(ctx, http.MethodPost, "/v1/claims", req, hdr, &ans, http.StatusCreated); err != nil {
		return claimHint(err)
	}
	var h qr.Holding
	if err := json.Unmarshal(ans.Holding, &h); err != nil || !h.Bound() {
		return fmt.Errorf("claim of %s: the answer holds no device-bound QR core (%v)", l.id, err)
	}
	if ans.CopyOf != l.id {
		return fmt.Errorf("claim of %s: the copy is of %q", l.id, ans.CopyOf)
	}
	t.mu.Lock()
	t.held.put(&Held{key: key, holding: &h})
	t.mu.Unlock()
	return nil
}

// claimHint adds the likely cause to a claim refused as too many.
func claimHint(err error) error {
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusTooManyRequests {
		return fmt.Errorf("%w (claims are limited per client address: start the server with --trusted-proxies naming this client, so that each claim counts from its X-Forwarded-For address)", err)
	}
	return err
}

// Presentation makes a fresh presentation of a claimed copy, as the
// holder's phone shows it; ErrSkip when every copy held was shown in this
// second already (a presentation is the same text within a second, and a
// counter would take a second showing as a replay).
func (t *Traffic) Presentation(now time.Time) (string, error) {
	sec := now.Unix()
	t.mu.Lock()
	h, ok := t.held.next(func(h *Held) bool { return h.last < sec })
	if ok {
		h.last = sec
	}
	t.mu.Unlock()
	if !ok {
		return "", ErrSkip
	}
	return h.holding.Present(h.key, now)
}

// StaticQR returns the static QR text of a licence issued in the run
// (never revoked), as printed on its paper face.
func (t *Traffic) StaticQR() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.static.random()
	if !ok {
		return "", ErrSkip
	}
	return s, nil
}

func (t *Traffic) pickIssued() (issuedLicence, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.issued.random()
}

// statusFetch fetches a status list the run's licences are in, whole or
// (conditional) with the ETag last seen for it.
func (t *Traffic) statusFetch(conditional bool) func(context.Context) error {
	return func(ctx context.Context) error {
		t.mu.Lock()
		names := slices.Sorted(maps.Keys(t.lists))
		if len(names) == 0 {
			t.mu.Unlock()
			return ErrSkip
		}
		list := names[rand.IntN(len(names))]
		etag := t.lists[list]
		t.mu.Unlock()
		return t.fetch(ctx, "/v1/status/"+url.PathEscape(list), conditional, etag, "status-304", func(e string) { t.lists[list] = e })
	}
}

// trustFetch fetches the trust bundle, whole or with the ETag last seen.
func (t *Traffic) trustFetch(conditional bool) func(context.Context) error {
	return func(ctx context.Context) error {
		t.mu.Lock()
		etag := t.trustETag
		t.mu.Unlock()
		return t.fetch(ctx, "/v1/trust", conditional, etag, "trust-304", func(e string) { t.trustETag = e })
	}
}

// fetch GETs a signed document. A conditional fetch sends If-None-Match
// and takes 304 or, when the document changed, 200 with its new ETag; a
// plain one takes 200 with a body and an ETag.
func (t *Traffic) fetch(ctx context.Context, path string, conditional bool, etag, kind string, keep func(string)) error {
	if conditional && etag == "" {
		return ErrSkip
	}
	hdr := http.Header{}
	want := []int{http.StatusOK}
	if conditional {
		hdr.Set("If-None-Match", etag)
		want = append(want, http.StatusNotModified)
	}
	var body []byte
	resp, err := t.call(ctx, http.MethodGet, path, nil, hdr, &body, want...)
	if err != nil {
		return err
	}
	got := resp.Header.Get("ETag")
	if resp.StatusCode == http.StatusOK && (len(body) == 0 || got == "") {
		return fmt.Errorf("GET %s: 200 with %d bytes and ETag %q", path, len(body), got)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if conditional {
		t.notMod[kind][1]++
		if resp.StatusCode == http.StatusNotModified {
			t.notMod[kind][0]++
		}
	}
	if resp.StatusCode == http.StatusOK {
		keep(got)
	}
	return nil
}

// StatusError is an answer with a status the request did not expect.
type StatusError struct {
	Method, Path string
	Status       int
	Body         string // the start of the answer
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, e.Body)
}

// maxAnswer bounds what a request reads of an answer.
const maxAnswer = 8 << 20

// call sends a request with a JSON body (if any) and the token, and
// decodes the answer into out (raw bytes for *[]byte) when its status is
// one of want.
func (t *Traffic) call(ctx context.Context, method, path string, body any, hdr http.Header, out any, want ...int) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, r)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if !strings.HasPrefix(path, "/v1/claims") {
		req.Header.Set("Authorization", "Bearer "+t.o.Token)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if !slices.Contains(want, resp.StatusCode) {
		short := strings.TrimSpace(string(data))
		if len(short) > 300 {
			short = short[:300] + "…"
		}
		return nil, &StatusError{Method: method, Path: path, Status: resp.StatusCode, Body: short}
	}
	switch o := out.(type) {
	case nil:
	case *[]byte:
		*o = data
	default:
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("%s %s: the answer is not the JSON expected: %w", method, path, err)
		}
	}
	return resp, nil
}

// ring keeps the last n values put.
type ring[T any] struct {
	vals []T
	pos  int // where the next put goes once full
	cur  int // next's cursor
}

func newRing[T any](n int) ring[T] { return ring[T]{vals: make([]T, 0, n)} }

func (r *ring[T]) put(v T) {
	if len(r.vals) < cap(r.vals) {
		r.vals = append(r.vals, v)
		return
	}
	r.vals[r.pos%len(r.vals)] = v
	r.pos++
}

func (r *ring[T]) random() (T, bool) {
	var zero T
	if len(r.vals) == 0 {
		return zero, false
	}
	return r.vals[rand.IntN(len(r.vals))], true
}

// next returns the values in turn, passing over those ok refuses; false
// after one full turn without one.
func (r *ring[T]) next(ok func(T) bool) (T, bool) {
	var zero T
	for range len(r.vals) {
		v := r.vals[r.cur%len(r.vals)]
		r.cur++
		if ok(v) {
			return v, true
		}
	}
	return zero, false
}
