package main

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"elicense/internal/gm"
	"elicense/internal/issuertest"
	"elicense/issuer/pki"
	"elicense/issuer/service"
)

// crashClasses are the classes the load issues: three agencies, so
// several status lists.
var crashClasses = []string{"business-license", "food-operation-permit", "drivers-license"}

// crashRun is the state TestServeCrash carries across cycles: the server,
// what the clients were told (the acknowledgements), and the ledger as
// read back so far.
type crashRun struct {
	data, admin string
	s           *server
	client      *http.Client
	samples     map[string]map[string]string
	agency      map[string]string // class → issuing agency
	sealer      string            // the agency making seals
	signerCert  []byte            // the certificate every seal names
	pki         *pki.PKI
	xff         atomic.Uint32 // the next holder address (each claim comes from its own)
	killAt      atomic.Int64  // Unix ns of the kill, 0 while the server runs

	mu      sync.Mutex
	cur     *crashCounts
	want    map[uint64]crashEntry // acknowledged entries by ledger index, checked after the next restart
	acked   map[string][]string   // id → acknowledged transitions, in order
	pending map[string]string     // id → the transition sent and never answered
	pos     map[string]crashPos   // id → status position as answered or first listed
	holders map[string]bool       // holder codes the issuances name
	sealRev map[string]bool       // esID → revocation acknowledged (true) or unanswered (false)
	free    []*crashLicence       // licences whose state is known, for the next cycle's workers
	seals   []string              // seals made and not revoked
	bank    []*crashLicence       // licences reserved with an acknowledged unused claim code, this cycle
	banked  []*crashLicence       // the same, from before the last kill
	seen    map[string]int        // acknowledged requests by kind, the whole run

	bankedAtStart bool // this cycle began with banked codes

	ledger crashLedger
}

// crashEntry is an acknowledged event: the entry expected at its index.
type crashEntry struct {
	kind       string // crashKindIssue, crashKindReissue, crashKindClaim or crashKindSeal
	id         string // licence, copy or esID
	supersedes string
	sum        [32]byte // SM3 of the credential or seal
}

type crashPos struct {
	list string
	idx  uint64
}

// crashLicence is a licence whose state its worker knows.
type crashLicence struct {
	id, status string
	code       string   // an unused claim code, or ""
	copies     []string // copies not unbound
}

func newCrashRun(t *testing.T) *crashRun {
	data := filepath.Join(t.TempDir(), "data")
	r := &crashRun{
		data: data, samples: loadSamples(t), agency: map[string]string{},
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}},
		want:   map[uint64]crashEntry{}, acked: map[string][]string{}, pending: map[string]string{},
		pos: map[string]crashPos{}, holders: map[string]bool{}, sealRev: map[string]bool{}, seen: map[string]int{},
	}
	r.ledger.init()
	r.s = r.start(t)
	r.admin = readToken(t, data)
	for _, c := range crashClasses {
		r.agency[c] = issuertest.AgencyOf(t, data, c)
	}
	r.sealer = r.agency["business-license"]
	pass, err := gm.PassphraseSource{File: filepath.Join(data, "passphrase")}.Read()
	if err != nil {
		t.Fatal(err)
	}
	if r.pki, err = pki.Load(filepath.Join(data, "pki"), pass); err != nil {
		t.Fatal(err)
	}
	key, _ := gm.GenerateKey()
	now := time.Now()
	tmpl := &gm.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "上海浦江示例网络科技有限公司"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: gm.KeyUsageDigitalSignature}
	if r.signerCert, err = gm.CreateCertificate(tmpl, tmpl, key.PublicKey(), key); err != nil {
		t.Fatal(err)
	}
	return r
}

// start starts the server on the run's data. Holder-index merges every
// 500 issuances, so kills land before, during and after them; claims come
// through a trusted proxy, each holder from an address of its own.
func (r *crashRun) start(t *testing.T) *server {
	return startServer(t, r.data, "--holder-merge-at", "500", "--trusted-proxies", "127.0.0.1/32")
}

