package api

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/issuer/service"
)

var (
	apifuzzRequests = flag.Int("apifuzz.requests", 5000, "TestAPIFuzz: how many requests to send")
	apifuzzSeed     = flag.Int64("apifuzz.seed", 0, "TestAPIFuzz: the generator's seed (0: from the clock; the seed is printed)")
)

// The roles TestAPIFuzz sends every generated request as.
const (
	roleNone    = "no token"
	roleForged  = "forged token"
	roleOpOwn   = "operator, own agency"
	roleOpOther = "operator, other agency"
	roleAuditor = "auditor"
	roleAdmin   = "admin"
)

var fuzzRoles = []string{roleNone, roleForged, roleOpOwn, roleOpOther, roleAuditor, roleAdmin}

// fuzzMutators says who may succeed (2xx) at each mutating route, as
// TestAuthorizationMatrix holds it. The holder endpoints need no token.
// roleOpOther may succeed only for its own agency (otherAgencyOK).
var fuzzMutators = map[string][]string{
	"POST /v1/licences":                              {roleOpOwn, roleAdmin, roleOpOther},
	"POST /v1/licences/{id}/reissue":                 {roleOpOwn, roleAdmin},
	"POST /v1/licences/{id}/suspend":                 {roleOpOwn, roleAdmin},
	"POST /v1/licences/{id}/reinstate":               {roleOpOwn, roleAdmin},
	"POST /v1/licences/{id}/revoke":                  {roleOpOwn, roleAdmin},
	"POST /v1/licences/{id}/claim-codes":             {roleOpOwn, roleAdmin},
	"POST /v1/licences/{id}/unbind":                  {roleOpOwn, roleAdmin},
	"POST /v1/ledger/entries/{index}/open":           {roleAdmin},
	"POST /v1/agencies/{code}/keys/rotate":           {roleAdmin},
	"POST /v1/agencies/{code}/keys/{kid}/compromise": {roleAdmin},
	"POST /v1/tokens":                                {roleAdmin},
	"DELETE /v1/tokens/{jti}":                        {roleAdmin},
	"POST /v1/seals":                                 {roleOpOwn, roleAdmin, roleOpOther},
	"POST /v1/seals/{esid}/revoke":                   {roleOpOwn, roleAdmin},
	"POST /v1/claims/challenge":                      fuzzRoles,
	"POST /v1/claims":                                fuzzRoles,
	"POST /v1/relying-parties":                       {roleAdmin},
	"DELETE /v1/relying-parties/{id}":                {roleAdmin},
	"POST /v1/relying-parties/{id}/suspend":          {roleAdmin},
	"POST /v1/relying-parties/{id}/resume":           {roleAdmin},
	"POST /v1/requests":                              {}, // a relying party's proof, which no role has
	"POST /v1/grants":                                {}, // a holder's consent, which no role can sign
	"DELETE /v1/grants/{id}":                         {}, // a proof
}

// fuzzReaders says who may read (2xx) at the read routes that are scoped
// to an agency (history.go, seal_list.go): no token or a forged one never;
// roleOpOther only its own agency's (otherAgencyOK), and the licences the
// fuzzer names are agency A's.
var fuzzReaders = map[string][]string{
	"GET /v1/licences/{id}/history": {roleOpOwn, roleAuditor, roleAdmin},
	"GET /v1/agencies":              {roleOpOwn, roleOpOther, roleAuditor, roleAdmin},
	"GET /v1/seals":                 {roleOpOwn, roleOpOther, roleAuditor, roleAdmin},
}

// syncBuffer is the server log, written by handlers and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// since returns what was logged after offset n, and the new offset.
func (s *syncBuffer) since(n int) (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b.Bytes()[n:]), s.b.Len()
}

// fuzzOp is one path and method of the OpenAPI document.
type fuzzOp struct {
	method, path string
	params       []map[string]any
	body         map[string]any // the requestBody's schema, resolved; nil: none
}

// fuzzReq is one generated request.
type fuzzReq struct {
	op          *fuzzOp
	target      string // path and query, escaped
	ctype, body string
}

func (r fuzzReq) String() string {
	b := r.body
	if len(b) > 300 {
		b = b[:300] + fmt.Sprintf("…(%d bytes)", len(r.body))
	}
	target := r.target
	if len(target) > 300 {
		target = target[:300] + fmt.Sprintf("…(%d bytes)", len(r.target))
	}
	return fmt.Sprintf("%s %s (Content-Type %q) body %q", r.op.method, target, r.ctype, b)
}

