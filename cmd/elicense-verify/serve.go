package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"elicense/verifier"
	"elicense/verifier/counter"
	vofd "elicense/verifier/ofd"
	"elicense/verifier/store"
)

// loopbackAddr checks that addr listens on a loopback address only: the
// counter page has no login and must not be reachable from the network.
func loopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("serve: bad --addr %q: %v", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("serve: refusing to listen on %q: the counter page has no login and serves loopback only (use 127.0.0.1 or [::1])", addr)
	}
	return nil
}

var cmdServe = &command{
	name:    "serve",
	summary: "run the counter web page on a loopback address",
	common:  withCounter | withSync,
	usage: `
Usage: elicense-verify serve [--addr 127.0.0.1:8090] [--sync-every D] [--from URL]
                            [--upload-receipts URL --token-file FILE]

Serves the counter page (scanner input, camera photo, and signed OFD
files checked as "ofd" does with the store's roots and TSA roots, read
again for each file) and its JSON API on a loopback address until
Ctrl-C. While it runs it syncs on a schedule (--sync-every, ±10 %
jitter, backing off on failure), picks up within seconds a sync made by
any other process on the store, and swaps the new trust data in without
dropping a request; a failed sync keeps the last good data and shows on
the page, which also has a 立即同步 (sync now) button. Checks share the store's replay memory and verification log
with check, scan and image, in any process.

With --upload-receipts it also uploads the store's counter receipts
(elicense-verify receipts --help) to that issuer with the counter token
in --token-file: every 5 minutes and soon after each sync; a failure is
logged and the receipts kept for the next turn.

Examples:
  elicense-verify serve
  elicense-verify serve --addr 127.0.0.1:9000 --sync-every 2m
  elicense-verify serve --sync-every 0     # never sync by itself
  elicense-verify serve --upload-receipts https://elicense.example.gov.cn --token-file /etc/elicense/counter.token
`,
	flags: func(fs *flag.FlagSet, o *options) {
		fs.String("addr", "127.0.0.1:8090", "listen `address` (loopback only)")
		fs.String("upload-receipts", "", "issuer base `URL` to upload counter receipts to (with --token-file)")
		fs.String("token-file", "", "`file` holding a counter token of that issuer")
	},
	run: func(e env, o *options, args []string) int {
		if len(args) != 0 {
			return usageError(e, "serve", "unexpected argument %q", args[0])
		}
		var up *store.UploadOptions
		if to, tf := flagValue(o, "upload-receipts"), flagValue(o, "token-file"); to != "" || tf != "" {
			opts, err := uploadOptions(to, tf)
			if err != nil {
				return usageError(e, "serve", "--upload-receipts: %v", err)
			}
			up = &opts
		}
		return serve(e, o, flagValue(o, "addr"), up)
	},
}

// storeError is the verdict shown when the store's shared files cannot be
// used: nothing is accepted until the operator repairs them.
func storeError(err error) verifier.Verdict {
	return verifier.Verdict{Code: verifier.NoTrust, Headline: verifier.NoTrust.Headline(),
		Message:   "本机核验存储（重放记录或核验日志）不可用，无法核验；请按详情处理后重试。",
		MessageEN: "The counter's store (replay memory or verification log) cannot be used; nothing is verified until it is repaired (see detail).",
		Detail:    err.Error()}
}

// storeOFDTrust is the trust `ofd --store` uses without --trust: the
// pinned roots and TSA roots and, once synced, the bundle's revoked seals,
// its agency keys and the status lists a licence file's licence is checked
// with. The counter page calls it for each upload, so a TSA root pinned or
// removed while serve runs counts from the next upload.
func storeOFDTrust(s *store.Store, now time.Time) (vofd.Options, error) {
	roots, err := s.Roots()
	if err != nil && !errors.Is(err, store.ErrNoRoots) {
		return vofd.Options{}, err
	}
	tsaRoots, err := s.TSARoots()
	if err != nil {
		return vofd.Options{}, err // pinned TSA roots that do not read must not pass as none
	}
	opts := vofd.Options{Roots: roots, TSARoots: tsaRoots}
	var st verifier.State // without synced trust data, a licence file's licence is LICENCE_UNCHECKED
	switch cache, err := s.Load(now); {
	case err == nil:
		st = cache.State()
		if st.Bundle != nil {
			opts.Status = st.Bundle
		}
	case !errors.Is(err, store.ErrNoCache) && !errors.Is(err, store.ErrNoRoots):
		return vofd.Options{}, err
	}
	opts.Licences = verifier.New(st, verifier.Options{})
	return opts, nil
}

// serve runs the counter page on addr until SIGINT or SIGTERM.
func serve(e env, o *options, addr string, up *store.UploadOptions) int {
	if err := loopbackAddr(addr); err != nil {
		return fail(e, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	k, ss, err := openKept(ctx, e, o)
	if err != nil {
		return fail(e, err)
	}
	defer ss.ch.Close()
	verify := func(text string, now time.Time) verifier.Verdict {
		k.Refresh()
		vd, err := ss.ch.Check(text, now)
		if err != nil {
			fmt.Fprintln(e.stderr, "elicense-verify: serve:", err)
			return storeError(err)
		}
		return vd
	}
	status := func() counter.TrustStatus {
		st := k.Status()
		return counter.TrustStatus{SyncedAt: st.SyncedAt, From: st.From, BundleSeq: st.BundleSeq, NextSync: st.NextSync,
			LastAttempt: st.LastAttempt, LastError: st.LastError, Warnings: st.Warnings, Syncing: st.Syncing}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fail(e, err)
	}
	srv := &http.Server{
		Handler: counter.New(counter.Options{Verify: verify, Now: e.now, TrustStatus: status, SyncNow: k.SyncNow,
			OFDTrust: func() (vofd.Options, error) { return storeOFDTrust(ss.s, e.now()) }}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second, // above counter.SyncTimeout: a sync-now request waits for the sync
		IdleTimeout:       2 * time.Minute,
	}
	var wg sync.WaitGroup
	kctx, cancel := context.WithCancel(ctx)
	wg.Go(func() { k.Run(kctx) })
	if up != nil {
		synced := func() time.Time { return k.Status().SyncedAt }
		wg.Go(func() { uploader(kctx, e, ss.s, *up, synced, store.DefaultPoll) })
	}
	defer func() { cancel(); wg.Wait() }()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	every := "never (--sync-every 0)"
	if o.syncEvery > 0 {
		every = "every " + o.syncEvery.String()
	}
	fmt.Fprintf(e.stderr, "elicense-verify: counter page on http://%s/ (Ctrl-C to stop); trust bundle %d, syncing %s\n", ln.Addr(), k.Status().BundleSeq, every)
	if up != nil {
		fmt.Fprintf(e.stderr, "elicense-verify: uploading counter receipts to %s every %s and after each sync\n", up.To, uploadEvery)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fail(e, err)
		}
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fail(e, err)
		}
	}
	return exitOK
}