// cycle loads the server, kills it, verifies the ledger it left, restarts
// it and checks everything acknowledged.
func (r *crashRun) cycle(t *testing.T, cycle int) *crashCounts {
	c := newCrashCounts()
	r.cur = c
	r.killAt.Store(0)
	began := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	owned := r.deal(16)
	for w := range 16 {
		wk := &crashWorker{r: r, rng: rand.New(rand.NewPCG(uint64(cycle), uint64(w))), owned: owned[w]}
		wg.Go(func() { wk.run(t, stop) })
	}
	loadFor := time.Duration(500+cycle*137%700) * time.Millisecond
	time.Sleep(loadFor)
	// On a slow machine (or under -race) the window may end before every
	// kind of request was acknowledged once: the load goes on until then.
	for deadline := time.Now().Add(30 * time.Second); !r.covered() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	loadFor = time.Since(began)
	r.killAt.Store(time.Now().UnixNano())
	r.s.cmd.Process.Signal(syscall.SIGKILL)
	r.s.cmd.Wait()
	close(stop)
	wg.Wait()
	c.load = loadFor

	began = time.Now()
	verified := r.verifyLedger(t, "after kill")
	c.verify = time.Since(began)

	began = time.Now()
	r.s = r.start(t)
	c.recovery = time.Since(began)

	began = time.Now()
	c.lost += r.check(t, verified)
	c.check = time.Since(began)
	c.ledger = uint64(len(r.ledger.entries))
	return c
}

// covered reports whether every kind of request has been acknowledged
// at least once in the run, and a claim with a code banked before the
// last kill in this cycle when there was one.
func (r *crashRun) covered() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range crashKinds {
		if r.seen[k] == 0 {
			return false
		}
	}
	return !r.bankedAtStart || r.cur.acked[crashKindBankedClaim] > 0
}

// deal hands the licences of known state to n workers.
func (r *crashRun) deal(n int) [][]*crashLicence {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][]*crashLicence, n)
	for i, l := range r.free {
		out[i%n] = append(out[i%n], l)
	}
	r.free = nil
	r.banked, r.bank = append(r.banked, r.bank...), nil
	r.bankedAtStart = len(r.banked) > 0
	return out
}

// finish stops the server cleanly and verifies the ledger once more.
func (r *crashRun) finish(t *testing.T) {
	r.s.stop(t)
	r.verifyLedger(t, "after the last clean stop")
}

// verifyLedger runs elicense ledger verify on the data directory and
// returns what it reports (size and root).
func (r *crashRun) verifyLedger(t *testing.T, when string) crashVerified {
	v := elicense(t, nil, "ledger", "verify", "--data", r.data)
	var out crashVerified
	if v.code != 0 || !strings.HasPrefix(v.stdout, "OK ") {
		t.Errorf("ledger verify %s: exit %d\n%s%s", when, v.code, v.stdout, v.stderr)
		return out
	}
	// OK <path>: N entries, root HEX, …
	_, rest, _ := strings.Cut(v.stdout, ": ")
	if _, err := fmt.Sscanf(rest, "%d entries, root %64s", &out.size, &out.root); err != nil {
		t.Errorf("ledger verify %s: cannot read %q: %v", when, v.stdout, err)
	}
	out.root = strings.TrimSuffix(out.root, ",")
	return out
}

type crashVerified struct {
	size uint64
	root string
}

// do sends one request with the admin token. A transport error, or an
// answer whose body does not arrive whole, is unanswered (err != nil).
func (r *crashRun) do(method, path string, body, out any, hdr ...string) (int, http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.s.url+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+r.admin)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if p, ok := out.(*[]byte); ok {
			*p = raw
		} else if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("%s %s: %d answer does not decode: %v", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode, resp.Header, nil
}

// crashView is what the load reads of a licence answer.
type crashView struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	StatusList  string `json:"status_list"`
	StatusIndex uint64 `json:"status_index"`
	Credential  string `json:"credential"`
	LedgerIndex uint64 `json:"ledger_index"`
	HolderCode  string `json:"holder_code"`
	ClaimCode   string `json:"claim_code"`
}

// crashWorker is one client. It owns the licences it acts on, so it knows
// their state; a licence whose change went unanswered is dropped.
type crashWorker struct {
	r     *crashRun
	rng   *rand.Rand
	owned []*crashLicence
	etags map[string]string
	lists []string
}

func (w *crashWorker) run(t *testing.T, stop chan struct{}) {
	w.etags = map[string]string{}
	defer w.handBack()
	for {
		select {
		case <-stop:
			return
		default:
		}
		w.step(t)
	}
}

// handBack returns the worker's licences for the next cycle.
func (w *crashWorker) handBack() {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	w.r.free = append(w.r.free, w.owned...)
}