// TestAPIFuzz generates requests from the served OpenAPI document (valid,
// boundary and hostile values for every parameter and body field), sends
// each as every role, and fails on any 5xx, a 4xx without a JSON reason,
// a panic in the server log, or a mutation that succeeds for a role that
// may not make it. -apifuzz.requests and -apifuzz.seed bound and replay it.
func TestAPIFuzz(t *testing.T) {
	seed := *apifuzzSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("apifuzz: seed %d (rerun with -apifuzz.seed=%d), %d requests", seed, seed, *apifuzzRequests)
	logs := &syncBuffer{}
	s := newTestServerOpts(t, true, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		// Claims get past the rate limit to their handler (TestLimiter
		// holds the limit itself).
		o.ClaimRate, o.ClaimBurst = 1e6, 1e6
	})
	f := newAPIFuzzer(t, s, rand.New(rand.NewSource(seed)))
	ops := f.operations(t)
	start, sent, logAt := time.Now(), 0, 0
	failures := 0
	statuses := map[int]int{}
	// Operations in shuffled rounds: each is tried as often as the others.
	var round []int
	for sent < *apifuzzRequests && failures < 20 {
		if len(round) == 0 {
			round = f.rnd.Perm(len(ops))
		}
		op := ops[round[0]]
		round = round[1:]
		req := f.generate(op)
		for _, i := range f.rnd.Perm(len(fuzzRoles)) {
			if sent >= *apifuzzRequests {
				break
			}
			role := fuzzRoles[i]
			status, resp := f.send(t, req, role)
			sent++
			statuses[status]++
			var logged string
			logged, logAt = logs.since(logAt)
			if msg := f.judge(req, role, status, resp, logged); msg != "" {
				failures++
				t.Errorf("%s\n  as %s: %d %.300s", msg, role, status, resp)
				t.Logf("  request: %s", req)
			}
		}
	}
	t.Logf("apifuzz: %d requests over %d operations in %v; statuses %v", sent, len(ops), time.Since(start).Round(time.Millisecond), statuses)
}

// judge says what is wrong with an answer, or "".
func (f *apiFuzzer) judge(req fuzzReq, role string, status int, resp []byte, logged string) string {
	switch {
	case strings.Contains(strings.ToLower(logged), "panic"):
		return "panic in the server log: " + logged
	case status >= 500:
		return "5xx for a client's request"
	case status >= 400:
		var e errBody
		if json.Unmarshal(resp, &e) != nil || e.Code == "" || e.Message == "" {
			return "a 4xx without a JSON {code, message}"
		}
	case status >= 200 && status < 300 && req.op.method == http.MethodGet:
		allowed, ok := fuzzReaders[req.op.method+" "+req.op.path]
		if ok && !slices.Contains(allowed, role) {
			return "a read succeeded for a role that may not make it"
		}
		if ok && role == roleOpOther && !f.otherAgencyOK(req, resp) {
			return "an operator of another agency read this agency's records"
		}
	case status >= 200 && status < 300 && (req.op.method == http.MethodPost || req.op.method == http.MethodDelete):
		key := req.op.method + " " + req.op.path
		allowed, ok := fuzzMutators[key]
		if !ok {
			return "a mutating route without an entry in fuzzMutators: " + key
		}
		if !slices.Contains(allowed, role) {
			return "a mutation succeeded for a role that may not make it"
		}
		if role == roleOpOther && !f.otherAgencyOK(req, resp) {
			return "an operator of another agency changed this agency's records"
		}
	}
	return ""
}

// otherAgencyOK reports whether a creation by the other agency's operator
// stayed within its agency.
func (f *apiFuzzer) otherAgencyOK(req fuzzReq, resp []byte) bool {
	mark := `"agency":"` + f.own + `"`
	return !strings.Contains(string(resp), mark) && !strings.Contains(strings.ReplaceAll(req.body, " ", ""), mark)
}

type apiFuzzer struct {
	s      *testServer
	rnd    *rand.Rand
	tokens map[string]string
	own    string // agency A's code
	valid  map[string][]string
	good   map[string]map[string]any // a valid body per schema name
}

