package counter_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/verifier/counter"
)

// TestRequestGuard sends requests as other web pages (or a rebinding DNS
// name) would, header by header: every refusal is a 403 with a JSON
// reason, and nothing is verified or synced.
func TestRequestGuard(t *testing.T) {
	f := newFixture(t)
	u, _ := url.Parse(f.URL)
	self := u.Host // 127.0.0.1:P
	port := u.Port()
	checkBody, _ := json.Marshal(map[string]string{"text": f.static})
	type tc struct {
		name    string
		method  string
		path    string
		host    string            // "": the URL's
		headers map[string]string // on top of Content-Type and the token
		multi   map[string][]string
		noToken bool
		status  int
		code    string // of a refusal
	}
	other := "127.0.0.1:1"
	if port == "1" {
		other = "127.0.0.1:2"
	}
	cases := []tc{
		{name: "own page", status: 200},
		{name: "localhost", host: "localhost:" + port, status: 200},
		{name: "LOCALHOST", host: "LOCALHOST:" + port, status: 200},
		{name: "same origin", headers: map[string]string{"Origin": "http://" + self}, status: 200},
		{name: "same origin by localhost", host: "localhost:" + port, headers: map[string]string{"Origin": "http://localhost:" + port}, status: 200},
		{name: "Sec-Fetch-Site same-origin", headers: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://" + self}, status: 200},
		{name: "Sec-Fetch-Site none", headers: map[string]string{"Sec-Fetch-Site": "none"}, status: 200},

		{name: "rebinding name", host: "evil.example:" + port, status: 403, code: "BAD_HOST"},
		{name: "rebinding name, no port", host: "evil.example", status: 403, code: "BAD_HOST"},
		{name: "localhost with a dot", host: "localhost.:" + port, status: 403, code: "BAD_HOST"},
		{name: "other port", host: other, status: 403, code: "BAD_HOST"},
		{name: "other loopback address", host: "127.0.0.2:" + port, status: 403, code: "BAD_HOST"},
		{name: "IPv6 loopback (not the address in use)", host: "[::1]:" + port, status: 403, code: "BAD_HOST"},
		{name: "unspecified address", host: "0.0.0.0:" + port, status: 403, code: "BAD_HOST"},
		{name: "user info", host: "x@127.0.0.1:" + port, status: 403, code: "BAD_HOST"},

		{name: "foreign origin", headers: map[string]string{"Origin": "http://evil.example"}, status: 403, code: "CROSS_ORIGIN"},
		{name: "other port's origin", headers: map[string]string{"Origin": "http://" + other}, status: 403, code: "CROSS_ORIGIN"},
		{name: "localhost origin to 127.0.0.1", headers: map[string]string{"Origin": "http://localhost:" + port}, status: 403, code: "CROSS_ORIGIN"},
		{name: "https origin", headers: map[string]string{"Origin": "https://" + self}, status: 403, code: "CROSS_ORIGIN"},
		{name: "null origin", headers: map[string]string{"Origin": "null"}, status: 403, code: "CROSS_ORIGIN"},
		{name: "empty origin", headers: map[string]string{"Origin": ""}, status: 403, code: "CROSS_ORIGIN"},
		{name: "origin with a path", headers: map[string]string{"Origin": "http://" + self + "/x"}, status: 403, code: "CROSS_ORIGIN"},
		{name: "two origins", multi: map[string][]string{"Origin": {"http://" + self, "http://evil.example"}}, status: 403, code: "CROSS_ORIGIN"},
		{name: "Sec-Fetch-Site cross-site", headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: 403, code: "CROSS_SITE"},
		{name: "Sec-Fetch-Site same-site", headers: map[string]string{"Sec-Fetch-Site": "same-site"}, status: 403, code: "CROSS_SITE"},
		{name: "Sec-Fetch-Site same-site with own origin", headers: map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://" + self}, status: 403, code: "CROSS_SITE"},
		{name: "Sec-Fetch-Site junk", headers: map[string]string{"Sec-Fetch-Site": "whatever"}, status: 403, code: "CROSS_SITE"},

		{name: "no token", noToken: true, status: 403, code: "BAD_TOKEN"},
		{name: "wrong token", noToken: true, headers: map[string]string{counter.TokenHeader: strings.Repeat("A", 43)}, status: 403, code: "BAD_TOKEN"},
		{name: "token prefix", noToken: true, headers: map[string]string{counter.TokenHeader: f.token[:42]}, status: 403, code: "BAD_TOKEN"},
		{name: "two tokens", noToken: true, multi: map[string][]string{counter.TokenHeader: {f.token, f.token}}, status: 403, code: "BAD_TOKEN"},
		{name: "token in a cookie", noToken: true, headers: map[string]string{"Cookie": "token=" + f.token}, status: 403, code: "BAD_TOKEN"},
		{name: "image without token", path: "/api/image", noToken: true, status: 403, code: "BAD_TOKEN"},
		{name: "sync without token", path: "/api/sync", noToken: true, status: 403, code: "BAD_TOKEN"},
		{name: "sync from another origin", path: "/api/sync", headers: map[string]string{"Origin": "http://evil.example"}, status: 403, code: "CROSS_ORIGIN"},
		{name: "preflight from another origin", method: "OPTIONS", headers: map[string]string{"Origin": "http://evil.example"}, status: 403, code: "CROSS_ORIGIN"},

		// The page itself carries the token: a rebinding name must not read it.
		{name: "page by a rebinding name", method: "GET", path: "/", host: "evil.example:" + port, status: 403, code: "BAD_HOST"},
		{name: "asset by a rebinding name", method: "GET", path: "/app.js", host: "evil.example:" + port, status: 403, code: "BAD_HOST"},
		// Reading the status needs no token, only the page's origin.
		{name: "status without token", method: "GET", path: "/api/status", noToken: true, status: 200},
		{name: "status from another origin", method: "GET", path: "/api/status", headers: map[string]string{"Origin": "http://evil.example"}, status: 403, code: "CROSS_ORIGIN"},
		{name: "status by a rebinding name", method: "GET", path: "/api/status", host: "evil.example:" + port, status: 403, code: "BAD_HOST"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.method == "" {
				c.method = "POST"
			}
			if c.path == "" {
				c.path = "/api/check"
			}
			var body io.Reader
			if c.method == "POST" && c.path == "/api/check" {
				body = bytes.NewReader(checkBody)
			}
			req, err := http.NewRequest(c.method, f.URL+c.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if c.host != "" {
				req.Host = c.host
			}
			req.Header.Set("Content-Type", "application/json")
			if !c.noToken {
				req.Header.Set(counter.TokenHeader, f.token)
			}
			for k, v := range c.headers {
				req.Header.Set(k, v)
			}
			for k, vs := range c.multi {
				req.Header[http.CanonicalHeaderKey(k)] = vs
			}
			verified, synced := f.verified(), f.syncCalls()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if c.path == "/api/sync" && c.status == 200 {
				t.Fatal("bad case")
			}
			if resp.StatusCode != c.status {
				t.Fatalf("%s %s (Host %s): %d %s, want %d", c.method, c.path, req.Host, resp.StatusCode, data, c.status)
			}
			if c.status == 403 {
				var e counter.Error
				if err := json.Unmarshal(data, &e); err != nil || e.Code != c.code || e.Message == "" || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
					t.Errorf("refusal %s %q: %+v %v", resp.Header.Get("Content-Type"), data, e, err)
				}
				if bytes.Contains(data, []byte(f.token)) {
					t.Error("the refusal carries the token")
				}
				if f.verified() != verified || f.syncCalls() != synced {
					t.Errorf("a refused request was verified or synced (%d→%d verifications, %d→%d syncs)", verified, f.verified(), synced, f.syncCalls())
				}
			} else if c.path == "/api/check" && f.verified() != verified+1 {
				t.Errorf("an admitted check was not verified")
			}
		})
	}
}

// TestTrustStatusAPI covers /api/status and /api/sync: the JSON the page
// reads, a good sync, a failed one, a second press while one runs, and a
// counter without them.
func TestTrustStatusAPI(t *testing.T) {
	f := newFixture(t)
	getStatus := func() (int, counter.StatusAnswer, string) {
		t.Helper()
		resp, err := http.Get(f.URL + "/api/status")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var st counter.StatusAnswer
		if err := json.Unmarshal(data, &st); err != nil {
			t.Fatalf("status: %v in %s", err, data)
		}
		return resp.StatusCode, st, string(data)
	}
	code, st, raw := getStatus()
	if code != 200 || !st.SyncedAt.Equal(f.trust.SyncedAt) || !st.NextSync.Equal(f.trust.NextSync) || !st.Now.Equal(f.clock()) || !st.CanSync || st.BundleSeq != 1 || st.Syncing || st.LastError != "" {
		t.Fatalf("status = %d %+v", code, st)
	}
	for _, key := range []string{`"synced_at"`, `"next_sync"`, `"bundle_seq"`, `"now"`, `"can_sync"`, `"from"`, `"last_attempt"`} {
		if !strings.Contains(raw, key) {
			t.Errorf("status JSON has no %s: %s", key, raw)
		}
	}

	var ans counter.SyncAnswer
	if code, _ := f.post(t, "/api/sync", "", nil, &ans); code != 200 || !ans.OK || ans.Error != "" || ans.Status == nil || ans.Status.BundleSeq != 2 || !ans.Status.SyncedAt.Equal(f.clock()) {
		t.Fatalf("sync = %d %+v", code, ans)
	}
	f.mu.Lock()
	f.syncErr = errors.New("trust server: connection refused")
	f.mu.Unlock()
	ans = counter.SyncAnswer{}
	if code, _ := f.post(t, "/api/sync", "", nil, &ans); code != 200 || ans.OK || ans.Error != "trust server: connection refused" || ans.Status == nil || ans.Status.LastError != ans.Error || ans.Status.BundleSeq != 2 {
		t.Fatalf("failed sync = %d %+v", code, ans)
	}

	// A second press while a sync runs: 409, and the status says syncing.
	gate := make(chan struct{})
	f.mu.Lock()
	f.syncErr, f.syncGo = nil, gate
	f.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var a counter.SyncAnswer
		if code, _ := f.post(t, "/api/sync", "", nil, &a); code != 200 || !a.OK {
			t.Errorf("the first sync = %d %+v", code, a)
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); f.syncCalls() < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the sync did not start")
		}
	}
	if _, st, _ := getStatus(); !st.Syncing {
		t.Error("status does not say syncing while a sync runs")
	}
	var e counter.Error
	if code, _ := f.post(t, "/api/sync", "", nil, &e); code != 409 || e.Code != "SYNC_RUNNING" {
		t.Errorf("second sync = %d %+v", code, e)
	}
	close(gate)
	wg.Wait()
	if n := f.syncCalls(); n != 3 {
		t.Errorf("SyncNow called %d times, want 3", n)
	}
	if _, st, _ := getStatus(); st.Syncing {
		t.Error("still syncing after the sync ended")
	}
	for _, tc := range []struct{ method, path string }{{"GET", "/api/sync"}, {"POST", "/api/status"}} {
		req, _ := http.NewRequest(tc.method, f.URL+tc.path, nil)
		req.Header.Set(counter.TokenHeader, f.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 {
			t.Errorf("%s %s = %d", tc.method, tc.path, resp.StatusCode)
		}
	}

	// Without the options: 404 with a reason.
	g := newFixtureWith(t, fixtureOptions{noTrust: true})
	resp, err := http.Get(g.URL + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	var e2 counter.Error
	json.NewDecoder(resp.Body).Decode(&e2)
	resp.Body.Close()
	if resp.StatusCode != 404 || e2.Code != "NOT_CONFIGURED" {
		t.Errorf("status without TrustStatus = %d %+v", resp.StatusCode, e2)
	}
	e2 = counter.Error{}
	if code, _ := g.post(t, "/api/sync", "", nil, &e2); code != 404 || e2.Code != "NOT_CONFIGURED" {
		t.Errorf("sync without SyncNow = %d %+v", code, e2)
	}
}
