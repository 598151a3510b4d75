package httpload

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Request is what a Client sends each time, but for the body.
type Request struct {
	Method string
	URL    string // http:// or https://
	Header http.Header
	// TLS configures https URLs; nil means crypto/tls's defaults.
	TLS *tls.Config
	// Timeout bounds one request from write to the end of the answer;
	// zero means a minute.
	Timeout time.Duration
}

// Client sends one Request on one connection, reconnecting when the
// server closes it. A Client is not safe for concurrent use: a load test
// gives each of its workers its own.
type Client struct {
	addr    string
	tls     *tls.Config
	head    []byte // request line and headers, up to Content-Length
	out     []byte // head, length and body as written
	timeout time.Duration

	conn net.Conn
	br   *bufio.Reader
	buf  bytes.Buffer
}

// New prepares a Client for r. It does not connect.
func New(r Request) (*Client, error) {
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("httpload: %w", err)
	}
	c := &Client{timeout: r.Timeout}
	if c.timeout <= 0 {
		c.timeout = time.Minute
	}
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
		c.tls = r.TLS
		if c.tls == nil {
			c.tls = &tls.Config{}
		}
		if c.tls.ServerName == "" {
			c.tls = c.tls.Clone()
			c.tls.ServerName = u.Hostname()
		}
	default:
		return nil, fmt.Errorf("httpload: URL scheme %q, want http or https", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("httpload: URL %q has no host", r.URL)
	}
	c.addr = net.JoinHostPort(u.Hostname(), port)
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, u.RequestURI(), u.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			if !validHeader(k) || !validHeader(v) {
				return nil, fmt.Errorf("httpload: header %q has a line break", k)
			}
			fmt.Fprintf(&b, "%s: %s\r\n", http.CanonicalHeaderKey(k), v)
		}
	}
	c.head = b.Bytes()
	return c, nil
}

func validHeader(s string) bool { return !strings.ContainsAny(s, "\r\n") }

// Do sends the request with body (none if nil) and returns the answer's
// status and body. The answer is valid until the next call. When ctx ends first, Do returns ctx's
// error; any other error means no complete answer was read. After an
// error the connection is dropped.
func (c *Client) Do(ctx context.Context, body []byte) (int, []byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	if c.conn == nil {
		if err := c.dial(ctx); err != nil {
			return 0, nil, err
		}
	}
	deadline := time.Now().Add(c.timeout)
	d, byCtx := ctx.Deadline()
	if byCtx && d.Before(deadline) {
		deadline = d
	}
	conn := c.conn
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	c.out = append(c.out[:0], c.head...)
	if body != nil {
		c.out = append(strconv.AppendInt(append(c.out, "Content-Length: "...), int64(len(body)), 10), "\r\n"...)
	}
	c.out = append(append(c.out, "\r\n"...), body...)
	status, answer, keep, err := c.roundTrip()
	stop()
	if err != nil || !keep {
		c.Close()
	}
	if err != nil {
		// The connection's deadline can fire a moment before ctx's own
		// timer marks it done.
		if byCtx && !time.Now().Before(d) {
			<-ctx.Done()
		}
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		return 0, nil, fmt.Errorf("httpload: %w", err)
	}
	return status, answer, nil
}

func (c *Client) roundTrip() (status int, body []byte, keep bool, err error) {
	if _, err := c.conn.Write(c.out); err != nil {
		return 0, nil, false, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, nil, false, err
	}
	c.buf.Reset()
	_, err = c.buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, nil, false, err
	}
	return resp.StatusCode, c.buf.Bytes(), !resp.Close, nil
}

func (c *Client) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: c.timeout}
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return fmt.Errorf("httpload: %w", err)
	}
	if c.tls != nil {
		tc := tls.Client(conn, c.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("httpload: %w", err)
		}
		conn = tc
	}
	c.conn = conn
	if c.br == nil {
		c.br = bufio.NewReaderSize(conn, 16<<10)
	} else {
		c.br.Reset(conn)
	}
	return nil
}

// Close drops the connection; the next Do opens a new one.
func (c *Client) Close() error {
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

var _ io.Closer = (*Client)(nil)
