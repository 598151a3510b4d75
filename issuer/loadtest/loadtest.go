package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"elicense/internal/httpload"
)

// Result is what a load test measured.
type Result struct {
	Elapsed   time.Duration
	Latencies []time.Duration // of the successful requests, sorted
	Licences  int             // issued (a batch request counts its licences)
	Status    map[int]int     // answers by HTTP status; 0 for transport errors
	FirstErr  string
}

// Options configure Issue.
type Options struct {
	URL      string // the issuance endpoint, e.g. http://127.0.0.1:8080/v1/licences
	Token    string // operator token
	Body     []byte // the JSON body of every request
	Clients  int    // concurrent clients, each with one kept-alive connection
	Requests int    // requests to send in all; negative: until ctx ends
	Batch    bool   // Body is a batch ({"licences": […]}): answers are parsed to count licences
}

// Issue sends opts.Body to opts.URL from opts.Clients goroutines until
// opts.Requests are sent or ctx ends. Each client keeps one connection
// (internal/httpload: a load generator on the server's machine must leave
// the server its CPU). Only a batch's answer is parsed, to count what it
// issued; a single licence's 201 is one licence.
func Issue(ctx context.Context, opts Options) (Result, error) {
	url, token, body, clients, n, batch := opts.URL, opts.Token, opts.Body, opts.Clients, opts.Requests, opts.Batch
	req := httpload.Request{
		Method: http.MethodPost, URL: url, Timeout: time.Minute,
		Header: http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}},
	}
	if _, err := httpload.New(req); err != nil {
		return Result{}, err
	}
	var (
		mu   sync.Mutex
		res  = Result{Status: map[int]int{}}
		left atomic.Int64
		// counted records one answer: a success when it issued
		// licences (a batch may also carry failures).
		counted = func(lat time.Duration, status int, licences int, failure string) {
			mu.Lock()
			defer mu.Unlock()
			res.Status[status]++
			if failure != "" && res.FirstErr == "" {
				res.FirstErr = failure
			}
			if licences > 0 {
				res.Latencies = append(res.Latencies, lat)
				res.Licences += licences
			}
		}
	)
	left.Store(int64(n))
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			c, _ := httpload.New(req)
			defer c.Close()
			for ctx.Err() == nil && (n < 0 || left.Add(-1) >= 0) {
				t0 := time.Now()
				status, answer, err := c.Do(ctx, body)
				if err != nil {
					if ctx.Err() == nil {
						counted(0, 0, 0, err.Error())
					}
					continue
				}
				lat := time.Since(t0)
				switch {
				case status == http.StatusCreated && !batch:
					counted(lat, status, 1, "")
				case status == http.StatusCreated, status == http.StatusOK, status == http.StatusMultiStatus:
					n, failure := licencesIn(answer)
					counted(lat, status, n, failure)
				default:
					counted(lat, status, 0, fmt.Sprintf("%d %s", status, bytes.TrimSpace(answer)))
				}
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	slices.Sort(res.Latencies)
	return res, nil
}

// licencesIn counts the licences an issuance answer acknowledges (one, or
// the issued entries of a batch) and returns the first failure in a batch.
func licencesIn(answer []byte) (int, string) {
	var batch struct {
		Results []struct {
			Index   int             `json:"index"`
			Licence json.RawMessage `json:"licence"`
			Error   json.RawMessage `json:"error"`
		} `json:"results"`
	}
	if json.Unmarshal(answer, &batch) != nil || batch.Results == nil {
		return 1, ""
	}
	n, failure := 0, ""
	for _, r := range batch.Results {
		switch {
		case len(r.Licence) > 0 && string(r.Licence) != "null":
			n++
		case failure == "":
			failure = fmt.Sprintf("batch entry %d: %s", r.Index, r.Error)
		}
	}
	return n, failure
}

// Report writes r as a few lines of text: rate, answers by status and
// latency percentiles.
func Report(w io.Writer, r Result, clients, perRequest int) {
	ok := len(r.Latencies)
	secs := r.Elapsed.Seconds()
	fmt.Fprintf(w, "%d requests in %.2f s from %d clients: %.0f requests/s", ok, secs, clients, float64(ok)/secs)
	if perRequest > 1 {
		fmt.Fprintf(w, ", %d licences (%.0f/s)", r.Licences, float64(r.Licences)/secs)
	}
	fmt.Fprintln(w)
	codes := make([]int, 0, len(r.Status))
	for c := range r.Status {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var parts []string
	for _, c := range codes {
		name := fmt.Sprint(c)
		if c == 0 {
			name = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", name, r.Status[c]))
	}
	fmt.Fprintf(w, "answers: %s\n", strings.Join(parts, ", "))
	if ok == 0 {
		return
	}
	pct := func(p int) float64 { return float64(r.Latencies[min(ok-1, ok*p/100)].Microseconds()) / 1000 }
	fmt.Fprintf(w, "latency: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		pct(50), pct(90), pct(99), float64(r.Latencies[ok-1].Microseconds())/1000)
}
