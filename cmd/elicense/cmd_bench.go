package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"elicense/internal/httpload"
)

func init() {
	register(&command{
		name:    "bench",
		summary: "load-test a server: issue licences from many clients, report rate and latency",
		usage: `
Usage: elicense bench --body FILE [--server URL] [--token-file FILE]
                      [--clients N] [--requests N | --duration D]

Sends the issuance request in FILE (the JSON body of POST /v1/licences,
one licence or a batch under "licences") from N clients at once, each
keeping its connection open, and reports the rate of acknowledged
(durable) issuances and the latency percentiles of the requests, with a
count of every status the server answered and the first error it gave.

Every request issues real licences into the ledger, which keeps them for
good: run it against a test or staging server, never production.

The operator token comes from --token-file, else ELICENSE_TOKEN.

Exit status: 0 when every request succeeded, 1 when any failed, 2 on usage
errors.

Examples:
  elicense bench --body licence.json --token-file clerk.token
  elicense bench --server http://10.0.0.5:8080 --body licence.json --clients 128 --duration 30s
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("server", "http://"+defaultAddr, "server base `URL`")
			fs.String("token-file", "", "read the operator token from `file`")
			fs.String("body", "", "JSON request body `file` (required)")
			fs.Int("clients", 64, "concurrent `clients`")
			fs.Int("requests", 10000, "requests to send in all (ignored with --duration)")
			fs.Duration("duration", 0, "send for this long instead of a number of requests")
		},
		run: runBench,
	})
}

// benchResult is what a load test measured.
type benchResult struct {
	Elapsed   time.Duration
	Latencies []time.Duration // of the successful requests, sorted
	Licences  int             // issued (a batch request counts its licences)
	Status    map[int]int     // answers by HTTP status; 0 for transport errors
	FirstErr  string
}

func runBench(e *env, fs *flag.FlagSet) int {
	if fs.NArg() > 0 {
		return usageError(e, "bench", "unexpected argument %q", fs.Arg(0))
	}
	get := func(n string) string { return fs.Lookup(n).Value.String() }
	num := func(n string) int { return fs.Lookup(n).Value.(flag.Getter).Get().(int) }
	if get("body") == "" {
		return usageError(e, "bench", "--body is required")
	}
	body, err := os.ReadFile(get("body"))
	if err != nil {
		return usageError(e, "bench", "%v", err)
	}
	var probe struct {
		Licences []json.RawMessage `json:"licences"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return usageError(e, "bench", "--body: %s is not JSON: %v", get("body"), err)
	}
	perRequest := max(1, len(probe.Licences))
	clients, requests := num("clients"), num("requests")
	duration := fs.Lookup("duration").Value.(flag.Getter).Get().(time.Duration)
	if clients < 1 || clients > 10000 {
		return usageError(e, "bench", "--clients must be 1..10000")
	}
	if duration < 0 || (duration == 0 && requests < 1) {
		return usageError(e, "bench", "give a positive --requests or --duration")
	}
	token, err := operatorToken(e, get("token-file"))
	if err != nil {
		return usageError(e, "bench", "%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
		requests = -1
	}
	r, err := bench(ctx, strings.TrimSuffix(get("server"), "/")+"/v1/licences", token, body, clients, requests, probe.Licences != nil)
	if err != nil {
		return usageError(e, "bench", "--server: %v", err)
	}
	report(e.stdout, r, clients, perRequest)
	if r.FirstErr != "" {
		fmt.Fprintf(e.stderr, "elicense bench: first failure: %s\n", r.FirstErr)
		return exitFail
	}
	if len(r.Latencies) == 0 {
		fmt.Fprintln(e.stderr, "elicense bench: no request completed")
		return exitFail
	}
	return exitOK
}

// bench sends body to url from clients goroutines until n requests are
// sent (n < 0: until ctx ends). Each client keeps one connection
// (internal/httpload: a load generator on the server's machine takes a
// quarter of net/http's client CPU). Only a batch's answer is parsed, to
// count what it issued; a single licence's 201 is one licence.
func bench(ctx context.Context, url, token string, body []byte, clients, n int, batch bool) (benchResult, error) {
	req := httpload.Request{
		Method: http.MethodPost, URL: url, Timeout: time.Minute,
		Header: http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}},
	}
	if _, err := httpload.New(req); err != nil {
		return benchResult{}, err
	}
	var (
		mu   sync.Mutex
		res  = benchResult{Status: map[int]int{}}
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

func report(w io.Writer, r benchResult, clients, perRequest int) {
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
