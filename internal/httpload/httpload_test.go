package httpload

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echo answers with the method, path, the headers a load test sets and
// the body, counting the connections it accepts.
func echo(t *testing.T, tls bool) (*httptest.Server, *atomic.Int32) {
	var conns atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Query().Get("close") == "1" {
			w.Header().Set("Connection", "close")
		}
		if r.URL.Query().Get("chunked") == "1" {
			w.WriteHeader(http.StatusAccepted)
			for i := 0; i < 3; i++ {
				io.WriteString(w, strings.Repeat("x", 5000))
				w.(http.Flusher).Flush()
			}
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, r.Method+" "+r.URL.Path+" "+r.Host+" "+r.Header.Get("Authorization")+" "+r.Header.Get("Content-Type")+" "+string(body))
	})
	s := httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s, &conns
}

func TestKeepAlive(t *testing.T) {
	s, conns := echo(t, false)
	c, err := New(Request{Method: "POST", URL: s.URL + "/v1/licences",
		Header: http.Header{"Authorization": {"Bearer T"}, "content-type": {"application/json"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	host := strings.TrimPrefix(s.URL, "http://")
	for i := 0; i < 50; i++ {
		want := "POST /v1/licences " + host + ` Bearer T application/json {"a":` + strings.Repeat("1", i) + "}"
		status, body, err := c.Do(context.Background(), []byte(`{"a":`+strings.Repeat("1", i)+"}"))
		if err != nil || status != http.StatusCreated || string(body) != want {
			t.Fatalf("request %d: %d %q %v, want 201 %q", i, status, body, err, want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("50 requests took %d connections, want 1", n)
	}
}

func TestReconnectsWhenServerCloses(t *testing.T) {
	s, conns := echo(t, false)
	c, err := New(Request{Method: "POST", URL: s.URL + "/x?close=1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 3; i++ {
		if status, _, err := c.Do(context.Background(), []byte("b")); err != nil || status != http.StatusCreated {
			t.Fatalf("request %d: %d %v", i, status, err)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("3 answers with Connection: close took %d connections, want 3", n)
	}
}

func TestChunkedAnswerReadWhole(t *testing.T) {
	s, _ := echo(t, false)
	c, err := New(Request{URL: s.URL + "/x?chunked=1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 2; i++ {
		status, body, err := c.Do(context.Background(), nil)
		if err != nil || status != http.StatusAccepted || len(body) != 15000 {
			t.Fatalf("request %d: %d, %d bytes, %v", i, status, len(body), err)
		}
	}
}

func TestHTTPS(t *testing.T) {
	s, conns := echo(t, true)
	tr := s.Client().Transport.(*http.Transport)
	c, err := New(Request{Method: "POST", URL: s.URL + "/v1/x", TLS: tr.TLSClientConfig})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 3; i++ {
		if status, body, err := c.Do(context.Background(), []byte("b")); err != nil || status != http.StatusCreated || !strings.HasSuffix(string(body), " b") {
			t.Fatalf("request %d: %d %q %v", i, status, body, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("3 TLS requests took %d connections, want 1", n)
	}
	// Without the test CA the handshake fails, with a reason.
	c2, _ := New(Request{URL: s.URL})
	if _, _, err := c2.Do(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted server: %v", err)
	}
}

func TestDeadline(t *testing.T) {
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer s.Close()
	defer close(release)
	c, _ := New(Request{URL: s.URL})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := c.Do(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow server: %v, want the context's deadline", err)
	}
	// Cancelling ends a request in flight at once.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	t0 := time.Now()
	if _, _, err := c.Do(ctx, nil); !errors.Is(err, context.Canceled) || time.Since(t0) > 5*time.Second {
		t.Fatalf("cancelled request: %v after %v", err, time.Since(t0))
	}
	c.timeout = 50 * time.Millisecond
	if _, _, err := c.Do(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("slow server with a 50 ms timeout: %v", err)
	}
}

func TestServerGone(t *testing.T) {
	s, _ := echo(t, false)
	c, _ := New(Request{URL: s.URL})
	defer c.Close()
	if _, _, err := c.Do(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	s.CloseClientConnections()
	s.Close()
	if _, _, err := c.Do(context.Background(), nil); err == nil {
		t.Fatal("no error from a server that went away")
	}
}

func TestNewRefuses(t *testing.T) {
	for _, r := range []Request{
		{URL: "ftp://example/"},
		{URL: "http:///path"},
		{URL: "http://%zz"},
		{URL: "http://127.0.0.1/", Header: http.Header{"X": {"a\r\nInjected: 1"}}},
	} {
		if _, err := New(r); err == nil || !strings.HasPrefix(err.Error(), "httpload: ") {
			t.Errorf("New(%+v) = %v, want an httpload error", r, err)
		}
	}
}
