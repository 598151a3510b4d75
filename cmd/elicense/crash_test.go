package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var crashCycles = flag.Int("serve.crash-cycles", 2, "kill -9 cycles in TestServeCrash")

// TestServeCrash issues and revokes licences from 16 clients, kills the
// server with SIGKILL while they do, restarts it, and checks every answer
// the clients got: each acknowledged issuance is there at the ledger index
// it was given, each acknowledged revocation holds, and the ledger passes
// fsck. Longer: go test ./cmd/elicense -run TestServeCrash -serve.crash-cycles=20
func TestServeCrash(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	// Holder-index merges every 500 issuances, so kills land before,
	// during and after them.
	start := func() *server { return startServer(t, data, "--holder-merge-at", "500") }
	s := start()
	admin := readToken(t, data)
	samples := loadSamples(t)
	type acked struct {
		ledgerIndex uint64
		revoked     bool
	}
	got := map[string]*acked{}
	var mu sync.Mutex
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(path string, body any, out any) int {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", s.url+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := client.Do(req)
		if err != nil {
			return 0 // the server died under the request: not acknowledged
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		json.Unmarshal(raw, out)
		return resp.StatusCode
	}
	for cycle := range *crashCycles {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					var rec struct {
						ID          string `json:"id"`
						LedgerIndex uint64 `json:"ledger_index"`
					}
					if post("/v1/licences", map[string]any{"class": "business-license", "agency": "11310000PDY100010H", "fields": samples["business-license"]}, &rec) != 201 {
						continue
					}
					mu.Lock()
					got[rec.ID] = &acked{ledgerIndex: rec.LedgerIndex}
					mu.Unlock()
					if (w+i)%3 == 0 {
						if post("/v1/licences/"+rec.ID+"/revoke", map[string]string{"reason": "注销"}, &struct{}{}) == 200 {
							mu.Lock()
							got[rec.ID].revoked = true
							mu.Unlock()
						}
					}
				}
			})
		}
		time.Sleep(time.Duration(300+cycle*137%400) * time.Millisecond)
		s.cmd.Process.Signal(syscall.SIGKILL)
		s.cmd.Wait()
		close(stop)
		wg.Wait()
		s = start()
	}
	if len(got) == 0 {
		t.Fatal("no issuance was acknowledged before the kills")
	}
	revoked := 0
	for id, a := range got {
		if a.revoked {
			revoked++
		}
		var rec struct {
			Status      string `json:"status"`
			LedgerIndex uint64 `json:"ledger_index"`
		}
		if st := s.call(t, "GET", "/v1/licences/"+id, admin, nil, &rec); st != 200 {
			t.Fatalf("acknowledged licence %s: %d after the restart", id, st)
		}
		if rec.LedgerIndex != a.ledgerIndex {
			t.Errorf("%s: ledger index %d, acknowledged at %d", id, rec.LedgerIndex, a.ledgerIndex)
		}
		if a.revoked && rec.Status != "revoked" {
			t.Errorf("%s: acknowledged revocation lost, status %s", id, rec.Status)
		}
	}
	// The holder's search lists every acknowledged licence once, whether
	// its holder entry was merged into the index or still in the log.
	listed := map[string]int{}
	for after := ""; ; {
		var page struct {
			Licences []struct {
				ID string `json:"id"`
			} `json:"licences"`
			Next string `json:"next"`
		}
		q := "/v1/licences?limit=1000&holder=" + samples["business-license"]["uscc"] + "&after=" + after
		if st := s.call(t, "GET", q, admin, nil, &page); st != 200 {
			t.Fatalf("holder search: %d", st)
		}
		for _, l := range page.Licences {
			listed[l.ID]++
		}
		if after = page.Next; after == "" {
			break
		}
	}
	for id := range got {
		if listed[id] != 1 {
			t.Errorf("acknowledged licence %s listed %d times in its holder's search", id, listed[id])
		}
	}
	s.stop(t)
	v := elicense(t, nil, "ledger", "verify", "--data", data)
	if v.code != 0 || !strings.HasPrefix(v.stdout, "OK ") {
		t.Fatalf("ledger verify after %d kills: %s %s", *crashCycles, v.stdout, v.stderr)
	}
	if revoked == 0 {
		t.Error("no revocation was acknowledged before the kills")
	}
	t.Logf("%d acknowledged issuances (%d revoked; %d listed by holder) checked after %d kills: %s", len(got), revoked, len(listed), *crashCycles, strings.TrimSpace(v.stdout))
}