func newAPIFuzzer(t *testing.T, s *testServer, rnd *rand.Rand) *apiFuzzer {
	own, _ := s.pki.AgencyForClass("business-license")
	other, _ := s.pki.AgencyForClass("drivers-license")
	forged, _, err := NewTokens(mustKey(t), "test", nil, nil).Mint(service.Operator{Subject: "x", Role: service.RoleAdmin}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f := &apiFuzzer{s: s, rnd: rnd, own: own.Code, tokens: map[string]string{
		roleNone:    "",
		roleForged:  forged,
		roleOpOwn:   s.token(t, service.Operator{Subject: "fuzz-op", Role: service.RoleOperator, Agency: own.Code}),
		roleOpOther: s.token(t, service.Operator{Subject: "fuzz-other", Role: service.RoleOperator, Agency: other.Code}),
		roleAuditor: s.token(t, service.Operator{Subject: "fuzz-auditor", Role: service.RoleAuditor, Agency: own.Code}),
		roleAdmin:   s.token(t, service.Operator{Subject: "fuzz-admin", Role: service.RoleAdmin}),
	}}
	// Records the valid path parameters name: licences, a seal, the keys.
	var ids, esids []string
	for range 4 {
		var v licenceView
		if st := s.do(t, "POST", "/v1/licences", f.tokens[roleOpOwn], ctJSON, issueJSON(t, "business-license"), &v); st != 201 {
			t.Fatalf("issuing: %d", st)
		}
		ids = append(ids, v.ID)
	}
	var m struct{ ESID string }
	if st := s.do(t, "POST", "/v1/seals", f.tokens[roleAdmin], ctJSON, sealBody(t, own.Code), &m); st != 201 {
		t.Fatalf("making a seal: %d", st)
	}
	esids = append(esids, m.ESID)
	var kids []string
	for _, a := range s.pki.Agencies {
		kids = append(kids, a.KeyID)
	}
	f.valid = map[string][]string{
		"id": ids, "esid": esids, "kid": kids, "code": {own.Code, other.Code}, "jti": {"abc"},
		"list": {"t1"}, "index": {"0", "1", "2", "3"}, "tree_size": {"1", "4", "5"}, "old": {"1", "2"}, "new": {"3", "5"},
		"from": {"0", "1", "2"}, "holder": {samples(t)["business-license"]["uscc"]}, "class": {"business-license", "drivers-license"},
		"status": {"valid", "suspended", "revoked", "superseded"}, "after": {ids[0]}, "limit": {"1", "1000"},
		"format": {"png", "svg"}, "scale": {"1", "8", "40"},
	}
	f.good = map[string]map[string]any{}
	for name, body := range map[string]string{
		"IssueRequest":         strings.Replace(issueJSON(t, "business-license"), `"class"`, `"agency":"`+own.Code+`","class"`, 1),
		"ReissueRequest":       `{"fields":{"legal_rep":"王五"}}`,
		"StatusChange":         `{"reason":"核查"}`,
		"TokenRequest":         `{"subject":"fuzz","role":"auditor","agency":"` + own.Code + `","ttl":"1h"}`,
		"ClaimRequest":         `{"code":"0000-1A7K-3QM9-PX2R-TB8W","device_key":"AAAA","challenge":"x","signature":"y"}`,
		"SealRequest":          sealBody(t, own.Code),
		"KeyRotateRequest":     `{}`,
		"KeyCompromiseRequest": `{"since":"` + time.Now().Add(-time.Minute).UTC().Format(time.RFC3339) + `"}`,
		"open":                 `{"field":"holder_code"}`,
		"RelyingParty":         rpRegistration(t, mustKey(t)),
		"RPStatusChange":       `{"reason":"核查"}`,
		"ConsentRequest":       `{"matter":"310100001000","class":"business-license","fields":["name"],"duration":60,"use":"once"}`,
		"GrantRequest":         `{"consent":"a.b.c"}`,
	} {
		var v map[string]any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(name, err)
		}
		f.good[name] = v
	}
	return f
}