// step does one request, chosen at random among what the worker can do.
func (w *crashWorker) step(t *testing.T) {
	n := w.rng.IntN(100)
	switch {
	case n < 22:
		w.issue(t)
	case n < 26:
		w.batch(t)
	case n < 38:
		w.status(t, crashKindSuspend, "suspended", []string{"暂扣", "核查", "其他"}, "valid")
	case n < 48:
		w.status(t, crashKindReinstate, "valid", []string{""}, "suspended")
	case n < 55:
		w.status(t, crashKindRevoke, "revoked", []string{"注销", "吊销", "撤销"}, "valid", "suspended")
	case n < 61:
		w.reissue(t)
	case n < 66:
		w.newCode(t)
	case n < 73:
		w.claim(t)
	case n < 76:
		w.unbind(t)
	case n < 79:
		w.seal(t)
	case n < 81:
		w.revokeSeal(t)
	case n < 91:
		w.fetchTrust(t)
	default:
		w.fetchList(t)
	}
}

// outcome sorts an answer to a change of n events: acknowledged (true),
// unanswered (false; counted when sent before the kill), or refused (an
// error: the worker's model said it would be accepted). Whatever is not
// acknowledged leaves the licence's state unknown to the worker.
func (w *crashWorker) outcome(t *testing.T, kind string, n int, sent time.Time, st, want int, err error, what string) bool {
	switch {
	case err == nil && st == want:
		w.r.count(kind, n, true, sent)
		return true
	case err != nil:
		w.r.count(kind, n, false, sent)
	default:
		t.Errorf("%s %s: status %d, want %d", kind, what, st, want)
	}
	return false
}

// count adds n acknowledged requests (or events) of kind, or n
// unanswered ones sent before the kill.
func (r *crashRun) count(kind string, n int, acked bool, sent time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if acked {
		r.cur.acked[kind] += n
		r.seen[kind] += n
	} else if k := r.killAt.Load(); k != 0 && sent.UnixNano() < k {
		r.cur.inFlight[kind] += n
	}
}

func (w *crashWorker) issueBody() map[string]any {
	class := crashClasses[w.rng.IntN(len(crashClasses))]
	return map[string]any{"class": class, "agency": w.r.agency[class], "fields": w.r.samples[class]}
}

// issued records an acknowledged issuance (or re-issue: supersedes set).
func (r *crashRun) issued(v crashView, kind, supersedes string) *crashLicence {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.want[v.LedgerIndex] = crashEntry{kind: kind, id: v.ID, supersedes: supersedes, sum: gm.SM3([]byte(v.Credential))}
	r.pos[v.ID] = crashPos{v.StatusList, v.StatusIndex}
	r.holders[v.HolderCode] = true
	if supersedes != "" {
		r.acked[supersedes] = append(r.acked[supersedes], "superseded")
	}
	return &crashLicence{id: v.ID, status: "valid", code: v.ClaimCode}
}

// changed records a transition of id: acknowledged, or sent and never
// answered.
func (r *crashRun) changed(id, to string, acked bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if acked {
		r.acked[id] = append(r.acked[id], to)
	} else {
		r.pending[id] = to
	}
}

func (w *crashWorker) issue(t *testing.T) {
	var v crashView
	sent := time.Now()
	st, _, err := w.r.do("POST", "/v1/licences", w.issueBody(), &v)
	if w.outcome(t, crashKindIssue, 1, sent, st, 201, err, "") {
		w.own(w.r.issued(v, crashKindIssue, ""))
	}
}

func (w *crashWorker) batch(t *testing.T) {
	n := 2 + w.rng.IntN(7)
	rows := make([]map[string]any, n)
	for i := range rows {
		rows[i] = w.issueBody()
	}
	var out struct {
		Results []struct {
			Licence *crashView `json:"licence"`
		} `json:"results"`
	}
	sent := time.Now()
	st, _, err := w.r.do("POST", "/v1/licences", map[string]any{"licences": rows}, &out)
	if !w.outcome(t, crashKindBatch, n, sent, st, 201, err, fmt.Sprintf("of %d", n)) {
		return
	}
	for _, res := range out.Results {
		if res.Licence == nil {
			t.Errorf("batch answered 201 with a row missing")
			continue
		}
		w.own(w.r.issued(*res.Licence, crashKindBatch, ""))
	}
	if len(out.Results) != n {
		t.Errorf("batch of %d answered with %d rows", n, len(out.Results))
	}
}

// own keeps l among the worker's licences, at most 40 (the oldest go).
func (w *crashWorker) own(l *crashLicence) {
	w.owned = append(w.owned, l)
	if len(w.owned) > 40 {
		w.owned = w.owned[1:]
	}
}

