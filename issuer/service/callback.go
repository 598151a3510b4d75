package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Callbacks tell a relying party that a holder answered its request
// (docs/consent.md §5): best effort, off the holder's answer. A full
// queue drops the notice (the party can always poll the request).
const (
	callbackTries   = 3
	callbackTimeout = 5 * time.Second // one try
	callbackQueue   = 1024
	callbackWorkers = 4
)

// checkCallback accepts an https URL, or an http one to a loopback
// address (a party's local relay), without user information or a
// fragment.
func checkCallback(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid("callback", "not a URL: %v", err)
	}
	if u.User != nil || u.Fragment != "" || u.Opaque != "" || u.Host == "" {
		return invalid("callback", "a callback is scheme://host/path, without user information or fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return invalid("callback", "an http callback must go to a loopback address; use https")
	}
	return invalid("callback", "a callback URL is https (or http to a loopback address), not %q", u.Scheme)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// callbackNotice is what a party's callback receives.
type callbackNotice struct {
	Request string `json:"request"`
	Grant   string `json:"grant,omitempty"`
	State   string `json:"state"`              // granted | refused
	RPState string `json:"rp_state,omitempty"` // the party's own state from its request
}

type callbackJob struct {
	url    string
	notice callbackNotice
}

// notifier posts callbacks from a few workers.
type notifier struct {
	client  *http.Client
	log     *slog.Logger
	tries   int
	timeout time.Duration
	backoff time.Duration // before the second try; doubled for the third

	once sync.Once
	jobs chan callbackJob
	stop chan struct{}
	wg   sync.WaitGroup
}

// callbackDialer refuses, whatever name led there, the addresses a
// callback has no business reaching: link-local (cloud metadata
// services), unspecified and multicast. Private addresses stay allowed:
// the government extranet (政务外网) the parties sit on uses them, and
// only an admin registers a callback.
var callbackDialer = &net.Dialer{Timeout: callbackTimeout, Control: func(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return fmt.Errorf("callback to %s refused: a link-local, unspecified or multicast address", host)
	}
	return nil
}}

func newNotifier(log *slog.Logger) *notifier {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // a callback goes where it says, not through the environment's proxy
	tr.DialContext = callbackDialer.DialContext
	return &notifier{
		client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		log:    log, tries: callbackTries, timeout: callbackTimeout, backoff: time.Second,
		jobs: make(chan callbackJob, callbackQueue), stop: make(chan struct{}),
	}
}

// notify queues a notice; it never blocks.
func (n *notifier) notify(u string, c callbackNotice) {
	if u == "" {
		return
	}
	n.once.Do(func() {
		for range callbackWorkers {
			n.wg.Go(n.work)
		}
	})
	select {
	case n.jobs <- callbackJob{u, c}:
	default:
		n.log.Warn("callback queue full: notice dropped (the party can poll)", "request", c.Request)
	}
}

// close stops the workers; queued notices are dropped.
func (n *notifier) close() {
	select {
	case <-n.stop:
	default:
		close(n.stop)
	}
	n.wg.Wait()
}

func (n *notifier) work() {
	for {
		select {
		case <-n.stop:
			return
		case j := <-n.jobs:
			n.deliver(j)
		}
	}
}

func (n *notifier) deliver(j callbackJob) {
	body, _ := json.Marshal(j.notice)
	wait := n.backoff
	for try := 1; ; try++ {
		err := n.post(j.url, body)
		if err == nil {
			return
		}
		if try == n.tries {
			n.log.Warn("callback not delivered", "request", j.notice.Request, "tries", try, "err", err)
			return
		}
		select {
		case <-n.stop:
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (n *notifier) post(u string, body []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