// operations reads the OpenAPI document the server serves.
func (f *apiFuzzer) operations(t *testing.T) []*fuzzOp {
	var doc map[string]any
	if st := f.s.do(t, "GET", "/v1/openapi.json", "", "", "", &doc); st != 200 {
		t.Fatalf("openapi.json: %d", st)
	}
	schemas, _ := dig(doc, "components", "schemas").(map[string]any)
	paths, _ := doc["paths"].(map[string]any)
	var ops []*fuzzOp
	for path, item := range paths {
		for method, o := range item.(map[string]any) {
			op := &fuzzOp{method: strings.ToUpper(method), path: path}
			for _, p := range asSlice(dig(o, "parameters")) {
				op.params = append(op.params, p.(map[string]any))
			}
			if sch, ok := dig(o, "requestBody", "content", "application/json", "schema").(map[string]any); ok {
				op.body = resolve(sch, schemas)
				if ref, ok := sch["$ref"].(string); ok {
					op.body["x-name"] = strings.TrimPrefix(ref, "#/components/schemas/")
				} else {
					op.body["x-name"] = "open"
				}
			}
			ops = append(ops, op)
		}
	}
	if len(ops) < 20 {
		t.Fatalf("openapi.json names %d operations", len(ops))
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].method+ops[i].path < ops[j].method+ops[j].path })
	return ops
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// resolve follows a $ref one level (enough for this document's schemas).
func resolve(sch map[string]any, schemas map[string]any) map[string]any {
	out := map[string]any{}
	if ref, ok := sch["$ref"].(string); ok {
		sch, _ = schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
	}
	for k, v := range sch {
		out[k] = v
	}
	return out
}

var pathParam = regexp.MustCompile(`\{[a-z_]+\}`)

// hostileStrings are values no field or parameter should take: a few
// bytes of each are percent-encoded in URLs and sent raw in bodies.
var hostileStrings = []string{"", " ", "..", "../../etc/passwd", "\x00", "%00", "\xff\xfe", "\xc3", "\xed\xa0\x80", "a\x00b",
	"\r\n\tx", "\x1b[31m", "99999999999999999999999999", "-1", "0", "18446744073709551616", "1e309", "NaN", "null", "true",
	"#", "a#b", "a/b", "?", "%", "'\"<>", "𝓤", "\u202e", "zzzzzzzz", "0000-0000-0000-0000-0000"}

func (f *apiFuzzer) hostile() string {
	switch f.rnd.Intn(6) {
	case 0:
		return strings.Repeat(string(rune('a'+f.rnd.Intn(26))), 1+f.rnd.Intn(70000))
	case 1:
		b := make([]byte, 1+f.rnd.Intn(40))
		f.rnd.Read(b)
		return string(b)
	default:
		return hostileStrings[f.rnd.Intn(len(hostileStrings))]
	}
}

// value is a valid value for a named parameter half the time, else a
// boundary or hostile one.
func (f *apiFuzzer) value(name string, schema map[string]any) string {
	if v := f.valid[name]; len(v) > 0 && f.rnd.Intn(2) == 0 {
		return v[f.rnd.Intn(len(v))]
	}
	if m, ok := schema["maxLength"].(float64); ok && f.rnd.Intn(3) == 0 {
		return strings.Repeat("m", int(m)+f.rnd.Intn(2))
	}
	if schema["type"] == "integer" || f.rnd.Intn(3) == 0 {
		ints := []string{"-1", "0", "1", "2", "9223372036854775807", "9223372036854775808", "18446744073709551615", "1e3", "0x10", "abc", " 1", "+1", "1.5"}
		return ints[f.rnd.Intn(len(ints))]
	}
	return f.hostile()
}

func (f *apiFuzzer) generate(op *fuzzOp) fuzzReq {
	byName := map[string]map[string]any{}
	for _, p := range op.params {
		byName[p["name"].(string)] = p
	}
	path := pathParam.ReplaceAllStringFunc(op.path, func(m string) string {
		name := m[1 : len(m)-1]
		sch, _ := byName[name]["schema"].(map[string]any)
		return url.PathEscape(f.value(name, sch))
	})
	q := url.Values{}
	for _, p := range op.params {
		if p["in"] != "query" || f.rnd.Intn(10) < 3 {
			continue
		}
		sch, _ := p["schema"].(map[string]any)
		q.Add(p["name"].(string), f.value(p["name"].(string), sch))
	}
	if f.rnd.Intn(10) == 0 {
		q.Add(f.hostile(), f.hostile())
	}
	req := fuzzReq{op: op, target: path}
	if len(q) > 0 {
		req.target += "?" + q.Encode()
	}
	if op.body == nil && op.method != http.MethodPost {
		return req
	}
	req.ctype, req.body = f.body(op)
	return req
}

