package pgstate_test

import (
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"elicense/issuer/state"
	"elicense/issuer/state/pgstate"
)

// silentProxy forwards TCP connections to a server until frozen; then
// it passes nothing either way and closes nothing, as a dead peer or a
// network partition does. thaw drops the connections it froze.
type silentProxy struct {
	l      net.Listener
	up     string
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newSilentProxy(t *testing.T, up string) *silentProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &silentProxy{l: l, up: up}
	t.Cleanup(func() { l.Close(); p.thaw() })
	go p.serve()
	return p
}

func (p *silentProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		p.mu.Unlock()
		if p.frozen.Load() {
			continue // accepted, never answered
		}
		u, err := net.Dial("tcp", p.up)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, u)
		p.mu.Unlock()
		go p.pipe(u, c)
		go p.pipe(c, u)
	}
}

// pipe copies src to dst, dropping what it reads while frozen.
func (p *silentProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				dst.Close()
			}
			return
		}
	}
}

func (p *silentProxy) freeze() { p.frozen.Store(true) }

func (p *silentProxy) thaw() {
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.frozen.Store(false)
}

// TestSilentServer: a server that stops answering without closing its
// connections fails every operation the ledger's sequencer waits for
// with state.ErrUnavailable within Options.OpTimeout (and a connection
// attempt within ConnectTimeout), instead of hanging; once it answers
// again the store works.
func TestSilentServer(t *testing.T) {
	dsn := testDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := newSilentProxy(t, u.Host)
	u.Host = p.l.Addr().String()
	o := pgstate.Options{Schema: "t_pg_silent", ConnectTimeout: 300 * time.Millisecond, OpTimeout: 700 * time.Millisecond}

	p.freeze()
	start := time.Now()
	if _, err := pgstate.Open(ctx, u.String(), o); !errors.Is(err, state.ErrUnavailable) || time.Since(start) > 3*time.Second {
		t.Fatalf("Open on a server that never answers: %v after %v", err, time.Since(start))
	}
	p.thaw()

	// A fresh schema (a run that timed out leaves its own), dropped at the end.
	if err := pgstate.DropSchema(ctx, dsn, o.Schema); err != nil {
		t.Fatal(err)
	}
	openTest(t, dsn, o.Schema).Close()
	s, err := pgstate.Open(ctx, u.String(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := insert(s, record("S-1", "S-1", 1, "")); err != nil {
		t.Fatal(err)
	}
	if lead, err := shared(s).Lead(ctx); !lead || err != nil {
		t.Fatalf("Lead: %v %v", lead, err)
	}

	p.freeze()
	for _, c := range []struct {
		op string
		do func() error
	}{
		{"a ledger transaction", func() error { _, err := insert(s, record("S-2", "S-1", 2, "")); return err }},
		{"reading the head", func() error { _, err := s.Ledger().State(ctx); return err }},
		{"checking the lead", func() error {
			if lead, err := shared(s).Lead(ctx); err != nil || lead {
				return err
			}
			return state.ErrUnavailable // lost the lead: what a dead connection means
		}},
		{"Ping", func() error { return s.Ping(ctx) }},
	} {
		start := time.Now()
		err := c.do()
		took := time.Since(start)
		if !errors.Is(err, state.ErrUnavailable) || took > 3*time.Second {
			t.Errorf("%s on a silent server: %v after %v", c.op, err, took)
		}
	}

	p.thaw()
	if !eventually(func() bool { _, err = insert(s, record("S-2", "S-1", 2, "")); return err == nil }) {
		t.Fatalf("the store does not recover: %v", err)
	}
	if st, err := s.Ledger().State(ctx); err != nil || st.Size != 2 {
		t.Fatalf("ledger after the silence: %+v %v (want 2 entries)", st, err)
	}
}