// pick returns one of the worker's licences in one of the states, or nil.
func (w *crashWorker) pick(states ...string) (int, *crashLicence) {
	var idx []int
	for i, l := range w.owned {
		for _, s := range states {
			if l.status == s {
				idx = append(idx, i)
			}
		}
	}
	if len(idx) == 0 {
		return -1, nil
	}
	i := idx[w.rng.IntN(len(idx))]
	return i, w.owned[i]
}

// drop forgets licence i: its state is no longer known or no longer
// changes.
func (w *crashWorker) drop(i int) { w.owned = append(w.owned[:i], w.owned[i+1:]...) }

func (w *crashWorker) status(t *testing.T, kind, to string, reasons []string, from ...string) {
	i, l := w.pick(from...)
	if l == nil {
		w.issue(t)
		return
	}
	reason := reasons[w.rng.IntN(len(reasons))]
	sent := time.Now()
	st, _, err := w.r.do("POST", "/v1/licences/"+l.id+"/"+kind, map[string]string{"reason": reason}, nil)
	if w.outcome(t, kind, 1, sent, st, 200, err, l.id) {
		w.r.changed(l.id, to, true)
		l.status = to
		if to == "revoked" {
			w.drop(i)
		}
		return
	}
	w.r.changed(l.id, to, false)
	w.drop(i)
}

func (w *crashWorker) reissue(t *testing.T) {
	i, l := w.pick("valid", "suspended")
	if l == nil {
		w.issue(t)
		return
	}
	var v crashView
	sent := time.Now()
	st, _, err := w.r.do("POST", "/v1/licences/"+l.id+"/reissue", map[string]any{"fields": map[string]string{}}, &v)
	w.drop(i)
	if w.outcome(t, crashKindReissue, 1, sent, st, 201, err, l.id) {
		w.own(w.r.issued(v, crashKindReissue, l.id))
		return
	}
	w.r.changed(l.id, "superseded", false)
}

// newCode makes a claim code for a valid licence: half are claimed at
// once, half banked, with their licence, for a claim after the next kill.
func (w *crashWorker) newCode(t *testing.T) {
	i, l := w.pick("valid")
	if l == nil {
		w.issue(t)
		return
	}
	var out struct{ Code string }
	sent := time.Now()
	st, _, err := w.r.do("POST", "/v1/licences/"+l.id+"/claim-codes", nil, &out)
	if !w.outcome(t, crashKindCode, 1, sent, st, 201, err, l.id) {
		return // no ledger event: the licence's state is still known
	}
	l.code = out.Code
	if w.rng.IntN(2) == 0 {
		w.drop(i)
		w.r.mu.Lock()
		w.r.bank = append(w.r.bank, l)
		w.r.mu.Unlock()
	}
}

// claim claims a copy as a holder: with a code banked before the last
// kill when there is one, else with one of the worker's own.
func (w *crashWorker) claim(t *testing.T) {
	kind := crashKindBankedClaim
	w.r.mu.Lock()
	var l *crashLicence
	if n := len(w.r.banked); n > 0 {
		l, w.r.banked = w.r.banked[n-1], w.r.banked[:n-1]
	}
	w.r.mu.Unlock()
	if l != nil {
		w.own(l)
	} else {
		kind = crashKindClaim
		for _, c := range w.owned {
			if c.status == "valid" && c.code != "" {
				l = c
				break
			}
		}
	}
	if l == nil {
		w.newCode(t)
		return
	}
	code := l.code
	l.code = ""
	dev, _ := gm.GenerateKey()
	devRaw, _ := gm.MarshalPublicKeyCompressed(dev.PublicKey())
	n := w.r.xff.Add(1)
	xff := fmt.Sprintf("198.%d.%d.%d", 18+n>>16&1, n>>8&255, n&255)
	var ch struct{ Challenge string }
	st, _, err := w.r.do("POST", "/v1/claims/challenge", nil, &ch, "X-Forwarded-For", xff)
	if err != nil || st != 201 {
		if err == nil {
			t.Errorf("claim challenge: status %d", st)
		}
		return
	}
	sig, _ := gm.SignRS(dev, service.ClaimSigningInput(ch.Challenge, code, devRaw))
	var v crashView
	sent := time.Now()
	st, _, err = w.r.do("POST", "/v1/claims", map[string]string{"code": code, "device_key": base64.RawURLEncoding.EncodeToString(devRaw),
		"challenge": ch.Challenge, "signature": base64.RawURLEncoding.EncodeToString(sig)}, &v, "X-Forwarded-For", xff)
	if !w.outcome(t, kind, 1, sent, st, 201, err, "of "+l.id) {
		return
	}
	w.r.mu.Lock()
	w.r.want[v.LedgerIndex] = crashEntry{kind: crashKindClaim, id: v.ID, sum: gm.SM3([]byte(v.Credential))}
	w.r.pos[v.ID] = crashPos{v.StatusList, v.StatusIndex}
	w.r.mu.Unlock()
	l.copies = append(l.copies, v.ID)
}

