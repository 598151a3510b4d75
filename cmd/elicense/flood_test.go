package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"elicense/internal/gm"
	"elicense/internal/issuertest"
	"elicense/issuer/service"
)

// TestClaimFlood floods elicense serve with claim challenges from 10,000
// spoofed X-Forwarded-For addresses while holders claim their licences,
// and measures the holders' claims per second and the server's RSS. The
// server trusts 127.0.0.1 as its proxy, so every spoofed address counts
// as a client of its own: the worst case for the rate limiter's memory.
// A second server, trusting no proxy, shows the header buying nothing.
// Each phase runs for a fixed time (shorter with -short).
func TestClaimFlood(t *testing.T) {
	phase := 4 * time.Second
	if testing.Short() {
		phase = time.Second
	}
	data := t.TempDir()
	s := startServer(t, data, "--trusted-proxies", "127.0.0.1/32")
	codes := floodIssue(t, s, data, 6000)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()

	// Half the codes for each phase: a phase ends early when its codes
	// run out, and its rate counts the time it took.
	holders := func(codes []string, first int, d time.Duration) (float64, int) {
		var next atomic.Int64 // the next unclaimed code
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		stop := time.Now().Add(d)
		start := time.Now()
		for range 4 {
			wg.Go(func() {
				for time.Now().Before(stop) {
					i := int(next.Add(1)) - 1
					if i >= len(codes) {
						return
					}
					// Each holder is a client of its own.
					addr := fmt.Sprintf("198.18.%d.%d", (first+i)>>8, (first+i)&255)
					if floodClaim(client, s.url, addr, codes[i]) {
						ok.Add(1)
					} else {
						refused.Add(1)
					}
				}
			})
		}
		wg.Wait()
		return float64(ok.Load()) / time.Since(start).Seconds(), int(refused.Load())
	}
	rss0 := rssOf(t, s.cmd.Process.Pid)
	half := len(codes) / 2
	base, baseRefused := holders(codes[:half], 0, phase)
	rssBase := rssOf(t, s.cmd.Process.Pid)

	var flood, limited atomic.Int64
	stop := make(chan struct{})
	var fwg sync.WaitGroup
	for g := range 8 {
		fwg.Go(func() {
			for i := g; ; i += 8 {
				select {
				case <-stop:
					return
				default:
				}
				n := i % 10_000
				switch floodChallenge(client, s.url, fmt.Sprintf("10.%d.%d.%d", n>>16, (n>>8)&255, n&255)) {
				case http.StatusCreated:
					flood.Add(1)
				case http.StatusTooManyRequests:
					limited.Add(1)
				}
			}
		})
	}
	time.Sleep(phase / 4) // the flood at full speed first
	during, duringRefused := holders(codes[half:], half, phase)
	rss1 := rssOf(t, s.cmd.Process.Pid)
	close(stop)
	fwg.Wait()
	floodRate := float64(flood.Load()+limited.Load()) / (phase + phase/4).Seconds()
	t.Logf("holders' claims: %.0f/s alone, %.0f/s during a flood of %.0f challenge requests/s (%d answered, %d rate limited) from 10,000 addresses",
		base, during, floodRate, flood.Load(), limited.Load())
	t.Logf("server RSS: %.1f MiB before, %.1f MiB after the holders' claims alone, %.1f MiB after the flood", float64(rss0)/(1<<20), float64(rssBase)/(1<<20), float64(rss1)/(1<<20))
	if baseRefused+duringRefused > 0 {
		t.Errorf("%d holders' claims refused", baseRefused+duringRefused)
	}
	if flood.Load() == 0 || base == 0 {
		t.Fatal("nothing measured")
	}
	// The floor: holders keep a tenth of their rate while the flood takes
	// the CPU. Nothing in the server slows with the number of addresses;
	// what they lose is their share of the cores, which the flooding
	// client (8 connections against 4 holders) shares too.
	if during < base/10 {
		t.Errorf("holders' claims fell from %.0f/s to %.0f/s during the flood", base, during)
	}
	// Bounded memory: no store of challenges, at most 65,536 rate-limit
	// buckets (a few MiB) whatever the traffic.
	if rss1-rssBase > 48<<20 {
		t.Errorf("RSS grew by %.1f MiB during the flood", float64(rss1-rssBase)/(1<<20))
	}

	// Trusting no proxy, the header is ignored: one client, one bucket.
	s2 := startServer(t, t.TempDir())
	accepted := 0
	start := time.Now()
	for i := range 200 {
		if floodChallenge(client, s2.url, fmt.Sprintf("10.0.%d.%d", i>>8, i&255)) == http.StatusCreated {
			accepted++
		}
	}
	// A burst of 10 and 2 a second.
	if limit := 10 + int(2*time.Since(start).Seconds()) + 1; accepted > limit {
		t.Errorf("%d of 200 challenges with spoofed addresses answered; the limit allows %d", accepted, limit)
	}
	t.Logf("without --trusted-proxies: %d of 200 challenges from 200 spoofed addresses answered", accepted)
}

// floodIssue issues n driving licences and returns their claim codes.
func floodIssue(t *testing.T, s *server, data string, n int) []string {
	t.Helper()
	admin := readToken(t, data)
	var tok struct{ Token string }
	if st := s.call(t, "POST", "/v1/tokens", admin, map[string]any{"subject": "flood", "role": "operator", "agency": issuertest.AgencyOf(t, data, "drivers-license"), "ttl": "1h"}, &tok); st != 201 {
		t.Fatalf("token: %d", st)
	}
	fields := loadSamples(t)["drivers-license"]
	var codes []string
	for len(codes) < n {
		batch := make([]map[string]any, min(1000, n-len(codes)))
		for i := range batch {
			batch[i] = map[string]any{"class": "drivers-license", "fields": fields}
		}
		var out struct {
			Results []struct {
				Licence *struct {
					ClaimCode string `json:"claim_code"`
				}
			}
		}
		if st := s.call(t, "POST", "/v1/licences", tok.Token, map[string]any{"licences": batch}, &out); st != 201 {
			t.Fatalf("issue: %d", st)
		}
		for _, r := range out.Results {
			codes = append(codes, r.Licence.ClaimCode)
		}
	}
	return codes
}

func floodChallenge(c *http.Client, base, xff string) int {
	req, _ := http.NewRequest("POST", base+"/v1/claims/challenge", nil)
	req.Header.Set("X-Forwarded-For", xff)
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// floodClaim claims code with a new device key, from client address xff.
func floodClaim(c *http.Client, base, xff, code string) bool {
	post := func(path string, body []byte, out any) int {
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(body))
		req.Header.Set("X-Forwarded-For", xff)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if out != nil {
			json.Unmarshal(b, out)
		}
		return resp.StatusCode
	}
	var ch struct{ Challenge string }
	if post("/v1/claims/challenge", nil, &ch) != http.StatusCreated {
		return false
	}
	dev, _ := gm.GenerateKey()
	raw, _ := gm.MarshalPublicKeyCompressed(dev.PublicKey())
	sig, _ := gm.SignRS(dev, service.ClaimSigningInput(ch.Challenge, code, raw))
	body, _ := json.Marshal(map[string]string{"code": code, "device_key": base64.RawURLEncoding.EncodeToString(raw),
		"challenge": ch.Challenge, "signature": base64.RawURLEncoding.EncodeToString(sig)})
	return post("/v1/claims", body, nil) == http.StatusCreated
}

// rssOf is a process's resident set size in bytes.
func rssOf(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
