package service

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheckCallback(t *testing.T) {
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"", true},
		{"https://food.example.gov.cn/elicense/callback", true},
		{"http://127.0.0.1:8080/cb", true},
		{"http://[::1]/cb", true},
		{"http://localhost/cb", true},
		{"http://food.example.gov.cn/cb", false},
		{"http://10.0.0.1/cb", false},
		{"ftp://food.example.gov.cn/cb", false},
		{"https://user:pw@food.example.gov.cn/cb", false},
		{"https://food.example.gov.cn/cb#x", false},
		{"https:///cb", false},
		{"mailto:a@b", false},
		{"::", false},
	} {
		if err := checkCallback(c.url); (err == nil) != c.ok {
			t.Errorf("%q: %v, want ok %v", c.url, err, c.ok)
		}
	}
}

func TestNotifierRetries(t *testing.T) {
	var calls atomic.Int32
	got := make(chan callbackNotice, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var n callbackNotice
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &n)
		got <- n
	}))
	defer srv.Close()
	n := newNotifier(slog.New(slog.DiscardHandler))
	n.backoff = 10 * time.Millisecond
	defer n.close()
	start := time.Now()
	n.notify(srv.URL+"/cb", callbackNotice{Request: "r_x", Grant: "g_y", State: "granted"})
	if time.Since(start) > 50*time.Millisecond {
		t.Error("notify blocked")
	}
	select {
	case v := <-got:
		if v.Request != "r_x" || v.Grant != "g_y" || v.State != "granted" {
			t.Errorf("notice %+v", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notice delivered")
	}
	if calls.Load() != 3 {
		t.Errorf("%d tries, want 3", calls.Load())
	}
}

func TestNotifierGivesUp(t *testing.T) {
	var calls atomic.Int32
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select { // a party that never answers
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	n := newNotifier(slog.New(slog.DiscardHandler))
	n.backoff, n.timeout = 10*time.Millisecond, 50*time.Millisecond
	n.notify(srv.URL, callbackNotice{Request: "r_x", State: "refused"})
	deadline := time.Now().Add(3 * time.Second)
	for calls.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if c := calls.Load(); c != 3 {
		t.Errorf("%d tries, want 3", c)
	}
	n.close()
}

// TestCallbackDialerRefuses: whatever a callback's name resolves to, the
// dialer does not connect to link-local (metadata services), unspecified
// or multicast addresses; loopback and private addresses stay reachable.
func TestCallbackDialerRefuses(t *testing.T) {
	for _, tt := range []struct {
		addr string
		ok   bool
	}{
		{"169.254.169.254:80", false},
		{"[fe80::1]:443", false},
		{"0.0.0.0:443", false},
		{"[::]:443", false},
		{"224.0.0.1:443", false},
		{"127.0.0.1:443", true},
		{"10.1.2.3:443", true},
		{"203.0.113.7:443", true},
	} {
		err := callbackDialer.Control("tcp", tt.addr, nil)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v, want allowed %v", tt.addr, err, tt.ok)
		}
	}
}
