package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"elicense/issuer/loadtest"
	"elicense/verifier"
	"elicense/verifier/store"
)

func init() {
	register(&command{
		name:    "bench",
		summary: "load-test a server: issuances from many clients, or a day's mixed traffic (--mix)",
		usage: `
Usage: elicense bench --body FILE [--server URL] [--token-file FILE]
                      [--clients N] [--requests N | --duration D]
       elicense bench --mix --duration D [--server URL] [--token-file FILE]
                      [--clients N] [--weights KIND=N,…] [--trust-root FILE]
                      [--counters N] [--agency CODE] [--sample-every D] [--json]

Sends the issuance request in FILE (the JSON body of POST /v1/licences,
one licence or a batch under "licences") from N clients at once, each
keeping its connection open, and reports the rate of acknowledged
(durable) issuances and the latency percentiles of the requests, with a
count of every status the server answered and the first error it gave.

--mix runs what a day brings instead, for --duration, each client drawing
its next request at random by weight (after one of each kind with a
weight, dealt out among the clients, so that every such kind runs):
  issue          POST /v1/licences (a 营业执照 with a new 统一社会信用代码)
  get, search    GET /v1/licences/{id}, GET /v1/licences?holder=… (expects it found)
  revoke         POST /v1/licences/{id}/revoke (licences issued for it), so
                 the status lists change and the counters' deltas carry something
  claim          the holder's claim: challenge, then claim code, a new device
                 key and its signature; each from its own X-Forwarded-For address
  status, trust  GET /v1/status/{list}, GET /v1/trust, whole
  status-304, trust-304  the same with If-None-Match (304 unless it changed)
  sync           a counter's sync (elicense-verify sync): trust bundle,
                 checkpoint and its consistency proof, status lists by delta,
                 all verified against the pinned root
  verify         a fresh presentation of a claimed copy, checked as the counter
                 page checks it (the counter store's Checker: verification,
                 shared replay memory, verification log); expects VALID
  verify-static  a licence's static QR, checked the same way; expects VALID_STATIC
The default weights, per 100, are
  ` + loadtest.DefaultWeights + `
and --weights changes some (claim=0 turns claims off).

The counters (--counters, 4) run in this process, each on a store of its
own in a temporary directory that pins --trust-root: a verification costs
what it costs at a counter and nothing at the server, as in a real day;
their syncs are what reach the server.
The server's resident memory, Go heap and collector's goal are read from
its /metrics every --sample-every. Before the clock starts, the mix issues
160 licences and claims 96 of them (none when neither claim nor verify
has a weight), so that every kind has something to work on.

Claims are limited per client address: start the server with
--trusted-proxies 127.0.0.1 (or this machine's address) so that each
claim counts from its own X-Forwarded-For address, as holders behind a
reverse proxy do; otherwise claims are refused with 429.

Every request issues real licences into the ledger, which keeps them for
good: run it against a test or staging server, never production.

The token comes from --token-file, else ELICENSE_TOKEN: an operator token
(for --mix, of the agency --agency, which issues 营业执照), or an admin
token such as the development server's DIR/admin.token.

Exit status: 0 when every request succeeded (with --mix: and every kind
with a weight ran), 1 when any failed, 2 on usage errors.

Examples:
  elicense bench --body licence.json --token-file clerk.token
  elicense bench --server http://10.0.0.5:8080 --body licence.json --clients 128 --duration 30s
  elicense serve --data /tmp/d --addr 127.0.0.1:9000 --trusted-proxies 127.0.0.1 &
  elicense bench --mix --duration 10m --server http://127.0.0.1:9000 \
      --token-file /tmp/d/admin.token --trust-root /tmp/d/pki/root.crt.pem
  elicense bench --mix --duration 30s --weights issue=50,claim=0 \
      --token-file elicense-data/admin.token --json > day.json
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("server", "http://"+defaultAddr, "server base `URL`")
			fs.String("token-file", "", "read the operator or admin token from `file`")
			fs.String("body", "", "JSON request body `file` (required without --mix)")
			fs.Int("clients", 64, "concurrent `clients` (with --mix: 16 unless given)")
			fs.Int("requests", 10000, "requests to send in all (ignored with --duration)")
			fs.Duration("duration", 0, "send for this long instead of a number of requests")
			fs.Bool("mix", false, "a day's mixed traffic for --duration instead of issuances")
			fs.String("weights", "", "with --mix: `kind=N,…` replacing the default weights of those kinds")
			fs.String("trust-root", filepath.Join(defaultData, "pki", "root.crt.pem"), "with --mix: the root certificate `file` the counter pins")
			fs.String("agency", "11310000PDY100010H", "with --mix: the agency `code` whose 营业执照 are issued")
			fs.Duration("sample-every", 5*time.Second, "with --mix: how often to read the server's memory from /metrics")
			fs.Int("counters", 4, "with --mix: counters in this process, each with its own store")
			fs.Bool("json", false, "with --mix: write the result as JSON")
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
	if get("mix") == "true" {
		return runBenchMix(e, fs)
	}
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

// mixOptions are bench --mix's settings, checked.
type mixOptions struct {
	server, token, agency string
	rootPEM               []byte
	clients, counters     int
	duration, every       time.Duration
	weights               map[string]int
	json                  bool
}

func mixSettings(e *env, fs *flag.FlagSet) (mixOptions, error) {
	get := func(n string) string { return fs.Lookup(n).Value.String() }
	dur := func(n string) time.Duration { return fs.Lookup(n).Value.(flag.Getter).Get().(time.Duration) }
	o := mixOptions{server: strings.TrimRight(get("server"), "/"), agency: get("agency"), clients: 16,
		counters: fs.Lookup("counters").Value.(flag.Getter).Get().(int),
		duration: dur("duration"), every: dur("sample-every"), json: get("json") == "true"}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "clients" {
			o.clients = f.Value.(flag.Getter).Get().(int)
		}
	})
	switch {
	case get("body") != "":
		return o, errors.New("--body is for issuance only; --mix makes its own licences")
	case o.duration <= 0:
		return o, errors.New("--mix needs a positive --duration")
	case o.clients < 1 || o.clients > 10000:
		return o, errors.New("--clients must be 1..10000")
	case o.counters < 1 || o.counters > 64:
		return o, errors.New("--counters must be 1..64")
	case o.every <= 0:
		return o, errors.New("--sample-every must be positive")
	}
	var err error
	if o.weights, err = loadtest.Weights(loadtest.DefaultWeights); err != nil {
		return o, err
	}
	more, err := loadtest.Weights(get("weights"))
	if err != nil {
		return o, fmt.Errorf("--weights: %v", err)
	}
	maps.Copy(o.weights, more)
	if o.rootPEM, err = os.ReadFile(get("trust-root")); err != nil {
		return o, fmt.Errorf("--trust-root: %v", err)
	}
	if o.token, err = operatorToken(e, get("token-file")); err != nil {
		return o, err
	}
	return o, nil
}

// runBenchMix runs bench --mix: the issuer's side from loadtest.Traffic,
// the counter's (sync and verify) from a verifier store in this process.
func runBenchMix(e *env, fs *flag.FlagSet) int {
	o, err := mixSettings(e, fs)
	if err != nil {
		return usageError(e, "bench", "%v", err)
	}
	t, err := loadtest.NewTraffic(loadtest.TrafficOptions{Server: o.server, Token: o.token, Agency: o.agency, Clients: o.clients})
	if err != nil {
		return usageError(e, "bench", "%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	claims := 96
	if o.weights["claim"] == 0 && o.weights["verify"] == 0 {
		claims = 0
	}
	if err := t.Prepare(ctx, 160, claims); err != nil {
		fmt.Fprintf(e.stderr, "elicense bench: %v\n", err)
		return exitFail
	}
	c, err := openBenchCounters(ctx, o.counters, o.server, o.rootPEM, t)
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense bench: counter: %v\n", err)
		return exitFail
	}
	defer c.close()
	kinds, err := loadtest.Reweigh(append(t.Kinds(), c.kinds()...), o.weights)
	if err != nil {
		return usageError(e, "bench", "--weights: %v", err)
	}
	if !o.json {
		fmt.Fprintf(e.stderr, "elicense bench: mixed load against %s for %v from %d clients\n", o.server, o.duration, o.clients)
	}
	r, err := loadtest.Mix(ctx, loadtest.MixOptions{Kinds: kinds, Clients: o.clients, Duration: o.duration,
		Metrics: o.server + "/metrics", SampleEvery: o.every, Seed: uint64(time.Now().UnixNano())})
	if err != nil {
		return usageError(e, "bench", "%v", err)
	}
	r.NotModified = t.NotModified()
	if o.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(r)
	} else {
		loadtest.ReportMix(e.stdout, r)
	}
	return mixVerdict(e, r)
}

// mixVerdict is the exit status: 1 on any error, or when a kind with a
// weight never completed (it was not tested).
func mixVerdict(e *env, r loadtest.MixResult) int {
	code := exitOK
	for _, k := range r.Kinds {
		switch {
		case k.Errors > 0:
			fmt.Fprintf(e.stderr, "elicense bench: %s: %d errors, the first: %s\n", k.Name, k.Errors, k.FirstErr)
			code = exitFail
		case k.Weight > 0 && k.Count == 0:
			fmt.Fprintf(e.stderr, "elicense bench: %s never completed (%d skipped for want of material)\n", k.Name, k.Skipped)
			code = exitFail
		}
	}
	// The server's memory over the run is part of the verdict: a run
	// that could not read it cannot say it was level.
	if m := r.Memory; m.Failures > 0 || len(m.Samples) == 0 {
		fmt.Fprintf(e.stderr, "elicense bench: the server's /metrics could not be read (%d failed reads, %d samples)\n", m.Failures, len(m.Samples))
		code = exitFail
	}
	return code
}

// benchCounters are counters in this process, each a store pinning the
// root, synced from the server, with the Checker the counter page
// verifies with. Several, because each store checks and syncs one at a
// time under its lock, as one counter does, and a day has many counters.
type benchCounters struct {
	dir    string
	server string
	all    []*benchCounter
	next   atomic.Uint64
	t      *loadtest.Traffic
	client *http.Client
}

type benchCounter struct {
	st *store.Store
	v  *verifier.Verifier
	ch *store.Checker
}

func openBenchCounters(ctx context.Context, n int, server string, rootPEM []byte, t *loadtest.Traffic) (*benchCounters, error) {
	dir, err := os.MkdirTemp("", "elicense-bench-counters-")
	if err != nil {
		return nil, err
	}
	cs := &benchCounters{dir: dir, server: server, t: t, client: &http.Client{Timeout: time.Minute}}
	for i := range n {
		c, err := cs.open(ctx, filepath.Join(dir, fmt.Sprint(i)), rootPEM)
		if err != nil {
			cs.close()
			return nil, err
		}
		cs.all = append(cs.all, c)
	}
	return cs, nil
}

func (cs *benchCounters) open(ctx context.Context, dir string, rootPEM []byte) (*benchCounter, error) {
	st, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	if _, err := st.AddRoot(rootPEM); err != nil {
		return nil, err
	}
	if _, err := st.Sync(ctx, cs.server, store.SyncOptions{Client: cs.client}); err != nil {
		return nil, fmt.Errorf("first sync: %w", err)
	}
	cache, err := st.Load(time.Now())
	if err != nil {
		return nil, err
	}
	c := &benchCounter{st: st, v: verifier.New(cache.State(), verifier.Options{})}
	c.ch, err = st.NewChecker(c.v, store.CheckerOptions{Counter: "elicense-bench"})
	return c, err
}

func (cs *benchCounters) close() {
	for _, c := range cs.all {
		c.ch.Close()
	}
	os.RemoveAll(cs.dir)
}

// pick takes the counters in turn.
func (cs *benchCounters) pick() *benchCounter {
	return cs.all[(cs.next.Add(1)-1)%uint64(len(cs.all))]
}

func (cs *benchCounters) kinds() []loadtest.Kind {
	return []loadtest.Kind{
		{Name: "sync", Do: func(ctx context.Context) error { return cs.pick().sync(ctx, cs.server, cs.client) }},
		{Name: "verify", Do: func(context.Context) error { return cs.pick().verify(cs.t.Presentation, verifier.Valid) }},
		{Name: "verify-static", Do: func(context.Context) error {
			return cs.pick().verify(func(time.Time) (string, error) { return cs.t.StaticQR() }, verifier.ValidStatic)
		}},
	}
}

// sync is the counter's sync, then the reload a long-running counter
// makes of the store a sync has changed.
func (c *benchCounter) sync(ctx context.Context, server string, client *http.Client) error {
	rep, err := c.st.Sync(ctx, server, store.SyncOptions{Client: client})
	if err != nil {
		return err
	}
	if !rep.Complete() {
		return fmt.Errorf("sync incomplete: lists behind: %v", rep.Behind)
	}
	cache, err := c.st.Load(time.Now())
	if err != nil {
		return err
	}
	c.v.Update(cache.State())
	return nil
}

// verify checks a QR text as the counter page does and expects want.
func (c *benchCounter) verify(text func(time.Time) (string, error), want verifier.Code) error {
	now := time.Now()
	s, err := text(now)
	if err != nil {
		return err
	}
	vd, err := c.ch.Check(s, now)
	if err != nil {
		return err
	}
	if vd.Code != want {
		return fmt.Errorf("verdict %s (%s), want %s", vd.Code, vd.Detail, want)
	}
	return nil
}
