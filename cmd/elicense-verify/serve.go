package main

import (
	"context"
	"errors"
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

// serve runs the counter page on addr until SIGINT or SIGTERM.
func serve(e env, c common, addr string) int {
	if err := loopbackAddr(addr); err != nil {
		return fail(e, err)
	}
	ss, err := open(c, e.now())
	if err != nil {
		return fail(e, err)
	}
	defer ss.ch.Close()
	var mu sync.Mutex // one check at a time: the replay file is read, extended and written
	verify := func(text string, now time.Time) verifier.Verdict {
		mu.Lock()
		defer mu.Unlock()
		vd, err := ss.check(text, now)
		if err != nil {
			fmt.Fprintln(e.stderr, "elicense-verify: serve:", err)
			vd.Warnings = append(vd.Warnings, "核验记录写入失败 / writing the verification log failed: "+err.Error())
		}
		return vd
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fail(e, err)
	}
	srv := &http.Server{
		Handler:           counter.New(counter.Options{Verify: verify, Now: e.now}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(e.stderr, "elicense-verify: counter page on http://%s/ (Ctrl-C to stop)\n", ln.Addr())
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
