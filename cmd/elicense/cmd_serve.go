package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"elicense/certs/trust"
	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
	"elicense/internal/runtimecfg"
	"elicense/issuer/api"
	"elicense/issuer/console"
	"elicense/issuer/pki"
	"elicense/issuer/publish"
	"elicense/issuer/service"
	"elicense/issuer/state"
	"elicense/issuer/status"
	"elicense/issuer/wallet"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

const (
	defaultAddr = "127.0.0.1:8080"
	defaultData = "elicense-data"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "run the issuer HTTP server (makes a dev PKI and admin token on first start)",
		usage: `
Usage: elicense serve [--addr HOST:PORT] [--data DIR] [--store DSN] [--public-url URL] [--production]
                      [--passphrase-file FILE] [--config FILE] [--log-level LEVEL]
                      [--gc-percent N] [--gomaxprocs N] [--holder-merge-at N]
                      [--trusted-proxies CIDR[,CIDR]] [--token-leeway DURATION]
                      [--publish-dir DIR]

Serves the issuer API under /v1 (OpenAPI at /v1/openapi.json), /healthz,
/readyz and Prometheus /metrics, with the ledger (an SM3 Merkle log) and the
issuer state it indexes in one file, DIR/ledger.db, or, with --store, in a
PostgreSQL database (postgres://user@host:5432/db?sslmode=…; the schema is
made at the first start). Several servers may share one database: each
keeps nothing of its own, one of them signs the ledger's checkpoints, and
they read the PKI and keys from one DIR (docs/deployment.md). While the
database cannot be reached, /readyz and every call that needs it answer
503 with the reason; the server carries on by itself when it is back.

Development mode (the default) makes on a first start with an empty DIR
everything a trial needs: a development PKI in DIR/pki (root, nine agencies
covering the 17 licence classes, ledger key), a key passphrase in
DIR/passphrase unless one is given, an operator-token key, and an admin
token saved in DIR/admin.token (mode 0600; the log says where, never the
token itself).

--production (ELICENSE_PRODUCTION=true, config key production) is for a
deployment: it makes no PKI (DIR/pki must hold the deployment's, made with
its root), refuses a passphrase kept inside DIR (give --passphrase-file
outside it, ELICENSE_PASSPHRASE_FILE or ELICENSE_PASSPHRASE), and never
writes or prints a token: mint the first admin token with
  elicense token create --data DIR --subject ops-admin --role admin
Either way the log's first lines say which mode runs.

Settings come from flags, else the environment (ELICENSE_ADDR, ELICENSE_DATA, ELICENSE_STORE,
ELICENSE_PUBLIC_URL, ELICENSE_PASSPHRASE_FILE or ELICENSE_PASSPHRASE,
ELICENSE_LOG_LEVEL, ELICENSE_GC_PERCENT, ELICENSE_GOMAXPROCS,
ELICENSE_HOLDER_MERGE_AT, ELICENSE_TRUSTED_PROXIES, ELICENSE_TOKEN_LEEWAY),
else the JSON config file (keys addr, data, store, public_url, passphrase_file,
log_level, gc_percent, gomaxprocs, holder_merge_at, trusted_proxies,
token_leeway), else the defaults. The passphrase is never a flag value.

The client address (which the claim endpoints' rate limit is kept by) is
the TCP peer. Behind a reverse proxy, list it in --trusted-proxies: from
those peers only, X-Forwarded-For (its right-most address that is not a
trusted proxy) or else X-Real-IP names the client. From any other peer the
headers are ignored, since a client can write them.

Operator tokens are checked as RFC 7519 says, pinned to this deployment's
audience; a token is still taken --token-leeway (30s, at most 10m; 0s for
none) after its "exp", and that long before its "iat" or "nbf", for
clocks that disagree a little.

New licences wait in a log until --holder-merge-at of them (32,768) are
sorted and merged into the holder index, so that issuance does not rewrite a
random page of it each time; a search by holder reads the waiting ones too
(0.5 ms for 32,768).

The collector runs at --gc-percent 400 rather than Go's 100: an issuance
allocates about 40 KB against a small live heap, and at 100 collection took
a fifth of the CPU (durable issuances per second: library 6,300 → 8,200,
HTTP 3,300 → 4,500). The heap grows to five times the live data plus 64 MiB:
a 12.8 MiB ballast, never resident, counts as live, because with a live heap
of a few megabytes the collector otherwise ran some 30 times a second, mostly
on fixed work (≈ 6 % of the CPU).
GOMAXPROCS is twice the CPUs (--gomaxprocs 0): the ledger's writer blocks in
fdatasync twice a commit, and with one P per core it then waits for a P
behind the requests being built, holding up every request in its batch
(HTTP 5,000 → 6,400 durable issuances per second on 2 cores). Setting it
turns off Go's own updates of GOMAXPROCS when a container's CPU limit
changes: restart after changing the limit. GOGC and GOMAXPROCS in the
environment win over both flags.

--publish-dir DIR (ELICENSE_PUBLISH_DIR, config key publish_dir) keeps DIR
current for a static web server or CDN, as "elicense publish --to DIR" does,
within a second or so of each new checkpoint or status change.

SIGINT or SIGTERM stops accepting requests, finishes those in flight (every
acknowledged write is already durable), and closes the files.

Examples:
  elicense serve
  elicense serve --addr 127.0.0.1:9000 --data /srv/elicense --public-url https://licences.example.gov.cn
  ELICENSE_PASSPHRASE_FILE=/run/secrets/pass elicense serve --config /etc/elicense.json
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("addr", defaultAddr, "listen `address`")
			fs.String("data", defaultData, "data `directory`")
			fs.String("store", "", storeHelp)
			fs.String("public-url", "", "base `URL` counters reach the server at (default http://ADDR)")
			fs.String("passphrase-file", "", "read the key passphrase from `file`")
			fs.Bool("production", false, "production mode: no development PKI, no passphrase inside the data directory, no token written")
			fs.String("config", "", "optional JSON config `file`")
			fs.String("log-level", "info", "log `level`: debug, info, warn, error")
			fs.Int("gc-percent", runtimecfg.DefaultGCPercent, "garbage collector target `percent`, as GOGC (GOGC in the environment wins)")
			fs.Int("holder-merge-at", service.DefaultHolderMergeAt, "merge new licences into the holder index once this many `count` wait (a holder search reads them all)")
			fs.Float64("rp-rate", api.DefaultRPRate, "credential fetches a `rate` each relying party may make of this replica a second (bursts of twice that)")
			fs.String("trusted-proxies", "", "comma-separated `CIDRs` of reverse proxies whose X-Forwarded-For / X-Real-IP name the client (default: none)")
			fs.Duration("token-leeway", api.DefaultTokenLeeway, "take operator tokens this `duration` past their expiry (clock skew; at most 10m)")
			fs.String("publish-dir", "", "keep `DIR` current as a static publication for counters (elicense publish)")
			fs.Int("gomaxprocs", 0, "`Ps` for Go code, as GOMAXPROCS; 0 means twice the CPUs (GOMAXPROCS in the environment wins)")
		},
		run: runServe,
	})
}

// setting resolves one setting: flag, environment, config file, default.
func setting(e *env, fs *flag.FlagSet, cfg map[string]string, name string) string {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	if set {
		return fs.Lookup(name).Value.String()
	}
	envName := "ELICENSE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	if v, ok := e.lookupEnv(envName); ok && v != "" {
		return v
	}
	if v, ok := cfg[strings.ReplaceAll(name, "-", "_")]; ok {
		return v
	}
	return fs.Lookup(name).DefValue
}

func runServe(e *env, fs *flag.FlagSet) int {
	cfg, err := loadConfig(fs.Lookup("config").Value.String())
	if err != nil {
		return usageError(e, "serve", "%v", err)
	}
	get := func(name string) string { return setting(e, fs, cfg, name) }
	var level slog.Level
	if err := level.UnmarshalText([]byte(get("log-level"))); err != nil {
		return usageError(e, "serve", "--log-level: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	pct, err := strconv.Atoi(get("gc-percent"))
	if err != nil || pct < 25 {
		return usageError(e, "serve", "--gc-percent: %q is not a percentage of at least 25", get("gc-percent"))
	}
	procs, err := strconv.Atoi(get("gomaxprocs"))
	if err != nil || procs < 0 {
		return usageError(e, "serve", "--gomaxprocs: %q is not a number of Ps (0 for twice the CPUs)", get("gomaxprocs"))
	}
	mergeAt, err := strconv.Atoi(get("holder-merge-at"))
	if err != nil || mergeAt < 1 {
		return usageError(e, "serve", "--holder-merge-at: %q is not a positive count", get("holder-merge-at"))
	}
	rpRate, err := strconv.ParseFloat(get("rp-rate"), 64)
	if err != nil || !(rpRate > 0) {
		return usageError(e, "serve", "--rp-rate: %q is not a positive rate", get("rp-rate"))
	}
	proxies, err := api.ParseTrustedProxies(get("trusted-proxies"))
	if err != nil {
		return usageError(e, "serve", "--trusted-proxies: %v", err)
	}
	leeway, err := time.ParseDuration(get("token-leeway"))
	if err != nil || leeway < 0 || leeway > api.MaxTokenLeeway {
		return usageError(e, "serve", "--token-leeway: %q is not a duration from 0s to %v", get("token-leeway"), api.MaxTokenLeeway)
	}
	if leeway == 0 {
		leeway = -1 // none; TokenOptions takes 0 as the default
	}
	rt := runtimecfg.Apply(runtimecfg.Settings{GCPercent: pct, Procs: procs, LookupEnv: e.lookupEnv})
	addr, d := get("addr"), dataDir(get("data"))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense serve: %v\n", err)
		return exitFail
	}
	publicURL := strings.TrimSuffix(get("public-url"), "/")
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	production, err := strconv.ParseBool(get("production"))
	if err != nil {
		ln.Close()
		return usageError(e, "serve", "--production: %q is not true or false", get("production"))
	}
	if production {
		log.Info("production mode: no development PKI, no passphrase file inside the data directory, no token written")
	} else {
		log.Warn("development mode: a PKI, a passphrase file beside the keys and an admin token file are made on first start; use --production for a deployment")
	}
	if _, err := storeKind(get("store")); err != nil {
		ln.Close()
		return usageError(e, "serve", "%v", err)
	}
	srv, cleanup, err := buildServer(e, d, serveSettings{store: get("store"), passFile: get("passphrase-file"), publicURL: publicURL, holderMergeAt: mergeAt, trustedProxies: proxies, tokenLeeway: leeway, production: production, publishDir: get("publish-dir"), rpRate: rpRate}, log)
	if err != nil {
		ln.Close()
		fmt.Fprintf(e.stderr, "elicense serve: %v\n", err)
		return exitFail
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "public_url", publicURL, "data", string(d), "store", storeName(d, get("store")), "gomaxprocs", rt.GOMAXPROCS, "gc_percent", rt.GCPercent, "gc_min_heap", rt.MinHeap,
		"trusted_proxies", get("trusted-proxies"))
	if !production {
		welcome(e, d, publicURL)
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	if cerr := cleanup(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("server stopped", "err", err)
		return exitFail
	}
	log.Info("stopped")
	return exitOK
}

// serveSettings are the resolved settings buildServer uses.
type serveSettings struct {
	store          string // --store: "" for DIR/ledger.db, or a DSN
	passFile       string
	publicURL      string
	rpRate         float64
	holderMergeAt  int
	trustedProxies []netip.Prefix
	tokenLeeway    time.Duration // as api.TokenOptions.Leeway
	production     bool          // no dev PKI, no passphrase inside the data directory, no token written
	publishDir     string        // kept current as a static publication (cmd_publish.go)
}

// buildServer opens (or on first start creates) everything in d and
// returns the HTTP server and a function that closes it all in order.
func buildServer(e *env, d dataDir, ss serveSettings, log *slog.Logger) (*http.Server, func() error, error) {
	passFile, publicURL, holderMergeAt := ss.passFile, ss.publicURL, ss.holderMergeAt
	if _, err := os.Stat(d.path("state.db")); err == nil {
		return nil, nil, fmt.Errorf("%s is from an older layout with the state in a file of its own; the state now lives in %s with the ledger (one transaction, one fsync per change). Start with a fresh data directory", d.path("state.db"), d.ledger())
	}
	var p *pki.PKI
	var pw []byte
	var err error
	if ss.production {
		p, pw, err = productionPKI(e, d, passFile)
	} else {
		p, pw, err = ensurePKI(e, d, passFile)
	}
	if err == nil {
		p, err = ensureReceiptKey(e, d, p, pw)
	}
	if err != nil {
		return nil, nil, err
	}
	tk, err := tokenKey(d, pw)
	if err != nil {
		return nil, nil, fmt.Errorf("token key: %w", err)
	}
	data, err := openData(d, ss.store, ledger.Options{Origin: ledgerOrigin(p.Manifest.Root.KeyID), Signer: p.Ledger.Signer, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	lg, st := data.Ledger, data.Store
	audit, err := auditKey(e, d, pw, lg.Size() == 0)
	if err != nil {
		data.Close()
		return nil, nil, fmt.Errorf("ledger audit key: %w", err)
	}
	codes := make([]string, len(p.Agencies))
	for i, a := range p.Agencies {
		codes[i] = a.Code
	}
	sm := status.New(status.Options{BaseURL: publicURL, Signer: p.Ledger.Signer, KeyID: p.Ledger.KeyID, Agencies: codes})
	reg := prometheus.NewRegistry()
	appendLatency := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "elicense_ledger_append_seconds", Help: "Time for a durable ledger append (batching and fsync included).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	})
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(appendLatency, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "elicense_holder_log_entries", Help: "New licences waiting to be merged into the holder index (a holder search reads them all).",
	}, func() float64 { return float64(st.HolderLogLen()) }))
	svc, err := service.New(service.Options{PKI: p, Store: st, Ledger: timedLedger{lg, appendLatency}, Status: sm, Audit: audit, Logger: log, HolderMergeAt: holderMergeAt, Passphrase: pw, BaseURL: publicURL})
	if err == nil {
		err = svc.Recover(context.Background())
	}
	if err != nil {
		data.Close()
		return nil, nil, err
	}
	tokens, err := api.NewTokensWith(api.TokenOptions{Signer: tk, Audience: audience(p), Store: st, Leeway: ss.tokenLeeway})
	if err != nil {
		data.Close()
		return nil, nil, err
	}
	if !ss.production {
		if err := ensureAdminToken(e, d, tokens, log); err != nil {
			data.Close()
			return nil, nil, err
		}
	}
	pub := publish.New(publish.Options{Current: svc.PKI, Status: sm, Ledger: lg, RevokedSeals: func() ([]trust.RevokedSeal, error) {
		seals, err := st.RevokedSeals()
		out := make([]trust.RevokedSeal, len(seals))
		for i, r := range seals {
			out[i] = trust.RevokedSeal{ESID: r.ESID, Since: r.RevokedAt.UTC().Truncate(time.Second), Reason: r.Reason}
		}
		return out, err
	}})
	backup, elsewhere := data.Backend.Backup, ""
	if _, shared := data.Backend.(state.Shared); shared {
		backup, elsewhere = nil, "this deployment keeps its ledger and state in PostgreSQL: back it up with pg_dump or a base backup and WAL archiving (docs/deployment.md, Backups)"
	}
	handler := api.New(api.Options{Service: svc, Store: st, Ledger: lg, Tokens: tokens, Publisher: pub, Logger: log, Registry: reg,
		Console: console.Handler(), Wallet: walletHandler(ss.production, log), Ready: ready(pub, data.Backend), Backup: backup, BackupElsewhere: elsewhere,
		Tiles: func(ctx context.Context, t tlog.Tile) ([]byte, error) {
			// The entries the tile covers, which another replica may
			// have appended since this one looked.
			need := uint64(math.MaxUint64)
			if t.Level < 7 && t.Index < 1<<40 {
				need = (t.Index*256 + uint64(t.Width)) << (8 * uint64(t.Level))
			}
			return ledger.ReadTile(ctx, lg.Store(), lg.SizeFor(need), t)
		}, TrustedProxies: ss.trustedProxies, RPRate: ss.rpRate})
	stopPublishing := func() {}
	if ss.publishDir != "" {
		if stopPublishing, err = startPublishing(ss.publishDir, p, lg, sm, pub, log); err != nil {
			svc.Close()
			data.Close()
			return nil, nil, err
		}
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	cleanup := func() error {
		stopPublishing()
		return errors.Join(svc.Close(), data.Close())
	}
	return srv, cleanup, nil
}

// walletHandler serves the web wallet. A binary built without its
// WebAssembly (go run, or go build without go generate) builds it at start
// in development, so the run command is the whole product; a production
// binary is built with it (README, Build), and without it /wallet/ says so.
func walletHandler(production bool, log *slog.Logger) http.Handler {
	if wallet.HasWasm() {
		return wallet.Handler()
	}
	if production {
		log.Warn("this binary has no web wallet: build it with go generate ./issuer/wallet before go build")
		return wallet.Handler()
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "elicense", "wallet")
	log.Info("building the web wallet's WebAssembly in the background (a minute or two the first time, seconds after)", "dir", dir)
	return wallet.New(wallet.Options{Module: wallet.Build(context.Background(), dir, log).Module})
}

// welcome tells a developer on a first run where everything is and what to
// try next, on stderr beside the log.
func welcome(e *env, d dataDir, url string) {
	fmt.Fprintf(e.stderr, `
  elicense is serving (development mode) on %[1]s
    agency console    %[1]s/console/   (sign in with the admin token)
    holder wallet     %[1]s/wallet/
    admin token       %[2]s
    root certificate  %[3]s   (counters pin it: elicense-verify trust add %[3]s)
    next              ADMIN=$(cat %[2]s); curl -s %[1]s/v1/licences -H "Authorization: Bearer $ADMIN"

`, url, d.adminToken(), filepath.Join(d.pki(), pki.RootCertFile))
}

// ready is /readyz's check: the publisher can sign, and a networked
// database answers.
func ready(pub *publish.Publisher, b state.Backend) func() error {
	p, _ := b.(interface{ Ping(context.Context) error })
	return func() error {
		if err := pub.Err(); err != nil || p == nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return p.Ping(ctx)
	}
}

// timedLedger measures each durable append for /metrics.
type timedLedger struct {
	*ledger.Log[state.Tx]
	h prometheus.Histogram
}

func (t timedLedger) AppendWith(ctx context.Context, es [][]byte, fn func(state.Tx, uint64) error) (uint64, error) {
	start := time.Now()
	first, err := t.Log.AppendWith(ctx, es, fn)
	t.h.Observe(time.Since(start).Seconds())
	return first, err
}

// ensureAdminToken mints the first admin token on a development first
// start and saves it (0600); the log says where, never the token: logs go
// to journald and container log stores.
func ensureAdminToken(e *env, d dataDir, tokens *api.Tokens, log *slog.Logger) error {
	if _, err := os.Stat(d.adminToken()); err == nil {
		return nil
	}
	tok, _, err := tokens.Mint(service.Operator{Subject: "admin", Role: service.RoleAdmin}, 365*24*time.Hour)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(d.adminToken(), []byte(tok+"\n"), 0o600); err != nil {
		return err
	}
	log.Info("first start: an admin token, valid one year, is in its file (mode 0600)", "file", d.adminToken())
	return nil
}