// body is a JSON body from the schema, mutated, or a non-JSON one.
func (f *apiFuzzer) body(op *fuzzOp) (ctype, body string) {
	ctype = ctJSON
	switch f.rnd.Intn(12) {
	case 0:
		ctypes := []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "application/json; charset=latin1", "application/json\t"}
		ctype = ctypes[f.rnd.Intn(len(ctypes))]
	case 1:
		bodies := []string{"", "not json", "\xff\xfe\x00", "<x/>", "[]", "null", "7", `"x"`, "{", `{"a":1}{}`, strings.Repeat("[", 10000), `{"x":` + strings.Repeat(`{"x":`, 5000)}
		return ctype, bodies[f.rnd.Intn(len(bodies))]
	}
	if op.body == nil {
		return ctype, f.hostile()
	}
	v := f.object(op.body)
	const badUTF8 = "\x00BADUTF8\x00"
	// Mostly one change, so that the rest of the body is valid and the
	// change reaches the code past validation of the others.
	n := []int{0, 1, 1, 1, 2, 3}[f.rnd.Intn(6)]
	for ; n > 0; n-- {
		f.mutate(v, op.body, badUTF8)
	}
	b, _ := json.Marshal(v)
	return ctype, strings.ReplaceAll(string(b), `\u0000BADUTF8\u0000`, "\xff\xc0\x80")
}

// object is a valid object for a schema: the known-good body, or one
// built from its properties.
func (f *apiFuzzer) object(sch map[string]any) map[string]any {
	if good, ok := f.good[sch["x-name"].(string)]; ok {
		var v map[string]any
		b, _ := json.Marshal(good)
		json.Unmarshal(b, &v)
		return v
	}
	v := map[string]any{}
	props, _ := sch["properties"].(map[string]any)
	for name, p := range props {
		if e := asSlice(dig(p, "enum")); len(e) > 0 {
			v[name] = e[f.rnd.Intn(len(e))]
		} else {
			v[name] = "x"
		}
	}
	return v
}

// mutate changes one member of v (or adds one): a wrong type, null,
// removal, a huge or hostile string, deep nesting, invalid UTF-8.
func (f *apiFuzzer) mutate(v map[string]any, sch map[string]any, badUTF8 string) {
	var names []string
	props, _ := sch["properties"].(map[string]any)
	for name := range props {
		names = append(names, name)
	}
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) == 0 || f.rnd.Intn(10) == 0 {
		v["x_extra_"+strconv.Itoa(f.rnd.Intn(3))] = f.hostile()
		return
	}
	name := names[f.rnd.Intn(len(names))]
	if inner, ok := v[name].(map[string]any); ok && len(inner) > 0 && f.rnd.Intn(2) == 0 {
		f.mutate(inner, map[string]any{}, badUTF8) // e.g. one of a licence's fields
		return
	}
	deep := any("x")
	for range 1 + f.rnd.Intn(200) {
		deep = []any{deep}
	}
	if m, ok := dig(props, name, "maxLength").(float64); ok && f.rnd.Intn(3) == 0 {
		v[name] = strings.Repeat("m", int(m)+f.rnd.Intn(2)) // at the bound and one past it
		return
	}
	var enumValue any = "x"
	if e := asSlice(dig(props, name, "enum")); len(e) > 0 {
		enumValue = e[f.rnd.Intn(len(e))]
	}
	if f.rnd.Intn(8) == 0 {
		// Past bbolt's key limit, within the body limit.
		v[name] = strings.Repeat("k", 32<<10+f.rnd.Intn(1<<20))
		return
	}
	choices := []any{nil, 7, -1, 1e308, true, false, []any{}, map[string]any{}, deep, f.hostile(), badUTF8, "a" + badUTF8,
		"9999-12-31", "0000-01-01", "2024-02-30", "-1h", "8785h", "1ns", enumValue, []any{f.hostile()}, map[string]any{"x": f.hostile()}}
	switch c := f.rnd.Intn(len(choices) + 2); {
	case c >= len(choices):
		delete(v, name)
	default:
		v[name] = choices[c]
	}
}

func (f *apiFuzzer) send(t *testing.T, r fuzzReq, role string) (int, []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.op.method, f.s.URL+r.target, strings.NewReader(r.body))
	if err != nil {
		t.Fatalf("building %s: %v", r, err)
	}
	if tok := f.tokens[role]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s as %s: %v", r, role, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, data
}
