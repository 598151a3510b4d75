package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"elicense/internal/issuertest"
	"elicense/verifier/counter"
)

func TestServeLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8090", "[::1]:8090", "localhost:8090", "127.0.0.2:0"} {
		if err := loopbackAddr(addr); err != nil {
			t.Errorf("%s refused: %v", addr, err)
		}
	}
	for _, addr := range []string{"0.0.0.0:8090", ":8090", "[::]:8090", "192.168.1.10:8090", "example.com:80", "8090"} {
		if err := loopbackAddr(addr); err == nil {
			t.Errorf("%s accepted", addr)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"serve", "--addr", "0.0.0.0:8090", "--store", t.TempDir()}, env{stdout: &out, stderr: &errb, now: time.Now}); code != exitUsage ||
		!strings.Contains(errb.String(), "loopback") {
		t.Fatalf("serve on 0.0.0.0 = %d %q", code, errb.String())
	}
}

// TestServeEndToEnd syncs from a real issuer, runs `elicense-verify
// serve`, checks a licence through the page's API, stops it with SIGINT
// and finds the checks in the verification log.
func TestServeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the issuer")
	}
	bin := binary(t)
	s := issuertest.Start(t)
	store := filepath.Join(t.TempDir(), "store")
	v := func(args ...string) result { return runVerify(t, bin, store, "", args...) }
	tok := s.Operator(t, "business-license")
	samplesRaw, _ := os.ReadFile("../../certs/catalog/testdata/samples.json")
	var samples struct{ Samples map[string]map[string]string }
	json.Unmarshal(samplesRaw, &samples)
	var bl struct{ ID, QR string }
	if st := s.Call(t, "POST", "/v1/licences", tok, map[string]any{"class": "business-license", "fields": samples.Samples["business-license"]}, &bl); st != 201 {
		t.Fatalf("issue: %d", st)
	}
	if r := v("trust", "add", filepath.Join(s.Data, "pki", "root.crt.pem")); r.code != 0 {
		t.Fatalf("trust add: %+v", r)
	}
	if r := v("sync", "--from", s.URL); r.code != 0 {
		t.Fatalf("sync: %+v", r)
	}

	page := launchServe(t, bin, store)
	base, token, cmd, done, errb := page.base, page.token, page.cmd, page.done, page.stderr
	check := func(text string) (code, holder string) {
		body, _ := json.Marshal(map[string]string{"text": text})
		req, _ := http.NewRequest("POST", base+"/api/check", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(counter.TokenHeader, token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res struct {
			Code    string
			Licence *struct {
				HolderName string `json:"holder_name"`
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != 200 {
			t.Fatalf("check: %d %v", resp.StatusCode, err)
		}
		if res.Licence != nil {
			holder = res.Licence.HolderName
		}
		return res.Code, holder
	}
	if code, holder := check(bl.QR); code != "VALID_STATIC" || holder != samples.Samples["business-license"]["name"] {
		t.Errorf("static QR: %s %q", code, holder)
	}
	if code, _ := check("EL1:GARBAGE"); code != "MALFORMED" {
		t.Errorf("garbage: %s", code)
	}
	// The licence's OFD file, uploaded to the page: its seal's maker
	// chains to the pinned root; the synced bundle answers for revocation.
	// It is not a check of the verification log (two records below).
	var file []byte
	if st := s.Call(t, "GET", "/v1/licences/"+bl.ID+"/ofd", tok, nil, &file); st != 200 {
		t.Fatalf("GET ofd: %d", st)
	}
	if code, sigs, rev := pageOFD(t, base, token, file); code != "VALID" || len(sigs) != 1 || !rev {
		t.Errorf("the licence's OFD file on the page: %s %v, revocation checked %v", code, sigs, rev)
	}
	if code, _, _ := pageOFD(t, base, token, modifyOFD(t, file, "Doc_0/Pages/Page_0/Content.xml")); code != "DOCUMENT_MODIFIED" {
		t.Errorf("a modified copy on the page: %s", code)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("serve exited with %v: %s", err, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop on SIGINT")
	}
	if r := v("log", "verify"); r.code != 0 || !strings.HasPrefix(r.stdout, "OK 2 records") {
		t.Fatalf("log verify: %+v", r)
	}
}

// pageToken finds the counter page's per-start token in its HTML.
var pageToken = regexp.MustCompile(`<meta name="counter-token" content="([A-Za-z0-9_-]{43})">`)