func (w *crashWorker) unbind(t *testing.T) {
	var l *crashLicence
	for _, c := range w.owned {
		if len(c.copies) > 0 && (c.status == "valid" || c.status == "suspended") {
			l = c
			break
		}
	}
	if l == nil {
		w.claim(t)
		return
	}
	id := l.copies[0]
	l.copies = l.copies[1:]
	sent := time.Now()
	st, _, err := w.r.do("POST", "/v1/licences/"+url.PathEscape(id)+"/unbind", map[string]string{}, nil)
	w.r.changed(id, "unbound", w.outcome(t, crashKindUnbind, 1, sent, st, 200, err, id))
}

func (w *crashWorker) seal(t *testing.T) {
	fields := w.r.samples["business-license"]
	var m service.MadeSeal
	sent := time.Now()
	st, _, err := w.r.do("POST", "/v1/seals", service.SealRequest{Agency: w.r.sealer, HolderName: fields["name"], HolderCode: fields["uscc"],
		Type: 1, SignerCert: w.r.signerCert}, &m)
	if !w.outcome(t, crashKindSeal, 1, sent, st, 201, err, "") {
		return
	}
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	w.r.want[m.LedgerIndex] = crashEntry{kind: crashKindSeal, id: m.ESID, sum: gm.SM3(m.DER)}
	w.r.seals = append(w.r.seals, m.ESID)
}

func (w *crashWorker) revokeSeal(t *testing.T) {
	w.r.mu.Lock()
	var esid string
	if n := len(w.r.seals); n > 0 {
		i := w.rng.IntN(n)
		esid = w.r.seals[i]
		w.r.seals = append(w.r.seals[:i], w.r.seals[i+1:]...)
	}
	w.r.mu.Unlock()
	if esid == "" {
		w.seal(t)
		return
	}
	sent := time.Now()
	st, _, err := w.r.do("POST", "/v1/seals/"+esid+"/revoke", map[string]string{"reason": "停用"}, nil)
	acked := w.outcome(t, crashKindSealRevoke, 1, sent, st, 200, err, esid)
	w.r.mu.Lock()
	w.r.sealRev[esid] = acked
	w.r.mu.Unlock()
}

// fetch is a counter's GET with the ETag it holds: 200 or 304.
func (w *crashWorker) fetch(t *testing.T, kind, path string) []byte {
	var body []byte
	sent := time.Now()
	st, hdr, err := w.r.do("GET", path, nil, &body, "If-None-Match", w.etags[path])
	if err != nil {
		return nil // unanswered: the kill
	}
	if st != 200 && st != 304 {
		t.Errorf("%s %s: status %d", kind, path, st)
		return nil
	}
	w.r.count(kind, 1, true, sent)
	w.etags[path] = hdr.Get("ETag")
	return body
}

func (w *crashWorker) fetchTrust(t *testing.T) {
	doc := w.fetch(t, crashKindTrust, "/v1/trust")
	if len(doc) == 0 {
		return
	}
	// The list names, for the status fetches: read, not verified (the
	// checks after the restart verify).
	parts := strings.Split(string(doc), ".")
	if len(parts) != 3 {
		t.Errorf("trust bundle is not a compact JWS")
		return
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var b struct {
		StatusLists []struct{ ID string } `json:"status_lists"`
	}
	if err == nil {
		err = json.Unmarshal(payload, &b)
	}
	if err != nil {
		t.Errorf("trust bundle payload: %v", err)
		return
	}
	w.lists = w.lists[:0]
	for _, l := range b.StatusLists {
		w.lists = append(w.lists, l.ID)
	}
}

func (w *crashWorker) fetchList(t *testing.T) {
	if len(w.lists) == 0 {
		w.fetchTrust(t)
		return
	}
	w.fetch(t, crashKindList, "/v1/status/"+w.lists[w.rng.IntN(len(w.lists))])
}
