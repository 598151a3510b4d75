package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"elicense/issuer/loadtest"
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
	r, err := loadtest.Issue(ctx, loadtest.Options{URL: strings.TrimSuffix(get("server"), "/") + "/v1/licences", Token: token, Body: body,
		Clients: clients, Requests: requests, Batch: probe.Licences != nil})
	if err != nil {
		return usageError(e, "bench", "--server: %v", err)
	}
	loadtest.Report(e.stdout, r, clients, perRequest)
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
